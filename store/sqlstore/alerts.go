package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"allot"
)

// Alert rules on seats (package alerts decides and sends; this stores the
// rules and their episodes, and reads the seat counts they watch).

// AlertRule is one alert rule with its current episode.
type AlertRule struct {
	ID        int64
	GUID      string
	TenantID  int64
	Name      string
	ProductID int64  // 0: the whole tenant
	Product   string // the product's skuPartNumber ("" for the tenant)
	SkuID     string // the product's skuId ("" for the tenant)
	// ProductName is the product's display name ("" for the tenant).
	ProductName string
	GroupID     int64  // 0: any source; else licenses this group assigns
	Group       string // the group's display name ("" for none)
	GroupGUID   string // the group's id ("" for none)
	Metric      int
	Threshold   float64
	// For is how long the condition must hold before the rule fires.
	For time.Duration
	// BreachedSince is when the condition began to hold (zero: it does not).
	BreachedSince time.Time
	WebhookURL    string
	Emails        []string
	// WebhookEndpointID is the webhook endpoint the rule sends through (0:
	// none); WebhookEndpoint its id as the API shows it.
	WebhookEndpointID int64
	WebhookEndpoint   string
	Firing            bool
	ChangedAt         time.Time
	Created           time.Time
}

// AlertSeats are the counts an alert rule watches: its product's seats,
// or the sums over the tenant's products, and what AlertNeeds asked for.
type AlertSeats struct {
	Enabled, Consumed, Waiting int
	// Errors counts the users with a license in error (of the rule's
	// product and group, if any).
	Errors int
	// OldestWait is how long the longest-waiting user has waited for a seat.
	OldestWait time.Duration
	// Lag is how long the oldest mark has waited to be processed.
	Lag time.Duration
	// Notices counts the users under a reclamation notice.
	Notices int
}

// AlertNeeds says which counts beyond the seats AlertRuleSeats reads.
type AlertNeeds int

// What an alert rule's metric reads.
const (
	NeedErrors AlertNeeds = 1 << iota
	NeedOldestWait
	NeedLag
	NeedNotices
)

const alertCols = `r.id, r.guid, r.tenant_id, r.name, r.product_id, COALESCE(p.part_number, ''), COALESCE(p.sku_guid, ''), COALESCE(p.display_name, ''), r.group_id,
	COALESCE(g.display_name, ''), COALESCE(g.guid, ''),
	r.metric, r.threshold, r.for_ms, r.breached_since, r.webhook_url, r.emails, r.firing, r.changed_at, r.created_at,
	r.webhook_endpoint_id, COALESCE(w.guid, '')`

const alertFrom = ` FROM alert_rules r LEFT JOIN products p ON p.id = r.product_id LEFT JOIN dir_groups g ON g.id = r.group_id
	LEFT JOIN webhook_endpoints w ON w.id = r.webhook_endpoint_id`

func scanAlertRule(r interface{ Scan(...any) error }) (*AlertRule, error) {
	var a AlertRule
	var emails string
	var firing, changed, created, forMS, since int64
	if err := r.Scan(&a.ID, &a.GUID, &a.TenantID, &a.Name, &a.ProductID, &a.Product, &a.SkuID, &a.ProductName, &a.GroupID, &a.Group, &a.GroupGUID, &a.Metric, &a.Threshold,
		&forMS, &since, &a.WebhookURL, &emails, &firing, &changed, &created, &a.WebhookEndpointID, &a.WebhookEndpoint); err != nil {
		return nil, err
	}
	a.For = time.Duration(forMS) * time.Millisecond
	if since > 0 {
		a.BreachedSince = time.UnixMilli(since).UTC()
	}
	if emails != "" {
		a.Emails = strings.Split(emails, ",")
	}
	a.Firing = firing != 0
	a.ChangedAt = time.UnixMilli(changed).UTC()
	a.Created = time.UnixMilli(created).UTC()
	return &a, nil
}

