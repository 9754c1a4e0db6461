package sqlstore

import (
	"context"
	"errors"
	"testing"
)

// TestGroupCommitRedoAfterRollback: when SQLite rolls back a shared
// transaction in the middle of a group (here a write runs ROLLBACK itself, as
// SQLite does on a full disk or an I/O error), the write that was running
// fails, and the writes before and after it are run again in a fresh
// transaction: each is reported done and is in the database once.
func TestGroupCommitRedoAfterRollback(t *testing.T) {
	s, err := OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	runs := map[string]int{}
	insert := func(name string) func(t *tx) error {
		return func(t *tx) error {
			runs[name]++
			_, err := t.exec(`INSERT INTO sequences (name, value) VALUES (?, 1)`, name)
			return err
		}
	}
	kill := func(t *tx) error {
		runs["kill"]++
		if _, err := t.exec(`INSERT INTO sequences (name, value) VALUES ('kill', 1)`); err != nil {
			return err
		}
		_, err := t.tx.ExecContext(context.Background(), `ROLLBACK`)
		return err
	}
	group := []*writeReq{
		{ctx: ctx, fn: insert("before"), done: make(chan error, 1)},
		{ctx: ctx, fn: kill, done: make(chan error, 1)},
		{ctx: ctx, fn: insert("after"), done: make(chan error, 1)},
	}
	s.runGroup(group)
	errs := make([]error, len(group))
	for i, r := range group {
		errs[i] = <-r.done
	}
	if errs[0] != nil || errs[2] != nil {
		t.Fatalf("the writes around the rolled back one failed: %v, %v", errs[0], errs[2])
	}
	if !errors.Is(errs[1], errTxDead) {
		t.Errorf("the write whose transaction SQLite rolled back got %v, want errTxDead", errs[1])
	}
	if runs["before"] != 2 || runs["kill"] != 1 || runs["after"] != 1 {
		t.Errorf("runs %v, want before twice (once undone), kill once, after once", runs)
	}
	for name, want := range map[string]int{"before": 1, "after": 1, "kill": 0} {
		var n int
		if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM sequences WHERE name = ?`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%d rows of write %q, want %d", n, name, want)
		}
	}
	// The writer goes on with a clean transaction.
	if err := s.write(ctx, insert("next")); err != nil {
		t.Fatalf("the next write: %v", err)
	}
}
