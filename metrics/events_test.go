package metrics_test

import (
	"allot/internal/egress"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"allot"
	"allot/events"
	"allot/metrics"
)

// TestEventMetricsCountDeliveriesFailuresAndPending: a subscription whose
// receiver answers 500 shows as retrying with pending feed rows and counts
// failed POSTs; once the receiver answers 202, every notification is
// counted as delivered and nothing is pending or retrying.
func TestEventMetricsCountDeliveriesFailuresAndPending(t *testing.T) {
	e := newEnv(t, metrics.Options{})
	var failing atomic.Bool
	failing.Store(true)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			io.WriteString(w, tok)
			return
		}
		if failing.Load() {
			w.WriteHeader(500)
			return
		}
		w.WriteHeader(202)
	}))
	defer rc.Close()
	body := fmt.Sprintf(`{"changeType":"updated","notificationUrl":%q,"resource":"users","expirationDateTime":%q,"clientState":"m"}`,
		rc.URL, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if s := e.do("POST", "/v1.0/subscriptions", body); s != 201 {
		t.Fatalf("create subscription: %d", s)
	}
	ctx := context.Background()
	users := make([]*allot.User, 30)
	for i := range users {
		users[i] = &allot.User{UserPrincipalName: fmt.Sprintf("m%02d@contoso.com", i), DisplayName: "M", UsageLocation: "US", AccountEnabled: true}
	}
	if err := e.st.CreateUsersBulk(ctx, allot.Actor{Kind: "system", ID: "test"}, e.tenant.ID, users); err != nil {
		t.Fatal(err)
	}
	m := metrics.New(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), metrics.Options{})
	d := events.NewDispatcher(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), events.Config{Poll: 20 * time.Millisecond, Webhooks: egress.Policy{AllowPrivate: true},
		ClaimEvery: 40 * time.Millisecond, Retry: []time.Duration{50 * time.Millisecond}}, m.EventsObserver())
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Run(dctx); close(done) }()
	defer func() { cancel(); <-done }()
	scrape := func() func(string) float64 {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		fams := parseText(t, rec.Body.String())
		return func(name string) float64 { v, _ := value(fams, name, nil); return v }
	}
	until := func(what string, ok func(func(string) float64) bool) func(string) float64 {
		t.Helper()
		end := time.Now().Add(10 * time.Second)
		for {
			v := scrape()
			if ok(v) {
				return v
			}
			if time.Now().After(end) {
				t.Fatalf("metrics never showed %s", what)
			}
			time.Sleep(30 * time.Millisecond)
		}
	}
	v := until("failures", func(v func(string) float64) bool {
		return v("allot_events_delivery_failures_total") >= 2 && v("allot_events_subscriptions_retrying") == 1
	})
	if v("allot_events_subscriptions") != 1 || v("allot_events_pending_feed_rows") < 1 || v("allot_events_notifications_delivered_total") != 0 {
		t.Errorf("while failing: subscriptions %v, pending %v, delivered %v", v("allot_events_subscriptions"),
			v("allot_events_pending_feed_rows"), v("allot_events_notifications_delivered_total"))
	}
	failing.Store(false)
	until("every notification delivered", func(v func(string) float64) bool {
		return v("allot_events_notifications_delivered_total") == 30 && v("allot_events_subscriptions_retrying") == 0
	})
}

func parseText(t *testing.T, s string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parse the exposition: %v", err)
	}
	return fams
}