// CreateAlertRule stores a rule (GUID, tenant, name, product id, metric,
// threshold, destinations set by the caller), not firing.
func (s *Store) CreateAlertRule(ctx context.Context, a *AlertRule) error {
	return s.write(ctx, func(t *tx) error {
		a.Created = time.UnixMilli(t.now).UTC()
		return t.queryRow(`INSERT INTO alert_rules (guid, tenant_id, name, product_id, group_id, metric, threshold, for_ms, webhook_url, emails, created_at,
			webhook_endpoint_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, a.GUID, a.TenantID, a.Name, a.ProductID, a.GroupID, a.Metric, a.Threshold,
			a.For.Milliseconds(), a.WebhookURL, strings.Join(a.Emails, ","), t.now, a.WebhookEndpointID).Scan(&a.ID)
	})
}

// AlertRules returns the tenant's rules (every tenant's with tenantID 0)
// in creation order.
func (s *Store) AlertRules(ctx context.Context, tenantID int64) ([]*AlertRule, error) {
	q := `SELECT ` + alertCols + alertFrom
	var args []any
	if tenantID != 0 {
		q += ` WHERE r.tenant_id = ?`
		args = append(args, tenantID)
	}
	rows, err := s.query(ctx, q+` ORDER BY r.id`, args...)
	return collect(rows, err, func(r *sql.Rows) (*AlertRule, error) { return scanAlertRule(r) })
}

// DeleteAlertRule deletes the tenant's rule.
func (s *Store) DeleteAlertRule(ctx context.Context, tenantID int64, guid string) error {
	return s.write(ctx, func(t *tx) error {
		res, err := t.exec(`DELETE FROM alert_rules WHERE tenant_id = ? AND guid = ?`, tenantID, strings.ToLower(guid))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &allot.Error{Code: allot.ENotFound, Message: "The alert rule was not found.", Target: guid}
		}
		return nil
	})
}

// AlertRuleSeats returns the seat counts the rule watches and the other
// counts need asks for.
func (s *Store) AlertRuleSeats(ctx context.Context, a *AlertRule, need AlertNeeds) (AlertSeats, error) {
	var c AlertSeats
	q := `SELECT COALESCE(SUM(enabled_units), 0), COALESCE(SUM(consumed_units), 0), COALESCE(SUM(waiting_units), 0) FROM products WHERE tenant_id = ?`
	args := []any{a.TenantID}
	if a.ProductID != 0 {
		q += ` AND id = ?`
		args = append(args, a.ProductID)
	}
	if err := s.queryRow(ctx, q, args...).Scan(&c.Enabled, &c.Consumed, &c.Waiting); err != nil {
		return c, err
	}
	now := s.now().UnixMilli()
	var err error
	if need&NeedErrors != 0 && err == nil {
		c.Errors, err = s.alertErrors(ctx, a)
	}
	if need&NeedOldestWait != 0 && err == nil {
		c.OldestWait, err = s.alertAge(ctx, now, `SELECT MIN(ls.updated_at) FROM license_states ls JOIN products p ON p.id = ls.product_id
			WHERE p.tenant_id = ? AND ls.code IN ('noSeatsAvailable', 'seatsReducedBelowConsumption')`, a)
	}
	if need&NeedLag != 0 && err == nil {
		c.Lag, err = s.alertAge(ctx, now, `SELECT MIN(marked_at) FROM marks WHERE tenant_id = ? AND marked_at > 0`, a)
	}
	if need&NeedNotices != 0 && err == nil {
		c.Notices, err = s.alertNotices(ctx, a)
	}
	return c, err
}

// alertErrors counts the users with a license in error: of the rule's
// product if it has one, assigned by its group if it has one.
func (s *Store) alertErrors(ctx context.Context, a *AlertRule) (int, error) {
	q := `SELECT COUNT(DISTINCT ls.user_id) FROM license_states ls JOIN products p ON p.id = ls.product_id
		WHERE p.tenant_id = ? AND ls.state = 'Error'`
	args := []any{a.TenantID}
	if a.ProductID != 0 {
		q += ` AND ls.product_id = ?`
		args = append(args, a.ProductID)
	}
	if a.GroupID != 0 {
		q += ` AND ls.source_id = ?`
		args = append(args, a.GroupID)
	}
	var n int
	err := s.queryRow(ctx, q, args...).Scan(&n)
	return n, err
}

// alertAge runs q (the earliest time in ms of something, for a tenant, and
// for the rule's product when q names p) and returns how long ago that was.
func (s *Store) alertAge(ctx context.Context, now int64, q string, a *AlertRule) (time.Duration, error) {
	args := []any{a.TenantID}
	if a.ProductID != 0 && strings.Contains(q, "products p") {
		q += ` AND p.id = ?`
		args = append(args, a.ProductID)
	}
	var first sql.NullInt64
	if err := s.queryRow(ctx, q, args...).Scan(&first); err != nil || !first.Valid || first.Int64 <= 0 {
		return 0, err
	}
	return time.Duration(max(0, now-first.Int64)) * time.Millisecond, nil
}

// alertNotices counts the users under a reclamation notice of the rule's
// product (or of any product).
func (s *Store) alertNotices(ctx context.Context, a *AlertRule) (int, error) {
	q := `SELECT COUNT(DISTINCT n.user_id) FROM reclaim_notices n JOIN reclaim_rules r ON r.id = n.rule_id WHERE n.tenant_id = ?`
	args := []any{a.TenantID}
	if a.ProductID != 0 {
		q += ` AND r.product_id = ?`
		args = append(args, a.ProductID)
	}
	var n int
	err := s.queryRow(ctx, q, args...).Scan(&n)
	return n, err
}

// SetAlertBreach records when the rule's condition began to hold (zero
// time: it no longer holds).
func (s *Store) SetAlertBreach(ctx context.Context, id int64, since time.Time) error {
	ms := int64(0)
	if !since.IsZero() {
		ms = since.UnixMilli()
	}
	return s.write(ctx, func(t *tx) error {
		_, err := t.exec(`UPDATE alert_rules SET breached_since = ? WHERE id = ?`, ms, id)
		return err
	})
}

// OutboxEvent is an event for a webhook endpoint's outbox: its CloudEvent
// id, type and body as sent.
type OutboxEvent struct {
	EndpointID int64
	EventID    string
	Type       string
	Body       []byte
}

// TurnAlertRule moves the rule's episode from !firing to firing (or back)
// and reports whether this call did it: of several processes checking the
// same rule, one turns it and sends. ev, when not nil, goes to its
// endpoint's outbox in the same transaction (if the endpoint still exists),
// and so do notes to the notify outbox.
func (s *Store) TurnAlertRule(ctx context.Context, id int64, firing bool, ev *OutboxEvent, notes []Notification) (bool, error) {
	from, to := 0, 1
	if !firing {
		from, to = 1, 0
	}
	var turned bool
	err := s.write(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE alert_rules SET firing = ?, changed_at = ? WHERE id = ? AND firing = ?`, to, t.now, id, from)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		turned = n == 1
		if !turned {
			return nil
		}
		if err := t.enqueueNotify(tenantOf(notes), notes); err != nil {
			return err
		}
		if ev == nil {
			return nil
		}
		_, err = t.exec(`INSERT INTO webhook_outbox (event_id, endpoint_id, tenant_id, event_type, body, created_at)
			SELECT ?, id, tenant_id, ?, ?, ? FROM webhook_endpoints WHERE id = ?`, ev.EventID, ev.Type, string(ev.Body), t.now, ev.EndpointID)
		return err
	})
	return turned, err
}

// tenantOf is the tenant of the notifications (0 for none).
func tenantOf(ns []Notification) int64 {
	if len(ns) == 0 {
		return 0
	}
	return ns[0].TenantID
}
