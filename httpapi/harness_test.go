package httpapi

// Test harness for allot's HTTP API. Every API test goes through a real
// HTTP server (httptest.NewServer) serving New(st, log, limits).Handler() on a
// fresh store (DefaultLimits without the per-token rate limit), so tests see
// exactly what a client sees: status codes, headers and the Graph error
// envelope.
//
// Typical use:
//
//	func TestSomething(t *testing.T) {
//		forEachEngine(t, func(t *testing.T, open storeOpener) {
//			h := newHarness(t, open)          // tenant "Contoso" (NAM, US) with defaultProducts and a GA token
//			c := h.A                          // a client bound to that tenant's token
//			u := c.createUser("adele@contoso.com", "US")
//			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{c.sku("SPE_E5")}, nil))
//			b := h.newTenant("Fabrikam", "EUR", "DE", nil) // a second tenant, for isolation tests
//		})
//	}
//
// Store engines: a test that calls forEachEngine runs once per entry of
// engines. The SQLite engine is always there; the PostgreSQL engine adds
// itself to engines (for example from an init function in a _test.go file,
// when a test database is configured), and every API test then runs on it too
// without any change.
//
// Helpers: client.do/must/expectError/listAll (follows @odata.nextLink),
// response.object/values/graphError, createUser/createGroup/addMember/assign,
// sku/consumed/userSkus, snapshot/unchanged (a tenant's whole visible state,
// to prove a refused request changed nothing), harness.drain (runs group
// licensing to completion), harness.newClient (a token with another role).
//
// Safety nets that every test gets for free:
//   - any response with status 500 or more fails the test (bad input must never
//     answer 5xx), unless the client was built with allow5xx;
//   - any error logged by the server (internal errors are logged) fails the
//     test when it ends.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"allot"
	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
)

// storeOpener opens a fresh, empty, migrated store for one test and registers
// its cleanup (t.Cleanup). Each store engine provides one.
type storeOpener func(t *testing.T) *sqlstore.Store

// engine is a store engine the API tests run on.
type engine struct {
	name string
	open storeOpener
}

// engines lists the store engines every API test runs on. A PostgreSQL
// engine appends itself here.
var engines = []engine{{name: "sqlite", open: openSQLiteStore}}

// openSQLiteStore opens a fresh SQLite store in a temporary directory.
func openSQLiteStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("open SQLite store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// forEachEngine runs fn as a subtest named after each store engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, open storeOpener)) {
	t.Helper()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { fn(t, e.open) })
	}
}

// defaultProducts are the catalog products (skuPartNumber → seats) that the
// harness's first tenant subscribes to.
var defaultProducts = map[string]int{
	"SPE_E3":                       100,
	"SPE_E5":                       50,
	"ENTERPRISEPACK":               10,
	"WORKPLACE_ANALYTICS_INSIGHTS": 25,
	"EXCHANGESTANDARD":             20,
	"EXCHANGEENTERPRISE":           20,
}

// harness is one HTTP server on one fresh store.
type harness struct {
	t      *testing.T
	st     *sqlstore.Store
	server *Server // the handlers; server.Routes() lists every route
	srv    *httptest.Server
	hc     *http.Client
	logs   *errorLog
	tokens int // tokens issued, to make each one unique
	// active counts the requests the server is handling: a client that
	// hangs up returns at once, while its handler may still be writing.
	active atomic.Int64

	// A is the first tenant: "Contoso", dataLocation NAM, defaultUsageLocation
	// US, subscribed to defaultProducts, with a Global Administrator token.
	A *client
}

// newHarness starts a server on a fresh store from open and creates tenant A.
func newHarness(t *testing.T, open storeOpener) *harness {
	t.Helper()
	st := open(t)
	logs := &errorLog{}
	log := slog.New(logs)
	limits := DefaultLimits
	limits.RatePerSecond = 0            // API tests send bursts with one token; auth_test.go tests the rate limit
	limits.Webhooks.AllowPrivate = true // receivers are httptest servers on 127.0.0.1; webhooks_safety_test.go tests the default
	server := New(st, log, limits)
	h := &harness{t: t, st: st, server: server, logs: logs}
	handler := server.Handler()
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.active.Add(1)
		defer h.active.Add(-1)
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 256
	t.Cleanup(tr.CloseIdleConnections)
	h.hc = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	t.Cleanup(func() {
		if msgs := logs.take(); len(msgs) > 0 {
			t.Errorf("the server logged %d error(s):\n%s", len(msgs), strings.Join(msgs, "\n"))
		}
	})
	h.A = h.newTenant("Contoso", "NAM", "US", defaultProducts)
	return h
}

