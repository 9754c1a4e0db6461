package sqlstore

import "allot/licensing"


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

// decide computes a plan and makes it exact under concurrency. On
// PostgreSQL the snapshot's seat counters may be older than a concurrent
// commit: the rows of the products whose seats the plan takes are locked
// (in id order) and, if their counters moved since the snapshot, the plan
// is decided again on the fresh counters — a pure recomputation, not a
// retry of the transaction. SQLite's single writer always reads fresh
// counters.
func (t *tx) decide(b *batch, decide func(*licensing.Snapshot) (*licensing.Plan, error)) (*licensing.Plan, error) {
	plan, err := decide(b.snap)
	if err != nil || t.s.engine != Postgres {
		return plan, err
	}
	locked := map[int64]bool{}
	for {
		var need []int64
		for _, pid := range sortedIDs(plan.Consumed) {
			if plan.Consumed[pid] > 0 && !locked[pid] {
				need = append(need, pid)
			}
		}
		if len(need) == 0 {
			return plan, nil
		}
		moved, err := t.lockProducts(b, need)
		if err != nil {
			return nil, err
		}
		for _, pid := range need {
			locked[pid] = true
		}
		if !moved {
			return plan, nil
		}
		if plan, err = decide(b.snap); err != nil {
			return nil, err
		}
	}
}

// lockProducts locks the rows of products (sorted) and refreshes their
// counters in the snapshot; it reports whether any had moved.
func (t *tx) lockProducts(b *batch, ids []int64) (bool, error) {
	rows, err := t.query(`SELECT id, enabled_units, consumed_units FROM products WHERE id IN (`+placeholders(len(ids))+`) ORDER BY id FOR UPDATE`, idArgs(ids)...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	moved := false
	for rows.Next() {
		var id int64
		var enabled, consumed int
		if err := rows.Scan(&id, &enabled, &consumed); err != nil {
			return false, err
		}
		if p := b.cat.Product(id); p != nil && (p.EnabledUnits != enabled || p.ConsumedUnits != consumed) {
			moved = true
			b.refresh(id, enabled, consumed)
		}
	}
	return moved, rows.Err()
}

// refresh replaces a product of the snapshot with a copy that has fresh
// seat counters.
func (b *batch) refresh(id int64, enabled, consumed int) {
	for i, p := range b.snap.Products {
		if p.ID == id {
			c := *p
			c.EnabledUnits, c.ConsumedUnits = enabled, consumed
			b.snap.Products[i] = &c
		}
	}
	b.cat = licensing.NewCatalog(b.snap.Products)
}
