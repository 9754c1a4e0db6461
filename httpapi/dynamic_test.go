package httpapi

import (
	"slices"
	"strings"
	"testing"
)

// TestDynamicGroupsFollowAUsersDepartment: a department change moves a user
// from "Dynamic Sales" (E3) to "Dynamic Marketing" (E5 + Insights); the
// licenses follow through reconcile and the audit names the rule.
func TestDynamicGroupsFollowAUsersDepartment(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		dyn := func(name, rule string) string {
			g := c.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": name, "mailEnabled": false, "securityEnabled": true,
				"mailNickname": strings.ReplaceAll(name, " ", ""), "groupTypes": []string{"DynamicMembership"},
				"membershipRule": rule, "membershipRuleProcessingState": "On"}).object(t)
			if types := g["groupTypes"].([]any); len(types) != 1 || types[0] != "DynamicMembership" || g["membershipRule"] != rule ||
				g["membershipRuleProcessingState"] != "On" {
				t.Fatalf("created group: %v", g)
			}
			return g["id"].(string)
		}
		sales := dyn("Dynamic Sales", `user.department -eq "Sales"`)
		mkt := dyn("Dynamic Marketing", `user.department -eq "Marketing"`)
		c.must(202, "POST", "/v1.0/groups/"+sales+"/assignLicense", assignBody([]string{c.sku("SPE_E3")}, nil))
		c.must(202, "POST", "/v1.0/groups/"+mkt+"/assignLicense", assignBody([]string{c.sku("SPE_E5"), c.sku("WORKPLACE_ANALYTICS_INSIGHTS")}, nil))
		u := c.createUser("adele@contoso.com", "US")
		c.must(204, "PATCH", "/v1.0/users/"+u, map[string]any{"department": "Sales"})
		h.drain()
		if got, want := c.userSkus(u), []string{c.sku("SPE_E3")}; !slices.Equal(got, want) {
			t.Fatalf("in Sales: %v, want %v", got, want)
		}
		c.must(204, "PATCH", "/v1.0/users/"+u, map[string]any{"department": "Marketing"})
		h.drain()
		want := []string{c.sku("SPE_E5"), c.sku("WORKPLACE_ANALYTICS_INSIGHTS")}
		slices.Sort(want)
		if got := c.userSkus(u); !slices.Equal(got, want) {
			t.Fatalf("in Marketing: %v, want %v", got, want)
		}
		if n, _ := c.consumed("SPE_E3"); n != 0 {
			t.Errorf("E3 consumed %d, want 0", n)
		}
		if n, _ := c.consumed("SPE_E5"); n != 1 {
			t.Errorf("E5 consumed %d, want 1", n)
		}
		if ms := c.listAll("/v1.0/groups/" + sales + "/members"); len(ms) != 0 {
			t.Errorf("Sales members: %v", ms)
		}
		if ms := c.listAll("/v1.0/groups/" + mkt + "/members"); len(ms) != 1 || ms[0]["id"] != u {
			t.Errorf("Marketing members: %v", ms)
		}
		left := false
		for _, e := range c.listAll("/v1.0/auditLogs/directoryAudits?$top=100") {
			reason, _ := e["resultReason"].(string)
			if e["activityDisplayName"] == "Remove member from group" && strings.Contains(reason, `Membership rule of dynamic group: user.department -eq "Sales"`) {
				left = true
			}
		}
		if !left {
			t.Error("no audit event says the user left Dynamic Sales by its membership rule")
		}
	})
}

func TestDynamicGroupsRefuseBadRulesAndHandMadeMembers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		before := c.snapshot()
		e := c.expectError(400, "Request_BadRequest", "POST", "/v1.0/groups", map[string]any{"displayName": "d", "mailEnabled": false,
			"securityEnabled": true, "mailNickname": "d", "groupTypes": []string{"DynamicMembership"}, "membershipRule": `user.department -eq`})
		if !strings.Contains(e.Message, "at column 20: expected a value after -eq") {
			t.Errorf("message %q", e.Message)
		}
		c.expectError(400, "Request_BadRequest", "POST", "/v1.0/groups", map[string]any{"displayName": "d", "mailEnabled": false,
			"securityEnabled": true, "mailNickname": "d", "groupTypes": []string{"Unified"}})
		c.unchanged(before, "refused dynamic groups")
		g := c.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": "d", "mailEnabled": false, "securityEnabled": true,
			"mailNickname": "d", "groupTypes": []string{"DynamicMembership"}, "membershipRule": `user.usageLocation -eq "US"`}).object(t)["id"].(string)
		u := c.createUser("ann@contoso.com", "US")
		c.expectError(403, "Authorization_RequestDenied", "POST", "/v1.0/groups/"+g+"/members/$ref", refBody(c.createUser("bob@contoso.com", "FR")))
		c.expectError(403, "Authorization_RequestDenied", "DELETE", "/v1.0/groups/"+g+"/members/"+u+"/$ref", nil)
		c.expectError(400, "Request_BadRequest", "PATCH", "/v1.0/groups/"+g, map[string]any{"membershipRule": `user.city -eq "a" -and`})
		c.expectError(400, "Request_BadRequest", "PATCH", "/v1.0/groups/"+g, map[string]any{"membershipRuleProcessingState": "Sometimes"})
		outer := c.createGroup("outer")
		c.addMember(outer, g)
		c.must(204, "PATCH", "/v1.0/groups/"+g, map[string]any{"membershipRuleProcessingState": "Paused"})
		if m := c.getJSON("/v1.0/groups/" + g); m["membershipRuleProcessingState"] != "Paused" {
			t.Errorf("after pause: %v", m)
		}
		if ms := c.listAll("/v1.0/groups/" + g + "/members"); len(ms) != 1 || ms[0]["id"] != u {
			t.Errorf("members: %v", ms)
		}
		c.must(204, "PATCH", "/v1.0/groups/"+g, map[string]any{"groupTypes": []string{}})
		if m := c.getJSON("/v1.0/groups/" + g); len(m["groupTypes"].([]any)) != 0 || m["membershipRule"] != nil {
			t.Errorf("after groupTypes []: %v", m)
		}
		c.must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+u+"/$ref", nil)
	})
}

