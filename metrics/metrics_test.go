package metrics_test

import (
	"allot/internal/egress"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"allot"
	"allot/catalog"
	"allot/httpapi"
	"allot/metrics"
	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
)

const metricsToken = "metrics-token-0123456789abcdef0123456789"

// env is a real server (httptest) on a real SQLite store, its metrics on
// the main listener behind a token, and a reconcile worker with the hooks.
type env struct {
	t       *testing.T
	st      *sqlstore.Store
	srv     *httptest.Server
	worker  *reconcile.Worker
	token   string
	tenant  *allot.Tenant
	product *allot.Product
}

func newEnv(t *testing.T, opts metrics.Options) *env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir(), sqlstore.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := metrics.New(st, log, opts)
	api := httpapi.New(st, log, httpapi.Limits{MaxBody: 1 << 20, DefaultTop: 100, MaxTop: 999, MaxCSVRows: 1000,
		Webhooks: egress.Policy{AllowPrivate: true}})
	api.Observe(func(d httpapi.RequestDone) { m.Request(d.Method, d.Route, d.Status, d.Bytes, d.Elapsed) })
	api.Mount("GET /metrics", metrics.Protect(m.Handler(), metricsToken))
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	w := reconcile.New(st, log, reconcile.WithHooks(m.ReconcileHooks()))
	w.GroupChunk = 50
	e := &env{t: t, st: st, srv: srv, worker: w, token: sqlstore.TokenPrefix + "metrics-test-" + strings.Repeat("x", 32)}
	if e.tenant, err = st.CreateTenant(ctx, "Contoso", "NAM", "US"); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateToken(ctx, e.tenant.ID, "test", store.RoleGlobalAdmin, e.token); err != nil {
		t.Fatal(err)
	}
	d, _ := catalog.Lookup("SPE_E3")
	if e.product, err = st.AddProduct(ctx, allot.Actor{Kind: "system", ID: "test"}, e.tenant.ID, d, 150); err != nil {
		t.Fatal(err)
	}
	return e
}

// do sends a request with the API token and returns its status.
func (e *env) do(method, path, body string) int {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// scrape reads /metrics and parses it with the Prometheus text parser.
func (e *env) scrape() map[string]*dto.MetricFamily {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		e.t.Fatalf("parse the exposition: %v", err)
	}
	return fams
}

// value returns the value of the series of the family with exactly the
// labels (a histogram's count, a counter's or gauge's value); ok is false
// when there is no such series.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		match := true
		for _, l := range m.Label {
			if labels[l.GetName()] != l.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		}
	}
	return 0, false
}

// scrapeUntil scrapes until the series has the value, or 5 s have passed
// (a request is counted once its answer is written, which the client may
// see first), and returns the last scrape.
func (e *env) scrapeUntil(name string, labels map[string]string, want float64) map[string]*dto.MetricFamily {
	e.t.Helper()
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		fams := e.scrape()
		if got, ok := value(fams, name, labels); (ok && got == want) || time.Since(start) > 5*time.Second {
			return fams
		}
	}
}

func (e *env) want(fams map[string]*dto.MetricFamily, name string, labels map[string]string, want float64) {
	e.t.Helper()
	got, ok := value(fams, name, labels)
	if !ok || got != want {
		e.t.Errorf("%s%v = %v (present %v), want %v", name, labels, got, ok, want)
	}
}

