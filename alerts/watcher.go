package alerts

import (
	"allot/internal/egress"
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"allot/events"
	"allot/store/sqlstore"
)

// Store is what the watcher reads and writes.
type Store interface {
	AlertRules(ctx context.Context, tenantID int64) ([]*sqlstore.AlertRule, error)
	AlertRuleSeats(ctx context.Context, a *sqlstore.AlertRule, need sqlstore.AlertNeeds) (sqlstore.AlertSeats, error)
	TurnAlertRule(ctx context.Context, id int64, firing bool, ev *sqlstore.OutboxEvent, notes []sqlstore.Notification) (bool, error)
	SetAlertBreach(ctx context.Context, id int64, since time.Time) error
	ClaimNotifications(ctx context.Context, owner string, now time.Time, lease time.Duration, n int) ([]*sqlstore.Notification, error)
	FinishNotification(ctx context.Context, n *sqlstore.Notification, owner string, state int, errMsg string, next time.Time) error
	TenantGUID(ctx context.Context, tenantID int64) (string, error)
}

// SMTP is where e-mail goes: a server (host:port), the sender, and
// optional PLAIN credentials (sent only over TLS or to localhost, as
// net/smtp allows). STARTTLS is used when the server offers it.
type SMTP struct {
	Addr, From, Username, Password string
}

// Config tunes the watcher; zero values take the defaults.
type Config struct {
	Every   time.Duration // how often rules are checked (2 s)
	Timeout time.Duration // one webhook POST or SMTP session (10 s)
	// Retry lists the waits after each failed send in a row (less up to a
	// fifth at random); the last repeats. Default 5 s, 15 s, 30 s, 1, 2, 5
	// and 10 minutes.
	Retry []time.Duration
	// GiveUp is how long a notification is retried before it is given up
	// (24 h).
	GiveUp time.Duration
	// Lease is how long a sender holds the notifications it claimed (1 min).
	Lease time.Duration
	SMTP  SMTP // no Addr: e-mail is not sent (and logged)
	// Webhooks is where alert webhooks may go.
	Webhooks egress.Policy
	// BaseURL is the admin center's address (https://allot.example.com),
	// the base of an event's link; empty: links are paths.
	BaseURL string
}

// Watcher checks the rules and sends their transitions.
type Watcher struct {
	st  Store
	log *slog.Logger
	cfg Config
	hc  *http.Client
	now func() time.Time
	// owner names this watcher's leases of notifications.
	owner string
}

