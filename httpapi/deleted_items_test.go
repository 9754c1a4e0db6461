package httpapi

import (
	"context"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"allot/reconcile"
)

// deletedLicensedUser makes adele: E3 directly (one plan disabled) and E5
// through the group "E5 staff"; it returns adele's id, the group's id and
// the disabled plan.
func deletedLicensedUser(t *testing.T, h *harness) (adele, group, plan string) {
	t.Helper()
	c := h.A
	adele = c.createUser("adele@contoso.com", "US")
	plan = c.getJSON("/v1.0/subscribedSkus/SPE_E3")["servicePlans"].([]any)[0].(map[string]any)["servicePlanId"].(string)
	c.must(200, "POST", "/v1.0/users/"+adele+"/assignLicense", map[string]any{
		"addLicenses": []map[string]any{{"skuId": c.sku("SPE_E3"), "disabledPlans": []string{plan}}}, "removeLicenses": []string{}})
	group = c.createGroup("E5 staff")
	c.must(202, "POST", "/v1.0/groups/"+group+"/assignLicense", assignBody([]string{c.sku("SPE_E5")}, nil))
	c.addMember(group, adele)
	h.drain()
	if got := c.userSkus(adele); len(got) != 2 {
		t.Fatalf("adele before the deletion: %v", got)
	}
	return adele, group, plan
}

// licenseState returns the user's licenseAssignmentStates entry of sku
// from source ("" direct, else a group id), or nil.
func deletedTestState(c *client, user, sku, source string) map[string]any {
	c.t.Helper()
	for _, s := range c.getJSON("/v1.0/users/" + user)["licenseAssignmentStates"].([]any) {
		m := s.(map[string]any)
		g, _ := m["assignedByGroup"].(string)
		if m["skuId"] == sku && g == source {
			return m
		}
	}
	return nil
}

func audited(c *client, activity, target string) bool {
	c.t.Helper()
	for _, a := range c.listAll("/v1.0/auditLogs/directoryAudits?$filter=" + url.QueryEscape("activityDisplayName eq '"+activity+"'")) {
		for _, r := range a["targetResources"].([]any) {
			if r.(map[string]any)["id"] == target {
				return true
			}
		}
	}
	return false
}

const deletedUsersPath = "/v1.0/directory/deletedItems/microsoft.graph.user"

