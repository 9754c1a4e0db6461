package web_test

import (
	"testing"

	"allot/store/sqlstore"
)

// The Pools section of a product's page: empty, a refused pool (the error
// in place), a created one with its bar, waiting count and borrowing, and
// an edit; axe finds nothing at each step.
func TestBrowserPoolsSectionShowsAPoolsBarAndSavesPools(t *testing.T) {
	e := newEnv(t, 25)
	ins := e.skus["WORKPLACE_ANALYTICS_INSIGHTS"].SkuID
	b := e.browser()
	b.open("/signin")
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/licenses/" + ins)
	b.waitText("#pools", "No pool")
	b.axeCheck("product without pools")

	b.fill("#pool-new-name", "Sales analysts")
	b.fill("#pool-new-allotted", "99")
	b.fill("#pool-new-department", "Sales")
	b.click("#pool-create-submit")
	b.waitText("#pools [role=alert]", "at most 25")
	b.axeCheck("pool refused")

	b.fill("#pool-new-name", "Sales analysts")
	b.fill("#pool-new-allotted", "10")
	b.fill("#pool-new-department", "Sales")
	b.click("#pool-create-submit")
	b.waitText("#pools [role=status]", "Pool created")
	b.waitText("#pools article", "Department Sales")
	b.waitText("#pools article", "0 of 10 pool seats used")
	b.waitText("#pools article [data-pool-waiting]", "0")
	b.waitText("#pools article", "No: members wait")
	if n := b.count(`#pools article [role=img][aria-label="0 of 10 pool seats used"]`); n != 1 {
		t.Fatalf("%d pool bars with their label, want 1", n)
	}
	b.axeCheck("pools")

	b.click(`#pools article input[type=checkbox]`)
	b.click(`#pools article button[type=submit]`)
	b.waitText("#pools [role=status]", "Pool saved")
	b.waitText("#pools article", "Members may borrow shared seats")
	b.axeCheck("pool saved")
	pools, err := e.st.Pools(t.Context(), e.tenant.ID)
	if err != nil || len(pools) != 1 || !pools[0].AllowsBorrowing || pools[0].AllottedUnits != 10 {
		t.Fatalf("stored pools %+v (%v), want one of 10 seats that lends", pools, err)
	}
	var _ *sqlstore.LicensePool = pools[0]
}
