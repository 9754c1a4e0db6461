package sqlstore_test

import (
	"context"
	"time"

	"pgregory.net/rapid"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// checkDimPoints compares the stored points of every series per group,
// department and usage location with the counts observed from the license
// states: a point holds the counts after the last change of its bucket, and
// every bucket in which a series' counts changed has a point.
func checkDimPoints(rt *rapid.T, st *sqlstore.Store, tenantID int64, obs []observation) {
	pts, err := st.DimHistoryPoints(context.Background(), tenantID)
	if err != nil {
		rt.Fatal(err)
	}
	type at struct {
		s      sqlstore.DimSeries
		level  int
		bucket int64
	}
	stored := map[at]sqlstore.DimHistoryPoint{}
	series := map[sqlstore.DimSeries]bool{}
	for _, h := range pts {
		stored[at{h.DimSeries, h.Level, h.Bucket}] = h
		series[h.DimSeries] = true
	}
	for _, o := range obs {
		for s := range o.dims {
			series[s] = true
		}
	}
	for s := range series {
		for level, size := range levelSize {
			last := map[int64][2]int{}
			prev := [2]int{}
			for _, o := range obs {
				c := o.dims[s]
				b := o.at.Unix() / size * size
				if c != prev {
					if _, ok := stored[at{s, level, b}]; !ok {
						rt.Fatalf("%+v level %d: no point in bucket %d where the counts changed from %v to %v", s, level, b, prev, c)
					}
				}
				last[b], prev = c, c
			}
			for k, h := range stored {
				if k.s != s || k.level != level {
					continue
				}
				want, ok := last[k.bucket]
				if got := [2]int{h.Consumed, h.Waiting}; !ok || got != want {
					rt.Fatalf("%+v level %d bucket %d: stored %v, counts after the bucket's last change %v (known %v)", s, level, k.bucket, got, want, ok)
				}
			}
		}
	}
}

// checkDimQuery compares SeatHistory narrowed to one series (dim) with the
// observations, per day: consumed and waiting at the end of each interval,
// the highest consumed count from its start on, and the product's enabled
// seats at its end. Intervals before the series' first point are left out.
func checkDimQuery(rt *rapid.T, st *sqlstore.Store, tenantID int64, p *allot.Product, q store.HistoryQuery, s sqlstore.DimSeries, obs []observation) {
	from, to := obs[0].at.Add(-2*time.Hour), obs[len(obs)-1].at.Add(time.Second)
	q.Product, q.From, q.To, q.Interval = p.SkuID, from, to, store.IntervalDay
	got, err := st.SeatHistory(context.Background(), tenantID, q)
	if err != nil {
		rt.Fatal(err)
	}
	pts, err := st.DimHistoryPoints(context.Background(), tenantID)
	if err != nil {
		rt.Fatal(err)
	}
	first := int64(-1)
	for _, h := range pts {
		if h.DimSeries == s && h.Level == 2 && (first < 0 || h.Bucket < first) {
			first = h.Bucket
		}
	}
	var want []store.SeatPoint
	for b := sqlstore.IntervalStart(from, store.IntervalDay); b.Before(to); b = sqlstore.NextInterval(b, store.IntervalDay) {
		end := sqlstore.NextInterval(b, store.IntervalDay)
		if first < 0 || first >= end.Unix() {
			continue
		}
		var cur [2]int
		var en int
		peak := -1
		for _, o := range obs {
			if !o.at.Before(end) {
				break
			}
			cur, en = o.dims[s], o.per[p.ID].enabled
			if o.at.Before(b) {
				peak = cur[0]
			} else {
				peak = max(peak, cur[0])
			}
		}
		want = append(want, store.SeatPoint{Start: b, Enabled: en, Consumed: cur[0], Waiting: cur[1], PeakConsumed: peak})
	}
	if len(got) != len(want) {
		rt.Fatalf("%+v: %d points, want %d:\n got %+v\nwant %+v", s, len(got), len(want), got, want)
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || got[i] != want[i] {
			rt.Fatalf("%+v point %d: got %+v, want %+v", s, i, got[i], want[i])
		}
	}
}
