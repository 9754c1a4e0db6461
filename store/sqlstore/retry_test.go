package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"allot"
	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
)

// forEngines runs fn once per store engine, as subtests.
func forEngines(t *testing.T, fn func(t *testing.T, st *sqlstore.Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, pgtest.Open(t)) })
}

// countSeq counts the sequences rows named name.
func countSeq(t *testing.T, st *sqlstore.Store, name string) int {
	t.Helper()
	var n int
	q := `SELECT COUNT(*) FROM sequences WHERE name = ?`
	if st.Engine() == sqlstore.Postgres {
		q = `SELECT COUNT(*) FROM sequences WHERE name = $1`
	}
	if err := st.DB().QueryRowContext(context.Background(), q, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRetryPolicy: the one retry policy of both engines. A write that asks for
// a re-run (errTxRetry) is run again from scratch in a new transaction, and
// only its last run is committed; one that keeps asking gets EUnavailable
// once the retry budget is spent, with a message that says to try again; a
// unique violation that persists is a conflict (EConflict) after a few runs.
func TestRetryPolicy(t *testing.T) {
	forEngines(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		runs := 0
		err := st.WriteSQL(ctx, func(exec func(string, ...any) error) error {
			runs++
			if err := exec(`INSERT INTO sequences (name, value) VALUES ('retried', ?)`, runs); err != nil {
				return err
			}
			if runs < 4 {
				return sqlstore.ErrTxRetry
			}
			return nil
		})
		if err != nil || runs != 4 {
			t.Fatalf("asked for 3 re-runs: %v after %d runs, want success after 4", err, runs)
		}
		if n := countSeq(t, st, "retried"); n != 1 {
			t.Fatalf("%d rows of the re-run write, want 1 (only the last run committed)", n)
		}

		st.SetRetryBudget(300 * time.Millisecond)
		runs = 0
		start := time.Now()
		err = st.WriteSQL(ctx, func(exec func(string, ...any) error) error {
			runs++
			return sqlstore.ErrTxRetry
		})
		spent := time.Since(start)
		if allot.ErrorCode(err) != allot.EUnavailable || !strings.Contains(allot.ErrorMessage(err), "Try again") {
			t.Fatalf("a write that always asks for a re-run: %v (code %s), want EUnavailable that says to try again", err, allot.ErrorCode(err))
		}
		if runs < 3 || spent > 2*time.Second {
			t.Errorf("gave up after %d runs in %v; want several runs within about the 300 ms budget", runs, spent)
		}
		t.Logf("always retrying: %d runs in %v before EUnavailable", runs, spent.Round(time.Millisecond))

		runs = 0
		err = st.WriteSQL(ctx, func(exec func(string, ...any) error) error {
			runs++
			return exec(`INSERT INTO sequences (name, value) VALUES ('order', 1)`)
		})
		if allot.ErrorCode(err) != allot.EConflict || runs != 4 {
			t.Fatalf("a persistent unique violation: %v (code %s) after %d runs, want EConflict after 4", err, allot.ErrorCode(err), runs)
		}
	})
}

// TestRetrySQLiteBusy: SQLITE_BUSY, as a real connection reports it when
// another holds the write lock, is transient for the retry policy.
func TestRetrySQLiteBusy(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlstore.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	path := "file:" + filepath.Join(dir, "allot.db") + "?_pragma=busy_timeout(0)&_txlock=immediate"
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	holder, other := open(), open()
	tx, err := holder.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = other.Begin()
	if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") && !strings.Contains(err.Error(), "locked") {
		t.Fatalf("BEGIN IMMEDIATE while another connection holds the lock: %v, want SQLITE_BUSY", err)
	}
	if !sqlstore.Retryable(err) {
		t.Errorf("SQLITE_BUSY (%v) is not retryable", err)
	}
	if sqlstore.Retryable(errors.New("database is locked")) {
		t.Errorf("a plain error that merely says locked is retryable")
	}
}

// TestWriteRunsAloneAfterTwoTransientFailures: on PostgreSQL writes share the
// write gate, so another write runs while one is open; a write that failed
// transiently twice runs its next attempt alone: a write that starts during
// that attempt waits for it to commit.
func TestWriteRunsAloneAfterTwoTransientFailures(t *testing.T) {
	st := pgtest.Open(t)
	ctx := context.Background()
	// other runs a write in the background and reports when its function runs.
	other := func() <-chan struct{} {
		ran := make(chan struct{})
		go func() {
			st.WriteSQL(ctx, func(func(string, ...any) error) error { close(ran); return nil })
		}()
		return ran
	}
	ranDuring := func(ran <-chan struct{}) bool {
		select {
		case <-ran:
			return true
		case <-time.After(500 * time.Millisecond):
			return false
		}
	}
	runs := 0
	var late <-chan struct{}
	err := st.WriteSQL(ctx, func(exec func(string, ...any) error) error {
		runs++
		switch runs {
		case 1:
			if !ranDuring(other()) {
				t.Error("a write waited for an ordinary write: the gate should be shared")
			}
			return sqlstore.ErrTxRetry
		case 2:
			return sqlstore.ErrTxRetry
		default:
			late = other()
			if ranDuring(late) {
				t.Error("a write ran beside an attempt that failed transiently twice: that attempt should run alone")
			}
			return nil
		}
	})
	if err != nil || runs != 3 {
		t.Fatalf("write: %v after %d runs, want success after 3", err, runs)
	}
	select {
	case <-late:
	case <-time.After(5 * time.Second):
		t.Fatal("the write that waited did not run after the lone attempt committed")
	}
}
