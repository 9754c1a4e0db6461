package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5"
)

// Vacuuming the queue tables ourselves.
//
// The marks queue (and the outboxes) take an insert, an update and a delete
// per change, and stay small: a few hundred live rows among, soon, hundreds
// of thousands of dead ones. Until those are vacuumed, every claim walks the
// dead index entries: measured on a 100,000-user tenant at 200 attribute
// changes/s, a claim of ten marks took 32 ms (median) with 300,000 dead rows
// and 1.5 ms with the table vacuumed every few seconds; the change to license
// p99 went from 624 ms to 197 ms. Autovacuum would get there eventually,
// but only after a minute's naptime at best, and not at all where an
// operator turned it off (the CI machine's PostgreSQL has autovacuum = off,
// and with it no automatic ANALYZE either).
//
// So each process looks at pg_stat_user_tables every vacuumEvery and
// vacuums (and analyzes) the small tables whose dead rows exceed
// vacuumBase + vacuumScale × their live rows, and analyzes those that
// changed enough since their last ANALYZE. Only tables of fewer than
// smallTable live rows: the queues and counters (marks, sequences,
// products, groups, outboxes), where a vacuum takes milliseconds. Large
// tables are autovacuum's: vacuuming users or license_states by hand
// every few seconds (unthrottled, as a manual VACUUM is) took 150–750 ms
// each time and slowed the load it was meant to help (change → license
// p99 998 ms against 724 ms with the queue alone). One process at a time
// does it (a session advisory lock), and SKIP_LOCKED keeps it from waiting
// for a table someone else holds.

// vacuumEvery is how often a process looks for tables to vacuum.
const vacuumEvery = time.Second

// smallTable is the most live rows a table may have for the store to
// vacuum it itself.
const smallTable = 10000

// vacuumLockKey is the advisory lock that lets one process vacuum at a time.
const vacuumLockKey = 0x616c6c6f74_7663 // "allot" "vc"

// Thresholds: a small table is vacuumed when its dead rows exceed
// vacuumBase + vacuumScale × its live rows, and analyzed when the rows
// changed since its last ANALYZE exceed analyzeBase + analyzeScale × its
// live rows (autovacuum's scales, lower bases: these tables are small).
const (
	vacuumBase   = 200
	vacuumScale  = 0.2
	analyzeBase  = 200
	analyzeScale = 0.1
)

// WithVacuumEvery sets how often a PostgreSQL store looks for tables to
// vacuum (default 1 s); 0 or less turns it off. SQLite ignores it.
func WithVacuumEvery(d time.Duration) Option { return func(s *Store) { s.vacuumEvery = d } }

// tableUpkeep is one table that needs a VACUUM or an ANALYZE.
type tableUpkeep struct {
	name   string
	vacuum bool // else ANALYZE only
}

// vacuumLoop runs maintain every s.vacuumEvery until ctx ends.
func (s *Store) vacuumLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	if s.vacuumEvery <= 0 {
		return
	}
	t := time.NewTicker(s.vacuumEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.maintain(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("PostgreSQL: vacuuming the queue tables failed; trying again later", "err", pgErrText(err))
		}
	}
}

// maintain vacuums or analyzes the tables that need it, unless another
// process is doing so.
func (s *Store) maintain(ctx context.Context) error {
	todo, err := s.tablesNeedingUpkeep(ctx)
	if err != nil || len(todo) == 0 {
		return err
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var locked bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, int64(vacuumLockKey)).Scan(&locked); err != nil || !locked {
		return err
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(vacuumLockKey))
	for _, tb := range todo {
		if err := s.upkeep(ctx, conn, tb); err != nil {
			return err
		}
	}
	return nil
}

// tablesNeedingUpkeep lists this schema's small tables past a threshold.
func (s *Store) tablesNeedingUpkeep(ctx context.Context) ([]tableUpkeep, error) {
	rows, err := s.w.QueryContext(ctx, `SELECT relname,
			n_dead_tup > $1 + $2 * n_live_tup
		FROM pg_stat_user_tables
		WHERE schemaname = current_schema() AND n_live_tup < $5
			AND (n_dead_tup > $1 + $2 * n_live_tup OR n_mod_since_analyze > $3 + $4 * n_live_tup)
		ORDER BY relname`, vacuumBase, vacuumScale, analyzeBase, analyzeScale, smallTable)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tableUpkeep
	for rows.Next() {
		var tb tableUpkeep
		if err := rows.Scan(&tb.name, &tb.vacuum); err != nil {
			return nil, err
		}
		out = append(out, tb)
	}
	return out, rows.Err()
}

// upkeep runs one table's VACUUM (with ANALYZE) or ANALYZE.
func (s *Store) upkeep(ctx context.Context, conn *sql.Conn, tb tableUpkeep) error {
	t0 := time.Now()
	cmd := `ANALYZE (SKIP_LOCKED) `
	if tb.vacuum {
		cmd = `VACUUM (SKIP_LOCKED, ANALYZE) `
	}
	if _, err := conn.ExecContext(ctx, cmd+pgx.Identifier{tb.name}.Sanitize()); err != nil {
		return err
	}
	s.log.Debug("PostgreSQL table maintained", "table", tb.name, "vacuum", tb.vacuum, "took", time.Since(t0))
	return nil
}
