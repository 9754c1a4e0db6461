package events

import (
	"allot/internal/egress"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"allot/store/sqlstore"
)

// Store is what the dispatcher reads and writes: the subscriptions with
// their leases, and the change feed.
type Store interface {
	ClaimSubscriptions(ctx context.Context, owner string, now time.Time, lease time.Duration, n int) ([]*sqlstore.Subscription, error)
	AdvanceSubscription(ctx context.Context, sub *sqlstore.Subscription, owner string, now time.Time, lease time.Duration, delivered int) error
	FailSubscription(ctx context.Context, sub *sqlstore.Subscription, owner string, next time.Time, reason string) error
	MarkReauthSent(ctx context.Context, id int64) error
	RemoveExpiredSubscriptions(ctx context.Context, now time.Time, n int) ([]*sqlstore.Subscription, error)
	DeltaWatermark(ctx context.Context, tenantID int64) (int64, error)
	FeedChanges(ctx context.Context, tenantID int64, feed int, from, to int64, after *sqlstore.FeedCursor, limit int) ([]sqlstore.DirChange, error)
	TenantGUID(ctx context.Context, tenantID int64) (string, error)
}

// Config tunes the dispatcher; zero values take the defaults.
type Config struct {
	Poll         time.Duration   // how often owned subscriptions read the feed (100 ms)
	ClaimEvery   time.Duration   // how often leases are claimed and renewed (1 s)
	Lease        time.Duration   // how long a lease lasts without renewal (30 s)
	Batch        int             // notifications per POST at most (100)
	Timeout      time.Duration   // how long a receiver has to answer a POST (10 s)
	Retry        []time.Duration // waits after the 1st, 2nd, … failure in a row; the last repeats
	Workers      int             // subscriptions delivered at once (4)
	ReauthBefore time.Duration   // reauthorizationRequired this long before expiry (1 h)
	Housekeep    time.Duration   // how often expired subscriptions are removed (10 s)
	// WebhookAttempts, when above 0, is how many times a webhook
	// endpoint's event is tried (Retry's waits between) at most before it
	// is dead-lettered; by default only WebhookGiveUp counts.
	WebhookAttempts int
	// WebhookGiveUp is how long after it was written an event is retried
	// before it is dead-lettered (24 h).
	WebhookGiveUp time.Duration
	// WebhookKeep is how long delivered and dead-lettered webhook events
	// and the delivery log are kept (30 days).
	WebhookKeep time.Duration
	// Webhooks is where notifications may go (https to public addresses
	// unless AllowPrivate); it is checked again at every connection.
	Webhooks egress.Policy
}

// DefaultRetry is the wait after each failed delivery in a row: from 5 s up
// to 10 minutes, then every 10 minutes, for as long as the subscription
// lives (nothing is dropped).
var DefaultRetry = []time.Duration{5 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Poll, 100*time.Millisecond)
	def(&c.ClaimEvery, time.Second)
	def(&c.Lease, 30*time.Second)
	def(&c.Timeout, 10*time.Second)
	def(&c.ReauthBefore, time.Hour)
	def(&c.Housekeep, 10*time.Second)
	def(&c.WebhookKeep, 30*24*time.Hour)
	if c.Batch <= 0 {
		c.Batch = 100
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.WebhookGiveUp <= 0 {
		c.WebhookGiveUp = 24 * time.Hour
	}
	if len(c.Retry) == 0 {
		c.Retry = DefaultRetry
	}
	return c
}

// Observer hears of deliveries (the metrics).
type Observer interface {
	// Delivered: one POST of n notifications answered 2xx after d.
	Delivered(n int, d time.Duration)
	// Failed: one POST of n notifications failed after d.
	Failed(n int, d time.Duration)
}

type nopObserver struct{}

func (nopObserver) Delivered(int, time.Duration) {}
func (nopObserver) Failed(int, time.Duration)    {}

// Dispatcher delivers the change notifications of the subscriptions it
// leases. Several processes on one database each run one: a subscription
// is delivered by the one holding its lease.
type Dispatcher struct {
	st    Store
	log   *slog.Logger
	cfg   Config
	obs   Observer
	owner string
	now   func() time.Time

	mu      sync.Mutex
	clients map[string]*http.Client // by latestSupportedTlsVersion
	tenants map[int64]string
}

// NewDispatcher returns a dispatcher on the store; obs may be nil.
func NewDispatcher(st Store, log *slog.Logger, cfg Config, obs Observer) *Dispatcher {
	if obs == nil {
		obs = nopObserver{}
	}
	return &Dispatcher{st: st, log: log, cfg: cfg.withDefaults(), obs: obs, owner: newOwner(), now: time.Now,
		clients: map[string]*http.Client{}, tenants: map[int64]string{}}
}

func newOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	poll := time.NewTicker(d.cfg.Poll)
	defer poll.Stop()
	var owned []*sqlstore.Subscription
	var lastClaim, lastHouse time.Time
	hooks := d.runWebhooks(ctx)
	defer func() { <-hooks }()
	for {
		now := d.now()
		if now.Sub(lastClaim) >= d.cfg.ClaimEvery || len(owned) == 0 && now.Sub(lastClaim) >= d.cfg.ClaimEvery/4 {
			subs, err := d.st.ClaimSubscriptions(ctx, d.owner, now, d.cfg.Lease, 1000)
			if err != nil && ctx.Err() == nil {
				d.log.Warn("change notifications: claiming subscriptions failed", "err", err)
			} else if err == nil {
				owned = subs
			}
			lastClaim = now
		}
		if now.Sub(lastHouse) >= d.cfg.Housekeep {
			d.housekeep(ctx, now)
			lastHouse = now
		}
		owned = d.deliverAll(ctx, owned)
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
		}
	}
}

// deliverAll delivers each owned subscription's pending changes, Workers
// at a time, and returns those it still owns.
func (d *Dispatcher) deliverAll(ctx context.Context, owned []*sqlstore.Subscription) []*sqlstore.Subscription {
	keep := make([]bool, len(owned))
	sem := make(chan struct{}, d.cfg.Workers)
	var wg sync.WaitGroup
	for i, sub := range owned {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			keep[i] = d.deliver(ctx, sub)
		}()
	}
	wg.Wait()
	var out []*sqlstore.Subscription
	for i, k := range keep {
		if k {
			out = append(out, owned[i])
		}
	}
	return out
}

// Step claims the due subscriptions and webhook events and delivers what
// they have pending once (a test's or a benchmark's tick).
func (d *Dispatcher) Step(ctx context.Context) error {
	subs, err := d.st.ClaimSubscriptions(ctx, d.owner, d.now(), d.cfg.Lease, 1000)
	if err != nil {
		return err
	}
	d.deliverAll(ctx, subs)
	d.deliverWebhooks(ctx)
	return nil
}

// deliver sends the subscription's pending notifications, batch by batch
// in feed order, advancing its cursor after each answered batch. It
// returns whether the dispatcher still holds the lease.
func (d *Dispatcher) deliver(ctx context.Context, sub *sqlstore.Subscription) bool {
	if d.now().After(sub.Expiration) {
		return false
	}
	res, err := ParseResource(sub.Resource)
	if err != nil {
		return false
	}
	tenant, err := d.tenantGUID(ctx, sub.TenantID)
	if err != nil {
		return d.transient("reading the tenant", err)
	}
	d.reauthorize(ctx, sub, tenant)
	deadline := d.now().Add(2 * time.Second)
	for d.now().Before(deadline) && ctx.Err() == nil {
		rows, err := d.st.FeedChanges(ctx, sub.TenantID, feedOf(res), sub.FeedFrom, sub.FeedTo, sub.After, 10*d.cfg.Batch)
		if err != nil {
			return d.transient("reading the change feed", err)
		}
		if len(rows) == 0 {
			next := *sub
			w, err := d.st.DeltaWatermark(ctx, sub.TenantID)
			if err != nil {
				return d.transient("reading the change feed", err)
			}
			if w <= sub.FeedTo {
				return true
			}
			next.FeedFrom, next.FeedTo, next.After = sub.FeedTo, w, nil
			if !d.advance(ctx, sub, &next, 0) {
				return false
			}
			continue
		}
		for len(rows) > 0 {
			var ok bool
			if rows, ok = d.deliverBatch(ctx, sub, res, tenant, rows); !ok {
				return false
			}
		}
	}
	return true
}

// deliverBatch delivers the notifications of the first rows, up to one
// batch, advances the subscription past them, and returns the rows left.
func (d *Dispatcher) deliverBatch(ctx context.Context, sub *sqlstore.Subscription, res Resource, tenant string, rows []sqlstore.DirChange) ([]sqlstore.DirChange, bool) {
	b := newBuilder(sub, res, tenant)
	used := 0
	for _, c := range rows {
		b.add(c)
		used++
		if len(b.out) >= d.cfg.Batch {
			break
		}
	}
	if len(b.out) > 0 {
		if err := d.post(ctx, sub, Collection[Notification]{Value: b.out}); err != nil {
			d.fail(ctx, sub, err)
			return nil, false
		}
	}
	next := *sub
	cur := rows[used-1].Cursor()
	next.After = &cur
	if !d.advance(ctx, sub, &next, len(b.out)) {
		return nil, false
	}
	return rows[used:], true
}

// advance records the subscription's new place; false when the lease is
// lost (or the write failed: the next claim tries again).
func (d *Dispatcher) advance(ctx context.Context, sub, next *sqlstore.Subscription, n int) bool {
	if err := d.st.AdvanceSubscription(ctx, next, d.owner, d.now(), d.cfg.Lease, n); err != nil {
		if !sqlstore.ErrLeaseLost(err) && ctx.Err() == nil {
			d.log.Warn("change notifications: recording a delivery failed; it will be delivered again", "subscription", sub.GUID, "err", err)
		}
		return false
	}
	*sub = *next
	return true
}

