package httpapi

// Limits on what one caller may ask for: the request rate of one credential,
// and failed sign-ins, slowed down per account and per address.

import (
	"context"
	"math"
	"sync"
	"time"

	"allot/csvimport"
)

// MaxCSVRows is the most data rows one CSV import may have (not counting the
// header): the CLI's parser (csvimport) refuses a larger file before sending
// anything, and the bulk endpoints take it in batches of at most MaxBody.
const MaxCSVRows = csvimport.DefaultMaxRows

// Default per-credential request rate: a token bucket.
const (
	DefaultRatePerSecond = 200
	DefaultRateBurst     = 2000
)

// rateLimiter is a token bucket per key (an API token or a session).
type rateLimiter struct {
	rate  float64 // tokens per second; 0: no limit
	burst float64
	mu    sync.Mutex
	b     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond float64, burst int) *rateLimiter {
	if burst < 1 {
		burst = int(math.Max(1, math.Ceil(perSecond)))
	}
	return &rateLimiter{rate: perSecond, burst: float64(burst), b: map[string]*bucket{}}
}

// limiter decides whether a credential may send one more request: in this
// process (rateLimiter) or with every replica on the database
// (sharedRate, limits_shared.go).
type limiter interface {
	// allow takes one token of key's bucket, or says how long to wait for one.
	allow(ctx context.Context, key string, now time.Time) (time.Duration, bool)
}

// allow takes one token of key's bucket, or says how long to wait for one.
func (l *rateLimiter) allow(_ context.Context, key string, now time.Time) (time.Duration, bool) {
	if l == nil || l.rate <= 0 {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.b[key]
	if b == nil {
		if len(l.b) >= 100_000 {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.b[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
}

// prune drops the buckets that are full again (idle keys).
func (l *rateLimiter) prune(now time.Time) {
	for k, b := range l.b {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.b, k)
		}
	}
}

// Failed sign-ins: the first few are free, then each further attempt must
// wait twice as long as the previous one, up to a cap. An account's cap is
// signinMaxDelay: it is locked for everyone, from any address. An
// address's cap is signinAddressMaxDelay: past its free failures it may try
// about once per that delay, on any account, so that one address (or
// everybody behind one proxy that is not trusted) can neither guess fast
// nor lock every account out. A success clears the account's count; counts
// are forgotten after signinWindow without a failure.
const (
	signinFreePerAccount  = 5
	signinFreePerAddress  = 20
	signinWindow          = 15 * time.Minute
	signinMaxDelay        = 15 * time.Minute
	signinAddressMaxDelay = 2 * time.Second
	// signinConcurrency bounds the password checks running at once (each
	// Argon2id check takes 19 MiB and tens of milliseconds).
	signinConcurrency = 4
)

// signinCounter counts failed sign-ins per account and per address: in
// this process (localSignins) or in the database, shared by every replica
// (sharedSignins, limits_shared.go). Both follow the policy above.
type signinCounter interface {
	// wait says how long the account or the address must still wait
	// before it may try again (0: it may).
	wait(ctx context.Context, account, address string, now time.Time) (time.Duration, error)
	// fail records a failed sign-in of the account from the address.
	fail(ctx context.Context, account, address string, now time.Time) error
	// succeed clears the account's failures (not the address's).
	succeed(ctx context.Context, account string) error
}

// holdAfter is how long a key must wait after its n-th failure in a row:
// nothing for the first free-1, then 1 s, doubling, up to maxDelay.
func holdAfter(n, free int, maxDelay time.Duration) time.Duration {
	if n < free {
		return 0
	}
	return min(time.Second<<min(n-free, 20), maxDelay)
}

// signinGuard bounds the password checks running at once and counts
// failures.
type signinGuard struct {
	counts signinCounter
	slots  chan struct{}
}

func newSigninGuard(counts signinCounter) *signinGuard {
	return &signinGuard{counts: counts, slots: make(chan struct{}, signinConcurrency)}
}

type failures struct {
	n     int
	last  time.Time
	until time.Time
}

// localSignins counts failed sign-ins in this process.
type localSignins struct {
	mu      sync.Mutex
	account map[string]*failures
	address map[string]*failures
}

func newLocalSignins() *localSignins {
	return &localSignins{account: map[string]*failures{}, address: map[string]*failures{}}
}

func (g *localSignins) wait(_ context.Context, account, address string, now time.Time) (time.Duration, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var d time.Duration
	for _, f := range []*failures{g.account[account], g.address[address]} {
		if f != nil && f.until.After(now) {
			d = max(d, f.until.Sub(now))
		}
	}
	return d, nil
}

func (g *localSignins) fail(_ context.Context, account, address string, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	bump(g.account, account, signinFreePerAccount, signinMaxDelay, now)
	bump(g.address, address, signinFreePerAddress, signinAddressMaxDelay, now)
	return nil
}

func bump(m map[string]*failures, key string, free int, maxDelay time.Duration, now time.Time) {
	if len(m) >= 100_000 {
		for k, f := range m {
			if now.Sub(f.last) > signinWindow && !f.until.After(now) {
				delete(m, k)
			}
		}
	}
	f := m[key]
	if f == nil || now.Sub(f.last) > signinWindow {
		f = &failures{}
		m[key] = f
	}
	f.n++
	f.last = now
	if d := holdAfter(f.n, free, maxDelay); d > 0 {
		f.until = now.Add(d)
	}
}

func (g *localSignins) succeed(_ context.Context, account string) error {
	g.mu.Lock()
	delete(g.account, account)
	g.mu.Unlock()
	return nil
}

// acquire takes a password-check slot, waiting at most d.
func (g *signinGuard) acquire(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

func (g *signinGuard) release() { <-g.slots }
