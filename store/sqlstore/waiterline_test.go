package sqlstore_test

import (
	"testing"

	"allot"
	"allot/store/storetest"
)

// TestAWaiterWhoLeavesTheLineDoesNotKeepTheSeat: a seat frees while the
// first waiter in line is leaving the group; the batch that removes it
// also takes in a new waiter, so the counters come out even. The seat
// must still go to the next waiter in line, not stay free beside them.
func TestAWaiterWhoLeavesTheLineDoesNotKeepTheSeat(t *testing.T) {
	st := openSQLite(t)
	e := storetest.NewEnv(t, st)
	e.Product("SPE_E5", 1)
	holder := e.User("holder", "US")
	if err := e.Assign(holder, "SPE_E5"); err != nil {
		t.Fatal(err)
	}
	first, next, late := e.User("first", "US"), e.User("next", "US"), e.User("late", "US")
	g := e.Group("E5 staff")
	e.AssignGroup(g, e.Req("SPE_E5")...)
	e.Add(g, first)
	e.Drain()
	e.Add(g, next)
	e.Drain()
	e.Remove(g, first)
	e.Add(g, late)
	if _, err := st.AssignUserLicenses(e.Ctx, allot.SystemActor, e.Tenant.ID, holder.GUID, nil, []string{e.Products["SPE_E5"].SkuID}); err != nil {
		t.Fatal(err)
	}
	e.Drain()
	if got := e.Has(next); len(got) != 1 || got[0] != "SPE_E5" {
		t.Errorf("the next in line holds %v with the seat free (code %s), want SPE_E5", got, e.Code(next, "SPE_E5", g))
	}
	e.CheckCounters()
}
