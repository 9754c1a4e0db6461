package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"allot"
)

// Backfill of the seat history from the audit log (docs/design.md, "Seat
// history and cost"). The first time a store with this code opens
// (seat_history_backfill has no row), every product's series before its
// first point is rebuilt from the audit events in order: "Add subscription"
// starts it (its seats, nothing consumed), "Update subscription" sets the
// seats, and each "Change user license" moves the products between its old
// and new held sets, once per user it targets. The audit log does not
// record who waits, so backfilled points have no waiters; a deleted user's
// seats are given back without a license event, so a deletion is not
// replayed (the points after it count the user until the first live point);
// events of one millisecond are taken as one change.

// backfillActivities are the audit events a backfill reads.
var backfillActivities = []any{allot.ActAddProduct, allot.ActUpdateProduct, allot.ActChangeUserLicense}

// backfillOnce runs BackfillSeatHistory unless it already ran on this
// database, and records that it did.
func (s *Store) backfillOnce(ctx context.Context) error {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM seat_history_backfill`).Scan(&n); err != nil || n > 0 {
		return err
	}
	if _, err := s.BackfillSeatHistory(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(t *tx) error {
		_, err := t.exec(`INSERT INTO seat_history_backfill (id, done_at) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, t.now)
		return err
	})
}

// BackfillSeatHistory rebuilds, for every product, the seat history before
// its first stored point (all of it when it has none) from the audit log,
// and returns the number of points it wrote. Points already stored are
// kept.
func (s *Store) BackfillSeatHistory(ctx context.Context) (int, error) {
	rows, err := s.query(ctx, `SELECT id FROM tenants ORDER BY id`)
	tenants, err := collect(rows, err, func(r *sql.Rows) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, tid := range tenants {
		n, err := s.backfillTenant(ctx, tid)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// replayed is one product's counters as the audit log replays them.
type replayed struct {
	started           bool
	enabled, consumed int
	first             int64 // its first stored point (second); -1 for none
}

type pointKey struct {
	product int64
	level   int
	bucket  int64
}

func (s *Store) backfillTenant(ctx context.Context, tenantID int64) (int, error) {
	prods, byPart, bySku, err := s.backfillProducts(ctx, tenantID)
	if err != nil || len(prods) == 0 {
		return 0, err
	}
	points := map[pointKey]histRow{}
	var order []pointKey
	emit := func(pid int64, at int64) {
		p := prods[pid]
		if p.first >= 0 && at >= p.first {
			return
		}
		for level, size := range []int64{1, 3600, 86400} {
			k := pointKey{pid, level, at / size * size}
			h, ok := points[k]
			if !ok {
				order = append(order, k)
				h.peak = p.consumed
			}
			h.bucket, h.enabled, h.consumed, h.peak = k.bucket, p.enabled, p.consumed, max(h.peak, p.consumed)
			points[k] = h
		}
	}
	rows, err := s.query(ctx, `SELECT e.at, e.activity, e.target_id, e.changes,
		CASE WHEN e.target_kind = ? THEN (SELECT COUNT(*) FROM audit_targets t WHERE t.event_id = e.id) ELSE 1 END
		FROM audit_events e WHERE e.tenant_id = ? AND e.result = 'success' AND e.activity IN (?, ?, ?) ORDER BY e.at, e.id`,
		append([]any{bulkTarget, tenantID}, backfillActivities...)...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	// The events of one transaction share its time: the points are taken
	// after the last event of each millisecond, as a commit leaves them.
	pending, last := map[int64]bool{}, int64(-1)
	flush := func() {
		for _, pid := range pendingIDs(pending) {
			emit(pid, last/1000)
		}
		clear(pending)
	}
	for rows.Next() {
		var at, users int64
		var act, target, changes string
		if err := rows.Scan(&at, &act, &target, &changes, &users); err != nil {
			return 0, err
		}
		if at != last {
			flush()
			last = at
		}
		for _, pid := range replayEvent(prods, byPart, bySku, act, target, changes, int(users)) {
			pending[pid] = true
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	rows.Close()
	flush()
	return len(order), s.writeBackfill(ctx, tenantID, order, points)
}

// backfillProducts returns the tenant's products (with their first stored
// point) by id, and their ids by part number and skuId.
func (s *Store) backfillProducts(ctx context.Context, tenantID int64) (map[int64]*replayed, map[string]int64, map[string]int64, error) {
	prods, byPart, bySku := map[int64]*replayed{}, map[string]int64{}, map[string]int64{}
	rows, err := s.query(ctx, `SELECT p.id, p.part_number, p.sku_guid,
		COALESCE((SELECT MIN(h.bucket) FROM seat_history h WHERE h.product_id = p.id AND h.level = 0), -1)
		FROM products p WHERE p.tenant_id = ?`, tenantID)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, first int64
		var part, sku string
		if err := rows.Scan(&id, &part, &sku, &first); err != nil {
			return nil, nil, nil, err
		}
		prods[id] = &replayed{first: first}
		byPart[part], bySku[strings.ToLower(sku)] = id, id
	}
	return prods, byPart, bySku, rows.Err()
}

// replayEvent applies one audit event to the replayed counters and returns
// the products it changed.
func replayEvent(prods map[int64]*replayed, byPart, bySku map[string]int64, act, target, changes string, users int) []int64 {
	var cs []allot.Change
	if changes != "" && json.Unmarshal([]byte(changes), &cs) != nil {
		return nil
	}
	switch act {
	case allot.ActAddProduct, allot.ActUpdateProduct:
		pid, ok := bySku[strings.ToLower(target)]
		if !ok {
			return nil
		}
		for _, c := range cs {
			if n, err := strconv.Atoi(c.New); c.Property == "enabledUnits" && err == nil {
				p := prods[pid]
				p.enabled, p.started = n, true
				return []int64{pid}
			}
		}
	case allot.ActChangeUserLicense:
		for _, c := range cs {
			if c.Property == "AssignedLicense" {
				return moveHeld(prods, byPart, splitParts(c.Old), splitParts(c.New), users)
			}
		}
	}
	return nil
}

func moveHeld(prods map[int64]*replayed, byPart map[string]int64, old, new []string, users int) []int64 {
	var out []int64
	for _, side := range []struct {
		parts, other []string
		sign         int
	}{{old, new, -1}, {new, old, 1}} {
		for _, part := range side.parts {
			pid, ok := byPart[part]
			if !ok || slices.Contains(side.other, part) || !prods[pid].started {
				continue
			}
			prods[pid].consumed += side.sign * users
			out = append(out, pid)
		}
	}
	return out
}

func pendingIDs(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func splitParts(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// writeBackfill inserts the replayed points, keeping any stored one.
func (s *Store) writeBackfill(ctx context.Context, tenantID int64, order []pointKey, points map[pointKey]histRow) error {
	if len(order) == 0 {
		return nil
	}
	return s.write(ctx, func(t *tx) error {
		return t.insertRows(`INSERT INTO seat_history (product_id, level, bucket, tenant_id, enabled, consumed, waiting, peak) VALUES `, 8,
			` ON CONFLICT (product_id, level, bucket) DO NOTHING`, len(order), 500, func(i int, args []any) []any {
				k := order[i]
				h := points[k]
				return append(args, k.product, k.level, k.bucket, tenantID, h.enabled, h.consumed, 0, h.peak)
			})
	})
}
