package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"allot"
)

// Graph change notification subscriptions (docs/design.md, "Change
// notifications"). A subscription's events are the rows of the tenant's
// change feed (delta.go) it has not delivered: they are written by the
// change itself, in its transaction, so nothing is written twice on the
// hot path and nothing is lost when a process dies. Each subscription keeps
// its place in the feed (a window [FeedFrom, FeedTo) and the cursor of the
// last delivered row) and a lease: one dispatcher process at a time
// delivers it, so its notifications go out in feed order.

// Subscription is one Graph subscription with its place in the feed.
type Subscription struct {
	ID              int64
	GUID            string
	TenantID        int64
	Resource        string
	ChangeType      string
	NotificationURL string
	LifecycleURL    string
	ClientState     string
	TLSVersion      string
	ApplicationID   string
	CreatorID       string
	Expiration      time.Time
	Created         time.Time

	// FeedFrom and FeedTo are the feed window of the current round; After
	// the last delivered row in it (nil: none yet).
	FeedFrom, FeedTo int64
	After            *FeedCursor
	// Failures counts failed deliveries in a row; LastError says the last.
	Failures    int
	LastError   string
	NextAttempt time.Time
	// Delivered counts the notifications delivered.
	Delivered int64
	// ReauthSent tells that reauthorizationRequired went out for the
	// current expiration.
	ReauthSent bool
}

const subCols = `id, guid, tenant_id, resource, change_type, notification_url, lifecycle_url, client_state, tls_version,
	application_id, creator_id, expiration, created_at, feed_from, feed_to, feed_after, failures, last_error, next_attempt, delivered, reauth_sent`

func scanSubscription(rows interface{ Scan(...any) error }) (*Subscription, error) {
	var s Subscription
	var exp, created, next, reauth int64
	var after string
	err := rows.Scan(&s.ID, &s.GUID, &s.TenantID, &s.Resource, &s.ChangeType, &s.NotificationURL, &s.LifecycleURL, &s.ClientState,
		&s.TLSVersion, &s.ApplicationID, &s.CreatorID, &exp, &created, &s.FeedFrom, &s.FeedTo, &after, &s.Failures, &s.LastError,
		&next, &s.Delivered, &reauth)
	if err != nil {
		return nil, err
	}
	s.Expiration = time.UnixMilli(exp).UTC()
	s.Created = time.UnixMilli(created).UTC()
	s.NextAttempt = time.UnixMilli(next).UTC()
	s.ReauthSent = reauth != 0
	if after != "" {
		var c FeedCursor
		if err := json.Unmarshal([]byte(after), &c); err != nil {
			return nil, err
		}
		s.After = &c
	}
	return &s, nil
}

func encodeCursor(c *FeedCursor) string {
	if c == nil {
		return ""
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// errNoSubscription is a subscription id that is not in the tenant.
func errNoSubscription(id string) error {
	return &allot.Error{Code: allot.ENotFound, Message: "The object was not found.", Target: id}
}

// CreateSubscription stores sub (GUID, tenant, resource, change type, URLs,
// client state, expiration set by the caller) and places it at the end of
// its tenant's feed: it notifies the changes that commit from now on.
func (s *Store) CreateSubscription(ctx context.Context, sub *Subscription) error {
	w, err := s.DeltaWatermark(ctx, sub.TenantID)
	if err != nil {
		return err
	}
	sub.FeedFrom, sub.FeedTo, sub.After = w, w, nil
	return s.write(ctx, func(t *tx) error {
		sub.Created = time.UnixMilli(t.now).UTC()
		return t.queryRow(`INSERT INTO subscriptions (guid, tenant_id, resource, change_type, notification_url, lifecycle_url, client_state,
			tls_version, application_id, creator_id, expiration, created_at, feed_from, feed_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			sub.GUID, sub.TenantID, sub.Resource, sub.ChangeType, sub.NotificationURL, sub.LifecycleURL, sub.ClientState, sub.TLSVersion,
			sub.ApplicationID, sub.CreatorID, sub.Expiration.UnixMilli(), t.now, w, w).Scan(&sub.ID)
	})
}

// SubscriptionByGUID returns the tenant's subscription with the id.
func (s *Store) SubscriptionByGUID(ctx context.Context, tenantID int64, guid string) (*Subscription, error) {
	sub, err := scanSubscription(s.queryRow(ctx, `SELECT `+subCols+` FROM subscriptions WHERE tenant_id = ? AND guid = ?`,
		tenantID, strings.ToLower(strings.TrimSpace(guid))))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoSubscription(guid)
	}
	return sub, err
}

// Subscriptions returns the tenant's subscriptions in creation order.
func (s *Store) Subscriptions(ctx context.Context, tenantID int64) ([]*Subscription, error) {
	rows, err := s.query(ctx, `SELECT `+subCols+` FROM subscriptions WHERE tenant_id = ? ORDER BY id`, tenantID)
	return collect(rows, err, func(r *sql.Rows) (*Subscription, error) { return scanSubscription(r) })
}

// UpdateSubscription sets the subscription's expiration and notification
// URL (renewal); a new expiration allows a new reauthorizationRequired.
func (s *Store) UpdateSubscription(ctx context.Context, tenantID int64, guid string, exp time.Time, url string) error {
	return s.write(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE subscriptions SET expiration = ?, notification_url = ?, reauth_sent = 0 WHERE tenant_id = ? AND guid = ?`,
			exp.UnixMilli(), url, tenantID, strings.ToLower(guid))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNoSubscription(guid)
		}
		return nil
	})
}

// DeleteSubscription deletes the tenant's subscription.
func (s *Store) DeleteSubscription(ctx context.Context, tenantID int64, guid string) error {
	return s.write(ctx, func(t *tx) error {
		res, err := t.exec(`DELETE FROM subscriptions WHERE tenant_id = ? AND guid = ?`, tenantID, strings.ToLower(guid))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNoSubscription(guid)
		}
		return nil
	})
}

