package httpapi

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"allot/alerts"
	"allot/internal/egress"
)

// TestAlertNotificationsAreDurableAndRetried: an alert's transition is
// written to the notify outbox with the rule's turn; a watcher that never
// sends it (a process that stopped) leaves it there, and another watcher
// sends it. A receiver that answers 500 twice gets the same body a third
// time and then nothing more. An e-mail with no SMTP server configured is
// given up at once, not retried for a day.
func TestAlertNotificationsAreDurableAndRetried(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		var mu sync.Mutex
		var bodies []string
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, string(b))
			n := len(bodies)
			mu.Unlock()
			if n <= 2 {
				w.WriteHeader(500)
				return
			}
			w.WriteHeader(204)
		}))
		t.Cleanup(rc.Close)
		c.must(201, "POST", "/allot/v1/alertRules", map[string]any{"displayName": "Few E3 seats", "product": "ENTERPRISEPACK",
			"metric": "availableSeats", "threshold": 1000, "webhookUrl": rc.URL, "emails": []string{"it@contoso.com"}})
		cfg := alerts.Config{Webhooks: egress.Policy{AllowPrivate: true}, Retry: []time.Duration{30 * time.Millisecond}}
		ctx := context.Background()
		first := alerts.NewWatcher(h.st, slog.New(h.logs), cfg)
		if err := first.Check(ctx); err != nil { // turns the rule and writes the notifications; sends nothing
			t.Fatal(err)
		}
		if n, _ := h.st.PendingNotifications(ctx); n != 2 {
			t.Fatalf("%d notifications pending after the turn, want 2 (webhook, e-mail)", n)
		}
		var logs bytes.Buffer                                                             // written by Deliver, in this goroutine
		second := alerts.NewWatcher(h.st, slog.New(slog.NewTextHandler(&logs, nil)), cfg) // no SMTP server
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(40 * time.Millisecond) {
			if _, err := second.Deliver(ctx); err != nil {
				t.Fatal(err)
			}
			if n, _ := h.st.PendingNotifications(ctx); n == 0 {
				break
			}
		}
		if n, _ := h.st.PendingNotifications(ctx); n != 0 {
			t.Fatalf("%d notifications still pending", n)
		}
		time.Sleep(100 * time.Millisecond)
		second.Deliver(ctx)
		mu.Lock()
		defer mu.Unlock()
		if len(bodies) != 3 || bodies[0] != bodies[2] || !strings.Contains(bodies[0], `"status":"firing"`) {
			t.Fatalf("the receiver got %d POSTs: %v", len(bodies), bodies)
		}
		if !strings.Contains(logs.String(), "gave up a notification") || !strings.Contains(logs.String(), "e-mail") {
			t.Error("the e-mail without an SMTP server was not given up in the log")
		}
	})
}

// TestReclamationNoticeMailsTheUserAndTheirManager: when a reclamation rule
// gives a disabled user notice, the user and their manager each get an
// e-mail (through the outbox) that names the product by its display name
// and the day it goes.
func TestReclamationNoticeMailsTheUserAndTheirManager(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		smtpd := newSMTPServer(t)
		pack := c.sku("ENTERPRISEPACK")
		u := c.createUser("leaver@contoso.com", "US")
		m := c.createUser("boss@contoso.com", "US")
		c.must(204, "PATCH", "/v1.0/users/"+u, map[string]any{"mail": "leaver@contoso.com", "displayName": "Lee Leaver"})
		c.must(204, "PATCH", "/v1.0/users/"+m, map[string]any{"mail": "boss@contoso.com", "displayName": "Bo Boss"})
		c.must(204, "PUT", "/v1.0/users/"+u+"/manager/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + m})
		c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{pack}, nil))
		rule := c.must(201, "POST", "/allot/v1/reclamationRules", map[string]any{"skuId": "ENTERPRISEPACK", "disabledFor": "PT1S", "notice": "P7D"}).object(t)
		c.must(204, "PATCH", "/v1.0/users/"+u, map[string]any{"accountEnabled": false})
		time.Sleep(1200 * time.Millisecond)
		if run := c.must(200, "POST", "/allot/v1/reclamationRules/"+rule["id"].(string)+"/run", map[string]any{}).object(t); run["noticed"] != float64(1) {
			t.Fatalf("run %v", run)
		}
		w := alerts.NewWatcher(h.st, slog.New(h.logs), alerts.Config{SMTP: alerts.SMTP{Addr: smtpd.ln.Addr().String(), From: "allot@contoso.com"}})
		if _, err := w.Deliver(context.Background()); err != nil {
			t.Fatal(err)
		}
		msgs := smtpd.messages()
		if len(msgs) != 2 {
			t.Fatalf("%d e-mails, want 2 (the user, the manager)", len(msgs))
		}
		to := map[string]string{}
		for _, mm := range msgs {
			msg, err := mail.ReadMessage(strings.NewReader(mm.data))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(msg.Body)
			to[mm.to[0]] = msg.Header.Get("Subject") + "\n" + string(body)
		}
		if s := to["leaver@contoso.com"]; !strings.Contains(s, "Your Office 365 E3 license will be taken back on ") {
			t.Errorf("the user's e-mail: %s", s)
		}
		if s := to["boss@contoso.com"]; !strings.Contains(s, "Lee Leaver's Office 365 E3 license will be taken back on ") {
			t.Errorf("the manager's e-mail: %s", s)
		}
	})
}
