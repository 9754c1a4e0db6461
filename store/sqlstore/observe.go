package sqlstore

// What the metrics read from the store on each scrape: the reconcile queue,
// the seats of every product, and the connection pools.

import (
	"context"
	"database/sql"
	"time"

	"allot/store"
)

// QueueStat describes the pending marks of one kind.
type QueueStat struct {
	Kind    string // "user" or "group"
	Pending int    // marks not yet completed
	Leased  int    // of those, claimed by a worker whose lease runs
	// Oldest is when the oldest pending mark was first written (zero when
	// none is pending, or only marks older than that column are).
	Oldest time.Time
}

// MarkQueue returns the reconcile queue by kind of mark (both kinds, also
// when empty).
func (s *Store) MarkQueue(ctx context.Context) ([]QueueStat, error) {
	rows, err := s.query(ctx, `SELECT kind, COUNT(*), COALESCE(SUM(CASE WHEN lease_until > ? THEN 1 ELSE 0 END), 0),
		COALESCE(MIN(CASE WHEN marked_at > 0 THEN marked_at END), 0) FROM marks GROUP BY kind`, nowMS())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []QueueStat{{Kind: "user"}, {Kind: "group"}}
	for rows.Next() {
		var kind int
		var q QueueStat
		var oldest int64
		if err := rows.Scan(&kind, &q.Pending, &q.Leased, &oldest); err != nil {
			return nil, err
		}
		if oldest > 0 {
			q.Oldest = msTime(oldest)
		}
		i := 0
		if kind == store.MarkGroup {
			i = 1
		}
		q.Kind = out[i].Kind
		out[i] = q
	}
	return out, rows.Err()
}

// SeatStat is the seat count of one product of one tenant.
type SeatStat struct {
	TenantGUID, TenantName, SkuPartNumber string
	Enabled, Consumed, Waiting            int
}

// SeatCounts returns the seats of at most limit products, by tenant and
// product in creation order.
func (s *Store) SeatCounts(ctx context.Context, limit int) ([]SeatStat, error) {
	rows, err := s.query(ctx, `SELECT t.guid, t.display_name, p.part_number, p.enabled_units, p.consumed_units, p.waiting_units
		FROM products p JOIN tenants t ON t.id = p.tenant_id ORDER BY p.tenant_id, p.id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SeatStat
	for rows.Next() {
		var c SeatStat
		if err := rows.Scan(&c.TenantGUID, &c.TenantName, &c.SkuPartNumber, &c.Enabled, &c.Consumed, &c.Waiting); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PoolStat is the state of one connection pool.
type PoolStat struct {
	Name  string // "write" and "read" (SQLite), "main" and "sequence" (PostgreSQL)
	Stats sql.DBStats
}

// PoolStats returns the state of the store's connection pools.
func (s *Store) PoolStats() []PoolStat {
	if s.engine == Postgres {
		out := []PoolStat{{Name: "main", Stats: s.w.Stats()}}
		if s.pg != nil && s.pg.seq != nil {
			out = append(out, PoolStat{Name: "sequence", Stats: s.pg.seq.Stats()})
		}
		return out
	}
	return []PoolStat{{Name: "write", Stats: s.w.Stats()}, {Name: "read", Stats: s.r.Stats()}}
}
