package sqlstore

// Concurrency model.
//
// SQLite has one writer: write transactions run one after another (group
// commit shares a transaction between writes, each in its own savepoint), so
// every read in a write transaction sees the latest data and nothing here
// locks anything on SQLite.
//
// PostgreSQL runs write transactions at READ COMMITTED: each statement sees
// what was committed when it started, and a row that a concurrent transaction
// changed is waited for and then re-read. What REPEATABLE READ used to catch
// as a serialization failure is prevented with explicit locks, taken in this
// order (a transaction that takes several kinds takes them in this order,
// and the rows of one kind in ascending id order), so that two writers do not
// wait for each other in a cycle:
//
//  0. the write gate (enterGate), taken by every write transaction first:
//     shared, or exclusive by an attempt that lost to concurrent writes
//     twice, which then runs alone and cannot lose again (retry.go);
//  1. tenant-wide locks: the tenant's group graph, an advisory lock
//     (lockGroupGraph) taken by group-in-group additions, since two opposite
//     ones would each check a graph without the other's edge and make a
//     cycle; the tenant row, which refuseLastGlobalAdmin updates so that
//     removals of Global Administrators take turns;
//  2. users (lockUsers, or userLocked for one user), before any of their
//     license states is read, by every write that can change a user's
//     licenses; UpdateUser locks its user before it applies a patch. Users
//     are locked by advisory locks over id ranges (regions, then buckets;
//     see lockUsers); userLocked then also locks the user's row;
//  3. products: the seat counters, changed late in a transaction with a
//     guarded update (addSeats) that answers errTxRetry when the seats are
//     gone, so that the transaction runs again with fresh data;
//  4. group marks (marks of kind MarkGroup);
//  5. groups (dir_groups rows): error counts and processing states;
//     UpdateGroup and DeleteGroup lock their group first; AssignGroupLicenses
//     keeps its group from being deleted with lockKeep, which nothing but a
//     deletion waits for, so it is outside the order;
//  6. user marks (kind MarkUser). mark() writes marks in target order.
//     ClaimMarks skips locked marks (FOR UPDATE SKIP LOCKED) and waits for
//     none.
//
// What each path takes:
//
//	AssignUserLicenses, BulkAssignLicense, ReconcileUsers: users (loadBatch)
//	  → products (decide: every product whose counters the plan changes, in
//	  one ordered statement; apply's addSeats then updates locked rows) →
//	  groups (error counts) → user marks (waiters, completed marks)
//	DeleteUser: its user (lockAll) → products (addSeats) → groups (error
//	  counts) → user marks
//	UpdateUser: its user (lockChange) → user marks
//	SetManager, RemoveManager (manager.go): its user (lockChange) → the
//	  manager (lockKeep, no license lock)
//	RestoreUser (restore.go): its deleted_users row (DELETE … RETURNING) →
//	  the groups it rejoins (lockKeep, outside the order) → its new user row,
//	  invisible to others until the commit → products (decide) → groups
//	  (error counts) → user marks
//	SetSeats: its newest holders (lockNewestHolders, with slack) → its
//	  product (UPDATE … RETURNING) → a holder that appeared in between
//	  (lockVictims, out of order: a deadlock this forms is broken by
//	  PostgreSQL and retried) → other products of the cascade → groups →
//	  user marks.
//	Preview: locks the users whose states it writes, never a product row
//	  (seat counters stay in memory, tx.deltas), no mark (its marks stay in
//	  memory, tx.previewMarks) and no group's counters or processing state.
//	AddMember, RemoveMember: the group graph (a group added to a group
//	  only) → the member's mark (a group's, or a user's) → groups (processing
//	  states)
//	ReprocessGroup, FinishGroup: group mark → groups (processing states).
//	  FinishGroup needs no lock of its own: deleting its mark waits for a
//	  concurrent re-mark of the group, which it then sees.
//	AssignGroupLicenses: its group (lockKeep) → group licenses → group mark →
//	  its processing state
//	UpdateGroup: its group (lockChange); DeleteGroup: its group (lockAll) →
//	  user marks
//	MarkAll: group marks → user marks
//
// Deadlocks that slip through are broken by PostgreSQL and retried; a unique
// violation between two inserts that both checked first is retried, and the
// check then answers a clear conflict (retry.go). The ordering-number counter
// is updated outside every transaction (pgNextSeqs).

import (
	"allot"
	"slices"

	"allot/licensing"
)