func TestDeletedUserFreesSeatsAndRestoresLicenses(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		adele, group, plan := deletedLicensedUser(t, h)
		e3, e5 := c.sku("SPE_E3"), c.sku("SPE_E5")

		c.must(204, "DELETE", "/v1.0/users/"+adele, nil)
		// Seats are free at once, before any background work.
		for _, sku := range []string{"SPE_E3", "SPE_E5"} {
			if n, _ := c.consumed(sku); n != 0 {
				t.Errorf("%s consumedUnits after the deletion: %d, want 0", sku, n)
			}
		}
		c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/users/"+adele, nil)
		if slices.Contains(ids(c.listAll("/v1.0/users")), adele) {
			t.Error("GET /users lists the deleted user")
		}
		if got := c.listAll("/v1.0/users?$filter=" + url.QueryEscape("userPrincipalName eq 'adele@contoso.com'")); len(got) != 0 {
			t.Errorf("a filter finds the deleted user: %v", got)
		}
		if slices.Contains(ids(c.listAll("/v1.0/groups/"+group+"/members")), adele) {
			t.Error("the group still lists the deleted user as a member")
		}

		// Deleted items list it, with what a restore gives back.
		items := c.listAll(deletedUsersPath)
		if len(items) != 1 || items[0]["id"] != adele || items[0]["userPrincipalName"] != "adele@contoso.com" {
			t.Fatalf("deleted items: %v", items)
		}
		if _, err := time.Parse(time.RFC3339, items[0]["deletedDateTime"].(string)); err != nil {
			t.Errorf("deletedDateTime %v: %v", items[0]["deletedDateTime"], err)
		}
		lic := items[0]["assignedLicenses"].([]any)
		if len(lic) != 1 || lic[0].(map[string]any)["skuId"] != e3 {
			t.Errorf("deleted item's assignedLicenses: %v", lic)
		}
		one := c.getJSON("/v1.0/directory/deletedItems/" + adele + "?$select=id,deletedDateTime")
		if one["id"] != adele || one["deletedDateTime"] == nil || one["displayName"] != nil {
			t.Errorf("GET deletedItems/{id} with $select: %v", one)
		}
		filtered := c.listAll(deletedUsersPath + "?$filter=" + url.QueryEscape("startswith(userPrincipalName,'adele')"))
		if len(filtered) != 1 {
			t.Errorf("$filter on deleted items: %v", filtered)
		}
		if got := c.listAll(deletedUsersPath + "?$filter=" + url.QueryEscape("displayName eq 'nobody'")); len(got) != 0 {
			t.Errorf("$filter matching nobody: %v", got)
		}

		// Restore: memberships and licenses come back, seats counted.
		r := c.must(200, "POST", "/v1.0/directory/deletedItems/"+adele+"/restore", nil).object(t)
		if r["id"] != adele || r["userPrincipalName"] != "adele@contoso.com" {
			t.Errorf("restore answered %v", r)
		}
		if got, want := c.userSkus(adele), sortedStrings([]string{e3, e5}); !slices.Equal(got, want) {
			t.Errorf("adele's licenses after the restore: %v, want %v", got, want)
		}
		if st := deletedTestState(c, adele, e3, ""); st == nil || !slices.Equal(jsonStrings(st["disabledPlans"]), []string{plan}) {
			t.Errorf("the direct E3 after the restore: %v, want disabledPlans [%s]", st, plan)
		}
		for _, sku := range []string{"SPE_E3", "SPE_E5"} {
			if n, _ := c.consumed(sku); n != 1 {
				t.Errorf("%s consumedUnits after the restore: %d, want 1", sku, n)
			}
		}
		if !slices.Contains(ids(c.listAll("/v1.0/groups/"+group+"/members")), adele) {
			t.Error("the restored user is not back in its group")
		}
		if got := c.listAll(deletedUsersPath); len(got) != 0 {
			t.Errorf("deleted items after the restore: %v", got)
		}
		c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/directory/deletedItems/"+adele, nil)
		c.expectError(404, "Request_ResourceNotFound", "POST", "/v1.0/directory/deletedItems/"+adele+"/restore", nil)
		h.drain() // nothing left to change
		if got := c.userSkus(adele); len(got) != 2 {
			t.Errorf("adele after group licensing ran: %v", got)
		}
		for _, act := range []string{"Delete user", "Restore user"} {
			if !audited(c, act, adele) {
				t.Errorf("no %q audit event for adele", act)
			}
		}
	})
}

func jsonStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestRestoredUserWaitsWhenItsSeatsAreGone(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		adele, _, _ := deletedLicensedUser(t, h)
		e3, e5 := c.sku("SPE_E3"), c.sku("SPE_E5")
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/SPE_E3", map[string]any{"enabledUnits": 1})
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/SPE_E5", map[string]any{"enabledUnits": 1})
		c.must(204, "DELETE", "/v1.0/users/"+adele, nil)

		// Others take the seats adele gave back.
		bob := c.createUser("bob@contoso.com", "US")
		c.must(200, "POST", "/v1.0/users/"+bob+"/assignLicense", assignBody([]string{e3, e5}, nil))

		c.must(200, "POST", "/v1.0/directory/deletedItems/"+adele+"/restore", nil)
		h.drain()
		if got := c.userSkus(bob); len(got) != 2 {
			t.Errorf("bob lost a seat to the restore: %v", got)
		}
		if got := c.userSkus(adele); len(got) != 0 {
			t.Errorf("adele holds %v without free seats", got)
		}
		group := c.listAll("/v1.0/users/" + adele + "/memberOf")
		if len(group) != 1 {
			t.Fatalf("adele's groups after the restore: %v", group)
		}
		for _, w := range []struct{ sku, source string }{{e3, ""}, {e5, group[0]["id"].(string)}} {
			st := deletedTestState(c, adele, w.sku, w.source)
			if st == nil || st["state"] != "Error" || st["error"] != "CountViolation" || st["allotErrorCode"] != "noSeatsAvailable" {
				t.Errorf("adele's %s state (source %q): %v, want waiting for a seat", w.sku, w.source, st)
			}
		}
		for _, sku := range []string{"SPE_E3", "SPE_E5"} {
			if n, _ := c.consumed(sku); n != 1 {
				t.Errorf("%s consumedUnits: %d, want 1 (bob's)", sku, n)
			}
		}

		// A seat freed goes to adele, first in line.
		c.must(200, "POST", "/v1.0/users/"+bob+"/assignLicense", assignBody(nil, []string{e5}))
		h.drain()
		if got := c.userSkus(adele); !slices.Equal(got, []string{e5}) {
			t.Errorf("adele after bob gave back E5: %v, want [%s]", got, e5)
		}
		if st := deletedTestState(c, adele, e3, ""); st == nil || st["allotErrorCode"] != "noSeatsAvailable" {
			t.Errorf("adele's direct E3 should still wait: %v", st)
		}
	})
}

