package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"allot"
)

// Plain webhook endpoints (docs/api.md, "Webhook endpoints"): a URL and a
// secret per endpoint, and an outbox of the CloudEvents for it. An event is
// one webhook_outbox row written in the transaction that causes it; the
// events dispatcher claims due rows with a lease, as it claims
// subscriptions (PostgreSQL: SKIP LOCKED), records each attempt in
// webhook_attempts (the delivery log) and retries with backoff until the
// row is delivered or dead-lettered.

// WebhookEndpoint is one endpoint of a tenant.
type WebhookEndpoint struct {
	ID          int64
	GUID        string
	TenantID    int64
	URL         string
	Description string
	Secret      string
	Created     time.Time
}

// Outbox row states; a delivery log entry carries the state its attempt
// left the row in.
const (
	WebhookPending   = 0
	WebhookDelivered = 1
	WebhookDead      = 2
)

// WebhookEvent is one outbox row with its endpoint's URL and secret, as a
// dispatcher claims it.
type WebhookEvent struct {
	ID         int64
	EventID    string
	EndpointID int64
	TenantID   int64
	Type       string
	Body       []byte
	Attempts   int // attempts made before this one
	Created    time.Time
	URL        string
	Secret     string
}

// WebhookAttempt is one delivery attempt in an endpoint's delivery log.
type WebhookAttempt struct {
	ID         int64
	EventID    string
	Type       string
	Attempt    int
	At         time.Time
	HTTPStatus int       // 0: no answer (Error says why)
	Error      string    // "" when the receiver answered 2xx
	NextRetry  time.Time // zero: no retry follows
	State      int       // WebhookPending (a retry follows), WebhookDelivered or WebhookDead
}

const hookCols = `id, guid, tenant_id, url, description, secret, created_at`

func scanWebhookEndpoint(r interface{ Scan(...any) error }) (*WebhookEndpoint, error) {
	var e WebhookEndpoint
	var created int64
	if err := r.Scan(&e.ID, &e.GUID, &e.TenantID, &e.URL, &e.Description, &e.Secret, &created); err != nil {
		return nil, err
	}
	e.Created = time.UnixMilli(created).UTC()
	return &e, nil
}

func errNoWebhook(id string) error {
	return &allot.Error{Code: allot.ENotFound, Message: "The webhook endpoint was not found.", Target: id}
}

// CreateWebhookEndpoint stores e (GUID, tenant, URL, description, secret
// set by the caller) and audits it.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, a allot.Actor, e *WebhookEndpoint) error {
	return s.write(ctx, func(t *tx) error {
		e.Created = time.UnixMilli(t.now).UTC()
		if err := t.queryRow(`INSERT INTO webhook_endpoints (guid, tenant_id, url, description, secret, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, e.GUID, e.TenantID, e.URL, e.Description, e.Secret, t.now).Scan(&e.ID); err != nil {
			return err
		}
		return t.audit(e.TenantID, a, allot.AuditEvent{Category: "Webhooks", Activity: allot.ActAddWebhook, TargetKind: "WebhookEndpoint",
			TargetID: e.GUID, TargetName: e.URL, Changes: []allot.Change{{Property: "url", New: e.URL}}})
	})
}

// WebhookEndpoints returns the tenant's endpoints in creation order.
func (s *Store) WebhookEndpoints(ctx context.Context, tenantID int64) ([]*WebhookEndpoint, error) {
	rows, err := s.query(ctx, `SELECT `+hookCols+` FROM webhook_endpoints WHERE tenant_id = ? ORDER BY id`, tenantID)
	return collect(rows, err, func(r *sql.Rows) (*WebhookEndpoint, error) { return scanWebhookEndpoint(r) })
}

// WebhookEndpoint returns the tenant's endpoint with the id.
func (s *Store) WebhookEndpoint(ctx context.Context, tenantID int64, guid string) (*WebhookEndpoint, error) {
	e, err := scanWebhookEndpoint(s.queryRow(ctx, `SELECT `+hookCols+` FROM webhook_endpoints WHERE tenant_id = ? AND guid = ?`,
		tenantID, strings.ToLower(strings.TrimSpace(guid))))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoWebhook(guid)
	}
	return e, err
}

// DeleteWebhookEndpoint deletes the tenant's endpoint with its outbox and
// delivery log (alert rules that sent through it no longer do), and audits
// it.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, a allot.Actor, tenantID int64, guid string) error {
	return s.write(ctx, func(t *tx) error {
		var id int64
		var url string
		err := t.queryRow(`DELETE FROM webhook_endpoints WHERE tenant_id = ? AND guid = ? RETURNING id, url`,
			tenantID, strings.ToLower(strings.TrimSpace(guid))).Scan(&id, &url)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoWebhook(guid)
		} else if err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM webhook_outbox WHERE endpoint_id = ?`, `DELETE FROM webhook_attempts WHERE endpoint_id = ?`,
			`UPDATE alert_rules SET webhook_endpoint_id = 0 WHERE webhook_endpoint_id = ?`} {
			if _, err := t.exec(q, id); err != nil {
				return err
			}
		}
		return t.audit(tenantID, a, allot.AuditEvent{Category: "Webhooks", Activity: allot.ActDeleteWebhook, TargetKind: "WebhookEndpoint",
			TargetID: strings.ToLower(guid), TargetName: url})
	})
}

