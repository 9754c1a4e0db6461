package sqlstore

import (
	"database/sql"
	"strings"
)

// insertRows writes rows with multi-row INSERT statements of up to per rows
// each: head is "INSERT INTO t (a, b) VALUES ", cols the number of columns,
// tail an optional ON CONFLICT clause, and row(i, args) appends the i-th
// row's values. The statement for a full batch is prepared once per
// transaction and reused, so SQL is parsed once, not once per batch.
func (t *tx) insertRows(head string, cols int, tail string, n, per int, row func(i int, args []any) []any) error {
	if n == 0 {
		return nil
	}
	if max := 30000 / cols; per > max {
		per = max
	}
	tuple := "(" + placeholders(cols) + ")"
	build := func(k int) string {
		var b strings.Builder
		b.Grow(len(head) + k*(len(tuple)+1) + len(tail))
		b.WriteString(head)
		for i := 0; i < k; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(tuple)
		}
		b.WriteString(tail)
		return t.s.q(b.String())
	}
	args := make([]any, 0, min(per, n)*cols)
	for start := 0; start < n; start += per {
		if err := t.check(); err != nil {
			return err
		}
		end := min(start+per, n)
		args = args[:0]
		for i := start; i < end; i++ {
			args = row(i, args)
		}
		if end-start == per {
			key := head + tail + itoa(int64(per))
			st := t.stmts[key]
			if st == nil && t.s.wconn != nil {
				if st = t.stmt(build(per)); st != nil {
					if t.stmts == nil {
						t.stmts = map[string]*sql.Stmt{}
					}
					t.stmts[key] = st
				}
			}
			if st == nil {
				var err error
				if st, err = t.tx.PrepareContext(t.ctx, build(per)); err != nil {
					return err
				}
				if t.stmts == nil {
					t.stmts = map[string]*sql.Stmt{}
				}
				t.stmts[key] = st
			}
			if _, err := st.ExecContext(t.ctx, args...); err != nil {
				return err
			}
			continue
		}
		if st := t.stmt(build(end - start)); st != nil {
			if _, err := st.ExecContext(t.ctx, args...); err != nil {
				return err
			}
			continue
		}
		if _, err := t.tx.ExecContext(t.ctx, build(end-start), args...); err != nil {
			return err
		}
	}
	return nil
}

// copyRows writes rows that do not exist yet: with COPY inside the
// transaction on PostgreSQL (its fastest way in), with insertRows elsewhere.
func (t *tx) copyRows(table string, cols []string, n int, row func(i int, args []any) []any) error {
	if n == 0 {
		return nil
	}
	if t.conn == nil {
		return t.insertRows(`INSERT INTO `+table+` (`+strings.Join(cols, ", ")+`) VALUES `, len(cols), "", n, 1000, row)
	}
	return t.pgCopy(table, cols, n, row)
}