func TestRestoreConflictsAndPermanentDelete(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		adele, _, _ := deletedLicensedUser(t, h)
		c.must(204, "DELETE", "/v1.0/users/"+adele, nil)
		newAdele := c.createUser("adele@contoso.com", "US")

		before := c.snapshot()
		e := c.expectError(400, "Request_BadRequest", "POST", "/v1.0/directory/deletedItems/"+adele+"/restore", nil)
		if !strings.Contains(e.Message, "userPrincipalName") {
			t.Errorf("conflict message: %q", e.Message)
		}
		c.expectError(400, "Request_BadRequest", "POST", "/v1.0/directory/deletedItems/"+adele+"/restore", map[string]any{"unknown": true})
		c.expectError(400, "Request_BadRequest", "POST", "/v1.0/directory/deletedItems/not-a-guid/restore", nil)
		c.expectError(400, "Request_BadRequest", "GET", "/v1.0/directory/deletedItems/not-a-guid", nil)
		c.expectError(400, "Request_UnsupportedQuery", "GET", deletedUsersPath+"?$orderby=displayName", nil)
		c.expectError(400, "Request_BadRequest", "GET", deletedUsersPath+"?$select=nope", nil)
		c.unchanged(before, "refused restores")
		if got := c.listAll(deletedUsersPath); len(got) != 1 {
			t.Fatalf("a refused restore changed deleted items: %v", got)
		}

		// Under a new name it comes back; the new adele is left alone.
		r := c.must(200, "POST", "/v1.0/directory/deletedItems/"+adele+"/microsoft.graph.restore",
			map[string]any{"newUserPrincipalName": "adele.old@contoso.com"}).object(t)
		if r["userPrincipalName"] != "adele.old@contoso.com" {
			t.Errorf("restored under %v", r["userPrincipalName"])
		}
		if got := c.getJSON("/v1.0/users/" + newAdele)["userPrincipalName"]; got != "adele@contoso.com" {
			t.Errorf("the new adele is now %v", got)
		}

		// Permanent deletion: gone from deleted items, nothing to restore.
		c.must(204, "DELETE", "/v1.0/users/"+adele, nil)
		c.must(204, "DELETE", "/v1.0/directory/deletedItems/"+adele, nil)
		c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/directory/deletedItems/"+adele, nil)
		c.expectError(404, "Request_ResourceNotFound", "POST", "/v1.0/directory/deletedItems/"+adele+"/restore", nil)
		c.expectError(404, "Request_ResourceNotFound", "DELETE", "/v1.0/directory/deletedItems/"+adele, nil)
		if !audited(c, "Hard Delete user", adele) {
			t.Error("no Hard Delete user audit event")
		}
		for _, sku := range []string{"SPE_E3", "SPE_E5"} {
			if n, _ := c.consumed(sku); n != 0 {
				t.Errorf("%s consumedUnits: %d, want 0", sku, n)
			}
		}
	})
}

func TestDeletedUsersArePurgedAfterRetention(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		adele, _, _ := deletedLicensedUser(t, h)
		bob := c.createUser("bob@contoso.com", "US")
		c.must(204, "DELETE", "/v1.0/users/"+adele, nil)
		ctx := context.Background()
		log := slog.New(h.logs)
		at := func(d time.Duration) reconcile.PurgerOption {
			return reconcile.WithClock(func() time.Time { return time.Now().Add(d) })
		}
		if n, err := reconcile.NewPurger(h.st, log, reconcile.DefaultRetention, at(29*24*time.Hour)).Once(ctx); err != nil || n != 0 {
			t.Fatalf("purge within the retention period: %d, %v", n, err)
		}
		if got := c.listAll(deletedUsersPath); len(got) != 1 {
			t.Fatalf("deleted items within the retention period: %v", got)
		}
		c.must(204, "DELETE", "/v1.0/users/"+bob, nil)
		if n, err := reconcile.NewPurger(h.st, log, reconcile.DefaultRetention, at(31*24*time.Hour)).Once(ctx); err != nil || n != 2 {
			t.Fatalf("purge after the retention period: %d, %v", n, err)
		}
		if got := c.listAll(deletedUsersPath); len(got) != 0 {
			t.Errorf("deleted items after the retention period: %v", got)
		}
		c.expectError(404, "Request_ResourceNotFound", "POST", "/v1.0/directory/deletedItems/"+adele+"/restore", nil)
		for _, sku := range []string{"SPE_E3", "SPE_E5"} {
			if n, _ := c.consumed(sku); n != 0 {
				t.Errorf("%s consumedUnits: %d, want 0", sku, n)
			}
		}
		if !audited(c, "Hard Delete user", adele) || !audited(c, "Hard Delete user", bob) {
			t.Error("the purge is not audited")
		}
		// A short retention purges at once.
		carol := c.createUser("carol@contoso.com", "US")
		c.must(204, "DELETE", "/v1.0/users/"+carol, nil)
		time.Sleep(5 * time.Millisecond)
		if n, err := reconcile.NewPurger(h.st, log, time.Millisecond).Once(ctx); err != nil || n != 1 {
			t.Errorf("purge with a 1 ms retention: %d, %v", n, err)
		}
	})
}