// EnqueueWebhookEvent puts one event (its CloudEvent id, type and the body
// as it is to be sent) in the endpoint's outbox, due now.
func (s *Store) EnqueueWebhookEvent(ctx context.Context, e *WebhookEndpoint, eventID, typ string, body []byte) error {
	return s.write(ctx, func(t *tx) error { return t.enqueueWebhook(e.ID, e.TenantID, eventID, typ, body) })
}

// enqueueWebhook writes one outbox row in the transaction t (of the change
// that causes the event).
func (t *tx) enqueueWebhook(endpointID, tenantID int64, eventID, typ string, body []byte) error {
	_, err := t.exec(`INSERT INTO webhook_outbox (event_id, endpoint_id, tenant_id, event_type, body, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		eventID, endpointID, tenantID, typ, string(body), t.now)
	return err
}

// ClaimWebhookEvents leases up to n pending outbox rows due at now to owner
// until now+lease (rows whose lease ran out or is owner's own), oldest
// first, with their endpoint's URL and secret.
func (s *Store) ClaimWebhookEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, n int) ([]*WebhookEvent, error) {
	var out []*WebhookEvent
	err := s.write(ctx, func(t *tx) error {
		ids, err := t.leaseOutbox("webhook_outbox", owner, now, lease, n)
		if err != nil || len(ids) == 0 {
			out = nil
			return err
		}
		rows, err := t.query(`SELECT o.id, o.event_id, o.endpoint_id, o.tenant_id, o.event_type, o.body, o.attempts, e.url, e.secret, o.created_at
			FROM webhook_outbox o JOIN webhook_endpoints e ON e.id = o.endpoint_id WHERE o.id IN (`+placeholders(len(ids))+`) ORDER BY o.id`, idArgs(ids)...)
		out, err = collect(rows, err, scanWebhookEvent)
		return err
	})
	return out, err
}

func scanWebhookEvent(r *sql.Rows) (*WebhookEvent, error) {
	var e WebhookEvent
	var body string
	var created int64
	err := r.Scan(&e.ID, &e.EventID, &e.EndpointID, &e.TenantID, &e.Type, &body, &e.Attempts, &e.URL, &e.Secret, &created)
	e.Body, e.Created = []byte(body), time.UnixMilli(created).UTC()
	return &e, err
}

// RecordWebhookAttempt records, under owner's lease, one attempt at the
// event: its answer (status 0 and errMsg when none came), the state it
// leaves the row in, and when to retry (state WebhookPending). The lease is
// given up. It fails with a lease error when owner no longer holds it.
func (s *Store) RecordWebhookAttempt(ctx context.Context, ev *WebhookEvent, owner string, status int, errMsg string, state int, next time.Time) error {
	if len(errMsg) > 500 {
		errMsg = errMsg[:500]
	}
	var nextMS int64
	if state == WebhookPending {
		nextMS = next.UnixMilli()
	}
	return s.write(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE webhook_outbox SET state = ?, attempts = attempts + 1, next_attempt = ?, lease_owner = '', lease_until = 0
			WHERE id = ? AND lease_owner = ? AND state = 0`, state, nextMS, ev.ID, owner)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errLeaseLost
		}
		_, err = t.exec(`INSERT INTO webhook_attempts (outbox_id, endpoint_id, event_id, event_type, attempt, at, http_status, error, next_retry, state)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ev.ID, ev.EndpointID, ev.EventID, ev.Type, ev.Attempts+1, t.now, status, errMsg, nextMS, state)
		return err
	})
}

// WebhookAttempts returns up to limit attempts of the endpoint's delivery
// log, newest first, before the attempt id before (0: from the newest),
// and the id to continue from (0: no more).
func (s *Store) WebhookAttempts(ctx context.Context, endpointID, before int64, limit int) ([]WebhookAttempt, int64, error) {
	q := `SELECT id, event_id, event_type, attempt, at, http_status, error, next_retry, state FROM webhook_attempts WHERE endpoint_id = ?`
	args := []any{endpointID}
	if before > 0 {
		q += ` AND id < ?`
		args = append(args, before)
	}
	rows, err := s.query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit+1)...)
	out, err := collect(rows, err, func(r *sql.Rows) (WebhookAttempt, error) {
		var a WebhookAttempt
		var at, next int64
		err := r.Scan(&a.ID, &a.EventID, &a.Type, &a.Attempt, &at, &a.HTTPStatus, &a.Error, &next, &a.State)
		a.At = time.UnixMilli(at).UTC()
		if next > 0 {
			a.NextRetry = time.UnixMilli(next).UTC()
		}
		return a, err
	})
	if err != nil || len(out) <= limit {
		return out, 0, err
	}
	return out[:limit], out[limit-1].ID, nil
}

// PurgeWebhookHistory deletes up to n delivered or dead-lettered outbox
// rows created before before, and up to n delivery log entries made before
// it; it returns how many rows went. Pending events are kept.
func (s *Store) PurgeWebhookHistory(ctx context.Context, before time.Time, n int) (int64, error) {
	var gone int64
	err := s.write(ctx, func(t *tx) error {
		gone = 0
		ms := before.UnixMilli()
		for _, q := range []string{
			`DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox WHERE state <> 0 AND created_at < ? ORDER BY id LIMIT ?)`,
			`DELETE FROM webhook_attempts WHERE id IN (SELECT id FROM webhook_attempts WHERE at < ? ORDER BY id LIMIT ?)`,
		} {
			res, err := t.exec(q, ms, n)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			gone += k
		}
		return nil
	})
	return gone, err
}