// User locks are advisory locks over id ranges, not row locks: locking a
// row writes its tuple (and a WAL record) on PostgreSQL, which cost a
// 1,000,000-member group batch a fifth of its time. Two granularities, as
// a database's intention locks: a region of 2^20 ids and, inside it, a
// bucket of 2^10 ids. A transaction whose users of a region fall in a few
// buckets takes the region shared and those buckets exclusive; one whose
// users spread over many buckets takes the region exclusive. Two writers of
// one user so always share a lock that at least one holds exclusive, and a
// transaction takes at most userBucketsPerRegion+1 locks per region.
const (
	// pgUserRegionSpace and pgUserBucketSpace are the high parts of the
	// advisory lock keys of user regions ("ur") and buckets ("ub").
	pgUserRegionSpace = 0x7572 << 48
	pgUserBucketSpace = 0x7562 << 48
	// userRegionShift and userBucketShift size regions and buckets.
	userRegionShift = 20
	userBucketShift = 10
	// userBucketsPerRegion is the most buckets a transaction locks in one
	// region; beyond it, it locks the region.
	userBucketsPerRegion = 64
)

// lockUsers locks the users ids for the rest of the transaction, so that
// no other transaction changes their licenses meanwhile (PostgreSQL). The
// locks are taken in one statement, in the order userLockKeys gives:
// regions in ascending order, then buckets in ascending order. On SQLite, whose writer runs alone, it does nothing.
func (t *tx) lockUsers(ids []int64) error {
	if t.s.engine != Postgres || len(ids) == 0 {
		return nil
	}
	keys, exclusive := userLockKeys(ids)
	_, err := t.exec(`SELECT CASE WHEN x THEN pg_advisory_xact_lock(k) ELSE pg_advisory_xact_lock_shared(k) END
		FROM unnest(?::bigint[], ?::boolean[]) WITH ORDINALITY AS u(k, x, o) ORDER BY o`, keys, exclusive)
	return err
}

// userLockKeys returns the advisory lock keys that lock the users ids, in
// the order they are taken, and whether each is exclusive.
func userLockKeys(ids []int64) ([]int64, []bool) {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	var keys, fine []int64
	var exclusive []bool
	for len(sorted) > 0 {
		r := sorted[0] >> userRegionShift
		end := len(sorted)
		if i := slices.IndexFunc(sorted, func(id int64) bool { return id>>userRegionShift != r }); i >= 0 {
			end = i
		}
		var bs []int64
		for _, id := range sorted[:end] {
			if b := id >> userBucketShift; len(bs) == 0 || bs[len(bs)-1] != b {
				bs = append(bs, b)
			}
		}
		whole := len(bs) > userBucketsPerRegion
		keys, exclusive = append(keys, pgUserRegionSpace|r), append(exclusive, whole)
		if !whole {
			for _, b := range bs {
				fine = append(fine, pgUserBucketSpace|b)
			}
		}
		sorted = sorted[end:]
	}
	for _, k := range fine {
		keys, exclusive = append(keys, k), append(exclusive, true)
	}
	return keys, exclusive
}

// addSeats changes the seat and waiting counters of a product by consumed
// and waiting. Taking seats (consumed > 0) is guarded: when fewer seats are
// free than the transaction saw (a concurrent writer took them), nothing
// changes and errTxRetry asks write to run the transaction again with fresh
// data. Giving seats back is never refused.
func (t *tx) addSeats(productID int64, consumed, waiting int) error {
	if t.preview {
		d := t.deltas[productID]
		t.deltas[productID] = [2]int{d[0] + consumed, d[1] + waiting}
		return nil
	}
	t.recordSeats(productID)
	if consumed <= 0 {
		_, err := t.exec(`UPDATE products SET consumed_units = consumed_units + ?, waiting_units = waiting_units + ? WHERE id = ?`,
			consumed, waiting, productID)
		return err
	}
	res, err := t.exec(`UPDATE products SET consumed_units = consumed_units + ?, waiting_units = waiting_units + ?
		WHERE id = ? AND consumed_units + ? <= enabled_units`, consumed, waiting, productID, consumed)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return errTxRetry
	}
	return nil
}

// pgWriteGateKey is the advisory lock of the write gate ("allot" 2).
const pgWriteGateKey = 0x616c6c6f7402

// enterGate takes the write gate (PostgreSQL), the first lock of every
// write transaction: shared, so that writes run side by side, or, for an
// attempt that lost to concurrent writes exclusiveAfter times, exclusive, so
// that it runs alone and completes (retry.go). Waiting for the gate is
// bounded like every lock wait of the transaction by lock_timeout, a
// transient failure.
func (t *tx) enterGate(alone bool) error {
	if t.s.engine != Postgres {
		return nil
	}
	fn := "pg_advisory_xact_lock_shared"
	if alone {
		fn = "pg_advisory_xact_lock"
	}
	// The transaction's id comes in the same round trip: it is the position
	// of the transaction's changes in the delta feed (changeSeq).
	var timeout, locked string
	return t.queryRow(`SELECT set_config('lock_timeout', '10s', true), `+fn+`(?)::text, pg_current_xact_id()::text::bigint`,
		int64(pgWriteGateKey)).Scan(&timeout, &locked, &t.xid)
}

