package sqlstore

import "errors"

// errTxRetry asks write to run the transaction again with fresh data: a
// guarded update found that a concurrent transaction took what it counted on.
var errTxRetry = errors.New("sqlstore: concurrent change, run the transaction again")

// lockUsers locks the rows of users (sorted ascending) for the rest of the
// transaction, so that every write that changes their licenses takes turns
// (docs/design.md, "Concurrency model"). SQLite has one writer: no-op.
func (t *tx) lockUsers(sorted []int64) error {
	if t.s.engine != Postgres || len(sorted) == 0 {
		return nil
	}
	for _, c := range chunksOf(sorted, 5000) {
		rows, err := t.query(`SELECT id FROM users WHERE id IN (`+placeholders(len(c))+`) ORDER BY id FOR UPDATE`, idArgs(c)...)
		if err != nil {
			return err
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// addSeats changes a product's consumed and waiting counters. Taking seats
// is guarded: when the seats are gone the transaction runs again.
func (t *tx) addSeats(productID int64, consumed, waiting int) error {
	if consumed <= 0 {
		_, err := t.exec(`UPDATE products SET consumed_units = consumed_units + ?, waiting_units = waiting_units + ? WHERE id = ?`, consumed, waiting, productID)
		return err
	}
	res, err := t.exec(`UPDATE products SET consumed_units = consumed_units + ?, waiting_units = waiting_units + ? WHERE id = ? AND consumed_units + ? <= enabled_units`,
		consumed, waiting, productID, consumed)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errTxRetry
	}
	return nil
}
