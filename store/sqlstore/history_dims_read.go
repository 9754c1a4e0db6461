package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/store"
)

// dimSeatHistory narrows a product's history (product, its points folded
// per interval) to one group, department or usage location: consumed,
// waiting and peak from the series' points, folded the same way; enabled
// seats from the product's point of the same interval.
func (s *Store) dimSeatHistory(ctx context.Context, tenantID, productID int64, level int, from, to time.Time,
	q store.HistoryQuery, product []store.SeatPoint) ([]store.SeatPoint, error) {
	kind, key, err := s.dimOf(ctx, tenantID, q)
	if err != nil {
		return nil, err
	}
	var carry histRow
	err = s.queryRow(ctx, `SELECT bucket, consumed, waiting, peak FROM seat_dim_history
		WHERE product_id = ? AND kind = ? AND key = ? AND level = ? AND bucket < ? ORDER BY bucket DESC LIMIT 1`,
		productID, kind, key, level, from.Unix()).Scan(&carry.bucket, &carry.consumed, &carry.waiting, &carry.peak)
	have := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT bucket, consumed, waiting, peak FROM seat_dim_history
		WHERE product_id = ? AND kind = ? AND key = ? AND level = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`,
		productID, kind, key, level, from.Unix(), to.Unix())
	pts, err := collect(rows, err, func(r *sql.Rows) (histRow, error) {
		var h histRow
		err := r.Scan(&h.bucket, &h.consumed, &h.waiting, &h.peak)
		return h, err
	})
	if err != nil {
		return nil, err
	}
	enabled := make(map[int64]int, len(product))
	for _, p := range product {
		enabled[p.Start.Unix()] = p.Enabled
	}
	out := foldHistory(carry, have, pts, from, to, q.Interval, q.Top)
	for i := range out {
		out[i].Enabled = enabled[out[i].Start.Unix()]
	}
	return out, nil
}

// dimOf returns the series kind and key a history query narrows to.
func (s *Store) dimOf(ctx context.Context, tenantID int64, q store.HistoryQuery) (int, string, error) {
	n := 0
	for _, set := range []bool{q.Group != "", q.Department != nil, q.UsageLocation != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return 0, "", allot.Errorf(allot.EInvalid, "Ask for the seat history of one group, one department or one usage location at a time, not several.")
	}
	switch {
	case q.Group != "":
		g, err := s.Group(ctx, tenantID, q.Group)
		if err != nil {
			return 0, "", err
		}
		return dimGroup, strconv.FormatInt(g.ID, 10), nil
	case q.Department != nil:
		return dimDepartment, *q.Department, nil
	}
	return dimUsageLocation, strings.ToUpper(strings.TrimSpace(*q.UsageLocation)), nil
}
