package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"allot"
)

// TestBrowserDynamicGroupRulePreview: a dynamic group's page shows its
// rule, processing state and member count; previewing a changed rule says
// who would join and leave and what licenses follow, and changes nothing.
func TestBrowserDynamicGroupRulePreview(t *testing.T) {
	e := newEnv(t, 25)
	ctx := context.Background()
	g := &allot.Group{DisplayName: "Dynamic A", MembershipRule: `user.displayName -startsWith "A"`, RuleState: allot.RuleOn}
	if err := e.st.CreateGroup(ctx, actor, e.tenant.ID, g); err != nil {
		t.Fatal(err)
	}
	want, err := e.st.DirectMemberCount(ctx, g.ID)
	if err != nil || want == 0 {
		t.Fatalf("members of %q: %d (%v)", g.DisplayName, want, err)
	}
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/groups/" + g.GUID)
	if got := b.text("code[data-rule]"); got != g.MembershipRule {
		t.Errorf("rule shown: %q", got)
	}
	if got := b.text("[data-rule-state]"); got != "On" {
		t.Errorf("state shown: %q", got)
	}
	if got := b.text("[data-member-count]"); got != fmt.Sprint(want) {
		t.Errorf("member count shown: %q, want %d", got, want)
	}
	b.do(chromedp.SetValue(chromedp.ID("rule-text"), `user.displayName -startsWith "D"`))
	b.click(`form.rule-preview button`)
	b.waitPath("/groups/" + g.GUID + "/rule/preview")
	sum := b.text("[data-rule-summary]")
	if !strings.Contains(sum, fmt.Sprintf("%d would leave", want)) {
		t.Errorf("preview summary: %q, want %d leaving", sum, want)
	}
	b.screenshot("rule-preview")
	if n, err := e.st.DirectMemberCount(ctx, g.ID); err != nil || n != want {
		t.Errorf("after the preview the group has %d members, want %d unchanged", n, want)
	}
	b.open("/groups/" + g.GUID + "/rule/preview?rule=" + "user.department%20-eq")
	if got := b.text("[data-rule-error]"); !strings.Contains(got, "expected a value after -eq") {
		t.Errorf("bad rule: %q", got)
	}
}
