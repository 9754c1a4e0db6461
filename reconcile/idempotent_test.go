package reconcile_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"allot"
	"allot/catalog"
	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
)

// TestReconcileAgainWritesNothing reconciles the members of a group that
// assigns a product with a service plan off, then reconciles them again:
// their licenses are up to date, so the second pass must write nothing (no
// change counted, no update time moved). It guards against a bug the crash
// test found: group states are stored without their disabled plans, and
// when they were read back with none, the rules saw the group's plans as a
// change and every reconcile rewrote every such state.
func TestReconcileAgainWritesNothing(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ten, err := st.CreateTenant(ctx, "again", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	e5, _ := catalog.Lookup("SPE_E5")
	p5, err := st.AddProduct(ctx, actor, ten.ID, e5, 10)
	if err != nil {
		t.Fatal(err)
	}
	g, ids, err := st.LoadGroup(ctx, ten.ID, "g", "u", 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AssignGroupLicenses(ctx, actor, ten.ID, g.GUID,
		[]store.LicenseRequest{{SkuID: p5.SkuID, DisabledPlans: []string{p5.ServicePlans[0].ID}}}, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := reconcile.New(st, slog.New(slog.NewTextHandler(io.Discard, nil))).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	before := updateTimes(t, st, ten, ids)
	rs, err := st.ReconcileUsers(ctx, ten.ID, ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	after := updateTimes(t, st, ten, ids)
	if rs.Changed != 0 {
		t.Errorf("the second reconcile changed %d of %d users", rs.Changed, len(ids))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("state %s: updated at %d, then at %d", k, v, after[k])
		}
	}
}

// updateTimes returns the update time of each license state of the users.
func updateTimes(t *testing.T, st *sqlstore.Store, ten *allot.Tenant, ids []int64) map[string]int64 {
	t.Helper()
	lic, err := st.UserLicenses(context.Background(), ten.ID, ids)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, id := range ids {
		for _, v := range lic[id] {
			out[fmt.Sprintf("%d/%s/%s", id, v.Product.SkuPartNumber, v.GroupName)] = v.UpdatedAt
		}
	}
	return out
}
