package sqlstore_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"allot/catalog"
	"allot/store"
	"allot/store/sqlstore"
)

// TestSeatHistoryQuerySpeed writes two years of history of 20 products
// (a point every hour and every day, and every ten minutes in the last 35
// days: what the recorder keeps after pruning when counters change all the
// time) and times one product's year per day and per hour, against the
// floor of reading the same rows with a bare query: a year per day must
// answer in under 50 ms. The query reads the
// history table only, so the number of users does not enter.
func TestSeatHistoryQuerySpeed(t *testing.T) {
	for _, eng := range historyEngines() {
		t.Run(eng.name, func(t *testing.T) {
			now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			st := eng.open(t, sqlstore.WithClock(func() time.Time { return now }))
			ctx := context.Background()
			ten, err := st.CreateTenant(ctx, "History", "NAM", "US")
			if err != nil {
				t.Fatal(err)
			}
			parts := []string{}
			for _, d := range catalog.Products() {
				parts = append(parts, d.SkuPartNumber)
			}
			sort.Strings(parts)
			var ids []int64
			for i := 0; i < 20; i++ {
				d, _ := catalog.Lookup(parts[i%len(parts)])
				if i >= len(parts) {
					d.SkuID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
					d.SkuPartNumber = fmt.Sprintf("CUSTOM_%d", i)
				}
				p, err := st.AddProduct(ctx, histActor, ten.ID, d, 1000)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, p.ID)
			}
			start := now.AddDate(-2, 0, 0).Unix()
			consumed := func(pid, ts int64) int { return int((ts/600+pid)%997) + 1 }
			rows := 0
			err = st.WriteSQL(ctx, func(exec func(string, ...any) error) error {
				if err := exec(`DELETE FROM seat_history`); err != nil {
					return err
				}
				for _, pid := range ids {
					var vals []string
					var args []any
					flush := func() error {
						if len(vals) == 0 {
							return nil
						}
						err := exec(`INSERT INTO seat_history (product_id, level, bucket, tenant_id, enabled, consumed, waiting, peak) VALUES `+strings.Join(vals, ","), args...)
						rows += len(vals)
						vals, args = vals[:0], args[:0]
						return err
					}
					add := func(level int, size, from int64) error {
						for b := from / size * size; b < now.Unix(); b += size {
							c := consumed(pid, b+size-600)
							vals = append(vals, "(?,?,?,?,?,?,?,?)")
							args = append(args, pid, level, b, ten.ID, 1000, c, 0, c+1)
							if len(vals) == 500 {
								if err := flush(); err != nil {
									return err
								}
							}
						}
						return flush()
					}
					if err := add(2, 86400, start); err != nil {
						return err
					}
					if err := add(1, 3600, start); err != nil {
						return err
					}
					if err := add(0, 600, now.Add(-sqlstore.SecondRetention).Unix()); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			sku := parts[7%len(parts)]
			from := now.AddDate(-1, 0, 0)
			for _, iv := range []struct {
				name  string
				n     int
				level int
			}{{store.IntervalDay, 365, 2}, {store.IntervalHour, 365 * 24, 1}} {
				var best time.Duration
				var pts []store.SeatPoint
				for range 5 {
					t0 := time.Now()
					pts, err = st.SeatHistory(ctx, ten.ID, store.HistoryQuery{Product: sku, From: from, To: now, Interval: iv.name})
					if d := time.Since(t0); err == nil && (best == 0 || d < best) {
						best = d
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				pid := ids[7]
				size := int64(86400)
				if iv.level == 1 {
					size = 3600
				}
				if len(pts) != iv.n || pts[10].Consumed != consumed(pid, pts[10].Start.Unix()+size-600) || pts[10].PeakConsumed < pts[10].Consumed {
					t.Fatalf("%s: %d points (want %d), point 10 %+v want consumed %d", iv.name, len(pts), iv.n, pts[10], consumed(pid, pts[10].Start.Unix()+size-600))
				}
				floor, err := st.FloorHistoryRead(ctx, pid, iv.level, from.Unix(), now.Unix())
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %d stored points of 20 products; one product's year per %s: %d points in %v (best of 5; floor: the bare read of its rows %v)",
					eng.name, rows, iv.name, len(pts), best.Round(10*time.Microsecond), floor.Round(10*time.Microsecond))
				// A year per day must answer in 50 ms; per hour (24 times the
				// points) within a few times the bare read of its rows.
				if iv.level == 2 && best > 50*time.Millisecond {
					t.Errorf("%s: a year per %s took %v, more than 50 ms", eng.name, iv.name, best)
				}
				if iv.level == 1 && best > 5*floor+20*time.Millisecond {
					t.Errorf("%s: a year per %s took %v, more than 5 × the floor %v + 20 ms", eng.name, iv.name, best, floor)
				}
			}
		})
	}
}