func TestRestoreDoesNotTakeAWaitersSeat(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		adele, group, _ := deletedLicensedUser(t, h)
		e5 := c.sku("SPE_E5")
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/SPE_E5", map[string]any{"enabledUnits": 1})
		c.must(204, "DELETE", "/v1.0/users/"+adele, nil)
		carol := c.createUser("carol@contoso.com", "US")
		c.must(200, "POST", "/v1.0/users/"+carol+"/assignLicense", assignBody([]string{e5}, nil))
		dave := c.createUser("dave@contoso.com", "US")
		c.addMember(group, dave)
		h.drain()
		if st := deletedTestState(c, dave, e5, group); st == nil || st["allotErrorCode"] != "noSeatsAvailable" {
			t.Fatalf("dave should wait for E5: %v", st)
		}
		// carol's seat is free, owed to dave, who has not got it yet.
		c.must(200, "POST", "/v1.0/users/"+carol+"/assignLicense", assignBody(nil, []string{e5}))
		c.must(200, "POST", "/v1.0/directory/deletedItems/"+adele+"/restore", nil)
		if got := c.userSkus(adele); slices.Contains(got, e5) {
			t.Errorf("the restore took the seat dave waits for: adele holds %v", got)
		}
		h.drain()
		if got := c.userSkus(dave); !slices.Equal(got, []string{e5}) {
			t.Errorf("dave after the restore: %v, want [%s]", got, e5)
		}
		if st := deletedTestState(c, adele, e5, group); st == nil || st["allotErrorCode"] != "noSeatsAvailable" {
			t.Errorf("adele should wait behind dave: %v", st)
		}
		if n, _ := c.consumed("SPE_E5"); n != 1 {
			t.Errorf("SPE_E5 consumedUnits: %d, want 1", n)
		}
	})
}

func TestRestoreProxyConflictAndDeletedGroup(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		adele, group, _ := deletedLicensedUser(t, h)
		c.must(204, "PATCH", "/v1.0/users/"+adele, map[string]any{"proxyAddresses": []string{"smtp:adele@contoso.com", "smtp:av@contoso.com"}})
		c.must(204, "DELETE", "/v1.0/users/"+adele, nil)
		bob := c.createUser("bob@contoso.com", "US")
		c.must(204, "PATCH", "/v1.0/users/"+bob, map[string]any{"proxyAddresses": []string{"smtp:av@contoso.com"}})
		c.must(204, "DELETE", "/v1.0/groups/"+group+"?confirmLicenseLoss=true", nil)

		e := c.expectError(400, "Request_BadRequest", "POST", "/v1.0/directory/deletedItems/"+adele+"/restore", nil)
		if !strings.Contains(e.Message, "autoReconcileProxyConflict") {
			t.Errorf("proxy conflict message: %q", e.Message)
		}
		r := c.must(200, "POST", "/v1.0/directory/deletedItems/"+adele+"/restore", map[string]any{"autoReconcileProxyConflict": true}).object(t)
		if got := jsonStrings(r["proxyAddresses"]); !slices.Equal(got, []string{"smtp:adele@contoso.com"}) {
			t.Errorf("restored proxyAddresses %v, want the free one only", got)
		}
		if got := c.listAll("/v1.0/users/" + adele + "/memberOf"); len(got) != 0 {
			t.Errorf("restored into a deleted group: %v", got)
		}
		if got, want := c.userSkus(adele), []string{c.sku("SPE_E3")}; !slices.Equal(got, want) {
			t.Errorf("licenses %v, want the direct E3 only", got)
		}
	})
}
