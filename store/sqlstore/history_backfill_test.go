package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"pgregory.net/rapid"

	"allot/store"
	"allot/store/sqlstore"
	"allot/store/storetest"
)

// TestBackfillFromAuditLogMatchesLiveHistory replays random licensing
// changes (direct assignments and removals, membership changes served by
// the reconciler, seat changes, also below consumption) at random instants
// while the history is recorded live, then deletes every history row — a
// store with audit events and no history — backfills from the audit log and
// checks that every backfilled point holds the live point's seats and
// consumed count, and that SeatHistory per hour and per day answers what it
// answered live (waiters aside: the audit log does not record them).
func TestBackfillFromAuditLogMatchesLiveHistory(t *testing.T) {
	for _, eng := range historyEngines() {
		t.Run(eng.name, func(t *testing.T) {
			clock := newFakeClock(time.Date(2026, 1, 30, 23, 58, 0, 0, time.UTC))
			st := eng.open(t, sqlstore.WithClock(clock.now))
			rapid.Check(t, func(rt *rapid.T) { backfillRound(t, rt, st, clock) })
		})
	}
}

func backfillRound(t *testing.T, rt *rapid.T, st *sqlstore.Store, clock *fakeClock) {
	e := storetest.NewEnv(t, st)
	ctx := e.Ctx
	parts := []string{"SPE_E3", "WORKPLACE_ANALYTICS"}
	for _, part := range parts {
		clock.add(time.Second)
		e.Product(part, rapid.IntRange(0, 3).Draw(rt, "seats"))
	}
	users := e.Users("u", rapid.IntRange(1, 5).Draw(rt, "users"), "US")
	g := e.Group("licensed")
	e.AssignGroup(g, e.Req(rapid.SampledFrom(parts).Draw(rt, "groupProduct"))...)
	e.Drain()
	for range rapid.IntRange(1, 20).Draw(rt, "steps") {
		clock.add(rapid.SampledFrom([]time.Duration{time.Millisecond, 700 * time.Millisecond, time.Second, 47 * time.Minute, 26 * time.Hour, 9 * 24 * time.Hour}).Draw(rt, "wait"))
		u := rapid.SampledFrom(users).Draw(rt, "user")
		part := rapid.SampledFrom(parts).Draw(rt, "product")
		switch rapid.IntRange(0, 4).Draw(rt, "change") {
		case 0:
			_, _ = st.AssignUserLicenses(ctx, histActor, e.Tenant.ID, u.GUID, e.Req(part), nil)
		case 1:
			_, _ = st.AssignUserLicenses(ctx, histActor, e.Tenant.ID, u.GUID, nil, []string{e.Products[part].SkuID})
		case 2:
			_ = st.AddMember(ctx, histActor, e.Tenant.ID, g.GUID, u.GUID)
		case 3:
			_ = st.RemoveMember(ctx, histActor, e.Tenant.ID, g.GUID, u.GUID, true)
		case 4:
			_, _ = st.SetSeats(ctx, histActor, e.Tenant.ID, part, rapid.IntRange(0, 4).Draw(rt, "newSeats"), true)
		}
		// The backfill takes the events of one millisecond as one change
		// (one transaction's events share its time): the reconciler's
		// transactions come a millisecond after the change.
		clock.add(time.Millisecond)
		if err := e.Worker.Drain(ctx); err != nil {
			rt.Fatal(err)
		}
	}
	clock.add(time.Second)
	from, to := clock.now().AddDate(0, -8, 0), clock.now()
	live := map[int64][]sqlstore.HistoryPoint{}
	liveQ := map[string][]store.SeatPoint{}
	for _, p := range e.Products {
		pts, err := st.HistoryPoints(ctx, p.ID)
		if err != nil {
			rt.Fatal(err)
		}
		live[p.ID] = pts
		for _, iv := range []string{store.IntervalHour, store.IntervalDay} {
			liveQ[p.SkuID+iv] = seatHistory(rt, st, e.Tenant.ID, p.SkuID, iv, from, to)
		}
	}
	if err := st.WriteSQL(ctx, func(exec func(string, ...any) error) error { return exec(`DELETE FROM seat_history`) }); err != nil {
		rt.Fatal(err)
	}
	if _, err := st.BackfillSeatHistory(ctx); err != nil {
		rt.Fatal(err)
	}
	for _, p := range e.Products {
		checkBackfilled(rt, st, p.ID, live[p.ID])
		for _, iv := range []string{store.IntervalHour, store.IntervalDay} {
			got, want := seatHistory(rt, st, e.Tenant.ID, p.SkuID, iv, from, to), liveQ[p.SkuID+iv]
			if len(got) != len(want) {
				rt.Fatalf("%s per %s: %d points backfilled, %d live:\n%+v\n%+v", p.SkuPartNumber, iv, len(got), len(want), got, want)
			}
			for i := range want {
				g, w := got[i], want[i]
				if !g.Start.Equal(w.Start) || g.Enabled != w.Enabled || g.Consumed != w.Consumed || g.PeakConsumed != w.PeakConsumed {
					rt.Fatalf("%s per %s point %d: backfilled %+v, live %+v", p.SkuPartNumber, iv, i, g, w)
				}
			}
		}
	}
}

// checkBackfilled checks that every backfilled point has a live point in
// its bucket with the same seats and consumed count. (A stored peak may
// differ: a live point first written by a change of waiters only starts
// from the count before it, which the folds count anyway; the peaks are
// compared through SeatHistory.)
func checkBackfilled(rt *rapid.T, st *sqlstore.Store, pid int64, live []sqlstore.HistoryPoint) {
	got, err := st.HistoryPoints(context.Background(), pid)
	if err != nil {
		rt.Fatal(err)
	}
	if len(got) == 0 {
		rt.Fatalf("product %d: nothing backfilled", pid)
	}
	byBucket := map[[2]int64]sqlstore.HistoryPoint{}
	for _, h := range live {
		byBucket[[2]int64{int64(h.Level), h.Bucket}] = h
	}
	for _, h := range got {
		l, ok := byBucket[[2]int64{int64(h.Level), h.Bucket}]
		if !ok || l.Enabled != h.Enabled || l.Consumed != h.Consumed {
			rt.Fatalf("product %d level %d bucket %d: backfilled %+v, live %+v (stored %v)", pid, h.Level, h.Bucket, h, l, ok)
		}
	}
}

func seatHistory(rt *rapid.T, st *sqlstore.Store, tenantID int64, sku, iv string, from, to time.Time) []store.SeatPoint {
	pts, err := st.SeatHistory(context.Background(), tenantID, store.HistoryQuery{Product: sku, From: from, To: to, Interval: iv})
	if err != nil {
		rt.Fatal(err)
	}
	return pts
}
