package httpapi

// Limits shared by every replica on one PostgreSQL database: the
// per-credential token bucket and the failed sign-in counts live in the
// database (sqlstore/limits.go), so that N replicas allow what one allows.
// On SQLite one process serves the store, and the in-process limiters
// (auth_limits.go) do the same.
//
// The request rate is on the hot path: a replica takes tokens from the
// shared bucket in blocks (sharedBlock) and spends them locally, so that
// about one request in a block reaches the database; a refusal is
// remembered locally until a token is due.

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"allot/store/sqlstore"
)

// sharedBlock is how many tokens a replica takes at once: a twentieth of a
// second's worth, at least 1 (10 at the default 200 per second).
func sharedBlock(perSecond float64) int { return max(1, int(perSecond/20)) }

// sharedRate is the per-credential token bucket in the database.
type sharedRate struct {
	st          *sqlstore.Store
	log         *slog.Logger
	rate, burst float64
	block       int
	// local answers while the database does not (fail open, like one
	// process would).
	local  *rateLimiter
	pruner *limitPruner

	mu     sync.Mutex
	leases map[string]*lease
	warned time.Time
}

// lease is what this replica holds of one bucket: tokens taken from the
// database and not spent yet, or a refusal until a time.
type lease struct {
	tokens int
	until  time.Time
}

func newSharedRate(st *sqlstore.Store, log *slog.Logger, perSecond float64, burst int, p *limitPruner) *sharedRate {
	local := newRateLimiter(perSecond, burst)
	return &sharedRate{st: st, log: log, rate: perSecond, burst: local.burst, block: sharedBlock(perSecond),
		local: local, pruner: p, leases: map[string]*lease{}}
}

func (l *sharedRate) allow(ctx context.Context, key string, now time.Time) (time.Duration, bool) {
	if l.rate <= 0 {
		return 0, true
	}
	l.mu.Lock()
	le := l.leases[key]
	switch {
	case le != nil && le.tokens > 0:
		le.tokens--
		l.mu.Unlock()
		return 0, true
	case le != nil && now.Before(le.until):
		l.mu.Unlock()
		return le.until.Sub(now), false
	}
	l.mu.Unlock()
	l.pruner.maybe(now)
	got, wait, err := l.st.TakeTokens(ctx, "rate:"+key, l.block, l.rate, l.burst, now)
	if err != nil {
		if ctx.Err() == nil { // not a client that went away
			l.warn(err, now)
		}
		return l.local.allow(ctx, key, now)
	}
	return l.keep(key, got, wait, now)
}

// keep records what the database granted and answers the request.
func (l *sharedRate) keep(key string, got int, wait time.Duration, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	le := l.leases[key]
	if le == nil {
		if len(l.leases) >= 100_000 {
			l.leases = map[string]*lease{}
		}
		le = &lease{}
		l.leases[key] = le
	}
	if got == 0 {
		le.until = now.Add(wait)
		return wait, false
	}
	le.tokens += got - 1
	return 0, true
}

// warn logs a failure of the shared bucket at most once a minute.
func (l *sharedRate) warn(err error, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.warned) < time.Minute {
		return
	}
	l.warned = now
	l.log.Warn("shared rate limit unavailable; limiting in this process", "err", err)
}

// sharedSignins counts failed sign-ins in the database.
type sharedSignins struct {
	st     *sqlstore.Store
	pruner *limitPruner
}

func (g *sharedSignins) wait(ctx context.Context, account, address string, now time.Time) (time.Duration, error) {
	return g.st.SignInWait(ctx, []string{"account:" + account, "address:" + address}, now)
}

func (g *sharedSignins) fail(ctx context.Context, account, address string, now time.Time) error {
	g.pruner.maybe(now)
	for _, k := range []struct {
		key      string
		free     int
		maxDelay time.Duration
	}{{"account:" + account, signinFreePerAccount, signinMaxDelay}, {"address:" + address, signinFreePerAddress, signinAddressMaxDelay}} {
		n, err := g.st.CountSignInFailure(ctx, k.key, signinWindow, now)
		if err != nil {
			return err
		}
		if d := holdAfter(n, k.free, k.maxDelay); d > 0 {
			if err := g.st.HoldSignIns(ctx, k.key, now.Add(d)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *sharedSignins) succeed(ctx context.Context, account string) error {
	return g.st.ClearSignInFailures(ctx, "account:"+account)
}

// limitPruner deletes idle buckets and old failures from the database, at
// most once a minute per replica, in the background.
type limitPruner struct {
	st   *sqlstore.Store
	log  *slog.Logger
	idle time.Duration // a bucket idle this long is full again
	mu   sync.Mutex
	last time.Time
}

func (p *limitPruner) maybe(now time.Time) {
	p.mu.Lock()
	due := now.Sub(p.last) >= time.Minute
	if due {
		p.last = now
	}
	p.mu.Unlock()
	if !due {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.st.PruneLimits(ctx, now.Add(-p.idle), now); err != nil {
			p.log.Warn("prune shared limits", "err", err)
		}
	}()
}