// pgGraphLockSpace is the high part of the advisory lock key of a tenant's
// group graph ("gr"); the tenant id is the low 48 bits.
const pgGraphLockSpace = 0x6772 << 48

// lockGroupGraph makes the group-in-group membership changes of a tenant take
// turns until the transaction ends (PostgreSQL): two opposite additions (A
// into B, B into A) would otherwise each check a graph without the other's
// edge and together make a cycle. SQLite's writer runs alone.
func (t *tx) lockGroupGraph(tenantID int64) error {
	if t.s.engine != Postgres {
		return nil
	}
	_, err := t.exec(`SELECT pg_advisory_xact_lock(?)`, int64(pgGraphLockSpace)|tenantID)
	return err
}

// Row lock strengths for lockRows, weakest first.
const (
	// lockKeep keeps the row from being deleted (or its id changed), and
	// lets others change it.
	lockKeep = "KEY SHARE"
	// lockChange is for a row the transaction changes: others wait to
	// change or delete it, and a lockKeep does not wait.
	lockChange = "NO KEY UPDATE"
	// lockAll is for a row the transaction may delete: everyone waits.
	lockAll = "UPDATE"
)

// lockRows returns the clause that makes a SELECT lock the rows it returns
// until the transaction ends, with the strength mode (lockKeep, lockChange,
// lockAll), on PostgreSQL; nothing on SQLite, whose writer runs alone.
func (t *tx) lockRows(mode string) string {
	if t.s.engine == Postgres {
		return " FOR " + mode
	}
	return ""
}

// decide computes a plan and makes it exact under concurrency. On
// PostgreSQL the snapshot's seat counters may be older than a concurrent
// commit: the rows of every product whose counters the plan changes are
// locked, in id order and in one statement (so that applying the plan later
// takes no product lock out of order), and, if their counters moved since
// the snapshot, the plan is decided again on the fresh counters — a pure
// recomputation, not a retry of the transaction. SQLite's single writer
// always reads fresh counters; a preview locks nothing.
//
// A plan that leaves nobody waiting and takes seats only of products nobody
// waits for is exact on any counters that have its seats, so it locks no
// product here: apply's guarded update (addSeats) takes each row at the end
// of the transaction, for a moment, and asks for a re-run when the seats
// are gone. The re-run, and every attempt after a transient failure, locks
// as above (pessimistic).
func (t *tx) decide(b *batch, decide func(*licensing.Snapshot) (*licensing.Plan, error)) (*licensing.Plan, error) {
	plan, err := decide(b.snap)
	if err != nil || t.s.engine != Postgres || t.preview {
		return plan, err
	}
	if h := t.s.beforeDecide; h != nil {
		h()
	}
	if !pessimistic(t.ctx) && seatSafe(b.snap, plan) {
		return plan, nil
	}
	locked := map[int64]bool{}
	for {
		var need []int64
		for _, m := range []map[int64]int{plan.Consumed, plan.Waiting} {
			for pid := range m {
				if !locked[pid] && !slices.Contains(need, pid) {
					need = append(need, pid)
				}
			}
		}
		if len(need) == 0 {
			return plan, nil
		}
		slices.Sort(need)
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

// seatSafe tells whether plan's outcome is the same on any seat counters
// that have the seats it takes: nobody it evaluates waits for a seat
// afterwards, and nobody in the snapshot or outside it waits for a product
// it takes seats of. Fewer free seats than it takes fail its guarded
// update; more change nothing.
func seatSafe(s *licensing.Snapshot, plan *licensing.Plan) bool {
	for _, up := range plan.Users {
		for _, st := range up.After {
			if st.State != allot.StateActive && (st.Code == allot.ENoSeats || st.Code == allot.ESeatsReduced) {
				return false
			}
		}
	}
	for pid, n := range plan.Consumed {
		if n > 0 && (s.WaitingOutside[pid] > 0 || len(s.Ahead[pid]) > 0) {
			return false
		}
	}
	for _, u := range s.Users {
		for _, st := range u.Current {
			if plan.Consumed[st.ProductID] > 0 && (st.Code == allot.ENoSeats || st.Code == allot.ESeatsReduced) {
				return false
			}
		}
	}
	return true
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
