package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"allot"
	"allot/store"
)

// Seat history (docs/design.md, "Seat history and cost"): every write that
// changes a product's counters records the product in its transaction
// (recordSeats); just before the transaction commits, one statement upserts
// the counters read under the transaction's own product row locks into the
// product's current second, hour and day (writeSeatHistory). On SQLite a
// group commit writes them once for all the writes it shares. Readers take
// the level that fits the interval.

// History levels and the length of their buckets in seconds.
const (
	levelSecond = 0
	levelHour   = 1
	levelDay    = 2
)

// History retention: seconds for SecondRetention, hours for HourRetention,
// days for ever (PruneSeatHistory).
const (
	SecondRetention = 35 * 24 * time.Hour
	HourRetention   = 800 * 24 * time.Hour
)

// WithClock sets the clock of the seat history (tests replay changes at
// chosen instants). The default is the system clock.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.clock = now } }

func (s *Store) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// recordSeats records that the write changed the counters of the products;
// their history points are written before the transaction commits. A write
// rolled back to its savepoint leaves its products recorded: their points
// then hold the counters as they are, which is exact. Previews record
// nothing.
func (t *tx) recordSeats(ids ...int64) {
	if t.preview || len(ids) == 0 {
		return
	}
	if t.seats == nil {
		t.seats = map[int64]bool{}
	}
	for _, id := range ids {
		t.seats[id] = true
	}
}

// historyUpsert writes a point per level from the products' rows; the
// clock is read after the write locked them (its counter updates), so
// points of one product follow its commits.
const historyUpsert = `INSERT INTO seat_history (product_id, level, bucket, tenant_id, enabled, consumed, waiting, peak)
	SELECT p.id, l.level, (CAST(? AS BIGINT) / l.size) * l.size, p.tenant_id, p.enabled_units, p.consumed_units, p.waiting_units, p.consumed_units
	FROM products p, (SELECT 0 AS level, 1 AS size UNION ALL SELECT 1, 3600 UNION ALL SELECT 2, 86400) l
	WHERE p.id IN (%s)
	ON CONFLICT (product_id, level, bucket) DO UPDATE SET enabled = excluded.enabled, consumed = excluded.consumed,
		waiting = excluded.waiting, peak = CASE WHEN excluded.consumed > seat_history.peak THEN excluded.consumed ELSE seat_history.peak END`

// writeSeatHistory writes the points of the products the write changed.
func (t *tx) writeSeatHistory(seats map[int64]bool) error {
	if len(seats) == 0 {
		return t.writeDimHistory()
	}
	ids := make([]int64, 0, len(seats))
	for id := range seats {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	q := strings.Replace(historyUpsert, "%s", placeholders(len(ids)), 1)
	args := append([]any{t.s.now().Unix()}, idArgs(ids)...)
	if _, err := t.exec(q, args...); err != nil {
		return err
	}
	return t.writeDimHistory()
}

// PruneSeatHistory forgets second points older than SecondRetention and
// hour points older than HourRetention before now; day points stay.
func (s *Store) PruneSeatHistory(ctx context.Context, now time.Time) error {
	return s.write(ctx, func(t *tx) error {
		if _, err := t.exec(`DELETE FROM seat_history WHERE level = ? AND bucket < ?`, levelSecond, now.Add(-SecondRetention).Unix()); err != nil {
			return err
		}
		_, err := t.exec(`DELETE FROM seat_history WHERE level = ? AND bucket < ?`, levelHour, now.Add(-HourRetention).Unix())
		return err
	})
}

type histRow struct {
	bucket                           int64
	enabled, consumed, waiting, peak int
}

// SeatHistory returns a product's seat counters per interval from q.From
// (rounded down to an interval start) to q.To, never past now. Intervals
// before the product's first point are left out.
func (s *Store) SeatHistory(ctx context.Context, tenantID int64, q store.HistoryQuery) ([]store.SeatPoint, error) {
	p, err := s.Product(ctx, tenantID, q.Product)
	if err != nil {
		return nil, err
	}
	level := levelDay
	if q.Interval == store.IntervalHour {
		level = levelHour
	} else if !slices.Contains([]string{store.IntervalDay, store.IntervalWeek, store.IntervalMonth}, q.Interval) {
		return nil, allot.Errorf(allot.EInvalid, "interval must be hour, day, week or month, not '%s'.", q.Interval)
	}
	from := IntervalStart(q.From, q.Interval)
	to := q.To
	if now := s.now(); to.After(now) {
		to = now
	}
	if !from.Before(to) {
		return []store.SeatPoint{}, nil
	}
	carry, ok, err := s.historyBefore(ctx, p.ID, level, from.Unix())
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT bucket, enabled, consumed, waiting, peak FROM seat_history
		WHERE product_id = ? AND level = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`, p.ID, level, from.Unix(), to.Unix())
	pts, err := collect(rows, err, func(r *sql.Rows) (histRow, error) {
		var h histRow
		err := r.Scan(&h.bucket, &h.enabled, &h.consumed, &h.waiting, &h.peak)
		return h, err
	})
	if err != nil {
		return nil, err
	}
	out := foldHistory(carry, ok, pts, from, to, q.Interval, q.Top)
	if q.Group != "" || q.Department != nil || q.UsageLocation != nil {
		return s.dimSeatHistory(ctx, tenantID, p.ID, level, from, to, q, out)
	}
	return out, nil
}

func (s *Store) historyBefore(ctx context.Context, productID int64, level int, before int64) (histRow, bool, error) {
	var h histRow
	err := s.queryRow(ctx, `SELECT bucket, enabled, consumed, waiting, peak FROM seat_history
		WHERE product_id = ? AND level = ? AND bucket < ? ORDER BY bucket DESC LIMIT 1`, productID, level, before).
		Scan(&h.bucket, &h.enabled, &h.consumed, &h.waiting, &h.peak)
	if errors.Is(err, sql.ErrNoRows) {
		return h, false, nil
	}
	return h, err == nil, err
}

// foldHistory turns the points of a level into one SeatPoint per interval
// of [from, to): the last value at or before the interval's end, and the
// highest consumed count at its start or left by a change in it.
func foldHistory(carry histRow, have bool, pts []histRow, from, to time.Time, interval string, top int) []store.SeatPoint {
	out := []store.SeatPoint{}
	i := 0
	for b := from; b.Before(to) && (top <= 0 || len(out) < top); b = NextInterval(b, interval) {
		end := NextInterval(b, interval).Unix()
		peak := carry.consumed
		seen := false
		for ; i < len(pts) && pts[i].bucket < end; i++ {
			carry, have, seen = pts[i], true, true
			peak = max(peak, pts[i].peak)
		}
		if !have {
			continue
		}
		if !seen {
			peak = carry.consumed
		}
		out = append(out, store.SeatPoint{Start: b, Enabled: carry.enabled, Consumed: carry.consumed, Waiting: carry.waiting, PeakConsumed: peak})
	}
	return out
}

// IntervalStart rounds t (UTC) down to the start of its interval.
func IntervalStart(t time.Time, interval string) time.Time {
	t = t.UTC()
	switch interval {
	case store.IntervalHour:
		return t.Truncate(time.Hour)
	case store.IntervalWeek:
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	case store.IntervalMonth:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// NextInterval returns the start of the interval after the one that starts at b.
func NextInterval(b time.Time, interval string) time.Time {
	switch interval {
	case store.IntervalHour:
		return b.Add(time.Hour)
	case store.IntervalWeek:
		return b.AddDate(0, 0, 7)
	case store.IntervalMonth:
		return b.AddDate(0, 1, 0)
	}
	return b.AddDate(0, 0, 1)
}
