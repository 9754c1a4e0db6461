package alerts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"

	"allot/store/sqlstore"
)

// The sender: alert webhooks and e-mails, and reclamation notices, go
// through the notify outbox (sqlstore.Notification), written in the
// transaction that causes them. The sender claims due ones with a lease,
// sends each, and retries a failure with growing waits (and jitter) until
// cfg.GiveUp after it was written; then it gives up and logs it.

// defaultRetry are the waits after each failed send in a row.
var defaultRetry = []time.Duration{5 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute}

// senderBatch is how many notifications one claim takes.
const senderBatch = 50

// notes are the notifications of an alert's transition: a JSON POST to the
// rule's webhookUrl, an e-mail to its addresses.
func (w *Watcher) notes(a *sqlstore.AlertRule, ev Event) []sqlstore.Notification {
	body, _ := json.Marshal(ev)
	var out []sqlstore.Notification
	if a.WebhookURL != "" {
		out = append(out, sqlstore.Notification{TenantID: a.TenantID, Channel: sqlstore.ChannelWebhook, Target: a.WebhookURL, Kind: sqlstore.NotifyAlert, Payload: body})
	}
	if len(a.Emails) > 0 {
		out = append(out, sqlstore.Notification{TenantID: a.TenantID, Channel: sqlstore.ChannelEmail, Target: strings.Join(a.Emails, ","), Kind: sqlstore.NotifyAlert, Payload: body})
	}
	return out
}

// runSender sends the outbox's notifications every second until ctx ends.
func (w *Watcher) runSender(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if _, err := w.Deliver(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("alerts: sending notifications failed; trying again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Deliver sends the notifications due now, a batch at a time, until none
// is left, and returns how many it attempted.
func (w *Watcher) Deliver(ctx context.Context) (int, error) {
	total := 0
	for ctx.Err() == nil {
		ns, err := w.st.ClaimNotifications(ctx, w.owner, w.now(), w.cfg.Lease, senderBatch)
		if err != nil || len(ns) == 0 {
			return total, err
		}
		for _, n := range ns {
			if err := w.attempt(ctx, n); err != nil {
				return total, err
			}
		}
		total += len(ns)
	}
	return total, ctx.Err()
}

// attempt sends one notification and records the outcome.
func (w *Watcher) attempt(ctx context.Context, n *sqlstore.Notification) error {
	err := w.sendNote(ctx, n)
	state, next, msg := sqlstore.NotifySent, time.Time{}, ""
	if err != nil {
		msg = err.Error()
		state, next = sqlstore.NotifyPending, w.now().Add(w.backoff(n.Attempts))
		if errors.Is(err, errNoSMTP) || next.Sub(n.Created) > w.cfg.GiveUp {
			state = sqlstore.NotifyGaveUp
			w.log.Warn("alerts: gave up a notification", "channel", channelName(n.Channel), "to", n.Target, "attempts", n.Attempts+1, "err", err)
		}
	}
	return w.st.FinishNotification(ctx, n, w.owner, state, msg, next)
}

// errNoSMTP: an e-mail with no SMTP server to send it through.
var errNoSMTP = errors.New("no SMTP server is configured (allot serve --smtp-addr)")

// sendNote renders and sends one notification.
func (w *Watcher) sendNote(ctx context.Context, n *sqlstore.Notification) error {
	if n.Channel == sqlstore.ChannelWebhook {
		return w.postWebhook(ctx, n.Target, n.Payload)
	}
	if w.cfg.SMTP.Addr == "" {
		return errNoSMTP
	}
	var subject, text, body string
	switch n.Kind {
	case sqlstore.NotifyAlert:
		var ev Event
		if err := json.Unmarshal(n.Payload, &ev); err != nil {
			return err
		}
		subject, text, body = alertMail(ev)
	case sqlstore.NotifyReclaimNotice:
		var p sqlstore.ReclaimNoticeMail
		if err := json.Unmarshal(n.Payload, &p); err != nil {
			return err
		}
		subject, text, body = noticeMail(p)
	default:
		return fmt.Errorf("unknown notification kind %q", n.Kind)
	}
	return w.mail(n.Addresses(), subject, text, body)
}

// backoff is the wait after the nth failure in a row (0-based), less up to
// a fifth at random so that many failures do not retry together.
func (w *Watcher) backoff(n int) time.Duration {
	d := w.cfg.Retry[min(n, len(w.cfg.Retry)-1)]
	return d - time.Duration(mrand.Int64N(int64(d)/5+1))
}

func channelName(c int) string {
	if c == sqlstore.ChannelWebhook {
		return "webhook"
	}
	return "e-mail"
}

func randomID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