// TestMetricsAfterRealRequests: after real requests and a group assignment
// of 200 members to a 150-seat product, the scrape shows the requests by
// route pattern, method and status, the queue with the group's mark and its
// age, then (after the worker ran) the batches and users processed, the
// seats per tenant × product, the pools and the Go runtime.
func TestMetricsAfterRealRequests(t *testing.T) {
	e := newEnv(t, metrics.Options{})
	ctx := context.Background()
	actor := allot.Actor{Kind: "system", ID: "test"}
	users := make([]*allot.User, 200)
	for i := range users {
		users[i] = &allot.User{UserPrincipalName: fmt.Sprintf("u%03d@contoso.com", i), DisplayName: "U", UsageLocation: "US", AccountEnabled: true}
	}
	if err := e.st.CreateUsersBulk(ctx, actor, e.tenant.ID, users); err != nil {
		t.Fatal(err)
	}
	g := &allot.Group{DisplayName: "All", MailNickname: "all", SecurityEnabled: true}
	if err := e.st.CreateGroup(ctx, actor, e.tenant.ID, g); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if err := e.st.AddMember(ctx, actor, e.tenant.ID, g.GUID, u.GUID); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if s := e.do("GET", "/v1.0/groups/"+g.GUID, ""); s != 200 {
			t.Fatalf("get group: %d", s)
		}
	}
	for i := range 30 { // distinct unknown paths: one series
		e.do("GET", fmt.Sprintf("/nothing-%d", i), "")
	}
	if s := e.do("POST", "/v1.0/groups/"+g.GUID+"/assignLicense", fmt.Sprintf(`{"addLicenses":[{"skuId":%q,"disabledPlans":[]}],"removeLicenses":[]}`, e.product.SkuID)); s != 202 {
		t.Fatalf("assign to the group: %d", s)
	}
	time.Sleep(50 * time.Millisecond)

	fams := e.scrapeUntil("allot_http_request_duration_seconds", map[string]string{"method": "POST", "route": "POST /v1.0/groups/{id}/assignLicense", "status": "202"}, 1)
	e.want(fams, "allot_http_request_duration_seconds", map[string]string{"method": "GET", "route": "GET /v1.0/groups/{id}", "status": "200"}, 3)
	e.want(fams, "allot_http_request_duration_seconds", map[string]string{"method": "POST", "route": "POST /v1.0/groups/{id}/assignLicense", "status": "202"}, 1)
	if n, _ := value(fams, "allot_http_request_duration_seconds", map[string]string{"method": "GET", "route": "unmatched", "status": "404"}); n+countRoute(fams, "/") != 30 {
		t.Errorf("30 unknown paths: %v unmatched + %v on the catch-all route, want 30 in one series", n, countRoute(fams, "/"))
	}
	if n := len(fams["allot_http_request_duration_seconds"].Metric); n > 5 {
		t.Errorf("%d request series after 4 routes, want at most 5 (no path in a label)", n)
	}
	e.want(fams, "allot_reconcile_queue_marks", map[string]string{"kind": "group"}, 1)
	if age, _ := value(fams, "allot_reconcile_oldest_mark_age_seconds", map[string]string{"kind": "group"}); age < 0.04 || age > 30 {
		t.Errorf("oldest group mark age %v s, want ≥ 0.04", age)
	}

	if err := e.worker.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	fams = e.scrape()
	e.want(fams, "allot_reconcile_queue_marks", map[string]string{"kind": "group"}, 0)
	e.want(fams, "allot_reconcile_oldest_mark_age_seconds", map[string]string{"kind": "group"}, 0)
	e.want(fams, "allot_reconcile_users_processed_total", map[string]string{"kind": "group"}, 200)
	e.want(fams, "allot_reconcile_batch_users", map[string]string{"kind": "group"}, 4) // 200 members in chunks of 50
	e.want(fams, "allot_reconcile_batch_duration_seconds", map[string]string{"kind": "group"}, 4)
	if h := histogram(fams, "allot_reconcile_batch_users", "group"); h == nil || h.GetSampleSum() != 200 {
		t.Errorf("batch sizes sum to %v, want 200", h.GetSampleSum())
	}
	tl := map[string]string{"tenant_id": e.tenant.GUID, "sku": "SPE_E3"}
	e.want(fams, "allot_seats_enabled", tl, 150)
	e.want(fams, "allot_seats_consumed", tl, 150)
	e.want(fams, "allot_seats_waiting", tl, 50)
	e.want(fams, "allot_tenant_info", map[string]string{"tenant_id": e.tenant.GUID, "tenant_name": "Contoso"}, 1)
	e.want(fams, "allot_seats_truncated", map[string]string{}, 0)
	for _, pool := range []string{"write", "read"} {
		if _, ok := value(fams, "allot_db_connections_open", map[string]string{"pool": pool}); !ok {
			t.Errorf("no allot_db_connections_open for pool %s", pool)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "go_build_info"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
}

// countRoute is the request count of GET 404s on the route.
func countRoute(fams map[string]*dto.MetricFamily, route string) float64 {
	n, _ := value(fams, "allot_http_request_duration_seconds", map[string]string{"method": "GET", "route": route, "status": "404"})
	return n
}

func histogram(fams map[string]*dto.MetricFamily, name, kind string) *dto.Histogram {
	for _, m := range fams[name].GetMetric() {
		if len(m.Label) == 1 && m.Label[0].GetValue() == kind {
			return m.Histogram
		}
	}
	return nil
}

// TestMetricsTokenAndSeatBound: /metrics on the main listener answers 401
// without the token or with a wrong one; the seat series stop at
// MaxSeatSeries products and say so.
func TestMetricsTokenAndSeatBound(t *testing.T) {
	e := newEnv(t, metrics.Options{MaxSeatSeries: 2})
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + e.token, metricsToken} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("GET /metrics with Authorization %q: %d, want 401", auth, resp.StatusCode)
		}
	}
	for _, part := range []string{"SPE_E5", "ENTERPRISEPACK"} {
		d, _ := catalog.Lookup(part)
		if _, err := e.st.AddProduct(context.Background(), allot.Actor{Kind: "system", ID: "test"}, e.tenant.ID, d, 10); err != nil {
			t.Fatal(err)
		}
	}
	fams := e.scrape()
	if n := len(fams["allot_seats_enabled"].GetMetric()); n != 2 {
		t.Errorf("%d allot_seats_enabled series with 3 products and a bound of 2, want 2", n)
	}
	e.want(fams, "allot_seats_truncated", map[string]string{}, 1)
}

// TestDashboardUsesExportedNames: every metric that the Grafana dashboard
// in docs/ queries is in a scrape of a real server (a renamed metric breaks
// this test, not the operator's dashboard), and it is valid JSON.
func TestDashboardUsesExportedNames(t *testing.T) {
	raw, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	e := newEnv(t, metrics.Options{})
	e.do("GET", "/v1.0/subscribedSkus", "")
	if err := e.worker.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	fams := e.scrape()
	name := regexp.MustCompile(`\b(allot|go|process)_[a-z_]+`)
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				n++
				base := m
				for _, suf := range []string{"_bucket", "_count", "_sum"} {
					if b, ok := strings.CutSuffix(m, suf); ok && fams[b] != nil && fams[b].GetType() == dto.MetricType_HISTOGRAM {
						base = b
					}
				}
				if fams[base] == nil {
					t.Errorf("the dashboard queries %s, which the server does not export", m)
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("the dashboard names only %d metrics", n)
	}
}
