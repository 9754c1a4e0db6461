package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"allot"
)

// On SQLite every write transaction runs on one connection, one after
// another. Writes that arrive while one runs are not made to wait for a
// transaction each: the writer takes every waiting write (up to
// maxGroupCommit) into one transaction, each in its own savepoint, and
// commits them together. Each write stays all-or-nothing (a failing write
// rolls back to its savepoint); a commit is shared, so the WAL frames of the
// pages several writes touch (the seat counter, the audit log) are written
// once per group instead of once per write.

// maxGroupCommit bounds how many writes share one transaction.
const maxGroupCommit = 64

// writeReq is one write waiting for the writer.
type writeReq struct {
	ctx  context.Context
	fn   func(t *tx) error
	done chan error
}

// startWriter starts the goroutine that runs SQLite's write transactions.
func (s *Store) startWriter() {
	s.wq = make(chan *writeReq, maxGroupCommit)
	s.wdone = make(chan struct{})
	go func() {
		defer close(s.wdone)
		for req := range s.wq {
			group := []*writeReq{req}
		gather:
			for len(group) < maxGroupCommit {
				select {
				case r, ok := <-s.wq:
					if !ok {
						break gather
					}
					group = append(group, r)
				default:
					break gather
				}
			}
			s.runGroup(group)
		}
	}()
}

// stopWriter lets the writer finish the writes it has and stops it.
func (s *Store) stopWriter() {
	if s.wq != nil {
		close(s.wq)
		<-s.wdone
		s.wq = nil
	}
}

// submit hands a write to the writer and waits for its result.
func (s *Store) submit(ctx context.Context, fn func(t *tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.wq <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.done
}

// runGroup runs writes in one transaction, each in a savepoint, and commits.
// A write never affects another's transaction: its statements run without its
// context's cancellation (a statement interrupted while it runs makes SQLite
// roll back the whole transaction), the context is checked between them
// instead, and a cancelled write rolls back to its savepoint only. Should
// SQLite still roll the transaction back (a full disk, an I/O error), the
// write that was running gets its error and the others run again in a fresh
// transaction, so that none is reported done and lost, or failed and done.
func (s *Store) runGroup(group []*writeReq) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for len(group) > 0 {
		group = s.runShared(group)
	}
}

// runShared runs writes in one transaction and delivers their results; it
// returns the writes to run again, in a fresh transaction, when SQLite rolled
// this one back.
func (s *Store) runShared(group []*writeReq) []*writeReq {
	results := make([]error, len(group))
	deliver := func() {
		for i, r := range group {
			r.done <- results[i]
		}
	}
	sqltx, err := s.wconn.BeginTx(context.Background(), nil)
	if err != nil {
		for i := range results {
			results[i] = fmt.Errorf("begin: %w", err)
		}
		deliver()
		return nil
	}
	s.wrolled.Store(false)
	t := &tx{s: s, tx: sqltx, now: nowMS()}
	shared := len(group) > 1
	woke := false
	ok := 0
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		woke1, broken, err := s.runOne(t, r, shared)
		if broken {
			// The transaction is not usable any more (SQLite rolled it
			// back, or a savepoint could not be rolled back or released):
			// r failed (its error says why); the writes done before it are
			// undone and run again with the ones not run yet.
			if err == nil {
				err = fmt.Errorf("write: %w", errTxDead)
			}
			sqltx.Rollback()
			r.done <- err
			return s.redo(group, results, i)
		}
		results[i] = err
		if err == nil {
			ok++
			woke = woke || woke1
		}
	}
	if ok == 0 {
		sqltx.Rollback()
		deliver()
		return nil
	}
	// The seat history of every write of the transaction, once, outside
	// their savepoints (history.go), whatever became of the last write's
	// request.
	t.ctx, t.req = context.Background(), nil
	err = t.writeSeatHistory(t.seats)
	if err == nil {
		err = sqltx.Commit()
	}
	if err != nil {
		// Nothing of this transaction was committed: make sure it is over.
		s.wconn.ExecContext(context.Background(), `ROLLBACK`)
		for i := range results {
			if results[i] == nil {
				results[i] = fmt.Errorf("commit: %w", err)
			}
		}
		deliver()
		return nil
	}
	if t.authDirty {
		s.auth.invalidate()
	}
	if woke {
		s.wake()
	}
	deliver()
	return nil
}

// runOne runs one write of a transaction (in a savepoint when the
// transaction is shared). It returns whether the write wrote marks, whether
// the transaction is broken (rolled back by SQLite, or a savepoint that could
// not be rolled back or released), and the write's error.
func (s *Store) runOne(t *tx, r *writeReq, shared bool) (woke, broken bool, err error) {
	t.ctx, t.req, t.woke, t.onApply, t.removed, t.feed = context.WithoutCancel(r.ctx), r.ctx, false, nil, nil, nil
	bg := context.Background()
	if shared {
		if _, err := t.tx.ExecContext(bg, `SAVEPOINT w`); err != nil {
			return false, true, err
		}
	}
	err = runSafely(r.fn, t)
	if err == nil {
		err = t.flushChanges()
	}
	if s.wrolled.Load() {
		return false, true, err
	}
	if !shared {
		return t.woke, false, err
	}
	if err != nil {
		if _, rerr := t.tx.ExecContext(bg, `ROLLBACK TO w`); rerr != nil {
			return false, true, errors.Join(err, rerr)
		}
	}
	if _, rerr := t.tx.ExecContext(bg, `RELEASE w`); rerr != nil {
		return false, true, errors.Join(err, rerr)
	}
	return t.woke, false, err
}

// redo delivers the results of the writes before index failed that failed on
// their own (a cancelled or refused write stays failed) and returns the ones
// to run again: those that had succeeded, and those after failed.
func (s *Store) redo(group []*writeReq, results []error, failed int) []*writeReq {
	var again []*writeReq
	for i, r := range group[:failed] {
		if results[i] == nil {
			again = append(again, r)
		} else {
			r.done <- results[i]
		}
	}
	return append(again, group[failed+1:]...)
}

// runSafely runs a write, turning a panic into an internal error so that one
// bad write cannot stop the writer for everyone.
func runSafely(fn func(t *tx) error, t *tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			t.s.log.Error("panic in a write transaction", "panic", v, "stack", string(debug.Stack()))
			err = &allot.Error{Code: allot.EInternal, Message: "panic in a write", Err: fmt.Errorf("%v", v)}
		}
	}()
	return fn(t)
}
