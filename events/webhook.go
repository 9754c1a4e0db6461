package events

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"allot/store/sqlstore"
)

// Plain webhooks (docs/api.md, "Webhook endpoints"): CloudEvents 1.0 in
// structured JSON mode, POSTed to a webhook endpoint from its outbox and
// signed with the endpoint's secret.

// Header names of a webhook delivery. SignatureHeader is
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the
// endpoint's secret>"; TimestampHeader repeats t.
const (
	SignatureHeader = "Allot-Signature"
	TimestampHeader = "Allot-Timestamp"
	EventIDHeader   = "Allot-Event-Id"
)

// Event types of webhook endpoints.
const (
	TypeTest            = "allot.test"
	TypeAlertFired      = "allot.alert.fired"
	TypeAlertResolved   = "allot.alert.resolved"
	TypeLicensesUpdated = "allot.user.licenses.updated"
)

// CloudEvent is one CloudEvents 1.0 event in structured JSON mode.
type CloudEvent struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject,omitempty"`
	Time            string `json:"time"`
	DataContentType string `json:"datacontenttype"`
	Data            any    `json:"data"`
}

// NewCloudEvent returns an event of the type from the tenant (source
// "/allot/tenants/<tenant id>") with a new id, now.
func NewCloudEvent(tenant, typ string, data any) CloudEvent {
	return CloudEvent{SpecVersion: "1.0", ID: newEventID(), Source: "/allot/tenants/" + tenant, Type: typ,
		Time: time.Now().UTC().Format(time.RFC3339Nano), DataContentType: "application/json", Data: data}
}

func newEventID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Sign returns the SignatureHeader value of body sent at ts.
func Sign(secret string, ts time.Time, body []byte) string {
	t := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "."))
	mac.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// WebhookStore is what the dispatcher reads and writes of webhook outboxes.
type WebhookStore interface {
	ClaimWebhookEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, n int) ([]*sqlstore.WebhookEvent, error)
	RecordWebhookAttempt(ctx context.Context, ev *sqlstore.WebhookEvent, owner string, status int, errMsg string, state int, next time.Time) error
}

// webhookPurger is a store that drops old webhook history.
type webhookPurger interface {
	PurgeWebhookHistory(ctx context.Context, before time.Time, n int) (int64, error)
}

// purgeWebhooks drops the delivered and dead-lettered events and the
// delivery log older than WebhookKeep.
func (d *Dispatcher) purgeWebhooks(ctx context.Context, now time.Time) {
	p, ok := d.st.(webhookPurger)
	if !ok {
		return
	}
	if _, err := p.PurgeWebhookHistory(ctx, now.Add(-d.cfg.WebhookKeep), 5000); err != nil && ctx.Err() == nil {
		d.log.Warn("webhooks: dropping old delivery history failed", "err", err)
	}
}

// runWebhooks delivers webhook outboxes every ClaimEvery/4 until ctx
// ends, apart from the subscriptions (a slow receiver does not hold them
// up); the channel closes when it has stopped.
func (d *Dispatcher) runWebhooks(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(max(d.cfg.ClaimEvery/4, time.Millisecond))
		defer t.Stop()
		for {
			if d.deliverWebhooks(ctx) == 2*d.cfg.Workers && ctx.Err() == nil {
				continue // more may be due
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return done
}

// deliverWebhooks claims the due outbox rows, 2 per worker (so that a
// round ends well within the lease even when receivers time out), and
// attempts each once, Workers at a time. It returns how many it claimed.
func (d *Dispatcher) deliverWebhooks(ctx context.Context) int {
	hs, ok := d.st.(WebhookStore)
	if !ok {
		return 0
	}
	evs, err := hs.ClaimWebhookEvents(ctx, d.owner, d.now(), d.cfg.Lease, 2*d.cfg.Workers)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("webhooks: claiming events failed", "err", err)
		}
		return 0
	}
	sem := make(chan struct{}, d.cfg.Workers)
	var wg sync.WaitGroup
	for _, ev := range evs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			d.attemptWebhook(ctx, hs, ev)
		}()
	}
	wg.Wait()
	return len(evs)
}

