package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"allot/events"
	"allot/internal/egress"
	"allot/store/sqlstore"
)

// startDispatcher runs an events dispatcher on the env's store that may
// send to loopback receivers.
func (e *env) startDispatcher() {
	e.t.Helper()
	d := events.NewDispatcher(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), events.Config{Poll: 20 * time.Millisecond,
		ClaimEvery: 40 * time.Millisecond, Retry: []time.Duration{200 * time.Millisecond}, Webhooks: egress.Policy{AllowPrivate: true}}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// TestBrowserWebhookTestEventAndDeliveryLog: on an endpoint's page, "Send
// test event" queues an allot.test event; the receiver answers 500 first
// and 200 next, and the open page's delivery log shows both attempts of
// that event (Will retry with 500, then Delivered with 200) without a
// reload. A Global Reader sees the log but no button, and the POST is 403.
func TestBrowserWebhookTestEventAndDeliveryLog(t *testing.T) {
	e := newEnv(t, 25)
	var calls atomic.Int32
	var lastType atomic.Value
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		lastType.Store(string(body))
		if calls.Add(1) == 1 {
			w.WriteHeader(500)
			return
		}
		w.WriteHeader(204)
	}))
	t.Cleanup(rc.Close)
	ep := &sqlstore.WebhookEndpoint{GUID: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", TenantID: e.tenant.ID, URL: rc.URL, Description: "SIEM", Secret: "whsec_test"}
	if err := e.st.CreateWebhookEndpoint(context.Background(), actor, ep); err != nil {
		t.Fatal(err)
	}
	e.startDispatcher()

	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.click(`nav.side a[href="/webhooks"]`)
	b.waitPath("/webhooks")
	if got := b.text(`#webhooks-table tr[data-endpoint="` + ep.GUID + `"]`); !strings.Contains(got, rc.URL) || !strings.Contains(got, "SIEM") {
		t.Fatalf("endpoint row: %q", got)
	}
	b.click(`#webhooks-table a[href="/webhooks/` + ep.GUID + `"]`)
	b.waitPath("/webhooks/" + ep.GUID)
	b.waitText("main", "Nothing sent yet")
	b.click(`#webhook-test-form button`)
	b.waitText("main [role=status]", "queued")
	b.waitText(`#webhook-log-table tbody`, "Delivered")
	rows := b.text(`#webhook-log-table tbody`)
	for _, want := range []string{"allot.test", "500 Internal Server Error", "Will retry", "204 No Content", "Delivered"} {
		if !strings.Contains(rows, want) {
			t.Errorf("delivery log lacks %q: %s", want, rows)
		}
	}
	if n := b.count(`#webhook-log-table tbody tr`); n != 2 {
		t.Errorf("%d attempts in the log, want 2", n)
	}
	if body, _ := lastType.Load().(string); !strings.Contains(body, `"type":"allot.test"`) {
		t.Errorf("the receiver got %s", body)
	}
	b.screenshotView("webhooks")

	r := e.browser()
	r.signIn(readerUPN, password)
	r.waitPath("/users")
	r.open("/webhooks/" + ep.GUID)
	r.waitText(`#webhook-log-table tbody`, "Delivered")
	if r.count(`#webhook-test-form`) != 0 {
		t.Error("a Global Reader sees Send test event")
	}
	resp, err := e.client(readerUPN).PostForm(e.srv.URL+"/webhooks/"+ep.GUID+"/test", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a Global Reader's POST: %d, want 403", resp.StatusCode)
	}
	admin := e.client(adminUPN)
	admin.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = admin.PostForm(e.srv.URL+"/webhooks/"+ep.GUID+"/test", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the administrator's same POST: %d, want 303", resp.StatusCode)
	}
}
