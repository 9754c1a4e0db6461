package sqlstore

// Limits that every replica on one database shares: token buckets of the
// per-credential request rate and the counts of failed sign-ins. Each is a
// row updated by one statement, so that concurrent replicas never lose an
// update. The policy (how many tokens, how long to wait) is the caller's;
// these functions only count.

import (
	"context"
	"strings"
	"time"
)

// takeTokensQuery takes up to excluded.granted tokens from a bucket,
// refilled since its last take; it returns what is left and what was
// granted (all that was asked for, else 1, else 0).
var takeTokensQuery = func() string {
	refill := `(rate_buckets.tokens + (CASE WHEN excluded.at_ms > rate_buckets.at_ms THEN excluded.at_ms - rate_buckets.at_ms ELSE 0 END) * excluded.rate)`
	avail := `(CASE WHEN {R} > excluded.burst THEN excluded.burst ELSE {R} END)`
	avail = strings.ReplaceAll(avail, "{R}", refill)
	grant := `(CASE WHEN {A} >= excluded.granted THEN excluded.granted WHEN {A} >= 1 THEN 1 ELSE 0 END)`
	grant = strings.ReplaceAll(grant, "{A}", avail)
	return `INSERT INTO rate_buckets (key, tokens, at_ms, granted, rate, burst) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET tokens = ` + avail + ` - ` + grant + `, granted = ` + grant + `,
  at_ms = CASE WHEN excluded.at_ms > rate_buckets.at_ms THEN excluded.at_ms ELSE rate_buckets.at_ms END,
  rate = excluded.rate, burst = excluded.burst
RETURNING tokens, granted`
}()

// TakeTokens takes up to want tokens from the shared bucket of key, which
// refills at perSecond up to burst (a full bucket when key is new). It
// returns how many it got (want, or 1 when fewer than want are left, or 0)
// and, when it got none, how long until one is there.
func (s *Store) TakeTokens(ctx context.Context, key string, want int, perSecond, burst float64, now time.Time) (int, time.Duration, error) {
	w := float64(want)
	if w > burst {
		w = burst
	}
	var left, got float64
	err := s.w.QueryRowContext(ctx, s.q(takeTokensQuery), key, burst-w, now.UnixMilli(), w, perSecond/1000, burst).Scan(&left, &got)
	if err != nil {
		return 0, 0, err
	}
	if got >= 1 {
		return int(got), 0, nil
	}
	return 0, time.Duration((1 - left) / perSecond * float64(time.Second)), nil
}

// PruneLimits forgets the buckets idle since before idleBefore (full again
// by then) and the sign-in failures last seen before that time that no
// longer make anyone wait.
func (s *Store) PruneLimits(ctx context.Context, idleBefore, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM rate_buckets WHERE at_ms < ?`), idleBefore.UnixMilli()); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, s.q(`DELETE FROM signin_failures WHERE last_ms < ? AND until_ms < ?`), idleBefore.UnixMilli(), now.UnixMilli())
	return err
}

// SignInWait is how long the longest waiting of keys must still wait before
// it may try to sign in again (0: none waits).
func (s *Store) SignInWait(ctx context.Context, keys []string, now time.Time) (time.Duration, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	args := make([]any, 0, len(keys))
	for _, k := range keys {
		args = append(args, k)
	}
	var until int64
	q := `SELECT COALESCE(MAX(until_ms), 0) FROM signin_failures WHERE key IN (` + placeholders(len(keys)) + `)`
	if err := s.w.QueryRowContext(ctx, s.q(q), args...).Scan(&until); err != nil {
		return 0, err
	}
	if d := time.UnixMilli(until).Sub(now); d > 0 {
		return d, nil
	}
	return 0, nil
}

// CountSignInFailure adds a failed sign-in to key's count and returns the
// new count: 1 when the last failure was more than window ago.
func (s *Store) CountSignInFailure(ctx context.Context, key string, window time.Duration, now time.Time) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, s.q(`INSERT INTO signin_failures (key, n, last_ms, until_ms) VALUES (?, 1, ?, 0)
ON CONFLICT (key) DO UPDATE SET n = CASE WHEN excluded.last_ms - signin_failures.last_ms > ? THEN 1 ELSE signin_failures.n + 1 END,
  last_ms = excluded.last_ms
RETURNING n`), key, now.UnixMilli(), window.Milliseconds()).Scan(&n)
	return n, err
}

// HoldSignIns makes key wait until the time given (or longer, if it must
// already wait longer).
func (s *Store) HoldSignIns(ctx context.Context, key string, until time.Time) error {
	_, err := s.w.ExecContext(ctx, s.q(`UPDATE signin_failures SET until_ms = ? WHERE key = ? AND until_ms < ?`),
		until.UnixMilli(), key, until.UnixMilli())
	return err
}

// ClearSignInFailures forgets key's failed sign-ins.
func (s *Store) ClearSignInFailures(ctx context.Context, key string) error {
	_, err := s.w.ExecContext(ctx, s.q(`DELETE FROM signin_failures WHERE key = ?`), key)
	return err
}
