package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"allot"
	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
)

// TestPostgresWakesOtherProcesses: marks written through one store wake the
// workers of another store on the same database (LISTEN/NOTIFY) at once,
// without waiting for their poll.
func TestPostgresWakesOtherProcesses(t *testing.T) {
	db := pgtest.NewDatabase(t)
	ctx := context.Background()
	open := func() *sqlstore.Store {
		st, err := sqlstore.OpenPostgres(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := open(), open()
	deadline := time.Now().Add(10 * time.Second)
	for !b.Listening() {
		if time.Now().After(deadline) {
			t.Fatal("the second store does not LISTEN")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ten, err := a.CreateTenant(ctx, "Wake", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	admin := allot.Actor{Kind: "app", ID: "test", Name: "test"}
	u := &allot.User{UserPrincipalName: "w@contoso.test", DisplayName: "w", UsageLocation: "US", AccountEnabled: true}
	if err := a.CreateUser(ctx, admin, ten.ID, u); err != nil {
		t.Fatal(err)
	}
	// The listener wakes its workers once when it connects; let that pass.
	time.Sleep(100 * time.Millisecond)
	changed := b.Changed()
	start := time.Now()
	if _, err := a.ReprocessUser(ctx, admin, ten.ID, u.GUID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Logf("woken %s after the commit", time.Since(start).Round(time.Microsecond))
	case <-time.After(5 * time.Second):
		t.Fatal("the other store was not woken within 5s of a commit that wrote marks")
	}
}
