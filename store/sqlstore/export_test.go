package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// What the external tests of this package (sqlstore_test, which can use
// pgtest) need of its internals. Compiled into tests only.

// ErrTxRetry is errTxRetry, for tests that ask for a re-run.
var ErrTxRetry = errTxRetry

// Retryable is the retry policy's test of an error.
var Retryable = retryable

// SetRetryBudget sets the time one write may spend, retries included.
func (s *Store) SetRetryBudget(d time.Duration) { s.retryBudget = d }

// WriteSQL runs fn in a write transaction of the store (with its retry
// policy); fn runs statements with exec, written with ? placeholders.
func (s *Store) WriteSQL(ctx context.Context, fn func(exec func(q string, args ...any) error) error) error {
	return s.write(ctx, func(t *tx) error {
		return fn(func(q string, args ...any) error {
			_, err := t.exec(q, args...)
			return err
		})
	})
}

// SetBeforeDecide sets a function that runs in every write transaction on
// PostgreSQL between loading a snapshot and making its plan exact.
func (s *Store) SetBeforeDecide(fn func()) { s.beforeDecide = fn }

// SetListSortCap sets how many matches of a filter FindUsers reads whole
// and sorts (below it the filter's index drives the list).
func (s *Store) SetListSortCap(n int) { s.listCap = n }

// SetAuthCacheTTL sets how long a verified token's principal is reused.
func (s *Store) SetAuthCacheTTL(d time.Duration) { s.auth.ttl = d }

