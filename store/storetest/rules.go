package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"allot"
	"allot/store"
)

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := strings.TrimSpace(strings.ReplaceAll(sprint(got), "\n", " ")), sprint(want); g != w {
		t.Errorf("%s = %s, want %s", what, g, w)
	}
}

func sprint(v any) string {
	switch x := v.(type) {
	case []string:
		return "[" + strings.Join(x, " ") + "]"
	}
	return strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(fmtAny(v), "\t", " "), "  ", " "))
}

func fmtAny(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case allot.Code:
		return string(x)
	case int:
		return itoa(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	// Any other type compares by its printed form, never as equal by default.
	return fmt.Sprintf("%#v", v)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		return "-" + string(b)
	}
	return string(b)
}

// testRules pins licensing rules 1 to 11 of docs/design.md ("Licensing
// rules") on a store; each subtest is named by the rule it checks. Rule 12,
// one decision function, is licensing's own test.
func testRules(t *testing.T, open Opener) {
	t.Run("Rule1_OneSeatPerProductAndPlansAreTheUnionOfSources", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e3 := e.Product("SPE_E3", 5)
		u := e.User("ana", "US")
		planA, planB := e3.ServicePlans[0].ID, e3.ServicePlans[1].ID
		g1 := e.Group("g1", u)
		g2 := e.Group("g2", u)
		e.AssignGroup(g1, store.LicenseRequest{SkuID: e3.SkuID, DisabledPlans: []string{planA, planB}})
		e.AssignGroup(g2, store.LicenseRequest{SkuID: e3.SkuID, DisabledPlans: []string{planA}})
		e.Drain()
		if err := e.Assign(u, "SPE_E3"); err != nil {
			t.Fatal(err)
		}
		c, _ := e.Consumed("SPE_E3")
		eq(t, "consumed with three sources", c, 1)
		var disabled [][]string
		for _, v := range e.States(u) {
			eq(t, "state of "+v.Product.SkuPartNumber, v.State, allot.StateActive)
			disabled = append(disabled, v.DisabledPlans)
		}
		eq(t, "sources", len(disabled), 3)
		// Direct enables everything: the union has no disabled plan.
		if _, err := e.St.AssignUserLicenses(e.Ctx, admin, e.Tenant.ID, u.GUID, nil, []string{e3.SkuID}); err != nil {
			t.Fatal(err)
		}
		var ds [][]string
		for _, v := range e.States(u) {
			ds = append(ds, v.DisabledPlans)
		}
		// g1 disables A and B, g2 disables A: B is enabled through g2, A is off.
		got := intersect(ds)
		eq(t, "effective disabled plans", got, []string{planA})
		c, _ = e.Consumed("SPE_E3")
		eq(t, "consumed after removing the direct source", c, 1)
		e.CheckCounters()
	})

	t.Run("Rule2_DirectAssignmentIsSynchronousAndAtomic", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e.Product("SPE_E3", 5)
		e.Product("SPE_E5", 1)
		a, b := e.User("a", "US"), e.User("b", "US")
		if err := e.Assign(a, "SPE_E3"); err != nil {
			t.Fatal(err)
		}
		eq(t, "licensed at once", e.Has(a), []string{"SPE_E3"})
		if err := e.Assign(b, "SPE_E5"); err != nil {
			t.Fatal(err)
		}
		// Swap E3 -> E5 with no E5 seat left: nothing changes.
		_, err := e.St.AssignUserLicenses(e.Ctx, admin, e.Tenant.ID, a.GUID, e.Req("SPE_E5"), []string{e.Products["SPE_E3"].SkuID})
		eq(t, "swap error", allot.ErrorCode(err), allot.ENoSeats)
		eq(t, "after failed swap", e.Has(a), []string{"SPE_E3"})
		// Free the E5 seat and swap again: never unlicensed in between.
		if _, err := e.St.AssignUserLicenses(e.Ctx, admin, e.Tenant.ID, b.GUID, nil, []string{e.Products["SPE_E5"].SkuID}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.St.AssignUserLicenses(e.Ctx, admin, e.Tenant.ID, a.GUID, e.Req("SPE_E5"), []string{e.Products["SPE_E3"].SkuID}); err != nil {
			t.Fatal(err)
		}
		eq(t, "after swap", e.Has(a), []string{"SPE_E5"})
		c3, _ := e.Consumed("SPE_E3")
		c5, _ := e.Consumed("SPE_E5")
		eq(t, "E3 consumed", c3, 0)
		eq(t, "E5 consumed", c5, 1)
		e.CheckCounters()
	})

	t.Run("Rule3_GroupAssignmentIsAsynchronousAndFollowsMembership", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e3 := e.Product("SPE_E3", 10)
		u1, u2, u3 := e.User("u1", "US"), e.User("u2", "US"), e.User("u3", "US")
		inner := e.Group("inner", u3)
		g := e.Group("outer", u1)
		e.AssignGroup(g, store.LicenseRequest{SkuID: e3.SkuID})
		gg, _ := e.St.Group(e.Ctx, e.Tenant.ID, g.GUID)
		eq(t, "state after assign", gg.ProcessingState, allot.ProcessingQueued)
		eq(t, "not licensed before processing", len(e.Has(u1)), 0)
		e.Drain()
		gg, _ = e.St.Group(e.Ctx, e.Tenant.ID, g.GUID)
		eq(t, "state after processing", gg.ProcessingState, allot.ProcessingComplete)
		eq(t, "member licensed", e.Has(u1), []string{"SPE_E3"})
		e.Add(g, u2)
		e.Add(g, inner)
		e.Drain()
		eq(t, "added user licensed", e.Has(u2), []string{"SPE_E3"})
		eq(t, "nested user licensed", e.Has(u3), []string{"SPE_E3"})
		e.Remove(g, inner)
		e.Remove(g, u1)
		e.Drain()
		eq(t, "removed nested user", len(e.Has(u3)), 0)
		eq(t, "removed user", len(e.Has(u1)), 0)
		c, _ := e.Consumed("SPE_E3")
		eq(t, "consumed", c, 1)
		// Removing the product from the group removes it from its members.
		if _, err := e.St.AssignGroupLicenses(e.Ctx, admin, e.Tenant.ID, g.GUID, nil, []string{e3.SkuID}, false); err != nil {
			t.Fatal(err)
		}
		e.Drain()
		eq(t, "after group license removal", len(e.Has(u2)), 0)
		e.CheckCounters()
	})

	t.Run("Rule4_OverCapacityLicensesInMembershipOrderAndWaitersGetFreedSeatsFirstComeFirstServed", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e3 := e.Product("SPE_E3", 3)
		us := e.Users("m", 6, "US")
		g := e.Group("big", us[0], us[1], us[2], us[3], us[4])
		e.AssignGroup(g, store.LicenseRequest{SkuID: e3.SkuID})
		e.Drain()
		for i, u := range us[:5] {
			want := i < 3
			eq(t, "member "+u.DisplayName+" licensed", len(e.Has(u)) == 1, want)
		}
		eq(t, "waiting code", e.Code(us[3], "SPE_E3", g), allot.ENoSeats)
		sum, err := e.St.GroupLicenseSummary(e.Ctx, e.Tenant.ID, g.GUID)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "summary licensed", sum.Licensed, 3)
		eq(t, "summary not licensed", sum.NotLicensed, 2)
		eq(t, "summary by error", sum.ByError[allot.LicenseErrCount], 2)
		// A later member waits behind the earlier ones.
		e.Add(g, us[5])
		e.Drain()
		eq(t, "late member waits", e.Code(us[5], "SPE_E3", g), allot.ENoSeats)
		// One more seat: the first waiter gets it, without any call.
		if _, err := e.St.SetSeats(e.Ctx, admin, e.Tenant.ID, "SPE_E3", 4, false); err != nil {
			t.Fatal(err)
		}
		e.Drain()
		eq(t, "first waiter licensed", e.Has(us[3]), []string{"SPE_E3"})
		eq(t, "second waiter still waits", len(e.Has(us[4])), 0)
		// A member leaves: the next waiter (us[4], not the later us[5]) gets the seat.
		e.Remove(g, us[0])
		e.Drain()
		eq(t, "next waiter licensed", e.Has(us[4]), []string{"SPE_E3"})
		eq(t, "last waiter still waits", len(e.Has(us[5])), 0)
		// A direct removal frees a seat too.
		other := e.User("direct", "US")
		if _, err := e.St.SetSeats(e.Ctx, admin, e.Tenant.ID, "SPE_E3", 5, false); err != nil {
			t.Fatal(err)
		}
		e.Drain()
		eq(t, "last waiter licensed by the new seat", e.Has(us[5]), []string{"SPE_E3"})
		err = e.Assign(other, "SPE_E3")
		eq(t, "direct assignment with no seat", allot.ErrorCode(err), allot.ENoSeats)
		g2, _ := e.St.Group(e.Ctx, e.Tenant.ID, g.GUID)
		eq(t, "no errors left", g2.HasLicenseErrors, false)
		e.CheckCounters()
	})

	t.Run("Rule5_AllOrNothingPerGroupPerUser", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e3 := e.Product("SPE_E3", 10)
		ins := e.Product("WORKPLACE_ANALYTICS_INSIGHTS", 1)
		a, b := e.User("a", "US"), e.User("b", "US")
		g := e.Group("pilot", a, b)
		e.AssignGroup(g, store.LicenseRequest{SkuID: e3.SkuID}, store.LicenseRequest{SkuID: ins.SkuID})
		e.Drain()
		eq(t, "first member has both", e.Has(a), []string{"SPE_E3", "WORKPLACE_ANALYTICS_INSIGHTS"})
		eq(t, "second member has none", len(e.Has(b)), 0)
		eq(t, "failing product code", e.Code(b, "WORKPLACE_ANALYTICS_INSIGHTS", g), allot.ENoSeats)
		eq(t, "other product code", e.Code(b, "SPE_E3", g), allot.EOtherProductFailed)
		for _, v := range e.States(b) {
			if v.Product.SkuPartNumber == "SPE_E3" {
				eq(t, "other product error kind", v.Code.LicenseError(), allot.LicenseErrOther)
			}
		}
		c, _ := e.Consumed("SPE_E3")
		eq(t, "E3 consumed", c, 1)
		e.CheckCounters()
	})

	t.Run("Rule6_UsageLocationDirectNeedsItGroupFallsBackToTenantDefault", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e3 := e.Product("SPE_E3", 10)
		u := e.User("nowhere", "")
		err := e.Assign(u, "SPE_E3")
		eq(t, "direct without usage location", allot.ErrorCode(err), allot.EUsageLocationNeeded)
		g := e.Group("g", u)
		e.AssignGroup(g, store.LicenseRequest{SkuID: e3.SkuID})
		e.Drain()
		eq(t, "group falls back to tenant default", e.Has(u), []string{"SPE_E3"})
		// A product restricted to some countries refuses the others.
		d := allot.ProductDefinition{SkuPartNumber: "LOCAL_ONLY", ServicePlans: []allot.ServicePlan{{Name: "P1"}},
			Rules: allot.ProductRules{AllowedUsageLocations: []string{"CA"}}}
		p, err := e.St.AddProduct(e.Ctx, admin, e.Tenant.ID, d, 5)
		if err != nil {
			t.Fatal(err)
		}
		us := e.User("us", "US")
		_, err = e.St.AssignUserLicenses(e.Ctx, admin, e.Tenant.ID, us.GUID, []store.LicenseRequest{{SkuID: p.SkuID}}, nil)
		eq(t, "prohibited usage location", allot.ErrorCode(err), allot.EUsageLocationDenied)
		// A product not sold in the tenant's data location cannot be added.
		d2 := allot.ProductDefinition{SkuPartNumber: "EU_ONLY", ServicePlans: []allot.ServicePlan{{Name: "P1"}},
			Rules: allot.ProductRules{AvailableDataLocations: []string{"EUR"}}}
		_, err = e.St.AddProduct(e.Ctx, admin, e.Tenant.ID, d2, 5)
		eq(t, "data location", allot.ErrorCode(err), allot.EDataLocation)
		e.CheckCounters()
	})

	t.Run("Rule7_PrerequisitesAndExclusionsAreCheckedAcrossAllSources", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e5 := e.Product("SPE_E5", 10)
		ins := e.Product("WORKPLACE_ANALYTICS_INSIGHTS", 10)
		e.Product("EXCHANGESTANDARD", 10)
		e.Product("EXCHANGEENTERPRISE", 10)
		u, v := e.User("u", "US"), e.User("v", "US")
		err := e.Assign(u, "WORKPLACE_ANALYTICS_INSIGHTS")
		eq(t, "missing prerequisite", allot.ErrorCode(err), allot.EPrerequisiteMissing)
		gIns := e.Group("insights", u, v)
		gE5 := e.Group("e5", u)
		e.AssignGroup(gIns, store.LicenseRequest{SkuID: ins.SkuID})
		e.AssignGroup(gE5, store.LicenseRequest{SkuID: e5.SkuID})
		e.Drain()
		eq(t, "prerequisite from another group", e.Has(u), []string{"SPE_E5", "WORKPLACE_ANALYTICS_INSIGHTS"})
		eq(t, "without prerequisite", e.Code(v, "WORKPLACE_ANALYTICS_INSIGHTS", gIns), allot.EPrerequisiteMissing)
		// A direct prerequisite unlocks the group's grant.
		if err := e.Assign(v, "SPE_E5"); err != nil {
			t.Fatal(err)
		}
		e.Drain()
		eq(t, "after direct prerequisite", e.Has(v), []string{"SPE_E5", "WORKPLACE_ANALYTICS_INSIGHTS"})
		// Losing the prerequisite loses the dependent product: a side effect
		// of the removal, refused until confirmed (rule 11).
		err = e.St.RemoveMember(e.Ctx, admin, e.Tenant.ID, gE5.GUID, u.GUID, false)
		eq(t, "stranding the add-on needs confirmation", allot.ErrorCode(err), allot.ELicenseLoss)
		if err := e.St.RemoveMember(e.Ctx, admin, e.Tenant.ID, gE5.GUID, u.GUID, true); err != nil {
			t.Fatal(err)
		}
		e.Drain()
		eq(t, "prerequisite lost", e.Has(u), []string(nil))
		// Mutually exclusive products.
		if err := e.Assign(u, "EXCHANGESTANDARD"); err != nil {
			t.Fatal(err)
		}
		err = e.Assign(u, "EXCHANGEENTERPRISE")
		eq(t, "mutually exclusive", allot.ErrorCode(err), allot.EMutuallyExclusive)
		if !strings.Contains(allot.ErrorMessage(err), "EXCHANGESTANDARD") {
			t.Errorf("message %q does not name the other product", allot.ErrorMessage(err))
		}
		e.CheckCounters()
	})

	t.Run("Rule8_InheritedLicenseCannotBeRemovedDirectlyAndLicensedGroupIsDeletedOnlyWhenConfirmed", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e3 := e.Product("SPE_E3", 10)
		u := e.User("u", "US")
		g := e.Group("licensed", u)
		e.AssignGroup(g, store.LicenseRequest{SkuID: e3.SkuID})
		e.Drain()
		_, err := e.St.AssignUserLicenses(e.Ctx, admin, e.Tenant.ID, u.GUID, nil, []string{e3.SkuID})
		eq(t, "inherited removal", allot.ErrorCode(err), allot.EInheritedLicense)
		if !strings.Contains(allot.ErrorMessage(err), "licensed") {
			t.Errorf("message %q does not name the group", allot.ErrorMessage(err))
		}
		err = e.St.DeleteGroup(e.Ctx, admin, e.Tenant.ID, g.GUID, false)
		eq(t, "delete licensed group: its member would lose E3", allot.ErrorCode(err), allot.ELicenseLoss)
		eq(t, "still licensed", e.Has(u), []string{"SPE_E3"})
		empty := e.Group("licensed but empty")
		e.AssignGroup(empty, store.LicenseRequest{SkuID: e3.SkuID})
		err = e.St.DeleteGroup(e.Ctx, admin, e.Tenant.ID, empty.GUID, false)
		eq(t, "delete a group that assigns licenses, unconfirmed", allot.ErrorCode(err), allot.EGroupHasLicenses)
		if err := e.St.DeleteGroup(e.Ctx, admin, e.Tenant.ID, g.GUID, true); err != nil {
			t.Fatal(err)
		}
		e.Drain()
		eq(t, "confirmed deletion takes the group's licenses", len(e.Has(u)), 0)
		e.CheckCounters()
	})

	t.Run("Rule5_AddingAProductToAGroupNeverTakesWhatMembersHoldThroughIt", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e3 := e.Product("SPE_E3", 10)
		ins := e.Product("WORKPLACE_ANALYTICS_INSIGHTS", 3)
		us := e.Users("r5", 5, "US")
		g := e.Group("staff", us[0], us[1], us[2], us[3], us[4])
		e.AssignGroup(g, store.LicenseRequest{SkuID: e3.SkuID})
		e.Drain()
		pv, err := e.St.Preview(e.Ctx, e.Tenant.ID, func(ctx context.Context) error {
			_, err := e.St.AssignGroupLicenses(ctx, admin, e.Tenant.ID, g.GUID, e.Req("WORKPLACE_ANALYTICS_INSIGHTS"), nil, false)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "preview: nobody loses anything", pv.LossCount, 0)
		e.AssignGroup(g, store.LicenseRequest{SkuID: ins.SkuID})
		e.Drain()
		for i, u := range us {
			eq(t, u.DisplayName+" keeps E3", slices.Contains(e.Has(u), "SPE_E3"), true)
			eq(t, u.DisplayName+" has Insights", slices.Contains(e.Has(u), "WORKPLACE_ANALYTICS_INSIGHTS"), i < 3)
		}
		eq(t, "the others wait for Insights", e.Code(us[4], "WORKPLACE_ANALYTICS_INSIGHTS", g), allot.ENoSeats)
		// A new member gets neither: the group's E3 is new to them (all or nothing).
		late := e.User("late", "US")
		e.Add(g, late)
		e.Drain()
		eq(t, "a new member gets no part of the group", len(e.Has(late)), 0)
		eq(t, "its E3 says why", e.Code(late, "SPE_E3", g), allot.EOtherProductFailed)
		e.CheckCounters()
	})

	t.Run("Rule11_SideEffectLossesNeedConfirmation", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e3 := e.Product("SPE_E3", 10)
		ins := e.Product("WORKPLACE_ANALYTICS_INSIGHTS", 10)
		us := e.Users("r11", 3, "US")
		inner := e.Group("inner", us[0], us[1])
		g := e.Group("outer", inner, us[2])
		e.AssignGroup(g, store.LicenseRequest{SkuID: e3.SkuID}, store.LicenseRequest{SkuID: ins.SkuID})
		e.Drain()
		// Removing the prerequisite from the group would take Insights too.
		_, err := e.St.AssignGroupLicenses(e.Ctx, admin, e.Tenant.ID, g.GUID, nil, []string{e3.SkuID}, false)
		eq(t, "prerequisite removal refused", allot.ErrorCode(err), allot.ELicenseLoss)
		var le *allot.LossError
		if errors.As(err, &le) {
			eq(t, "refusal names the three Insights holders", len(le.Losses), 3)
			eq(t, "what they lose", le.Losses[0].SkuPartNumber, "WORKPLACE_ANALYTICS_INSIGHTS")
		} else {
			t.Errorf("refusal without losses: %v", err)
		}
		e.Drain()
		eq(t, "refused: E3 still assigned", e.Has(us[0]), []string{"SPE_E3", "WORKPLACE_ANALYTICS_INSIGHTS"})
		// Deleting the nested group would take both from its members.
		err = e.St.DeleteGroup(e.Ctx, admin, e.Tenant.ID, inner.GUID, false)
		eq(t, "deleting a group whose members hold licenses through it refused", allot.ErrorCode(err), allot.ELicenseLoss)
		// Removing a member who keeps a direct add-on that needs the group's E3.
		if err := e.St.DeleteGroup(e.Ctx, admin, e.Tenant.ID, inner.GUID, true); err != nil {
			t.Fatal(err)
		}
		e.Drain()
		eq(t, "confirmed deletion took the licenses", len(e.Has(us[0])), 0)
		if err := e.Assign(us[2], "WORKPLACE_ANALYTICS_INSIGHTS"); err != nil {
			t.Fatal(err)
		}
		err = e.St.RemoveMember(e.Ctx, admin, e.Tenant.ID, g.GUID, us[2].GUID, false)
		eq(t, "member removal that strands a direct add-on refused", allot.ErrorCode(err), allot.ELicenseLoss)
		// The preview lists the loss, side effects first, and needs confirmation.
		pv, err := e.St.Preview(e.Ctx, e.Tenant.ID, func(ctx context.Context) error {
			_, err := e.St.AssignGroupLicenses(ctx, admin, e.Tenant.ID, g.GUID, nil, []string{e3.SkuID}, true)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "preview needs confirmation", pv.ConfirmationRequired, true)
		eq(t, "preview: E3 (explicit) and Insights (a side effect)", pv.LossCount, 2)
		eq(t, "side effects first", pv.Losses[0].Explicit, false)
		// Confirmed, the removal goes through and does what the preview said.
		if _, err := e.St.AssignGroupLicenses(e.Ctx, admin, e.Tenant.ID, g.GUID, nil, []string{e3.SkuID}, true); err != nil {
			t.Fatal(err)
		}
		e.Drain()
		eq(t, "after the confirmed removal", len(e.Has(us[2])), 0)
		e.CheckCounters()
	})

	t.Run("Rule9_SeatReductionMovesNewestAssignmentsToCountViolation", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e.Product("SPE_E3", 5)
		us := e.Users("s", 5, "US")
		for _, u := range us {
			if err := e.Assign(u, "SPE_E3"); err != nil {
				t.Fatal(err)
			}
		}
		// Without confirmation the reduction is refused and changes nothing
		// (rule 11); the refusal names who would lose what.
		_, err := e.St.SetSeats(e.Ctx, admin, e.Tenant.ID, "SPE_E3", 3, false)
		eq(t, "unconfirmed reduction refused", allot.ErrorCode(err), allot.ELicenseLoss)
		var le *allot.LossError
		if !errors.As(err, &le) {
			t.Fatalf("refusal without the losses: %v", err)
		}
		eq(t, "refusal lists the two newest", len(le.Losses), 2)
		eq(t, "refusal names the newest holder", le.Losses[len(le.Losses)-1].UserGUID == us[4].GUID || le.Losses[0].UserGUID == us[4].GUID, true)
		c0, en0 := e.Consumed("SPE_E3")
		eq(t, "refused: nothing changed", [2]int{c0, en0}, [2]int{5, 5})
		if _, err := e.St.SetSeats(e.Ctx, admin, e.Tenant.ID, "SPE_E3", 3, true); err != nil {
			t.Fatal(err)
		}
		for i, u := range us {
			eq(t, "user "+u.DisplayName+" keeps seat", len(e.Has(u)) == 1, i < 3)
		}
		eq(t, "newest moved to CountViolation", e.Code(us[4], "SPE_E3", nil), allot.ESeatsReduced)
		c, en := e.Consumed("SPE_E3")
		eq(t, "consumed", c, 3)
		eq(t, "enabled", en, 3)
		evs, _, err := e.St.ListAudit(e.Ctx, e.Tenant.ID, store.AuditFilter{Activity: allot.ActSeatsBelowConsumed, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "audited", len(evs), 1)
		// Seats come back: the waiters get them back in order.
		if _, err := e.St.SetSeats(e.Ctx, admin, e.Tenant.ID, "SPE_E3", 4, false); err != nil {
			t.Fatal(err)
		}
		e.Drain()
		eq(t, "earlier assignment gets its seat back first", len(e.Has(us[3])), 1)
		eq(t, "newest still waits", len(e.Has(us[4])), 0)
		e.CheckCounters()
	})

	t.Run("Rule10_EveryMutationCanBePreviewedWithoutChangingAnything", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e3 := e.Product("SPE_E3", 6)
		us := e.Users("p", 8, "US")
		noLoc := e.User("noloc", "")
		members := []any{}
		for _, u := range us {
			members = append(members, u)
		}
		members = append(members, noLoc)
		g := e.Group("pilot", members...)
		ins := e.Product("WORKPLACE_ANALYTICS_INSIGHTS", 10)
		_ = ins
		auditBefore, _, _ := e.St.ListAudit(e.Ctx, e.Tenant.ID, store.AuditFilter{Limit: 1000})
		pv, err := e.St.Preview(e.Ctx, e.Tenant.ID, func(ctx context.Context) error {
			_, err := e.St.AssignGroupLicenses(ctx, admin, e.Tenant.ID, g.GUID, e.Req("SPE_E3"), nil, false)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "products in preview", len(pv.Products), 1)
		p := pv.Products[0]
		// The tenant default usage location applies to group licenses, so
		// the user without one is licensed too: 9 members, 6 seats.
		eq(t, "would gain", p.Gain, 6)
		eq(t, "would fail", p.Fail, 3)
		eq(t, "fail by error", p.FailByError[allot.LicenseErrCount], 3)
		eq(t, "sample", len(p.SampleFail), 3)
		// Nothing changed.
		gg, _ := e.St.Group(e.Ctx, e.Tenant.ID, g.GUID)
		eq(t, "group state untouched", gg.ProcessingState, allot.ProcessingComplete)
		c, _ := e.Consumed("SPE_E3")
		eq(t, "consumed untouched", c, 0)
		n, _ := e.St.PendingMarks(e.Ctx)
		eq(t, "no marks", n, 0)
		auditAfter, _, _ := e.St.ListAudit(e.Ctx, e.Tenant.ID, store.AuditFilter{Limit: 1000})
		eq(t, "no audit", len(auditAfter), len(auditBefore))
		// A seat change and a membership removal preview too.
		e.AssignGroup(g, store.LicenseRequest{SkuID: e3.SkuID})
		e.Drain()
		pv, err = e.St.Preview(e.Ctx, e.Tenant.ID, func(ctx context.Context) error {
			_, err := e.St.SetSeats(ctx, admin, e.Tenant.ID, "SPE_E3", 8, false)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "more seats would license", pv.Products[0].Gain, 2)
		pv, err = e.St.Preview(e.Ctx, e.Tenant.ID, func(ctx context.Context) error {
			_, err := e.St.SetSeats(ctx, admin, e.Tenant.ID, "SPE_E3", 4, true)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "fewer seats: newest lose", pv.Products[0].Lose, 2)
		eq(t, "fewer seats: the preview lists both losses", pv.LossCount, 2)
		eq(t, "fewer seats: a side effect that needs confirmation", pv.ConfirmationRequired, true)
		eq(t, "fewer seats: they wait", pv.Products[0].FailByCode[string(allot.ESeatsReduced)], 2)
		pv, err = e.St.Preview(e.Ctx, e.Tenant.ID, func(ctx context.Context) error {
			return e.St.RemoveMember(ctx, admin, e.Tenant.ID, g.GUID, us[0].GUID, false)
		})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "removal: one loses", pv.Products[0].Lose, 1)
		eq(t, "removal: first waiter gains", pv.Products[0].Gain, 1)
		eq(t, "still licensed after preview", e.Has(us[0]), []string{"SPE_E3"})
		e.CheckCounters()
	})
}

func intersect(sets [][]string) []string {
	if len(sets) == 0 {
		return nil
	}
	out := slices.Clone(sets[0])
	for _, s := range sets[1:] {
		out = slices.DeleteFunc(out, func(x string) bool { return !slices.Contains(s, x) })
	}
	sort.Strings(out)
	return out
}
