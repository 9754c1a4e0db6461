package reconcile

import (
	"context"
	"log/slog"
	"time"
)

// DefaultRetention is how long a deleted user stays in deleted items, as
// in Entra.
const DefaultRetention = 30 * 24 * time.Hour

// purgeStore is what the purger needs of the store.
type purgeStore interface {
	PurgeDeletedUsers(ctx context.Context, cutoff time.Time) (int, error)
}

// Purger deletes for good the users deleted longer ago than the retention
// period, every Every. Several processes on one database may each run one:
// a user is purged once.
type Purger struct {
	st        purgeStore
	log       *slog.Logger
	retention time.Duration
	// Every is the time between two purges.
	Every time.Duration
	now   func() time.Time
}

// PurgerOption configures a Purger.
type PurgerOption func(*Purger)

// WithClock makes the purger read the time from now (tests).
func WithClock(now func() time.Time) PurgerOption { return func(p *Purger) { p.now = now } }

// NewPurger returns a purger of the users deleted more than retention ago.
func NewPurger(st purgeStore, log *slog.Logger, retention time.Duration, opts ...PurgerOption) *Purger {
	p := &Purger{st: st, log: log, retention: retention, Every: time.Hour, now: time.Now}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Once purges the users whose retention period has ended and returns how
// many.
func (p *Purger) Once(ctx context.Context) (int, error) {
	n, err := p.st.PurgeDeletedUsers(ctx, p.now().Add(-p.retention))
	if n > 0 {
		p.log.Info("purged deleted users", "users", n, "retention", p.retention.String())
	}
	return n, err
}

// Run purges at once and then every Every until ctx ends. A failed purge
// is logged and tried again at the next tick.
func (p *Purger) Run(ctx context.Context) {
	t := time.NewTicker(p.Every)
	defer t.Stop()
	for {
		if _, err := p.Once(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("purge deleted users", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