// ClaimSubscriptions leases up to n subscriptions due for delivery to
// owner until now+lease: those whose lease ran out (or is owner's own) and
// whose retry time has come, not expired. Another process sees them leased and leaves
// them (PostgreSQL: SKIP LOCKED, so claims do not wait on each other).
func (s *Store) ClaimSubscriptions(ctx context.Context, owner string, now time.Time, lease time.Duration, n int) ([]*Subscription, error) {
	var out []*Subscription
	err := s.write(ctx, func(t *tx) error {
		out = nil
		ms := now.UnixMilli()
		lock := ""
		if t.s.engine == Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		rows, err := t.query(`SELECT id FROM subscriptions WHERE (lease_until < ? OR lease_owner = ?) AND next_attempt <= ?
			AND expiration > ? ORDER BY next_attempt, id LIMIT ?`+lock, ms, owner, ms, ms, n)
		ids, err := collect(rows, err, scanInt64)
		if err != nil || len(ids) == 0 {
			return err
		}
		args := []any{owner, ms + lease.Milliseconds()}
		for _, id := range ids {
			args = append(args, id)
		}
		rows, err = t.query(`UPDATE subscriptions SET lease_owner = ?, lease_until = ? WHERE id IN (`+placeholders(len(ids))+`) RETURNING `+subCols, args...)
		out, err = collect(rows, err, func(r *sql.Rows) (*Subscription, error) { return scanSubscription(r) })
		return err
	})
	return out, err
}

// errLeaseLost is a subscription whose lease another process holds now (or
// that was deleted): its dispatcher stops delivering it.
var errLeaseLost = errors.New("sqlstore: the subscription's lease is lost")

// ErrLeaseLost reports whether err says the caller no longer holds the
// subscription's lease.
func ErrLeaseLost(err error) bool { return errors.Is(err, errLeaseLost) }

