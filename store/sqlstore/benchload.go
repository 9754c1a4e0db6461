package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"allot"
)

// LoadGroup creates n users named prefix-<i>@bench.test and one group that
// holds them all, in membership order, with multi-row inserts in one
// transaction. It is a fixture for `allot bench` and large tests: it writes
// one audit event for the whole load instead of one per user.
func (s *Store) LoadGroup(ctx context.Context, tenantID int64, name, prefix string, n int) (*allot.Group, []int64, error) {
	g := &allot.Group{DisplayName: name, SecurityEnabled: true, ProcessingState: allot.ProcessingComplete, GUID: uuid.NewString(), TenantID: tenantID}
	ids := make([]int64, 0, n)
	err := s.write(ctx, func(tx *tx) error {
		if err := tx.queryRow(`INSERT INTO dir_groups (tenant_id, guid, display_name, processing_state, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			tenantID, g.GUID, name, g.ProcessingState, tx.now).Scan(&g.ID); err != nil {
			return err
		}
		var first int64
		if err := tx.queryRow(`SELECT COALESCE(MAX(id), 0) FROM users`).Scan(&first); err != nil {
			return err
		}
		first++
		const per = 500
		for start := 0; start < n; start += per {
			end := min(start+per, n)
			var b strings.Builder
			b.WriteString(`INSERT INTO users (id, tenant_id, guid, upn, upn_key, display_name, usage_location, account_enabled, created_at) VALUES `)
			args := make([]any, 0, (end-start)*9)
			for i := start; i < end; i++ {
				if i > start {
					b.WriteByte(',')
				}
				b.WriteString("(?,?,?,?,?,?,?,1,?)")
				upn := fmt.Sprintf("%s-%d@bench.test", prefix, i+1)
				args = append(args, first+int64(i), tenantID, uuid.NewString(), upn, upn, fmt.Sprintf("%s %d", prefix, i+1), "US", tx.now)
			}
			if _, err := tx.exec(b.String(), args...); err != nil {
				return err
			}
		}
		last, err := tx.nextSeqs(n)
		if err != nil {
			return err
		}
		seq0 := last - int64(n) + 1
		for start := 0; start < n; start += per {
			end := min(start+per, n)
			var b strings.Builder
			b.WriteString(`INSERT INTO memberships (group_id, seq, member_type, member_id, tenant_id) VALUES `)
			args := make([]any, 0, (end-start)*4)
			for i := start; i < end; i++ {
				if i > start {
					b.WriteByte(',')
				}
				b.WriteString("(?,?,0,?,?)")
				args = append(args, g.ID, seq0+int64(i), first+int64(i), tenantID)
			}
			if _, err := tx.exec(b.String(), args...); err != nil {
				return err
			}
		}
		for i := 0; i < n; i++ {
			ids = append(ids, first+int64(i))
		}
		if s.engine == Postgres {
			// Explicit ids bypass the identity sequence: move it past them.
			if _, err := tx.exec(`SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users))`); err != nil {
				return err
			}
		}
		return tx.audit(tenantID, allot.Actor{Kind: "system", ID: "bench", Name: "allot bench"}, allot.AuditEvent{Category: "GroupManagement",
			Activity: allot.ActAddGroup, TargetKind: "Group", TargetID: g.GUID, TargetName: name,
			Changes: []allot.Change{{Property: "members", New: fmt.Sprintf("%d users loaded by allot bench", n)}}})
	})
	return g, ids, err
}

// Floor measures the fastest known way to write n license-state rows on this
// engine: sorted keys in multi-row batches in one transaction, into a scratch
// table of the same shape as license_states (COPY on PostgreSQL). It is the
// reference that benchmarks report their figures against.
func (s *Store) Floor(ctx context.Context, n int) (time.Duration, error) {
	if s.engine == Postgres {
		return s.pgFloor(ctx, n)
	}
	if _, err := s.w.ExecContext(ctx, `DROP TABLE IF EXISTS bench_floor`); err != nil {
		return 0, err
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE bench_floor (user_id INTEGER NOT NULL, product_id INTEGER NOT NULL, source_id INTEGER NOT NULL,
		state TEXT NOT NULL, code TEXT NOT NULL DEFAULT '', disabled_plans TEXT NOT NULL DEFAULT '', seq INTEGER NOT NULL, updated_at INTEGER NOT NULL,
		PRIMARY KEY (user_id, product_id, source_id)) WITHOUT ROWID`); err != nil {
		return 0, err
	}
	defer s.w.ExecContext(context.Background(), `DROP TABLE IF EXISTS bench_floor`)
	start := time.Now()
	err := s.write(ctx, func(tx *tx) error {
		now := tx.now
		return tx.insertRows(`INSERT INTO bench_floor (user_id, product_id, source_id, state, code, disabled_plans, seq, updated_at) VALUES `, 8, "", n, 1000,
			func(j int, args []any) []any {
				return append(args, int64(j+1), int64(1), int64(1), allot.StateActive, "", "", int64(j+1), now)
			})
	})
	return time.Since(start), err
}

