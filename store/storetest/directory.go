package storetest

import (
	"testing"
	"time"

	"allot"
	"allot/store"
)

func testDirectory(t *testing.T, open Opener) {
	t.Run("UserPrincipalNamesAreUniqueCaseInsensitively", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e.User("Ana", "US")
		err := e.St.CreateUser(e.Ctx, admin, e.Tenant.ID, &allot.User{UserPrincipalName: "ANA@contoso.test", DisplayName: "x"})
		eq(t, "duplicate UPN", allot.ErrorCode(err), allot.EConflict)
		u, err := e.St.User(e.Ctx, e.Tenant.ID, "ana@CONTOSO.test")
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "lookup by UPN", u.DisplayName, "Ana")
	})
	t.Run("ProxyAddressesAreUniqueCaseInsensitively", func(t *testing.T) {
		e := NewEnv(t, open(t))
		a := &allot.User{UserPrincipalName: "a@contoso.test", DisplayName: "a", ProxyAddresses: []string{"smtp:Alias@contoso.test"}}
		if err := e.St.CreateUser(e.Ctx, admin, e.Tenant.ID, a); err != nil {
			t.Fatal(err)
		}
		b := &allot.User{UserPrincipalName: "b@contoso.test", DisplayName: "b", ProxyAddresses: []string{"SMTP:alias@CONTOSO.test"}}
		eq(t, "duplicate proxy address", allot.ErrorCode(e.St.CreateUser(e.Ctx, admin, e.Tenant.ID, b)), allot.EConflict)
		ms, err := e.St.ResolveAddresses(e.Ctx, e.Tenant.ID, []string{"ALIAS@contoso.test", "a@contoso.test", "nobody@x.test"})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "matches", len(ms), 3)
		eq(t, "match by proxy", ms[0].User != nil && ms[0].User.ID == a.ID && ms[0].MatchedBy == "proxyAddresses", true)
		eq(t, "match by UPN", ms[1].User != nil && ms[1].MatchedBy == "userPrincipalName", true)
		eq(t, "no match", ms[2].User == nil, true)
	})
	t.Run("MembershipCyclesAreRefused", func(t *testing.T) {
		e := NewEnv(t, open(t))
		a := e.Group("a")
		b := e.Group("b", a)
		c := e.Group("c", b)
		err := e.St.AddMember(e.Ctx, admin, e.Tenant.ID, a.GUID, c.GUID)
		eq(t, "cycle", allot.ErrorCode(err), allot.EMembershipCycle)
		err = e.St.AddMember(e.Ctx, admin, e.Tenant.ID, a.GUID, a.GUID)
		eq(t, "self", allot.ErrorCode(err), allot.EMembershipCycle)
	})
	t.Run("TransitiveMembersFollowMembershipOrder", func(t *testing.T) {
		e := NewEnv(t, open(t))
		us := e.Users("t", 4, "US")
		inner := e.Group("inner", us[2], us[1])
		outer := e.Group("outer", us[0], inner, us[3], us[1])
		ms, _, err := e.St.TransitiveMembers(e.Ctx, e.Tenant.ID, outer.GUID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range ms {
			if m.User != nil {
				names = append(names, m.User.DisplayName)
			} else {
				names = append(names, "group:"+m.Group.DisplayName)
			}
		}
		eq(t, "order", names, []string{"t-1", "group:inner", "t-3", "t-2", "t-4"})
	})
	t.Run("EveryChangeIsAuditedInItsTransaction", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e.Product("SPE_E3", 1)
		u := e.User("aud", "US")
		if err := e.Assign(u, "SPE_E3"); err != nil {
			t.Fatal(err)
		}
		v := e.User("aud2", "US")
		_ = e.Assign(v, "SPE_E3") // fails: no seat; nothing may be audited for it
		evs, _, err := e.St.ListAudit(e.Ctx, e.Tenant.ID, store.AuditFilter{Activity: allot.ActChangeUserLicense, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "license changes audited", len(evs), 1)
		eq(t, "target", evs[0].TargetName, u.UserPrincipalName)
		all, _, _ := e.St.ListAudit(e.Ctx, e.Tenant.ID, store.AuditFilter{Limit: 100})
		eq(t, "newest first", all[0].ID > all[len(all)-1].ID, true)
	})
	t.Run("GroupLicensingAuditsEveryUserAndPagesThroughThem", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e3 := e.Product("SPE_E3", 10)
		us := e.Users("au", 5, "US")
		g := e.Group("g", us[0], us[1], us[2], us[3], us[4])
		e.AssignGroup(g, store.LicenseRequest{SkuID: e3.SkuID})
		e.Drain()
		seen := map[string]bool{}
		var cursor int64
		pages := 0
		for {
			evs, next, err := e.St.ListAudit(e.Ctx, e.Tenant.ID, store.AuditFilter{Activity: allot.ActChangeUserLicense, Before: cursor, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, ev := range evs {
				if seen[ev.GUID] {
					t.Errorf("event %s listed twice", ev.GUID)
				}
				seen[ev.GUID] = true
				eq(t, "actor", ev.ActorName, allot.SystemActor.Name)
				eq(t, "target kind", ev.TargetKind, "User")
				if ev.TargetName == "" || ev.TargetID == "" {
					t.Errorf("event %s has no target user", ev.GUID)
				}
			}
			if next == 0 {
				break
			}
			cursor = next
		}
		eq(t, "events", len(seen), 5)
		eq(t, "pages", pages, 3)
		one, _, err := e.St.ListAudit(e.Ctx, e.Tenant.ID, store.AuditFilter{Activity: allot.ActChangeUserLicense, TargetID: us[2].GUID, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "filtered by target", len(one), 1)
		eq(t, "filtered target", one[0].TargetName, us[2].UserPrincipalName)
		for _, act := range []string{allot.ActSetGroupLicense, allot.ActStartGroupLicense, allot.ActFinishGroupLicense} {
			evs, _, _ := e.St.ListAudit(e.Ctx, e.Tenant.ID, store.AuditFilter{Activity: act, Limit: 10})
			eq(t, act+" events", len(evs), 1)
		}
		fin, _, _ := e.St.ListAudit(e.Ctx, e.Tenant.ID, store.AuditFilter{Activity: allot.ActFinishGroupLicense, Limit: 1})
		eq(t, "finish reason", fin[0].ResultReason, "Users successfully assigned licenses: 5, Users for whom license assignment failed: 0.")
	})
	t.Run("DeletingAUserGivesBackItsSeatToTheFirstWaiter", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e3 := e.Product("SPE_E3", 1)
		a, b := e.User("a", "US"), e.User("b", "US")
		g := e.Group("g", a, b)
		e.AssignGroup(g, store.LicenseRequest{SkuID: e3.SkuID})
		e.Drain()
		eq(t, "b waits", len(e.Has(b)), 0)
		if err := e.St.DeleteUser(e.Ctx, admin, e.Tenant.ID, a.GUID); err != nil {
			t.Fatal(err)
		}
		e.Drain()
		eq(t, "b licensed", e.Has(b), []string{"SPE_E3"})
		gg, _ := e.St.Group(e.Ctx, e.Tenant.ID, g.GUID)
		eq(t, "group has no errors", gg.HasLicenseErrors, false)
		e.CheckCounters()
	})
	t.Run("TokensAreStoredHashedAndScopedToTheirTenant", func(t *testing.T) {
		e := NewEnv(t, open(t))
		raw := "allot_" + "0123456789abcdefghijklmnopqrstuvwxyz"
		if err := e.St.CreateToken(e.Ctx, e.Tenant.ID, "t", store.RoleGlobalReader, raw); err != nil {
			t.Fatal(err)
		}
		p, err := e.St.Authenticate(e.Ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "tenant", p.Tenant.GUID, e.Tenant.GUID)
		eq(t, "role", p.Role, store.RoleGlobalReader)
		_, err = e.St.Authenticate(e.Ctx, raw+"x")
		eq(t, "wrong token", allot.ErrorCode(err), allot.EUnauthorized)
	})
}

func testReconcile(t *testing.T, open Opener) {
	t.Run("ReconcilingTwiceChangesNothing", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e3 := e.Product("SPE_E3", 20)
		us := e.Users("r", 30, "US")
		members := make([]any, len(us))
		for i, u := range us {
			members[i] = u
		}
		g := e.Group("g", members...)
		e.AssignGroup(g, store.LicenseRequest{SkuID: e3.SkuID})
		e.Drain()
		ids := make([]int64, len(us))
		for i, u := range us {
			ids[i] = u.ID
		}
		st, err := e.St.ReconcileUsers(e.Ctx, e.Tenant.ID, ids, nil)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "changed on second pass", st.Changed, 0)
		e.CheckCounters()
	})
	t.Run("AClaimedMarkSurvivesUntilItsBatchCommits", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e3 := e.Product("SPE_E3", 5)
		u := e.User("m", "US")
		g := e.Group("g", u)
		e.AssignGroup(g, store.LicenseRequest{SkuID: e3.SkuID})
		// A worker claims the group mark and dies before doing anything.
		ms, err := e.St.ClaimMarks(e.Ctx, store.MarkGroup, "dead-worker", 10, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "claimed", len(ms), 1)
		again, _ := e.St.ClaimMarks(e.Ctx, store.MarkGroup, "other", 10, time.Minute)
		eq(t, "leased mark not claimed twice", len(again), 0)
		time.Sleep(60 * time.Millisecond)
		e.Drain()
		eq(t, "licensed after the lease expired", e.Has(u), []string{"SPE_E3"})
		n, _ := e.St.PendingMarks(e.Ctx)
		eq(t, "no marks left", n, 0)
	})
	t.Run("AMarkWrittenDuringProcessingIsProcessedAgain", func(t *testing.T) {
		e := NewEnv(t, open(t))
		e3 := e.Product("SPE_E3", 5)
		u, v := e.User("p", "US"), e.User("q", "US")
		g := e.Group("g", u)
		e.AssignGroup(g, store.LicenseRequest{SkuID: e3.SkuID})
		ms, err := e.St.ClaimMarks(e.Ctx, store.MarkGroup, "w1", 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		// While w1 works, a member joins: the group is marked again.
		e.Add(g, v)
		if _, err := e.St.ReprocessGroup(e.Ctx, admin, e.Tenant.ID, g.GUID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.St.ReconcileUsers(e.Ctx, e.Tenant.ID, []int64{u.ID}, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.St.FinishGroup(e.Ctx, e.Tenant.ID, ms[0], 1, 0); err != nil {
			t.Fatal(err)
		}
		left, err := e.St.ClaimMarks(e.Ctx, store.MarkGroup, "w2", 10, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "group mark kept for another pass", len(left), 1)
		gg, _ := e.St.Group(e.Ctx, e.Tenant.ID, g.GUID)
		eq(t, "not complete while marked again", gg.ProcessingState != allot.ProcessingComplete, true)
		time.Sleep(5 * time.Millisecond)
		e.Drain()
		eq(t, "late member licensed", e.Has(v), []string{"SPE_E3"})
		e.CheckCounters()
	})
}
