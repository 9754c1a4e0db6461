package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"allot"
)

// pgFloor is the PostgreSQL floor: COPY of n sorted license-state rows into a
// scratch table of the same shape as license_states, in one transaction,
// through pgx's binary COPY protocol.
func (s *Store) pgFloor(ctx context.Context, n int) (time.Duration, error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	for _, q := range []string{`DROP TABLE IF EXISTS bench_floor`,
		`CREATE TABLE bench_floor (user_id BIGINT NOT NULL, product_id BIGINT NOT NULL, source_id BIGINT NOT NULL,
		state TEXT COLLATE "C" NOT NULL, code TEXT COLLATE "C" NOT NULL DEFAULT '', disabled_plans TEXT COLLATE "C" NOT NULL DEFAULT '',
		seq BIGINT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (user_id, product_id, source_id))`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return 0, err
		}
	}
	defer conn.ExecContext(context.Background(), `DROP TABLE IF EXISTS bench_floor`)
	now := nowMS()
	var took time.Duration
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("pgFloor: driver connection is %T, not pgx", dc)
		}
		start := time.Now()
		tx, err := sc.Conn().Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.Background())
		i := 0
		copied, err := tx.CopyFrom(ctx, pgx.Identifier{"bench_floor"},
			[]string{"user_id", "product_id", "source_id", "state", "code", "disabled_plans", "seq", "updated_at"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if i == n {
					return nil, nil
				}
				i++
				return []any{int64(i), int64(1), int64(1), allot.StateActive, "", "", int64(i), now}, nil
			}))
		if err != nil {
			return err
		}
		if copied != int64(n) {
			return fmt.Errorf("pgFloor: copied %d rows, want %d", copied, n)
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		took = time.Since(start)
		return nil
	})
	return took, err
}
