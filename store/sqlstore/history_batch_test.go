package sqlstore_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"allot/store"
	"allot/store/sqlstore"
	"allot/store/storetest"
)

// TestDailySeatHistoriesMatchSeatHistory changes two products' seats and
// licenses over several weeks and checks that the batched day history of
// both, from a day after the first changes (so each starts from the point
// before it) and from before any, equals SeatHistory per product; an
// unknown product id is left out.
func TestDailySeatHistoriesMatchSeatHistory(t *testing.T) {
	for _, eng := range historyEngines() {
		t.Run(eng.name, func(t *testing.T) {
			start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
			clock := newFakeClock(start)
			st := eng.open(t, sqlstore.WithClock(clock.now))
			e := storetest.NewEnv(t, st)
			e3, e5 := e.Product("SPE_E3", 5), e.Product("SPE_E5", 2)
			users := e.Users("u", 4, "US")
			for i, u := range users {
				clock.add(time.Duration(i*5+1) * 24 * time.Hour)
				if err := e.Assign(u, "SPE_E3", "SPE_E5"); err != nil && i < 2 {
					t.Fatal(err)
				}
				if _, err := st.SetSeats(e.Ctx, histActor, e.Tenant.ID, "SPE_E3", 5+i, true); err != nil {
					t.Fatal(err)
				}
			}
			clock.add(3 * 24 * time.Hour)
			now := clock.now()
			for _, from := range []time.Time{start.AddDate(0, 0, -2), start.AddDate(0, 0, 4)} {
				got, err := st.DailySeatHistories(context.Background(), e.Tenant.ID, []int64{e3.ID, e5.ID, 1 << 40}, from, now)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range []int64{e3.ID, e5.ID} {
					sku := map[int64]string{e3.ID: e3.SkuID, e5.ID: e5.SkuID}[p]
					want, err := st.SeatHistory(context.Background(), e.Tenant.ID, store.HistoryQuery{Product: sku, From: from, To: now, Interval: store.IntervalDay})
					if err != nil {
						t.Fatal(err)
					}
					if len(want) < 10 || !reflect.DeepEqual(got[p], want) {
						t.Errorf("from %s, product %d: batched %+v\nSeatHistory %+v", from, p, got[p], want)
					}
				}
				if len(got) != 2 {
					t.Errorf("from %s: %d products, want 2", from, len(got))
				}
			}
		})
	}
}