// attemptWebhook POSTs one event and records the attempt: delivered on a
// 2xx answer, else retried after backoff or, once the next try would come
// more than WebhookGiveUp after the event was written (or after
// WebhookAttempts, when set), dead-lettered.
func (d *Dispatcher) attemptWebhook(ctx context.Context, hs WebhookStore, ev *sqlstore.WebhookEvent) {
	status, err := d.postWebhook(ctx, ev)
	state, next, msg := sqlstore.WebhookDelivered, time.Time{}, ""
	if err != nil {
		msg = err.Error()
		state, next = sqlstore.WebhookPending, d.now().Add(d.backoff(ev.Attempts))
		if (d.cfg.WebhookAttempts > 0 && ev.Attempts+1 >= d.cfg.WebhookAttempts) || next.Sub(ev.Created) > d.cfg.WebhookGiveUp {
			state, next = sqlstore.WebhookDead, time.Time{}
		}
		d.log.Info("webhooks: delivery failed", "event", ev.EventID, "url", ev.URL, "attempt", ev.Attempts+1, "dead", state == sqlstore.WebhookDead, "err", err)
	}
	if err := hs.RecordWebhookAttempt(ctx, ev, d.owner, status, msg, state, next); err != nil && !sqlstore.ErrLeaseLost(err) && ctx.Err() == nil {
		d.log.Warn("webhooks: recording an attempt failed; the event will be sent again", "event", ev.EventID, "err", err)
	}
}

// backoff is the wait after the failed attempt number n+1: the Retry
// schedule's, less up to a fifth at random (jitter, so that retries of many
// events do not come at once).
func (d *Dispatcher) backoff(n int) time.Duration {
	w := d.cfg.Retry[min(n, len(d.cfg.Retry)-1)]
	if j := int64(w / 5); j > 0 {
		r, _ := rand.Int(rand.Reader, big.NewInt(j))
		w -= time.Duration(r.Int64())
	}
	return w
}

// postWebhook sends one signed event to its endpoint through the egress
// policy, returning the receiver's status (0 when none came) and an error
// unless it answered 2xx.
func (d *Dispatcher) postWebhook(ctx context.Context, ev *sqlstore.WebhookEvent) (int, error) {
	u, err := url.Parse(ev.URL)
	if err != nil {
		return 0, err
	}
	if err := d.cfg.Webhooks.CheckURL(u); err != nil {
		return 0, fmt.Errorf("refused: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ev.URL, bytes.NewReader(ev.Body))
	if err != nil {
		return 0, err
	}
	now := d.now()
	req.Header.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
	req.Header.Set(SignatureHeader, Sign(ev.Secret, now, ev.Body))
	req.Header.Set(TimestampHeader, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(EventIDHeader, ev.EventID)
	res, err := d.client("v1_2").Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 != 2 {
		return res.StatusCode, fmt.Errorf("the receiver answered %s", res.Status)
	}
	return res.StatusCode, nil
}

// MarshalEvent returns the body of ev as sent.
func MarshalEvent(ev CloudEvent) ([]byte, error) { return json.Marshal(ev) }

// TestEnqueuer puts an event in a webhook endpoint's outbox.
type TestEnqueuer interface {
	EnqueueWebhookEvent(ctx context.Context, e *sqlstore.WebhookEndpoint, eventID, typ string, body []byte) error
}

// EnqueueTest puts an allot.test event for the endpoint in its outbox (the
// API's POST …/test and the admin center's "Send test event") and returns
// the event's id.
func EnqueueTest(ctx context.Context, st TestEnqueuer, tenantGUID string, e *sqlstore.WebhookEndpoint, via string) (string, error) {
	ev := NewCloudEvent(tenantGUID, TypeTest, map[string]any{"endpointId": e.GUID, "message": "A test event sent from allot (" + via + ")."})
	body, err := MarshalEvent(ev)
	if err != nil {
		return "", err
	}
	return ev.ID, st.EnqueueWebhookEvent(ctx, e, ev.ID, ev.Type, body)
}