// AdvanceSubscription records, under owner's lease (renewed to
// now+lease), that the subscription delivered delivered notifications and
// stands at window [from, to) after cursor after. It fails with a lease
// error when owner no longer holds the lease.
func (s *Store) AdvanceSubscription(ctx context.Context, sub *Subscription, owner string, now time.Time, lease time.Duration, delivered int) error {
	return s.write(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE subscriptions SET feed_from = ?, feed_to = ?, feed_after = ?, delivered = delivered + ?, failures = 0,
			last_error = '', next_attempt = 0, lease_until = ? WHERE id = ? AND lease_owner = ?`,
			sub.FeedFrom, sub.FeedTo, encodeCursor(sub.After), delivered, now.UnixMilli()+lease.Milliseconds(), sub.ID, owner)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errLeaseLost
		}
		return nil
	})
}

// FailSubscription records a failed delivery under owner's lease: the
// failure count, its reason, and when to try again. The lease is given up,
// so that any process may retry.
func (s *Store) FailSubscription(ctx context.Context, sub *Subscription, owner string, next time.Time, reason string) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	return s.write(ctx, func(t *tx) error {
		_, err := t.exec(`UPDATE subscriptions SET failures = failures + 1, last_error = ?, next_attempt = ?, lease_owner = '', lease_until = 0
			WHERE id = ? AND lease_owner = ?`, reason, next.UnixMilli(), sub.ID, owner)
		return err
	})
}

// MarkReauthSent records that reauthorizationRequired went out for the
// subscription's current expiration.
func (s *Store) MarkReauthSent(ctx context.Context, id int64) error {
	return s.write(ctx, func(t *tx) error {
		_, err := t.exec(`UPDATE subscriptions SET reauth_sent = 1 WHERE id = ?`, id)
		return err
	})
}

// RemoveExpiredSubscriptions deletes up to n subscriptions expired before
// now and returns them (for their subscriptionRemoved lifecycle events).
func (s *Store) RemoveExpiredSubscriptions(ctx context.Context, now time.Time, n int) ([]*Subscription, error) {
	var out []*Subscription
	err := s.write(ctx, func(t *tx) error {
		rows, err := t.query(`DELETE FROM subscriptions WHERE id IN (SELECT id FROM subscriptions WHERE expiration < ? ORDER BY id LIMIT ?) RETURNING `+subCols,
			now.UnixMilli(), n)
		out, err = collect(rows, err, func(r *sql.Rows) (*Subscription, error) { return scanSubscription(r) })
		return err
	})
	return out, err
}

// SubscriptionCounts returns the number of subscriptions and how many of
// them wait for a retry after a failed delivery.
func (s *Store) SubscriptionCounts(ctx context.Context) (total, retrying int, err error) {
	err = s.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN failures > 0 THEN 1 ELSE 0 END), 0) FROM subscriptions`).Scan(&total, &retrying)
	return total, retrying, err
}

// TenantGUID returns the tenant's id as Graph shows it (tenantId).
func (s *Store) TenantGUID(ctx context.Context, tenantID int64) (string, error) {
	t, err := s.Tenant(ctx, tenantID)
	if err != nil {
		return "", err
	}
	return t.GUID, nil
}

// EventCounts is what the metrics show of the subscriptions: how many there
// are, how many wait for a retry, and the change feed rows (and unexpanded
// change batches) not yet delivered to them, summed.
type EventCounts struct {
	Subscriptions, Retrying int
	PendingRows             int64
}

// SubscriptionEventCounts counts the subscriptions and their pending feed
// rows (each subscription's rows at or after its window's start: an upper
// bound of what it has left, read with the feed's index).
func (s *Store) SubscriptionEventCounts(ctx context.Context) (EventCounts, error) {
	var c EventCounts
	subs, err := s.query(ctx, `SELECT tenant_id, resource, feed_from, failures FROM subscriptions`)
	type row struct {
		tenant, from int64
		users        bool
	}
	list, err := collect(subs, err, func(r *sql.Rows) (row, error) {
		var x row
		var res string
		var failures int
		err := r.Scan(&x.tenant, &res, &x.from, &failures)
		x.users = strings.HasPrefix(strings.ToLower(res), "users")
		if failures > 0 {
			c.Retrying++
		}
		return x, err
	})
	if err != nil {
		return c, err
	}
	c.Subscriptions = len(list)
	for _, x := range list {
		feed := FeedGroups
		if x.users {
			feed = FeedUsers
		}
		var n, b int64
		if err := s.queryRow(ctx, `SELECT COUNT(*) FROM directory_changes WHERE tenant_id = ? AND feed = ? AND seq >= ?`, x.tenant, feed, x.from).Scan(&n); err != nil {
			return c, err
		}
		batches := `SELECT COUNT(*) FROM directory_change_batches WHERE tenant_id = ? AND seq >= ? AND group_id <> 0`
		if x.users {
			batches = `SELECT COUNT(*) FROM directory_change_batches WHERE tenant_id = ? AND seq >= ? AND group_id = 0`
		}
		if err := s.queryRow(ctx, batches, x.tenant, x.from).Scan(&b); err != nil {
			return c, err
		}
		c.PendingRows += n + b
	}
	return c, nil
}
