package sqlstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
	"allot/store/storetest"
)

var histActor = allot.Actor{Kind: "app", ID: "test", Name: "history test"}

// fakeClock is a clock the test moves forward.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time       { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) add(d time.Duration)  { c.ns.Add(int64(d)) }
func (c *fakeClock) set(t time.Time)      { c.ns.Store(t.UnixNano()) }
func newFakeClock(t time.Time) *fakeClock { c := &fakeClock{}; c.set(t); return c }

// counts is a product's counters at an instant.
type counts struct{ enabled, consumed, waiting int }

// observation is the counters of every product after one change, at the
// (fake) instant it was written.
type observation struct {
	at  time.Time
	per map[int64]counts
	// dims are the counts per group, department and usage location series,
	// from the license states (missing: zero).
	dims map[sqlstore.DimSeries][2]int
}

func historyEngines() []struct {
	name string
	open func(*testing.T, ...sqlstore.Option) *sqlstore.Store
} {
	return []struct {
		name string
		open func(*testing.T, ...sqlstore.Option) *sqlstore.Store
	}{
		{"sqlite", func(t *testing.T, o ...sqlstore.Option) *sqlstore.Store {
			st, err := sqlstore.OpenSQLite(context.Background(), t.TempDir(), o...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
		{"postgres", func(t *testing.T, o ...sqlstore.Option) *sqlstore.Store {
			pgtest.Require(t)
			return pgtest.OpenTB(t, o...)
		}},
	}
}

// TestSeatHistoryIsExact replays random licensing changes (direct
// assignments and removals, group membership changes served by the
// reconciler, seat changes) at random instants and checks that every stored
// point, at every level, holds the counters after the last change of its
// bucket, and that SeatHistory per hour and per day answers the counters at
// the end of each interval and the highest consumed count in it.
func TestSeatHistoryIsExact(t *testing.T) {
	for _, eng := range historyEngines() {
		t.Run(eng.name, func(t *testing.T) {
			clock := newFakeClock(time.Date(2026, 3, 30, 23, 58, 0, 0, time.UTC))
			st := eng.open(t, sqlstore.WithClock(clock.now))
			rapid.Check(t, func(rt *rapid.T) { replayHistory(t, rt, st, clock) })
		})
	}
}

func replayHistory(t *testing.T, rt *rapid.T, st *sqlstore.Store, clock *fakeClock) {
	e := storetest.NewEnv(t, st)
	ctx := e.Ctx
	parts := []string{"SPE_E3", "WORKPLACE_ANALYTICS"}
	var obs []observation
	observe := func() {
		o := observation{at: clock.now(), per: map[int64]counts{}}
		for _, p := range e.Products {
			en, co, wa, err := st.Counters(ctx, p.ID)
			if err != nil {
				rt.Fatal(err)
			}
			o.per[p.ID] = counts{en, co, wa}
		}
		dims, err := st.DimCountsNow(ctx, e.Tenant.ID)
		if err != nil {
			rt.Fatal(err)
		}
		o.dims = dims
		obs = append(obs, o)
	}
	for _, part := range parts {
		e.Product(part, rapid.IntRange(0, 3).Draw(rt, "seats"))
		observe()
	}
	users := e.Users("u", rapid.IntRange(1, 5).Draw(rt, "users"), "US")
	g := e.Group("licensed")
	e.AssignGroup(g, e.Req(rapid.SampledFrom(parts).Draw(rt, "groupProduct"))...)
	e.Drain()
	observe()
	steps := rapid.IntRange(1, 25).Draw(rt, "steps")
	for range steps {
		clock.add(rapid.SampledFrom([]time.Duration{0, 300 * time.Millisecond, time.Second, 47 * time.Minute, time.Hour, 26 * time.Hour, 9 * 24 * time.Hour}).Draw(rt, "wait"))
		u := rapid.SampledFrom(users).Draw(rt, "user")
		part := rapid.SampledFrom(parts).Draw(rt, "product")
		switch rapid.IntRange(0, 6).Draw(rt, "change") {
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
		case 5:
			dep := rapid.SampledFrom([]string{"", "Sales", "Finance"}).Draw(rt, "department")
			_, _ = st.UpdateUser(ctx, histActor, e.Tenant.ID, u.GUID, store.UserPatch{Department: &dep})
		case 6:
			loc := rapid.SampledFrom([]string{"US", "FR", ""}).Draw(rt, "usageLocation")
			_, _ = st.UpdateUser(ctx, histActor, e.Tenant.ID, u.GUID, store.UserPatch{UsageLocation: &loc})
		}
		if err := e.Worker.Drain(ctx); err != nil {
			rt.Fatal(err)
		}
		observe()
	}
	for _, p := range e.Products {
		checkPoints(rt, st, p.ID, obs)
		for _, iv := range []string{store.IntervalHour, store.IntervalDay} {
			checkQuery(rt, st, e.Tenant.ID, p, iv, obs)
		}
	}
	checkDimPoints(rt, st, e.Tenant.ID, obs)
	for _, p := range e.Products {
		for _, dep := range []string{"", "Sales"} {
			checkDimQuery(rt, st, e.Tenant.ID, p, store.HistoryQuery{Department: &dep}, sqlstore.DimSeries{Product: p.ID, Kind: 2, Key: dep}, obs)
		}
		checkDimQuery(rt, st, e.Tenant.ID, p, store.HistoryQuery{Group: g.GUID}, sqlstore.DimSeries{Product: p.ID, Kind: 1, Key: fmt.Sprint(g.ID)}, obs)
	}
}

var levelSize = []int64{1, 3600, 86400}

// checkPoints compares the stored points with the observations: a point's
// values are those after the last change in its bucket, and every bucket in
// which the counters changed has a point.
func checkPoints(rt *rapid.T, st *sqlstore.Store, pid int64, obs []observation) {
	pts, err := st.HistoryPoints(context.Background(), pid)
	if err != nil {
		rt.Fatal(err)
	}
	stored := map[[2]int64]sqlstore.HistoryPoint{}
	for _, h := range pts {
		stored[[2]int64{int64(h.Level), h.Bucket}] = h
	}
	for level, size := range levelSize {
		last := map[int64]counts{}
		var prev *counts
		for _, o := range obs {
			c, ok := o.per[pid]
			if !ok {
				continue
			}
			b := o.at.Unix() / size * size
			if prev == nil || *prev != c {
				if _, ok := stored[[2]int64{int64(level), b}]; !ok {
					rt.Fatalf("level %d: no point in bucket %d where the counters changed to %+v", level, b, c)
				}
			}
			last[b] = c
			prev = &c
		}
		for _, h := range pts {
			if h.Level != level {
				continue
			}
			want, ok := last[h.Bucket]
			got := counts{h.Enabled, h.Consumed, h.Waiting}
			if !ok || got != want {
				rt.Fatalf("level %d bucket %d: stored %+v, counters after the bucket's last change %+v (known %v)", level, h.Bucket, got, want, ok)
			}
		}
	}
}

// checkQuery compares SeatHistory with the observations: per interval the
// counters at its end and the highest consumed count from its start on.
func checkQuery(rt *rapid.T, st *sqlstore.Store, tenantID int64, p *allot.Product, iv string, obs []observation) {
	from, to := obs[0].at.Add(-2*time.Hour), obs[len(obs)-1].at.Add(time.Second)
	got, err := st.SeatHistory(context.Background(), tenantID, store.HistoryQuery{Product: p.SkuID, From: from, To: to, Interval: iv})
	if err != nil {
		rt.Fatal(err)
	}
	var want []store.SeatPoint
	for b := sqlstore.IntervalStart(from, iv); b.Before(to); b = sqlstore.NextInterval(b, iv) {
		end := sqlstore.NextInterval(b, iv)
		var cur *counts
		peak := -1
		for _, o := range obs {
			c, ok := o.per[p.ID]
			if !ok {
				continue
			}
			if !o.at.Before(end) {
				break
			}
			cc := c
			cur = &cc
			if o.at.Before(b) {
				peak = c.consumed // the state the interval starts with
			} else {
				peak = max(peak, c.consumed)
			}
		}
		if cur == nil {
			continue
		}
		want = append(want, store.SeatPoint{Start: b, Enabled: cur.enabled, Consumed: cur.consumed, Waiting: cur.waiting, PeakConsumed: peak})
	}
	if len(got) != len(want) {
		rt.Fatalf("%s: %d points, want %d:\n got %+v\nwant %+v", iv, len(got), len(want), got, want)
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || got[i].Enabled != want[i].Enabled || got[i].Consumed != want[i].Consumed ||
			got[i].Waiting != want[i].Waiting || got[i].PeakConsumed != want[i].PeakConsumed {
			rt.Fatalf("%s point %d: got %+v, want %+v", iv, i, got[i], want[i])
		}
	}
}
