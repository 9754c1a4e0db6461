package sqlstore

import (
	"context"
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
func (s *Store) runGroup(group []*writeReq) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	results := make([]error, len(group))
	finish := func(woke bool) {
		if woke {
			s.wake()
		}
		for i, r := range group {
			r.done <- results[i]
		}
	}
	sqltx, err := s.wconn.BeginTx(context.Background(), nil)
	if err != nil {
		for i := range results {
			results[i] = fmt.Errorf("begin: %w", err)
		}
		finish(false)
		return
	}
	t := &tx{s: s, tx: sqltx, now: nowMS()}
	shared := len(group) > 1
	woke := false
	ok := 0
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		t.ctx, t.woke, t.onApply, t.removed = r.ctx, false, nil, nil
		if shared {
			if _, err := sqltx.ExecContext(context.Background(), `SAVEPOINT w`); err != nil {
				results[i] = err
				continue
			}
		}
		err := runSafely(r.fn, t)
		if shared {
			if err != nil {
				sqltx.ExecContext(context.Background(), `ROLLBACK TO w`)
			}
			if _, rerr := sqltx.ExecContext(context.Background(), `RELEASE w`); rerr != nil && err == nil {
				err = rerr
			}
		}
		results[i] = err
		if err == nil {
			ok++
			woke = woke || t.woke
		}
	}
	if ok == 0 {
		sqltx.Rollback()
		finish(false)
		return
	}
	if err := sqltx.Commit(); err != nil {
		for i := range results {
			if results[i] == nil {
				results[i] = fmt.Errorf("commit: %w", err)
			}
		}
		finish(false)
		return
	}
	finish(woke)
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
