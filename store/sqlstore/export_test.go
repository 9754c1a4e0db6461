package sqlstore

import (
	"context"
	"strings"
	"time"
)

// What the external tests of this package (sqlstore_test, which can use
// pgtest) need of its internals. Compiled into tests only.

// ErrTxRetry is errTxRetry, for tests that ask for a re-run.
var ErrTxRetry = errTxRetry

// Retryable is the retry policy's test of an error.
var Retryable = retryable

// SetRetryBudget sets the time one write may spend, retries included.
func (s *Store) SetRetryBudget(d time.Duration) { s.retryBudget = d }

// WriteSQL runs fn in a write transaction of the store (with its retry
// policy); fn runs statements with exec, written with ? placeholders.
func (s *Store) WriteSQL(ctx context.Context, fn func(exec func(q string, args ...any) error) error) error {
	return s.write(ctx, func(t *tx) error {
		return fn(func(q string, args ...any) error {
			_, err := t.exec(q, args...)
			return err
		})
	})
}

// SetBeforeDecide sets a function that runs in every write transaction on
// PostgreSQL between loading a snapshot and making its plan exact.
func (s *Store) SetBeforeDecide(fn func()) { s.beforeDecide = fn }

// SetAuthCacheTTL sets how long a verified token's principal is reused.
func (s *Store) SetAuthCacheTTL(d time.Duration) { s.auth.ttl = d }

// MigrationUp returns the statements of the Up part of the embedded
// migration file name of the engine ("sqlite" or "postgres").
func MigrationUp(engine, name string) ([]string, error) {
	b, err := migrations.ReadFile("migrations/" + engine + "/" + name)
	if err != nil {
		return nil, err
	}
	up, _, _ := strings.Cut(string(b), "-- +goose Down")
	var out []string
	for _, st := range strings.Split(up, ";\n") {
		var lines []string
		for _, l := range strings.Split(st, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				lines = append(lines, l)
			}
		}
		if s := strings.TrimSpace(strings.Join(lines, "\n")); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}
