package scim_test

// The SCIM tests run a real allot HTTP server (httpapi with the SCIM
// surface mounted, as allot serve mounts it) on a real store, once per
// engine: SQLite always, PostgreSQL when ALLOT_TEST_PG reaches a server.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"allot"
	"allot/httpapi"
	"allot/reconcile"
	"allot/scim"
	"allot/store"
	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
)

type engine struct {
	name string
	open func(t *testing.T) *sqlstore.Store
}

var engines = []engine{
	{"sqlite", func(t *testing.T) *sqlstore.Store {
		st, err := sqlstore.OpenSQLite(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", pgtest.Open},
}

func forEachEngine(t *testing.T, fn func(t *testing.T, h *harness)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { fn(t, newHarness(t, e.open(t))) })
	}
}

// errorLog fails the test on any error the server logs.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	l.msgs = append(l.msgs, b.String())
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

type harness struct {
	t      *testing.T
	st     *sqlstore.Store
	srv    *httptest.Server
	log    *slog.Logger
	tenant *allot.Tenant
	ga     string // a Global Administrator token
	scim   string // a SCIM.Provisioning client's token
	scimID string // that client's id
}

func newHarness(t *testing.T, st *sqlstore.Store) *harness {
	logs := &errorLog{}
	log := slog.New(logs)
	limits := httpapi.DefaultLimits
	limits.RatePerSecond = 0
	api := httpapi.New(st, log, limits)
	api.MountSCIM(scim.Prefix, scim.New(st, log))
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if len(logs.msgs) > 0 {
			t.Errorf("the server logged errors:\n%s", strings.Join(logs.msgs, "\n"))
		}
	})
	ten, err := st.CreateTenant(context.Background(), "Contoso", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, srv: srv, log: log, tenant: ten, ga: sqlstore.TokenPrefix + "test-ga-" + strings.Repeat("x", 32)}
	if err := st.CreateToken(context.Background(), ten.ID, "ga", store.RoleGlobalAdmin, h.ga); err != nil {
		t.Fatal(err)
	}
	out := h.must(201, h.ga, "POST", "/allot/v1/apiClients", map[string]any{"displayName": "Entra provisioning", "scopes": []string{"SCIM.Provisioning"}})
	h.scim, h.scimID = out["token"].(string), out["id"].(string)
	return h
}

// do sends a request with the token and returns the status and JSON body.
func (h *harness) do(token, method, path string, body any, headers ...string) (int, map[string]any, http.Header) {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, h.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			h.t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, raw)
		}
	}
	if resp.StatusCode >= 500 && resp.StatusCode != 501 {
		h.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, m, resp.Header
}

func (h *harness) must(want int, token, method, path string, body any, headers ...string) map[string]any {
	h.t.Helper()
	st, m, _ := h.do(token, method, path, body, headers...)
	if st != want {
		h.t.Fatalf("%s %s: status %d, want %d: %v", method, path, st, want, m)
	}
	return m
}

// sc sends a SCIM request with the SCIM client's token.
func (h *harness) sc(want int, method, path string, body any, headers ...string) map[string]any {
	h.t.Helper()
	return h.must(want, h.scim, method, "/scim/v2"+path, body, headers...)
}

// scimError checks a SCIM error response: status, scimType, schemas.
func (h *harness) scimError(wantStatus int, wantType, method, path string, body any, headers ...string) map[string]any {
	h.t.Helper()
	st, m, hd := h.do(h.scim, method, "/scim/v2"+path, body, headers...)
	if st != wantStatus {
		h.t.Fatalf("%s %s: status %d, want %d: %v", method, path, st, wantStatus, m)
	}
	if ct := hd.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		h.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if s, _ := m["schemas"].([]any); len(s) != 1 || s[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		h.t.Errorf("%s %s: schemas %v", method, path, m["schemas"])
	}
	if m["status"] != fmt.Sprint(wantStatus) {
		h.t.Errorf("%s %s: status field %v", method, path, m["status"])
	}
	if got, _ := m["scimType"].(string); got != wantType {
		h.t.Errorf("%s %s: scimType %q, want %q (%v)", method, path, got, wantType, m["detail"])
	}
	if d, _ := m["detail"].(string); d == "" {
		h.t.Errorf("%s %s: no detail", method, path)
	}
	return m
}

func (h *harness) drain() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := reconcile.New(h.st, h.log).Drain(ctx); err != nil {
		h.t.Fatal(err)
	}
}

// createUser provisions a user through SCIM and returns its id.
func (h *harness) createUser(userName string, extra map[string]any) string {
	h.t.Helper()
	body := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": userName,
		"active": true, "displayName": userName}
	for k, v := range extra {
		body[k] = v
	}
	return h.sc(201, "POST", "/Users", body)["id"].(string)
}

func resources(m map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range m["Resources"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

func ids(m map[string]any) []string {
	var out []string
	for _, r := range resources(m) {
		out = append(out, r["id"].(string))
	}
	return out
}

// on returns the harness reporting to t (a subtest's).
func (h *harness) on(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}