func (d *Dispatcher) transient(what string, err error) bool {
	d.log.Warn("change notifications: "+what+" failed", "err", err)
	return true
}

// fail records a failed delivery and when to retry it.
func (d *Dispatcher) fail(ctx context.Context, sub *sqlstore.Subscription, cause error) {
	wait := d.cfg.Retry[min(sub.Failures, len(d.cfg.Retry)-1)]
	d.log.Info("change notifications: delivery failed; retrying later", "subscription", sub.GUID, "url", sub.NotificationURL,
		"failures", sub.Failures+1, "retry_in", wait.String(), "err", cause)
	if err := d.st.FailSubscription(ctx, sub, d.owner, d.now().Add(wait), cause.Error()); err != nil && ctx.Err() == nil {
		d.log.Warn("change notifications: recording a failed delivery failed", "subscription", sub.GUID, "err", err)
	}
}

// post POSTs one collection to the subscription's notification URL; any
// 2xx answer is delivery (Graph expects 202 Accepted).
func (d *Dispatcher) post(ctx context.Context, sub *sqlstore.Subscription, body Collection[Notification]) error {
	start := d.now()
	err := d.send(ctx, sub.TLSVersion, sub.NotificationURL, body)
	if err != nil {
		d.obs.Failed(len(body.Value), time.Since(start))
		return err
	}
	d.obs.Delivered(len(body.Value), time.Since(start))
	return nil
}

func (d *Dispatcher) send(ctx context.Context, tlsVersion, url string, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	res, err := d.client(tlsVersion).Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("the receiver answered %s", res.Status)
	}
	return nil
}

// reauthorize sends reauthorizationRequired once per expiration, when the
// subscription has a lifecycle URL and expires within ReauthBefore.
func (d *Dispatcher) reauthorize(ctx context.Context, sub *sqlstore.Subscription, tenant string) {
	if sub.LifecycleURL == "" || sub.ReauthSent || sub.Expiration.Sub(d.now()) > d.cfg.ReauthBefore {
		return
	}
	ev := Collection[LifecycleNotification]{Value: []LifecycleNotification{lifecycle(sub, tenant, ReauthorizationRequired)}}
	if err := d.send(ctx, sub.TLSVersion, sub.LifecycleURL, ev); err != nil {
		d.log.Info("change notifications: reauthorizationRequired not delivered; trying again later", "subscription", sub.GUID, "err", err)
		return
	}
	if err := d.st.MarkReauthSent(ctx, sub.ID); err == nil {
		sub.ReauthSent = true
	}
}

// housekeep removes expired subscriptions and tells their lifecycle URLs
// (subscriptionRemoved, one attempt).
func (d *Dispatcher) housekeep(ctx context.Context, now time.Time) {
	d.purgeWebhooks(ctx, now)
	gone, err := d.st.RemoveExpiredSubscriptions(ctx, now, 500)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("change notifications: removing expired subscriptions failed", "err", err)
		}
		return
	}
	for _, sub := range gone {
		d.log.Info("change notifications: subscription expired and removed", "subscription", sub.GUID)
		if sub.LifecycleURL == "" {
			continue
		}
		tenant, err := d.tenantGUID(ctx, sub.TenantID)
		if err != nil {
			continue
		}
		ev := Collection[LifecycleNotification]{Value: []LifecycleNotification{lifecycle(sub, tenant, SubscriptionRemoved)}}
		if err := d.send(ctx, sub.TLSVersion, sub.LifecycleURL, ev); err != nil {
			d.log.Info("change notifications: subscriptionRemoved not delivered", "subscription", sub.GUID, "err", err)
		}
	}
}

func (d *Dispatcher) tenantGUID(ctx context.Context, id int64) (string, error) {
	d.mu.Lock()
	g, ok := d.tenants[id]
	d.mu.Unlock()
	if ok {
		return g, nil
	}
	g, err := d.st.TenantGUID(ctx, id)
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	d.tenants[id] = g
	d.mu.Unlock()
	return g, nil
}

// client returns the HTTP client that speaks at most the TLS version.
func (d *Dispatcher) client(version string) *http.Client {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.clients[version]; c != nil {
		return c
	}
	tr := d.cfg.Webhooks.Transport()
	tr.MaxIdleConnsPerHost = 64
	tr.TLSClientConfig = &tls.Config{MinVersion: min(tls.VersionTLS12, tlsMax(version)), MaxVersion: tlsMax(version)}
	c := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	d.clients[version] = c
	return c
}

func tlsMax(v string) uint16 {
	switch v {
	case "v1_0":
		return tls.VersionTLS10
	case "v1_1":
		return tls.VersionTLS11
	case "v1_3":
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}