// newTenant creates a tenant with a Global Administrator token, subscribes it
// to products (skuPartNumber → seats, through the admin API) and returns a
// client bound to the token.
func (h *harness) newTenant(name, dataLocation, usageLocation string, products map[string]int) *client {
	h.t.Helper()
	ctx := context.Background()
	ten, err := h.st.CreateTenant(ctx, name, dataLocation, usageLocation)
	if err != nil {
		h.t.Fatalf("create tenant %s: %v", name, err)
	}
	c := h.newClient(ten, store.RoleGlobalAdmin)
	parts := make([]string, 0, len(products))
	for p := range products {
		parts = append(parts, p)
	}
	sort.Strings(parts)
	for _, p := range parts {
		c.must(201, "POST", "/allot/v1/subscribedSkus", map[string]any{"skuPartNumber": p, "enabledUnits": products[p]})
	}
	return c
}

// newClient creates an API token with the role in tenant ten and returns a
// client that sends it.
func (h *harness) newClient(ten *allot.Tenant, role string) *client {
	h.t.Helper()
	h.tokens++
	raw := fmt.Sprintf("%stest-%s-%d-%s", sqlstore.TokenPrefix, strings.ReplaceAll(ten.DisplayName, " ", ""), h.tokens, strings.Repeat("x", 32))
	if err := h.st.CreateToken(context.Background(), ten.ID, fmt.Sprintf("test token %d", h.tokens), role, raw); err != nil {
		h.t.Fatalf("create token: %v", err)
	}
	return &client{h: h, t: h.t, Tenant: ten, Token: raw}
}

// settle waits until the server handles no request: the handlers of
// clients that hung up have returned, so their writes are committed or
// rolled back, and reading the store sees the end state.
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for h.active.Load() > 0 {
		if time.Now().After(deadline) {
			h.t.Fatalf("the server still handles %d request(s) after a minute", h.active.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

// drain runs group-based licensing until every pending mark is processed.
func (h *harness) drain() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := reconcile.New(h.st, slog.New(h.logs)).Drain(ctx); err != nil {
		h.t.Fatalf("drain group licensing: %v", err)
	}
}

// errorLog is a slog handler that keeps the messages of error records.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "stack" {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		}
		return true
	})
	l.mu.Lock()
	l.msgs = append(l.msgs, b.String())
	l.mu.Unlock()
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }
func (l *errorLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.msgs
	l.msgs = nil
	return m
}

// ---- client ----

// client calls the API with one tenant's token. Its methods that take no
// *testing.T fail c.t; use with(t) inside subtests, and send (which never
// fails a test) from other goroutines.
type client struct {
	h        *harness
	t        *testing.T
	Tenant   *allot.Tenant
	Token    string
	allow5xx bool
}

// with returns a copy of c that reports failures to t.
func (c *client) with(t *testing.T) *client {
	cc := *c
	cc.t = t
	return &cc
}

// response is one HTTP response with its body read.
type response struct {
	Method, Path string
	Status       int
	Header       http.Header
	Body         []byte
}

func (r *response) String() string {
	body := string(r.Body)
	if len(body) > 2000 {
		body = body[:2000] + "…"
	}
	return fmt.Sprintf("%s %s → %d %s", r.Method, r.Path, r.Status, body)
}

// encodeBody turns a request body argument into bytes: nil is no body, a
// string or []byte is sent as is, anything else as JSON.
func encodeBody(body any) (io.Reader, error) {
	switch b := body.(type) {
	case nil:
		return nil, nil
	case string:
		return strings.NewReader(b), nil
	case []byte:
		return bytes.NewReader(b), nil
	case io.Reader:
		return b, nil
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(data), nil
}

// send makes one request and never fails the test: safe in any goroutine.
func (c *client) send(method, path string, body any) (*response, error) {
	rd, err := encodeBody(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(method, c.h.srv.URL+path, rd)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.h.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &response{Method: method, Path: path, Status: res.StatusCode, Header: res.Header, Body: data}, nil
}

// do makes one request; a transport error or a 5xx answer fails the test.
func (c *client) do(method, path string, body any) *response {
	c.t.Helper()
	r, err := c.send(method, path, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if r.Status >= 500 && !c.allow5xx {
		c.t.Errorf("server error: %s", r)
	}
	return r
}

// must makes a request and fails the test unless it answers status.
func (c *client) must(status int, method, path string, body any) *response {
	c.t.Helper()
	r := c.do(method, path, body)
	if r.Status != status {
		c.t.Fatalf("want %d: %s", status, r)
	}
	return r
}

// getJSON GETs path, requires 200 and returns the decoded object.
func (c *client) getJSON(path string) map[string]any {
	c.t.Helper()
	return c.must(200, "GET", path, nil).object(c.t)
}

// object decodes the body as a JSON object.
func (r *response) object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("decode %s: %v", r, err)
	}
	return m
}

// values decodes a collection response and returns its "value" items.
func (r *response) values(t testing.TB) []map[string]any {
	t.Helper()
	var m struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("decode %s: %v", r, err)
	}
	return m.Value
}

