package reconcile_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"allot/catalog"
	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
)

// TestStoppedWorkerReleasesItsLeases: a worker stopped in the middle of a
// group (its context ends after the first chunk) hands the group's mark
// back as it stops, so that another worker with a 30 s lease takes it at
// once and finishes the assignment, on both engines.
func TestStoppedWorkerReleasesItsLeases(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) *sqlstore.Store{
		"sqlite": func(t *testing.T) *sqlstore.Store {
			st, err := sqlstore.OpenSQLite(context.Background(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": pgtest.Open,
	} {
		t.Run(name, func(t *testing.T) { testStoppedWorkerReleases(t, open(t)) })
	}
}

func testStoppedWorkerReleases(t *testing.T, st *sqlstore.Store) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ten, err := st.CreateTenant(ctx, "release", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	e3, _ := catalog.Lookup("SPE_E3")
	p, err := st.AddProduct(ctx, actor, ten.ID, e3, 1000)
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := st.LoadGroup(ctx, ten.ID, "all", "m", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AssignGroupLicenses(ctx, actor, ten.ID, g.GUID, []store.LicenseRequest{{SkuID: p.SkuID}}, nil, false); err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	a := reconcile.New(st, quiet, reconcile.WithHooks(reconcile.Hooks{Batch: func(string, int, time.Duration) { stop() }}))
	a.GroupChunk = 100
	a.Run(wctx) // returns once the first chunk's hook has stopped it
	ps, err := st.Products(ctx, ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c := ps[0].ConsumedUnits; c == 0 || c == 1000 {
		t.Fatalf("the stopped worker consumed %d seats, want it stopped mid-way", c)
	}
	b := reconcile.New(st, quiet)
	b.GroupChunk = 100
	did, err := b.Step(ctx)
	if err != nil || !did {
		t.Fatalf("another worker right after the stop: did %v, %v; want it to take the group's mark (released)", did, err)
	}
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := b.Drain(dctx); err != nil {
		t.Fatal(err)
	}
	if ps, err = st.Products(ctx, ten.ID); err != nil || ps[0].ConsumedUnits != 1000 {
		t.Fatalf("after the other worker: %v %v, want 1000 consumed", ps, err)
	}
}
