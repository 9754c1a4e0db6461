package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"allot/store"
)

// batchHistory reads, in one statement, the day points of many products
// from a bucket on, and for each the last point before it (the counters
// its first interval starts from).
const batchHistory = `SELECT h.product_id, h.bucket, h.enabled, h.consumed, h.waiting, h.peak FROM seat_history h
	WHERE h.tenant_id = ? AND h.level = ? AND h.product_id IN (%s) AND h.bucket < ?
	AND (h.bucket >= ? OR h.bucket = (SELECT MAX(b.bucket) FROM seat_history b
		WHERE b.product_id = h.product_id AND b.level = h.level AND b.bucket < ?))
	ORDER BY h.product_id, h.bucket`

// DailySeatHistories returns the day-by-day seat history of the products
// (by id) from from to to (never past now), as SeatHistory would for each
// with IntervalDay, but with one query for all of them. Products without
// a point in the span are missing from the map.
func (s *Store) DailySeatHistories(ctx context.Context, tenantID int64, productIDs []int64, from, to time.Time) (map[int64][]store.SeatPoint, error) {
	out := map[int64][]store.SeatPoint{}
	from = IntervalStart(from, store.IntervalDay)
	if now := s.now(); to.After(now) {
		to = now
	}
	if len(productIDs) == 0 || !from.Before(to) {
		return out, nil
	}
	q := strings.Replace(batchHistory, "%s", placeholders(len(productIDs)), 1)
	args := append(append([]any{tenantID, levelDay}, idArgs(productIDs)...), to.Unix(), from.Unix(), from.Unix())
	type row struct {
		product int64
		histRow
	}
	rows, err := s.query(ctx, q, args...)
	all, err := collect(rows, err, func(r *sql.Rows) (row, error) {
		var h row
		err := r.Scan(&h.product, &h.bucket, &h.enabled, &h.consumed, &h.waiting, &h.peak)
		return h, err
	})
	if err != nil {
		return nil, err
	}
	per := map[int64][]histRow{}
	for _, r := range all {
		per[r.product] = append(per[r.product], r.histRow)
	}
	for id, pts := range per {
		var carry histRow
		have := pts[0].bucket < from.Unix()
		if have {
			carry, pts = pts[0], pts[1:]
		}
		if got := foldHistory(carry, have, pts, from, to, store.IntervalDay, 0); len(got) > 0 {
			out[id] = got
		}
	}
	return out, nil
}