// MigrationUp returns the statements of the Up part of the embedded
// migration file name of the engine ("sqlite" or "postgres").
func MigrationUp(engine, name string) ([]string, error) {
	b, err := migrations.ReadFile("migrations/" + engine + "/" + name)
	if err != nil {
		return nil, err
	}
	up, _, _ := strings.Cut(string(b), "-- +goose Down")
	var out []string
	for _, st := range strings.Split(up, ";\n") {
		var lines []string
		for _, l := range strings.Split(st, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				lines = append(lines, l)
			}
		}
		if s := strings.TrimSpace(strings.Join(lines, "\n")); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// Counters reads a product's enabled, consumed and waiting counters.
func (s *Store) Counters(ctx context.Context, productID int64) (enabled, consumed, waiting int, err error) {
	err = s.queryRow(ctx, `SELECT enabled_units, consumed_units, waiting_units FROM products WHERE id = ?`, productID).
		Scan(&enabled, &consumed, &waiting)
	return
}

// HistoryPoint is a stored seat history row.
type HistoryPoint struct {
	Level                            int
	Bucket                           int64
	Enabled, Consumed, Waiting, Peak int
}

// HistoryPoints returns every stored point of a product, by level and bucket.
func (s *Store) HistoryPoints(ctx context.Context, productID int64) ([]HistoryPoint, error) {
	rows, err := s.query(ctx, `SELECT level, bucket, enabled, consumed, waiting, peak FROM seat_history WHERE product_id = ? ORDER BY level, bucket`, productID)
	return collect(rows, err, func(r *sql.Rows) (HistoryPoint, error) {
		var h HistoryPoint
		err := r.Scan(&h.Level, &h.Bucket, &h.Enabled, &h.Consumed, &h.Waiting, &h.Peak)
		return h, err
	})
}

// CountAssignmentRows reads every license state row of the tenant's users
// with the report's join and order and counts them: the floor of the
// licenseAssignments export.
func (s *Store) CountAssignmentRows(ctx context.Context, tenantID int64) (int, error) {
	rows, err := s.query(ctx, `SELECT u.id, u.guid, u.upn, u.display_name, u.department, u.account_enabled, ls.product_id, ls.source_id, ls.state, ls.code
		FROM users u JOIN license_states ls ON ls.user_id = u.id WHERE +u.tenant_id = ? ORDER BY u.id, ls.product_id, ls.source_id`, tenantID)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var uid, pid, src int64
		var guid, upn, name, dep, state, code string
		var enabled bool
		if err := rows.Scan(&uid, &guid, &upn, &name, &dep, &enabled, &pid, &src, &state, &code); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// FloorHistoryRead times the bare read of a product's points of a level in
// [from, to) (best of 5): the floor of SeatHistory.
func (s *Store) FloorHistoryRead(ctx context.Context, productID int64, level int, from, to int64) (time.Duration, error) {
	var best time.Duration
	for range 5 {
		t0 := time.Now()
		rows, err := s.query(ctx, `SELECT bucket, enabled, consumed, waiting, peak FROM seat_history WHERE product_id = ? AND level = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`,
			productID, level, from, to)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
			var a, b, c, d, e int64
			if err := rows.Scan(&a, &b, &c, &d, &e); err != nil {
				rows.Close()
				return 0, err
			}
		}
		rows.Close()
		if d := time.Since(t0); best == 0 || d < best {
			best = d
		}
	}
	return best, nil
}

// DimSeries names a seat history series per group, department or usage
// location: kinds 1 group (key its internal id), 2 department, 3 usage
// location.
type DimSeries struct {
	Product int64
	Kind    int
	Key     string
}

// DimCountsNow counts, from the license states themselves, per series the
// users holding the product and those waiting for it (for a group: through
// it): what the recorded series must hold.
func (s *Store) DimCountsNow(ctx context.Context, tenantID int64) (map[DimSeries][2]int, error) {
	out := map[DimSeries][2]int{}
	for _, q := range []string{
		`SELECT ls.product_id, 2, u.department, COUNT(DISTINCT CASE WHEN ls.state = 'Active' THEN ls.user_id END),
			COUNT(DISTINCT CASE WHEN ls.code IN ('noSeatsAvailable', 'seatsReducedBelowConsumption') THEN ls.user_id END)
			FROM license_states ls JOIN users u ON u.id = ls.user_id WHERE u.tenant_id = ? GROUP BY ls.product_id, u.department`,
		`SELECT ls.product_id, 3, u.usage_location, COUNT(DISTINCT CASE WHEN ls.state = 'Active' THEN ls.user_id END),
			COUNT(DISTINCT CASE WHEN ls.code IN ('noSeatsAvailable', 'seatsReducedBelowConsumption') THEN ls.user_id END)
			FROM license_states ls JOIN users u ON u.id = ls.user_id WHERE u.tenant_id = ? GROUP BY ls.product_id, u.usage_location`,
		`SELECT ls.product_id, 1, CAST(ls.source_id AS TEXT), SUM(CASE WHEN ls.state = 'Active' THEN 1 ELSE 0 END),
			SUM(CASE WHEN ls.code IN ('noSeatsAvailable', 'seatsReducedBelowConsumption') THEN 1 ELSE 0 END)
			FROM license_states ls JOIN users u ON u.id = ls.user_id WHERE u.tenant_id = ? AND ls.source_id <> 0 GROUP BY ls.product_id, ls.source_id`,
	} {
		rows, err := s.query(ctx, q, tenantID)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k DimSeries
			var c, w int
			if err := rows.Scan(&k.Product, &k.Kind, &k.Key, &c, &w); err != nil {
				rows.Close()
				return nil, err
			}
			if c != 0 || w != 0 {
				out[k] = [2]int{c, w}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DimHistoryPoint is a stored point of a series per group, department or
// usage location.
type DimHistoryPoint struct {
	DimSeries
	Level                   int
	Bucket                  int64
	Consumed, Waiting, Peak int
}

// DimHistoryPoints returns every stored point of the tenant's series.
func (s *Store) DimHistoryPoints(ctx context.Context, tenantID int64) ([]DimHistoryPoint, error) {
	rows, err := s.query(ctx, `SELECT product_id, kind, key, level, bucket, consumed, waiting, peak FROM seat_dim_history
		WHERE tenant_id = ? ORDER BY product_id, kind, key, level, bucket`, tenantID)
	return collect(rows, err, func(r *sql.Rows) (DimHistoryPoint, error) {
		var h DimHistoryPoint
		err := r.Scan(&h.Product, &h.Kind, &h.Key, &h.Level, &h.Bucket, &h.Consumed, &h.Waiting, &h.Peak)
		return h, err
	})
}
