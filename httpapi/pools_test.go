package httpapi

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// staff creates n users (department dept, "" for none) in group g and
// returns their ids in the order they joined.
func (c *client) staff(g, prefix, dept string, n int) []string {
	c.t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		u := c.createUser(fmt.Sprintf("%s%d@contoso.com", prefix, i), "US")
		if dept != "" {
			c.must(204, "PATCH", "/v1.0/users/"+u, map[string]any{"department": dept})
		}
		c.addMember(g, u)
		out = append(out, u)
	}
	return out
}

// licensed returns the users of ids that hold sku.
func (c *client) licensed(sku string, ids []string) []string {
	c.t.Helper()
	var out []string
	for _, u := range ids {
		if slices.Contains(c.userSkus(u), sku) {
			out = append(out, u)
		}
	}
	return out
}

func num(m map[string]any, k string) int { v, _ := m[k].(float64); return int(v) }

// A pool of 10 seats of a 50-seat product for department Sales: without
// borrowing Sales holds at most 10 and the rest of Sales waits in the pool,
// while users outside Sales still get the remaining seats; with borrowing
// Sales takes remainder seats, and they return to the remainder when pool
// seats free up, without anyone losing a license.
func TestPools_ADepartmentPoolCapsItsMembersAndLendsOnlyWhenAllowed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e5 := c.sku("SPE_E5") // 50 seats
		pool := c.must(201, "POST", "/allot/v1/licensePools", map[string]any{"skuId": "SPE_E5", "allottedUnits": 10, "department": "Sales"}).object(t)
		id := pool["id"].(string)
		g := c.createGroup("Staff")
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{e5}, nil))
		sales := c.staff(g, "sales", "Sales", 15)
		others := c.staff(g, "ops", "Ops", 41)
		h.drain()

		if got := c.licensed(e5, sales); !slices.Equal(got, sales[:10]) {
			t.Fatalf("without borrowing %d Sales users hold E5 (%v), want the first 10", len(got), got)
		}
		if got := c.licensed(e5, others); !slices.Equal(got, others[:40]) {
			t.Fatalf("%d of 41 users outside Sales hold E5, want the first 40: the remainder has 40 seats", len(got))
		}
		p := c.getJSON("/allot/v1/licensePools/" + id)
		if num(p, "consumedUnits") != 10 || num(p, "borrowedUnits") != 0 || num(p, "waitingUnits") != 5 {
			t.Fatalf("pool %v, want 10 consumed, 0 borrowed, 5 waiting", p)
		}
		waiting := c.listAll("/allot/v1/licensePools/" + id + "/waitingMembers")
		var order []string
		for _, w := range waiting {
			order = append(order, w["userId"].(string))
			if w["waitingSinceDateTime"] == nil {
				t.Errorf("waiting member without waitingSinceDateTime: %v", w)
			}
		}
		if !slices.Equal(order, sales[10:]) {
			t.Fatalf("waiting members %v, want the last 5 Sales users in the order they joined %v", order, sales[10:])
		}

		// Bad input: more seats than the product has outside this pool.
		before := c.snapshot()
		e := c.expectError(400, "invalid", "POST", "/allot/v1/licensePools", map[string]any{"skuId": "SPE_E5", "allottedUnits": 41, "department": "Ops"})
		if !containsAll(e.PreciseMessage+e.Message, "Microsoft 365 E5", "at most 40") {
			t.Errorf("message %q does not name the product and the limit", e.Message)
		}
		c.expectError(400, "invalid", "PATCH", "/allot/v1/licensePools/"+id, map[string]any{"allottedUnits": 51})
		c.expectError(400, "invalid", "POST", "/allot/v1/licensePools", map[string]any{"skuId": "SPE_E5", "allottedUnits": 1})
		c.expectError(400, "invalid", "POST", "/allot/v1/licensePools", map[string]any{"skuId": "SPE_E5", "allottedUnits": 1, "department": "Ops", "consumedUnits": 3})
		c.expectError(404, "", "GET", "/allot/v1/licensePools/00000000-0000-0000-0000-000000000000", nil)
		c.unchanged(before, "refused pool changes")

		// A remainder seat that frees up goes to the first user waiting
		// outside the pool, though Sales users waited longer: they may not
		// take it.
		c.must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+others[0]+"/$ref", nil)
		h.drain()
		if !slices.Contains(c.userSkus(others[40]), e5) {
			t.Fatalf("the freed remainder seat did not go to the user waiting outside the pool")
		}
		if got := c.licensed(e5, sales); len(got) != 10 {
			t.Fatalf("%d Sales users hold E5 after a remainder seat freed, want 10", len(got))
		}
		for _, u := range others[1:9] {
			c.must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+u+"/$ref", nil)
		}
		h.drain()
		// Borrowing on: the 5 waiting Sales users borrow remainder seats
		// (8 are free).
		c.must(200, "PATCH", "/allot/v1/licensePools/"+id, map[string]any{"allowsBorrowing": true})
		h.drain()
		if got := c.licensed(e5, sales); len(got) != 15 {
			t.Fatalf("with borrowing %d of 15 Sales users hold E5", len(got))
		}
		p = c.getJSON("/allot/v1/licensePools/" + id)
		if num(p, "consumedUnits") != 10 || num(p, "borrowedUnits") != 5 || num(p, "waitingUnits") != 0 {
			t.Fatalf("pool %v, want 10 consumed, 5 borrowed, 0 waiting", p)
		}
		// Four more users outside Sales: 3 remainder seats are left, the fourth waits.
		late := c.staff(g, "late", "", 4)
		h.drain()
		if got := c.licensed(e5, late); !slices.Equal(got, late[:3]) {
			t.Fatalf("late users holding E5: %v, want the first 3 of %v", got, late)
		}
		// Two Sales users who hold pool seats leave: two borrowers move to
		// the pool's seats, their remainder seats return, and the waiting
		// late user gets one. Nobody else loses anything.
		for _, u := range sales[:2] {
			c.must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+u+"/$ref", nil)
		}
		h.drain()
		if got := c.licensed(e5, sales[2:]); len(got) != 13 {
			t.Fatalf("%d of the 13 remaining Sales users hold E5: a borrowed seat returning took a license away", len(got))
		}
		if got := c.licensed(e5, late); len(got) != 4 {
			t.Fatalf("late users holding E5: %v, want all 4 once the borrowed seats returned", got)
		}
		if got := c.licensed(e5, others[9:]); len(got) != 32 {
			t.Fatalf("%d of the 32 users outside Sales still in the group hold E5", len(got))
		}
		p = c.getJSON("/allot/v1/licensePools/" + id)
		if num(p, "consumedUnits") != 10 || num(p, "borrowedUnits") != 3 {
			t.Fatalf("pool %v, want 10 consumed, 3 borrowed", p)
		}
		if used, _ := c.consumed("SPE_E5"); used != 49 {
			t.Fatalf("consumedUnits %d, want 49", used)
		}
		// The pool's changes are audited; deleting it keeps every license.
		c.must(204, "DELETE", "/allot/v1/licensePools/"+id, nil)
		audits := c.listAll("/v1.0/auditLogs/directoryAudits?$top=999")
		seen := map[string]bool{}
		for _, a := range audits {
			seen[a["activityDisplayName"].(string)] = true
		}
		for _, act := range []string{"Add license pool", "Update license pool", "Delete license pool"} {
			if !seen[act] {
				t.Errorf("no audit event %q", act)
			}
		}
		if used, _ := c.consumed("SPE_E5"); used != 49 {
			t.Fatalf("consumedUnits %d after deleting the pool, want 49", used)
		}
	})
}

// containsAll tells whether s contains every one of words.
func containsAll(s string, words ...string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// A user waiting for the shared seats who moves into a pool's department
// is recomputed at once and takes a free seat of the pool.
func TestPools_AUserWhoMovesIntoAPoolsDepartmentDrawsFromThePool(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		sku := c.sku("ENTERPRISEPACK") // 10 seats
		c.must(201, "POST", "/allot/v1/licensePools", map[string]any{"skuId": "ENTERPRISEPACK", "allottedUnits": 2, "department": "Sales"})
		g := c.createGroup("Office")
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{sku}, nil))
		ops := c.staff(g, "clerk", "Ops", 9)
		h.drain()
		if got := c.licensed(sku, ops); !slices.Equal(got, ops[:8]) {
			t.Fatalf("%d Ops users hold Office 365 E3, want the first 8 (the remainder)", len(got))
		}
		c.must(204, "PATCH", "/v1.0/users/"+ops[8], map[string]any{"department": "sales"})
		h.drain()
		if !slices.Contains(c.userSkus(ops[8]), sku) {
			t.Fatalf("the user who moved to Sales still waits beside a free seat of the Sales pool")
		}
	})
}
