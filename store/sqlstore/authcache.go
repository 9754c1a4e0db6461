package sqlstore

// The principal cache: Authenticate reads a token's row, its tenant, its
// roles and its creator chain (several queries), and a provisioning client
// sends hundreds of requests a second with the same token. A verified
// token's principal is kept for authCacheTTL, keyed by the token's hash.
//
// Bounds on staleness: a write in this process that can change what a
// token may do (revoking a client, adding or removing a role assignment,
// enabling or disabling or deleting a user, who may have created clients)
// empties the cache when it commits, so the change holds from the next
// request on. Changes made by another process on the same database (another
// allot instance on PostgreSQL, an operator command on the data directory)
// hold within authCacheTTL. An entry never outlives the token's expiry.

import (
	"sync"
	"sync/atomic"
	"time"

	"allot/store"
)

// Cache bounds.
const (
	// AuthCacheTTL is how long a verified token's principal is reused
	// before it is read again: the longest a change made by another process
	// (a revocation, a role removed) takes to hold on this one.
	AuthCacheTTL  = 5 * time.Second
	authCacheSize = 1024 // tokens kept; the cache is emptied when it is full
)

type authEntry struct {
	p        *store.Principal
	gen      int64
	until    int64 // unix ms: reuse ends
	expires  int64 // unix ms: the token's expiry, 0 for none
	lastUsed atomic.Int64
}

// authCache maps token hashes to verified principals.
type authCache struct {
	mu  sync.Mutex
	m   map[string]*authEntry
	gen atomic.Int64  // bumped by every auth-relevant commit
	ttl time.Duration // 0: AuthCacheTTL (tests shorten it)
}

// life is how long an entry is reused.
func (c *authCache) life() int64 {
	if c.ttl > 0 {
		return c.ttl.Milliseconds()
	}
	return AuthCacheTTL.Milliseconds()
}

// get returns the live entry of hash, or nil.
func (c *authCache) get(hash string, now int64) *authEntry {
	c.mu.Lock()
	e := c.m[hash]
	c.mu.Unlock()
	if e == nil || e.gen != c.gen.Load() || now >= e.until || (e.expires > 0 && e.expires <= now) {
		return nil
	}
	return e
}

// put keeps the principal read at generation gen; it is dropped if the
// generation moved on meanwhile.
func (c *authCache) put(hash string, e *authEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.gen != c.gen.Load() {
		return
	}
	if c.m == nil || len(c.m) >= authCacheSize {
		c.m = make(map[string]*authEntry)
	}
	c.m[hash] = e
}

// invalidate forgets every entry: called after a commit that changed
// tokens, role assignments or users' enabled state.
func (c *authCache) invalidate() {
	c.gen.Add(1)
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// copyPrincipal returns a copy of p that a request may keep.
func copyPrincipal(p *store.Principal) *store.Principal {
	cp := *p
	if p.Tenant != nil {
		t := *p.Tenant
		cp.Tenant = &t
	}
	return &cp
}
