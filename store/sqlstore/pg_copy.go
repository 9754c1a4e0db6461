package sqlstore

import (
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgCopy sends n rows with COPY on the transaction's own connection, so they
// are part of the open transaction.
func (t *tx) pgCopy(table string, cols []string, n int, row func(i int, args []any) []any) error {
	return t.conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy: driver connection is %T, not pgx", dc)
		}
		i := 0
		buf := make([]any, 0, len(cols))
		copied, err := sc.Conn().CopyFrom(t.ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			buf = row(i, buf[:0])
			i++
			return buf, nil
		}))
		if err != nil {
			return err
		}
		if copied != int64(n) {
			return fmt.Errorf("copy into %s: %d rows, want %d", table, copied, n)
		}
		return nil
	})
}