// NewWatcher returns a watcher on the store.
func NewWatcher(st Store, log *slog.Logger, cfg Config) *Watcher {
	if cfg.Every <= 0 {
		cfg.Every = 2 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if len(cfg.Retry) == 0 {
		cfg.Retry = defaultRetry
	}
	if cfg.GiveUp <= 0 {
		cfg.GiveUp = 24 * time.Hour
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	return &Watcher{st: st, log: log, cfg: cfg, hc: cfg.Webhooks.Client(cfg.Timeout), now: time.Now, owner: "alerts-" + randomID()}
}

// Run checks the rules every cfg.Every until ctx ends, and sends the
// notify outbox's notifications (runSender).
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Every)
	defer t.Stop()
	go w.runSender(ctx)
	for {
		if err := w.Check(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("alerts: checking the rules failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Event is the webhook body of a rule that fired or resolved.
type Event struct {
	Status        string  `json:"status"` // "firing" or "resolved"
	RuleID        string  `json:"ruleId"`
	RuleName      string  `json:"ruleName"`
	Condition     string  `json:"condition"`
	TenantID      string  `json:"tenantId"`
	SkuPartNumber string  `json:"skuPartNumber,omitempty"`
	Metric        string  `json:"metric"`
	Threshold     float64 `json:"threshold"`
	Value         float64 `json:"value"`
	EnabledUnits  int     `json:"enabledUnits"`
	ConsumedUnits int     `json:"consumedUnits"`
	WaitingUnits  int     `json:"waitingUnits"`
	// Group names the group whose license errors the rule counts.
	Group string `json:"group,omitempty"`
	// Link is the admin center's page that shows the numbers.
	Link string `json:"link"`
	At   string `json:"at"`
}

// Check checks every rule once: a rule whose condition began (and held
// for the rule's For) fires, one whose condition ended resolves; each
// transition is sent once (by the process that turned it).
func (w *Watcher) Check(ctx context.Context) error {
	rules, err := w.st.AlertRules(ctx, 0)
	if err != nil {
		return err
	}
	for _, a := range rules {
		if err := w.checkRule(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// checkRule checks one rule and sends its transition, if any.
func (w *Watcher) checkRule(ctx context.Context, a *sqlstore.AlertRule) error {
	seats, err := w.st.AlertRuleSeats(ctx, a, Needs(a.Metric))
	if err != nil {
		return err
	}
	breached, err := w.held(ctx, a, Breached(a.Metric, a.Threshold, seats))
	if err != nil || breached == a.Firing {
		return err
	}
	tenant, err := w.st.TenantGUID(ctx, a.TenantID)
	if err != nil {
		return err
	}
	ev := w.event(a, seats, tenant, breached)
	out, err := outboxEvent(a, tenant, ev)
	if err != nil {
		return err
	}
	turned, err := w.st.TurnAlertRule(ctx, a.ID, breached, out, w.notes(a, ev))
	if err != nil || !turned {
		return err
	}
	w.log.Info("alerts: rule "+ev.Status, "rule", a.Name, "condition", ev.Condition, "value", ev.Value)
	return nil
}

// held records when a breach began and reports whether it has lasted the
// rule's For (a rule without For: whether it is breached now).
func (w *Watcher) held(ctx context.Context, a *sqlstore.AlertRule, breached bool) (bool, error) {
	switch {
	case breached && a.BreachedSince.IsZero():
		if err := w.st.SetAlertBreach(ctx, a.ID, w.now()); err != nil {
			return false, err
		}
		return a.For <= 0, nil
	case breached:
		return w.now().Sub(a.BreachedSince) >= a.For, nil
	case !a.BreachedSince.IsZero():
		return false, w.st.SetAlertBreach(ctx, a.ID, time.Time{})
	}
	return false, nil
}

// event is the message of a rule's transition.
func (w *Watcher) event(a *sqlstore.AlertRule, seats sqlstore.AlertSeats, tenant string, firing bool) Event {
	ev := Event{Status: "resolved", RuleID: a.GUID, RuleName: a.Name, Condition: Describe(a), TenantID: tenant,
		SkuPartNumber: a.Product, Metric: MetricName(a.Metric), Threshold: a.Threshold, Value: Value(a.Metric, seats),
		EnabledUnits: seats.Enabled, ConsumedUnits: seats.Consumed, WaitingUnits: seats.Waiting, Group: a.Group,
		Link: strings.TrimRight(w.cfg.BaseURL, "/") + Page(a), At: w.now().UTC().Format(time.RFC3339)}
	if firing {
		ev.Status = "firing"
	}
	return ev
}

// outboxEvent is the CloudEvent (allot.alert.fired or allot.alert.resolved)
// for the rule's webhook endpoint, nil when it names none.
func outboxEvent(a *sqlstore.AlertRule, tenant string, ev Event) (*sqlstore.OutboxEvent, error) {
	if a.WebhookEndpointID == 0 {
		return nil, nil
	}
	typ := events.TypeAlertResolved
	if ev.Status == "firing" {
		typ = events.TypeAlertFired
	}
	ce := events.NewCloudEvent(tenant, typ, ev)
	ce.Subject = "alertRules/" + a.GUID
	body, err := events.MarshalEvent(ce)
	if err != nil {
		return nil, err
	}
	return &sqlstore.OutboxEvent{EndpointID: a.WebhookEndpointID, EventID: ce.ID, Type: typ, Body: body}, nil
}

// postWebhook POSTs the JSON body to url; an answer other than 2xx is an
// error.
func (w *Watcher) postWebhook(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := w.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("the webhook answered %s", res.Status)
	}
	return nil
}

// mail sends an e-mail with a plain-text and an HTML part through
// net/smtp (STARTTLS when the server offers it).
func (w *Watcher) mail(to []string, subject, text, html string) error {
	c := w.cfg.SMTP
	msg, err := message(c.From, to, subject, text, html)
	if err != nil {
		return err
	}
	var auth smtp.Auth
	if c.Username != "" {
		host := c.Addr
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host = host[:i]
		}
		auth = smtp.PlainAuth("", c.Username, c.Password, host)
	}
	return smtp.SendMail(c.Addr, auth, c.From, to, msg)
}

// alertMail is an alert's e-mail: subject, plain text and HTML.
func alertMail(ev Event) (subject, text, body string) {
	subject = fmt.Sprintf("[allot] %s: %s", strings.ToUpper(ev.Status), ev.RuleName)
	now := fmt.Sprintf("%g (%d of %d seats used, %d waiting)", ev.Value, ev.ConsumedUnits, ev.EnabledUnits, ev.WaitingUnits)
	text = fmt.Sprintf("Alert rule %q is %s.\r\n\r\nCondition: %s\r\nNow: %s\r\nAt: %s\r\nSee: %s\r\n",
		ev.RuleName, ev.Status, ev.Condition, now, ev.At, ev.Link)
	body = fmt.Sprintf("<!doctype html><html><body><p>Alert rule <strong>%s</strong> is %s.</p><table>"+
		"<tr><th align=left>Condition</th><td>%s</td></tr><tr><th align=left>Now</th><td>%s</td></tr>"+
		"<tr><th align=left>At</th><td>%s</td></tr></table><p><a href=\"%s\">See it in allot</a></p></body></html>\r\n",
		html.EscapeString(ev.RuleName), ev.Status, html.EscapeString(ev.Condition), html.EscapeString(now), ev.At, html.EscapeString(ev.Link))
	return subject, text, body
}

// noticeMail is a reclamation notice's e-mail, to the user or their manager.
func noticeMail(n sqlstore.ReclaimNoticeMail) (subject, text, body string) {
	whose, you := "Your", "you"
	if n.ToManager {
		whose, you = n.UserName+"'s", n.UserName
	}
	subject = fmt.Sprintf("[allot] %s %s license will be taken back on %s", whose, n.Product, n.ReclaimAt)
	text = fmt.Sprintf("%s %s license (%s) will be taken back on %s (rule: %s), unless %s use it again before then.\r\n"+
		"If it is still needed, ask your license administrator to keep it.\r\n", whose, n.Product, n.UserUPN, n.ReclaimAt, n.Rule, you)
	body = fmt.Sprintf("<!doctype html><html><body><p>%s <strong>%s</strong> license (%s) will be taken back on <strong>%s</strong> (rule: %s), unless %s use it again before then.</p>"+
		"<p>If it is still needed, ask your license administrator to keep it.</p></body></html>\r\n",
		html.EscapeString(whose), html.EscapeString(n.Product), html.EscapeString(n.UserUPN), html.EscapeString(n.ReclaimAt),
		html.EscapeString(n.Rule), html.EscapeString(you))
	return subject, text, body
}

// message renders a multipart/alternative e-mail.
func message(from string, to []string, subject, text, htmlBody string) ([]byte, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=%s\r\n\r\n",
		from, strings.Join(to, ", "), mime.QEncoding.Encode("utf-8", subject), mw.Boundary())
	for _, part := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", htmlBody}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.typ + "; charset=utf-8"}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		qw := quotedprintable.NewWriter(pw)
		qw.Write([]byte(part.body))
		qw.Close()
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