// UserGUIDs returns the GUIDs of users by internal id.
func (s *Store) UserGUIDs(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	for _, chunk := range chunksOf(ids, 500) {
		rows, err := s.query(ctx, `SELECT id, guid FROM users WHERE id IN (`+placeholders(len(chunk))+`)`, idArgs(chunk)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var g string
			if err := rows.Scan(&id, &g); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = g
		}
		rows.Close()
	}
	return out, nil
}

// BareTx is the floor's write for direct assignments: one transaction that
// updates a seat counter and inserts one row, on scratch tables.
type BareTx struct{ s *Store }

// NewBareTx creates the scratch tables of the floor; Close drops them.
func (s *Store) NewBareTx(ctx context.Context) (*BareTx, error) {
	for _, q := range []string{`DROP TABLE IF EXISTS bench_seats`, `DROP TABLE IF EXISTS bench_rows`,
		`CREATE TABLE bench_seats (id INTEGER PRIMARY KEY, consumed INTEGER NOT NULL)`,
		`CREATE TABLE bench_rows (user_id INTEGER NOT NULL, product_id INTEGER NOT NULL, state TEXT NOT NULL, PRIMARY KEY (user_id, product_id))`,
		`INSERT INTO bench_seats (id, consumed) VALUES (1, 0)`} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			return nil, err
		}
	}
	return &BareTx{s: s}, nil
}

// Run writes row i (distinct i per call) in its own transaction, through
// the same write path as every licensing write (group commit on SQLite).
func (b *BareTx) Run(ctx context.Context, i int) error {
	return b.s.write(ctx, func(tx *tx) error {
		if _, err := tx.exec(`UPDATE bench_seats SET consumed = consumed + 1 WHERE id = 1`); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO bench_rows (user_id, product_id, state) VALUES (?, 1, 'Active')`, i+1)
		return err
	})
}

// Rows returns the number of rows written and the seat counter, which a
// bench compares with the requests it made.
func (b *BareTx) Rows(ctx context.Context) (rows, consumed int, err error) {
	err = b.s.w.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM bench_rows), (SELECT consumed FROM bench_seats WHERE id = 1)`).Scan(&rows, &consumed)
	return rows, consumed, err
}

// Close drops the scratch tables.
func (b *BareTx) Close() {
	b.s.w.ExecContext(context.Background(), `DROP TABLE IF EXISTS bench_rows`)
	b.s.w.ExecContext(context.Background(), `DROP TABLE IF EXISTS bench_seats`)
}

// BareTxRate measures n one-row write transactions (a seat counter update and
// one inserted row each) on scratch tables, one after another, and returns
// transactions per second: the floor for direct assignments.
func (s *Store) BareTxRate(ctx context.Context, n int) (float64, error) {
	b, err := s.NewBareTx(ctx)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := b.Run(ctx, i); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