// graphErr is a decoded Graph error envelope.
type graphErr struct {
	Code, Message, Date, RequestID string
	// Precise is allot's own code (details[0].code), PreciseMessage its
	// message.
	Precise, PreciseMessage string
}

// graphError decodes r's Graph error envelope and checks its shape: a code, a
// message, and innerError with date and request-id.
func (r *response) graphError(t testing.TB) graphErr {
	t.Helper()
	var e struct {
		Error *struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError *struct {
				Date      string `json:"date"`
				RequestID string `json:"request-id"`
				ClientID  string `json:"client-request-id"`
			} `json:"innerError"`
			Details []struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error == nil {
		t.Fatalf("not a Graph error envelope: %s", r)
	}
	if e.Error.Code == "" || e.Error.Message == "" || e.Error.InnerError == nil ||
		e.Error.InnerError.Date == "" || e.Error.InnerError.RequestID == "" || e.Error.InnerError.ClientID == "" ||
		len(e.Error.Details) == 0 || e.Error.Details[0].Code == "" || e.Error.Details[0].Message == "" {
		t.Errorf("incomplete Graph error envelope: %s", r)
		return graphErr{}
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q: %s", ct, r)
	}
	return graphErr{Code: e.Error.Code, Message: e.Error.Message, Date: e.Error.InnerError.Date, RequestID: e.Error.InnerError.RequestID,
		Precise: e.Error.Details[0].Code, PreciseMessage: e.Error.Details[0].Message}
}

// expectError makes a request and requires an error answer with the status
// and, when code is not "", the error code: Graph's top-level code
// (Request_BadRequest) or allot's precise one in details[0]
// (noSeatsAvailable), which never coincide. It returns the error.
func (c *client) expectError(status int, code, method, path string, body any) graphErr {
	c.t.Helper()
	r := c.do(method, path, body)
	if r.Status != status {
		c.t.Errorf("want %d %s: %s", status, code, r)
		return graphErr{}
	}
	e := r.graphError(c.t)
	if code != "" && e.Code != code && e.Precise != code {
		c.t.Errorf("want error code %s, got %s: %s", code, e.Code, r)
	}
	return e
}

// listAll GETs a collection and follows @odata.nextLink to the end,
// returning every item. It fails on a repeated nextLink (a paging loop).
func (c *client) listAll(path string) []map[string]any {
	c.t.Helper()
	var out []map[string]any
	seen := map[string]bool{}
	for path != "" {
		if seen[path] {
			c.t.Fatalf("paging loop: %s returned again", path)
		}
		seen[path] = true
		var page struct {
			Value []map[string]any `json:"value"`
			Next  string           `json:"@odata.nextLink"`
		}
		r := c.must(200, "GET", path, nil)
		if err := json.Unmarshal(r.Body, &page); err != nil {
			c.t.Fatalf("decode %s: %v", r, err)
		}
		out = append(out, page.Value...)
		path = ""
		if page.Next != "" {
			path = c.h.relative(page.Next)
		}
	}
	return out
}

// relative turns an absolute URL from the server (an @odata.nextLink) into a
// path with query.
func (h *harness) relative(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		h.t.Fatalf("bad link %q: %v", link, err)
	}
	if !strings.HasPrefix(link, h.srv.URL) {
		h.t.Errorf("link %q does not point at the server %s", link, h.srv.URL)
	}
	return u.RequestURI()
}

// ---- directory and licensing helpers ----

// createUser creates a user with the userPrincipalName and usageLocation
// ("" for none) and returns its id.
func (c *client) createUser(upn, usageLocation string) string {
	c.t.Helper()
	body := map[string]any{"userPrincipalName": upn, "displayName": strings.Split(upn, "@")[0], "accountEnabled": true}
	if usageLocation != "" {
		body["usageLocation"] = usageLocation
	}
	return c.must(201, "POST", "/v1.0/users", body).object(c.t)["id"].(string)
}

// createGroup creates a security group and returns its id.
func (c *client) createGroup(name string) string {
	c.t.Helper()
	return c.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": name, "mailEnabled": false,
		"securityEnabled": true, "mailNickname": strings.ReplaceAll(name, " ", "")}).object(c.t)["id"].(string)
}

