package scim_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"allot/reconcile"
)

// runWorker runs a reconcile worker on the harness's store the way allot
// serve runs it (Worker.Run, woken by the store's changes), until the test
// ends.
func (h *harness) runWorker() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); reconcile.New(h.st, h.log).Run(ctx) }()
	h.t.Cleanup(func() { cancel(); <-done })
}

// userSkuIDs returns the skuIds of the user's licenses as Graph shows
// them, sorted.
func (h *harness) userSkuIDs(id string) []string {
	var out []string
	for _, l := range h.must(200, h.ga, "GET", "/v1.0/users/"+id+"/licenseDetails", nil)["value"].([]any) {
		out = append(out, l.(map[string]any)["skuId"].(string))
	}
	slices.Sort(out)
	return out
}

// waitSkus polls Graph until the user holds exactly want, and returns how
// long that took from since; it fails the test after limit.
func (h *harness) waitSkus(id string, want []string, since time.Time, limit time.Duration) time.Duration {
	h.t.Helper()
	for {
		got := h.userSkuIDs(id)
		took := time.Since(since)
		if slices.Equal(got, want) {
			return took
		}
		if took > limit {
			h.t.Fatalf("after %s the user holds %v, want %v", took, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSCIMDepartmentChangeMovesLicensesWithinASecond is issue 12's end to
// end case over HTTP with the reconcile worker running as allot serve runs
// it: Entra's provisioning service PATCHes a user's department from Sales
// to Marketing; within a second the user has left "Dynamic Sales" (E3) and
// joined "Dynamic Marketing" (E5 + Insights), consumedUnits follow, and the
// audit says the SCIM client did it and the membership rule is why.
func TestSCIMDepartmentChangeMovesLicensesWithinASecond(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		h.runWorker()
		sku := func(part string) string {
			return h.must(201, h.ga, "POST", "/allot/v1/subscribedSkus", map[string]any{"skuPartNumber": part, "enabledUnits": 10})["skuId"].(string)
		}
		e3, e5, insights := sku("SPE_E3"), sku("SPE_E5"), sku("WORKPLACE_ANALYTICS_INSIGHTS")
		dyn := func(name, rule string, skus ...string) string {
			id := h.must(201, h.ga, "POST", "/v1.0/groups", map[string]any{"displayName": name, "mailEnabled": false, "securityEnabled": true,
				"mailNickname": strings.ReplaceAll(name, " ", ""), "groupTypes": []string{"DynamicMembership"},
				"membershipRule": rule, "membershipRuleProcessingState": "On"})["id"].(string)
			var add []any
			for _, s := range skus {
				add = append(add, map[string]any{"skuId": s, "disabledPlans": []any{}})
			}
			h.must(202, h.ga, "POST", "/v1.0/groups/"+id+"/assignLicense", map[string]any{"addLicenses": add, "removeLicenses": []any{}})
			return id
		}
		sales := dyn("Dynamic Sales", `user.department -eq "Sales"`, e3)
		mkt := dyn("Dynamic Marketing", `user.department -eq "Marketing"`, e5, insights)

		// Entra's create, with the enterprise extension.
		u := h.createUser("adele@contoso.com", map[string]any{
			"schemas":       []string{"urn:ietf:params:scim:schemas:core:2.0:User", ent},
			"usageLocation": "US", "externalId": "adele",
			ent: map[string]any{"department": "Sales"}})
		h.waitSkus(u, []string{e3}, time.Now(), 5*time.Second)

		body := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": []any{
			map[string]any{"op": "Replace", "path": ent + ":department", "value": "Marketing"}}}
		h.sc(200, "PATCH", "/Users/"+u, body)
		patched := time.Now()
		want := []string{e5, insights}
		slices.Sort(want)
		took := h.waitSkus(u, want, patched, 5*time.Second)
		t.Logf("PATCH response → licenses visible over Graph: %s", took)
		if took >= time.Second {
			t.Errorf("licenses visible %s after the PATCH, want < 1 s", took)
		}

		if got := h.graphMembers(sales); len(got) != 0 {
			t.Errorf("Dynamic Sales members %v, want none", got)
		}
		if got := h.graphMembers(mkt); !slices.Equal(got, []string{u}) {
			t.Errorf("Dynamic Marketing members %v, want the user", got)
		}
		for s, n := range map[string]float64{e3: 0, e5: 1, insights: 1} {
			if got := h.must(200, h.ga, "GET", "/v1.0/subscribedSkus/"+s, nil)["consumedUnits"]; got != n {
				t.Errorf("%s consumedUnits %v, want %v", s, got, n)
			}
		}
		h.checkRuleAudit(t, u, "Dynamic Sales", "Remove member from group", `user.department -eq "Sales"`)
		h.checkRuleAudit(t, u, "Dynamic Marketing", "Add member to group", `user.department -eq "Marketing"`)
	})
}

// checkRuleAudit finds the audit event of the user's rule-made join or
// leave of group and checks that it names the SCIM client as initiator
// and the rule as reason, and that the department change itself is
// audited as the SCIM client's.
func (h *harness) checkRuleAudit(t *testing.T, user, group, activity, rule string) {
	t.Helper()
	evs := h.must(200, h.ga, "GET", "/v1.0/auditLogs/directoryAudits?$top=200", nil)["value"].([]any)
	var found, dept bool
	for _, v := range evs {
		e := v.(map[string]any)
		target := e["targetResources"].([]any)[0].(map[string]any)
		app, _ := e["initiatedBy"].(map[string]any)["app"].(map[string]any)
		byClient := app != nil && app["appId"] == h.scimID && app["displayName"] == "Entra provisioning"
		if e["activityDisplayName"] == "Update user" && target["id"] == user {
			for _, m := range target["modifiedProperties"].([]any) {
				if m.(map[string]any)["displayName"] == "department" && m.(map[string]any)["newValue"] == "Marketing" {
					dept = true
					if !byClient {
						t.Errorf("department change initiated by %v, want the SCIM client %s", e["initiatedBy"], h.scimID)
					}
				}
			}
		}
		if e["activityDisplayName"] != activity || target["displayName"] != group {
			continue
		}
		found = true
		if !byClient {
			t.Errorf("%s %s: initiated by %v, want the SCIM client %s", activity, group, e["initiatedBy"], h.scimID)
		}
		if reason, _ := e["resultReason"].(string); !strings.Contains(reason, "Membership rule") || !strings.Contains(reason, rule) {
			t.Errorf("%s %s: resultReason %q, want the membership rule %s", activity, group, reason, rule)
		}
	}
	if !found {
		t.Errorf("no audit event %q for %s", activity, group)
	}
	if !dept {
		t.Error("no audit event of the department change to Marketing")
	}
}
