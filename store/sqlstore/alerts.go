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
	ID         int64
	GUID       string
	TenantID   int64
	Name       string
	ProductID  int64  // 0: the whole tenant
	Product    string // the product's skuPartNumber ("" for the tenant)
	Metric     int
	Threshold  float64
	WebhookURL string
	Emails     []string
	// WebhookEndpointID is the webhook endpoint the rule sends through (0:
	// none); WebhookEndpoint its id as the API shows it.
	WebhookEndpointID int64
	WebhookEndpoint   string
	Firing            bool
	ChangedAt         time.Time
	Created           time.Time
}

// AlertSeats are the seat counts an alert rule watches: its product's, or
// the sums over the tenant's products.
type AlertSeats struct {
	Enabled, Consumed, Waiting int
}

const alertCols = `r.id, r.guid, r.tenant_id, r.name, r.product_id, COALESCE(p.part_number, ''), r.metric, r.threshold, r.webhook_url,
	r.emails, r.firing, r.changed_at, r.created_at, r.webhook_endpoint_id, COALESCE(w.guid, '')`

const alertFrom = ` FROM alert_rules r LEFT JOIN products p ON p.id = r.product_id LEFT JOIN webhook_endpoints w ON w.id = r.webhook_endpoint_id`

func scanAlertRule(r interface{ Scan(...any) error }) (*AlertRule, error) {
	var a AlertRule
	var emails string
	var firing, changed, created int64
	if err := r.Scan(&a.ID, &a.GUID, &a.TenantID, &a.Name, &a.ProductID, &a.Product, &a.Metric, &a.Threshold, &a.WebhookURL,
		&emails, &firing, &changed, &created, &a.WebhookEndpointID, &a.WebhookEndpoint); err != nil {
		return nil, err
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
		return t.queryRow(`INSERT INTO alert_rules (guid, tenant_id, name, product_id, metric, threshold, webhook_url, emails, created_at,
			webhook_endpoint_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, a.GUID, a.TenantID, a.Name, a.ProductID, a.Metric, a.Threshold,
			a.WebhookURL, strings.Join(a.Emails, ","), t.now, a.WebhookEndpointID).Scan(&a.ID)
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

// AlertRuleSeats returns the seat counts the rule watches.
func (s *Store) AlertRuleSeats(ctx context.Context, a *AlertRule) (AlertSeats, error) {
	var c AlertSeats
	q := `SELECT COALESCE(SUM(enabled_units), 0), COALESCE(SUM(consumed_units), 0), COALESCE(SUM(waiting_units), 0) FROM products WHERE tenant_id = ?`
	args := []any{a.TenantID}
	if a.ProductID != 0 {
		q += ` AND id = ?`
		args = append(args, a.ProductID)
	}
	err := s.queryRow(ctx, q, args...).Scan(&c.Enabled, &c.Consumed, &c.Waiting)
	return c, err
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
// endpoint's outbox in the same transaction (if the endpoint still exists).
func (s *Store) TurnAlertRule(ctx context.Context, id int64, firing bool, ev *OutboxEvent) (bool, error) {
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
		if !turned || ev == nil {
			return nil
		}
		_, err = t.exec(`INSERT INTO webhook_outbox (event_id, endpoint_id, tenant_id, event_type, body, created_at)
			SELECT ?, id, tenant_id, ?, ?, ? FROM webhook_endpoints WHERE id = ?`, ev.EventID, ev.Type, string(ev.Body), t.now, ev.EndpointID)
		return err
	})
	return turned, err
}
