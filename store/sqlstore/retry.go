package sqlstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"allot"
)

// One retry policy for both engines. A write transaction that fails for a
// reason that goes away by itself is run again, from the start, after a
// jittered backoff, until it succeeds or retryBudget has passed; a client
// never sees such an error, only, after the budget, an EUnavailable (HTTP
// 503 with Retry-After) that says to try again.
//
// Transient: PostgreSQL serialization failure (40001), deadlock (40P01) and
// a lock wait longer than lock_timeout (55P03),
// SQLite SQLITE_BUSY and SQLITE_LOCKED, and errTxRetry, which store code
// returns to ask for a re-run with fresh data (a guarded update that found
// its precondition gone, see addSeats).
//
// Unique violations (PostgreSQL 23505, SQLite's UNIQUE and PRIMARY KEY
// constraints) are run again too, a few times: two transactions that both
// checked that a key was free and both inserted it collide, and run again
// the check sees the committed row and answers a clear conflict. One that
// persists is a real conflict: EConflict.

// errTxRetry, returned by a write function, asks write to run the whole
// transaction again.
var errTxRetry = errors.New("run the write transaction again")

// defaultRetryBudget bounds the time one write spends, its retries included.
const defaultRetryBudget = 10 * time.Second

// maxUniqueRetries bounds the re-runs after a unique violation.
const maxUniqueRetries = 3

// Backoff between attempts: exponential from retryBaseDelay, at most
// retryMaxDelay, each wait drawn at random from its upper half.
const (
	retryBaseDelay = 2 * time.Millisecond
	retryMaxDelay  = 250 * time.Millisecond
)

// failure classifies an error for the retry policy.
type failure int

const (
	failFinal     failure = iota // the answer: return it
	failTransient                // run again
	failUnique                   // run again a few times, then EConflict
)

// SQLite primary and extended result codes (modernc.org/sqlite/lib).
const (
	sqliteBusy        = 5
	sqliteLocked      = 6
	sqliteUnique      = 2067 // SQLITE_CONSTRAINT_UNIQUE
	sqlitePrimaryKey  = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
	sqlitePrimaryMask = 0xff
)

// classify tells what the retry policy does with err. An allot.Error with a
// code is an answer already, whatever it wraps.
func classify(err error) failure {
	if err == nil {
		return failFinal
	}
	var ae *allot.Error
	if errors.As(err, &ae) && ae.Code != "" {
		return failFinal
	}
	if errors.Is(err, errTxRetry) {
		return failTransient
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01", "55P03": // 55P03: a lock wait beyond lock_timeout
			return failTransient
		case "23505":
			return failUnique
		}
		return failFinal
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqliteUnique, sqlitePrimaryKey:
			return failUnique
		}
		switch se.Code() & sqlitePrimaryMask {
		case sqliteBusy, sqliteLocked:
			return failTransient
		}
	}
	return failFinal
}

// retryable reports whether the retry policy runs a write again after err.
func retryable(err error) bool { return classify(err) != failFinal }

// exclusiveAfter is the number of transient failures after which a write on
// PostgreSQL runs alone: it takes the write gate exclusively (writeGate), so
// that no other write can deadlock with it or take its seats, and it
// completes on that attempt instead of losing again until its budget is
// spent.
const exclusiveAfter = 2

// exclusiveKey marks the context of an attempt that runs alone.
type exclusiveKey struct{}

// pessimisticKey marks the context of an attempt after a transient failure:
// it locks the products of its plan when it decides (decide).
type pessimisticKey struct{}

// pessimistic tells whether ctx is that of such an attempt.
func pessimistic(ctx context.Context) bool { return ctx != nil && ctx.Value(pessimisticKey{}) != nil }

// runsAlone tells whether ctx is that of an attempt that takes the write
// gate exclusively.
func runsAlone(ctx context.Context) bool { return ctx.Value(exclusiveKey{}) != nil }

// retry runs attempt until it succeeds, fails for good, or the store's retry
// budget has passed (see the policy above). attempt runs with ctx, or, after
// exclusiveAfter transient failures, with a context that makes it run alone.
func (s *Store) retry(ctx context.Context, attempt func(ctx context.Context) error) error {
	start := time.Now()
	uniques, transients := 0, 0
	actx := ctx
	for n := 0; ; n++ {
		err := attempt(actx)
		kind := classify(err)
		if kind == failFinal {
			return err
		}
		if kind == failUnique {
			if uniques++; uniques > maxUniqueRetries {
				return conflictError(err)
			}
		}
		if transients++; transients == 1 {
			actx = context.WithValue(actx, pessimisticKey{}, true)
		}
		if transients == exclusiveAfter && s.engine == Postgres {
			actx = context.WithValue(actx, exclusiveKey{}, true)
		}
		wait := backoff(n)
		if time.Since(start)+wait > s.retryBudget {
			return s.gaveUp(err, kind, n+1, time.Since(start))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// backoff returns the wait before attempt n+2.
func backoff(n int) time.Duration {
	d := retryMaxDelay
	if n < 16 {
		d = min(retryBaseDelay<<n, retryMaxDelay)
	}
	return d/2 + rand.N(d/2+1)
}

// gaveUp returns the error of a write still failing transiently when its
// budget is spent.
func (s *Store) gaveUp(err error, kind failure, attempts int, spent time.Duration) error {
	if kind == failUnique {
		return conflictError(err)
	}
	s.log.Warn("a write failed transiently until its retry budget was spent", "attempts", attempts, "spent", spent.Round(time.Millisecond), "err", err)
	return unavailableError(err)
}

// unavailableError is what a client gets for a write that conflicted with
// concurrent ones for too long.
func unavailableError(err error) error {
	return &allot.Error{Code: allot.EUnavailable, Err: err,
		Message: "The database is busy with concurrent changes and could not complete this one; nothing was changed. Try again in a moment."}
}

// conflictError is what a client gets for a unique violation that persists.
func conflictError(err error) error {
	return &allot.Error{Code: allot.EConflict, Err: err,
		Message: "Another object already has a value that must be unique (a name, an address or an id); nothing was changed."}
}