// refBody is the body of POST /groups/{id}/members/$ref for a member id.
func refBody(id string) map[string]any {
	return map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + id}
}

// addMember adds a user or group to a group.
func (c *client) addMember(groupID, memberID string) {
	c.t.Helper()
	c.must(204, "POST", "/v1.0/groups/"+groupID+"/members/$ref", refBody(memberID))
}

// assignBody is an assignLicense body adding skus (no plans disabled) and
// removing remove.
func assignBody(add, remove []string) map[string]any {
	adds := []map[string]any{}
	for _, s := range add {
		adds = append(adds, map[string]any{"skuId": s, "disabledPlans": []string{}})
	}
	if remove == nil {
		remove = []string{}
	}
	return map[string]any{"addLicenses": adds, "removeLicenses": remove}
}

// assign calls POST /users/{id}/assignLicense and returns the response.
func (c *client) assign(userID string, add, remove []string) *response {
	c.t.Helper()
	return c.do("POST", "/v1.0/users/"+userID+"/assignLicense", assignBody(add, remove))
}

// sku returns the skuId of the tenant's product with the skuPartNumber.
func (c *client) sku(part string) string {
	c.t.Helper()
	return c.getJSON("/v1.0/subscribedSkus/" + part)["skuId"].(string)
}

// consumed returns the consumedUnits and prepaidUnits.enabled of a product
// (by skuId or skuPartNumber).
func (c *client) consumed(ref string) (consumed, enabled int) {
	c.t.Helper()
	m := c.getJSON("/v1.0/subscribedSkus/" + ref)
	return int(m["consumedUnits"].(float64)), int(m["prepaidUnits"].(map[string]any)["enabled"].(float64))
}

// userSkus returns the skuIds of the user's assignedLicenses, sorted.
func (c *client) userSkus(userID string) []string {
	c.t.Helper()
	u := c.getJSON("/v1.0/users/" + userID)
	var out []string
	for _, l := range u["assignedLicenses"].([]any) {
		out = append(out, l.(map[string]any)["skuId"].(string))
	}
	sort.Strings(out)
	return out
}

// snapshot returns the tenant's whole visible state as canonical JSON: users
// with their licenses, groups with their direct members, products with seat
// counts, and the audit log. Two equal snapshots mean nothing observable
// changed.
func (c *client) snapshot() string {
	c.t.Helper()
	state := map[string]any{}
	state["users"] = c.listAll("/v1.0/users?$top=999")
	groups := c.listAll("/v1.0/groups?$top=999")
	state["groups"] = groups
	members := map[string]any{}
	for _, g := range groups {
		id := g["id"].(string)
		members[id] = c.listAll("/v1.0/groups/" + id + "/members?$top=999")
	}
	state["members"] = members
	state["skus"] = c.listAll("/v1.0/subscribedSkus")
	state["audit"] = c.listAll("/v1.0/auditLogs/directoryAudits?$top=999")
	b, err := json.MarshalIndent(state, "", " ")
	if err != nil {
		c.t.Fatalf("snapshot: %v", err)
	}
	return string(b)
}

// unchanged fails the test if the tenant's snapshot differs from before,
// showing the first difference.
func (c *client) unchanged(before, what string) {
	c.t.Helper()
	after := c.snapshot()
	if after == before {
		return
	}
	bl, al := strings.Split(before, "\n"), strings.Split(after, "\n")
	for i := 0; i < len(bl) || i < len(al); i++ {
		var b, a string
		if i < len(bl) {
			b = bl[i]
		}
		if i < len(al) {
			a = al[i]
		}
		if a != b {
			c.t.Errorf("%s changed the tenant's state %q; first difference at line %d:\n  before: %s\n  after:  %s", what, c.Tenant.DisplayName, i+1, b, a)
			return
		}
	}
}

// jsonUnmarshal is json.Unmarshal, for test files that do not import encoding/json.
func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// raceEnabled tells whether the test binary was built with -race
// (race_on_test.go sets it).
var raceEnabled bool

// concurrencyRounds returns how many rounds TestConcurrencyAssignExactSeats
// runs: ALLOT_TEST_ROUNDS when set; else 50, or 10 under the race detector,
// where every request costs about ten times more CPU (the SQLite engine is Go
// code, instrumented too). ALLOT_TEST_ROUNDS=50 go test -race runs the full
// 50 rounds under the race detector.
func concurrencyRounds() int {
	if n, err := strconv.Atoi(os.Getenv("ALLOT_TEST_ROUNDS")); err == nil && n > 0 {
		return n
	}
	if raceEnabled {
		return 10
	}
	return 50
}