// TestRestoredUserFollowsRulesChangedWhileDeleted: the rules of dynamic
// groups decide a restored user's memberships, not what it was a member of
// when deleted: a rule changed meanwhile drops it from one group and takes
// it into another, with the licenses that follow.
func TestRestoredUserFollowsRulesChangedWhileDeleted(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		dyn := func(name, rule string) string {
			return c.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": name, "mailEnabled": false, "securityEnabled": true,
				"mailNickname": strings.ReplaceAll(name, " ", ""), "groupTypes": []string{"DynamicMembership"},
				"membershipRule": rule}).object(t)["id"].(string)
		}
		sales := dyn("Dynamic Sales", `user.department -eq "Sales"`)
		us := dyn("Dynamic US", `user.country -eq "Canada"`)
		c.must(202, "POST", "/v1.0/groups/"+sales+"/assignLicense", assignBody([]string{c.sku("SPE_E3")}, nil))
		c.must(202, "POST", "/v1.0/groups/"+us+"/assignLicense", assignBody([]string{c.sku("SPE_E5")}, nil))
		u := c.createUser("adele@contoso.com", "US")
		c.must(204, "PATCH", "/v1.0/users/"+u, map[string]any{"department": "Sales", "country": "United States"})
		h.drain()
		if got := c.userSkus(u); !slices.Equal(got, []string{c.sku("SPE_E3")}) {
			t.Fatalf("before the deletion: %v", got)
		}
		c.must(204, "DELETE", "/v1.0/users/"+u, nil)
		c.must(204, "PATCH", "/v1.0/groups/"+sales, map[string]any{"membershipRule": `user.department -eq "Marketing"`})
		c.must(204, "PATCH", "/v1.0/groups/"+us, map[string]any{"membershipRule": `user.country -eq "United States"`})
		c.must(200, "POST", "/v1.0/directory/deletedItems/"+u+"/restore", nil)
		h.drain()
		if ms := c.listAll("/v1.0/groups/" + sales + "/members"); len(ms) != 0 {
			t.Errorf("Dynamic Sales members after the restore: %v, want none (its rule no longer matches)", ms)
		}
		if ms := c.listAll("/v1.0/groups/" + us + "/members"); len(ms) != 1 || ms[0]["id"] != u {
			t.Errorf("Dynamic US members after the restore: %v, want the restored user", ms)
		}
		if got := c.userSkus(u); !slices.Equal(got, []string{c.sku("SPE_E5")}) {
			t.Errorf("licenses after the restore: %v, want E5 only", got)
		}
	})
}

// TestAssignedPlansRulesFollowDirectLicenses: a dynamic group whose rule
// reads assignedPlans gains a user when a direct assignment gives the user
// the plan, and loses the user when the license is removed — the rule is
// evaluated by the licensing write itself.
func TestAssignedPlansRulesFollowDirectLicenses(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		rule := `user.assignedPlans -any (assignedPlan.servicePlanId -eq "efb87545-963c-4e0d-99df-69c6916d9eb0" -and assignedPlan.capabilityStatus -eq "Enabled")`
		g := c.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Has Exchange Plan 2", "mailEnabled": false, "securityEnabled": true,
			"mailNickname": "hasexchange", "groupTypes": []string{"DynamicMembership"},
			"membershipRule": rule, "membershipRuleProcessingState": "On"}).object(t)["id"].(string)
		u := c.createUser("adele@contoso.com", "US")
		if ms := c.listAll("/v1.0/groups/" + g + "/members"); len(ms) != 0 {
			t.Fatalf("members before any license: %v", ms)
		}
		c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{c.sku("ENTERPRISEPACK")}, nil))
		if ms := c.listAll("/v1.0/groups/" + g + "/members"); len(ms) != 1 || ms[0]["id"] != u {
			t.Fatalf("members after E3 (which holds Exchange Online Plan 2): %v", ms)
		}
		c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody(nil, []string{c.sku("ENTERPRISEPACK")}))
		if ms := c.listAll("/v1.0/groups/" + g + "/members"); len(ms) != 0 {
			t.Fatalf("members after the license was removed: %v", ms)
		}
	})
}
