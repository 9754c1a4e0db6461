package e2e

import (
	"fmt"
	"strings"
	"testing"

	"allot/client"
)

// TestDynamicGroupCommands: `groups rule test` counts the users a rule
// selects and names some; `groups create --rule` makes a dynamic group
// with exactly those members; a rule that does not parse is refused with
// its position.
func TestDynamicGroupCommands(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t, srv)
	for i := 0; i < 3; i++ {
		c.ok("users", "create", "--upn", fmt.Sprintf("rule%d.e2e@contoso.com", i), "--name", fmt.Sprintf("Rule %d", i),
			"--usage-location", "US", "--department", "RuleTestDept")
	}
	rule := `user.department -eq "RuleTestDept"`
	out := c.ok("groups", "rule", "test", rule)
	contains(t, out, "3 users match.", "rule0.e2e@contoso.com", "rule2.e2e@contoso.com")
	c.fail(2, []string{"at column 20", "expected a value after -eq"}, "groups", "rule", "test", `user.department -eq`)

	var g client.Group
	c.okJSON(&g, "groups", "create", "--name", "E2E Dynamic", "--rule", rule)
	out = c.ok("groups", "members", "list", g.ID)
	for i := 0; i < 3; i++ {
		contains(t, out, fmt.Sprintf("rule%d.e2e@contoso.com", i))
	}
	if n := strings.Count(out, "rule"); n != 3 {
		t.Errorf("members of the dynamic group:\n%s", out)
	}

	// A rule change that takes SPE_E3 from the members who leave: shown,
	// refused without a terminal (exit 5), applied with --yes.
	c.ok("license", "assign-group", "E2E Dynamic", "--sku", "SPE_E3")
	narrow := `user.userPrincipalName -eq "rule0.e2e@contoso.com"`
	c.fail(5, []string{"0 users would join \"E2E Dynamic\" and 2 leave it", "rule1.e2e@contoso.com would lose SPE_E3", "--yes"}, "groups", "rule", "set", "E2E Dynamic", narrow)
	if out := c.ok("groups", "members", "list", g.ID); strings.Count(out, "rule") != 3 {
		t.Fatalf("the refused rule change changed the members:\n%s", out)
	}
	contains(t, c.ok("groups", "rule", "set", "E2E Dynamic", narrow, "--yes"), "Set the membership rule")
	if out := c.ok("groups", "members", "list", g.ID); strings.Count(out, "rule") != 1 {
		t.Fatalf("after the confirmed rule change:\n%s", out)
	}
}
