package httpapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestAccessLogOneLinePerRequest: every request, answered or refused, gets
// exactly one INFO "request" line with the method, the route pattern (not
// the path), the status, the body bytes, the duration, the request id the
// client saw, and the caller once authenticated.
func TestAccessLogOneLinePerRequest(t *testing.T) {
	e := newOpsEnv(t, nil)
	status, hdr, body := e.do("POST", "/v1.0/users", `{"accountEnabled":true,"displayName":"Adele","userPrincipalName":"adele@contoso.com","usageLocation":"US"}`)
	if status != 201 {
		t.Fatalf("create user: %d %s", status, body)
	}
	id := jsonField(t, body, "id")
	status, hdr, body = e.do("GET", "/v1.0/users/"+id, "")
	if status != 200 {
		t.Fatalf("get user: %d", status)
	}
	e.do("GET", "/v1.0/nothing/here", "")
	// A line is written once its answer is, which the client may see first.
	lines := e.logs.withMsg(t, "request")
	for start := time.Now(); len(lines) < 3 && time.Since(start) < 5*time.Second; time.Sleep(10 * time.Millisecond) {
		lines = e.logs.withMsg(t, "request")
	}
	if len(lines) != 3 {
		t.Fatalf("%d access-log lines for 3 requests: %v", len(lines), lines)
	}
	get := lines[1]
	want := map[string]any{"level": "INFO", "method": "GET", "route": "GET /v1.0/users/{id}", "path": "/v1.0/users/" + id,
		"status": float64(200), "bytes": float64(len(body)), "request-id": hdr.Get("request-id"),
		"tenant": e.tenant}
	for k, v := range want {
		if get[k] != v {
			t.Errorf("access line %s = %v, want %v (line %v)", k, get[k], v, get)
		}
	}
	if d, _ := get["duration"].(float64); d <= 0 {
		t.Errorf("access line duration %v, want > 0", get["duration"])
	}
	if p, _ := get["principal"].(string); !strings.Contains(p, ":") {
		t.Errorf("access line principal %q, want the token's caller", p)
	}
	if lines[2]["route"] != "/v1.0/" || lines[2]["status"] != float64(400) {
		t.Errorf("unknown path: route %v status %v, want the catch-all /v1.0/ and 400 (an unknown segment is a bad request, as on Graph)", lines[2]["route"], lines[2]["status"])
	}
	e.noErrors()
}

// TestClientGoneIsNotAnError: a request whose client went away (its context
// canceled while the store works) is logged at DEBUG and recorded as 499,
// never at ERROR: a client cannot flood the error log by hanging up.
func TestClientGoneIsNotAnError(t *testing.T) {
	e := newOpsEnv(t, nil)
	for _, path := range []string{"/v1.0/users", "/v1.0/subscribedSkus", "/allot/v1/apiClients"} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req := httptest.NewRequest("GET", path, nil).WithContext(ctx)
		req.Header.Set("Authorization", "Bearer "+e.token)
		rec := httptest.NewRecorder()
		e.server.Handler().ServeHTTP(rec, req)
		if rec.Code != StatusClientClosed {
			t.Errorf("GET %s with the client gone: %d, want %d", path, rec.Code, StatusClientClosed)
		}
	}
	e.noErrors()
	if n := len(e.logs.withMsg(t, "client went away")); n != 3 {
		t.Errorf("%d DEBUG 'client went away' lines, want 3", n)
	}
	for _, l := range e.logs.withMsg(t, "request") {
		if l["status"] != float64(StatusClientClosed) {
			t.Errorf("access line status %v, want 499", l["status"])
		}
	}
}

// TestReadyzHidesTheDatabaseError: /readyz with the database gone answers
// 503 with a generic message; the database's own error is in the log only.
func TestReadyzHidesTheDatabaseError(t *testing.T) {
	e := newOpsEnv(t, nil)
	if status, _, _ := e.do("GET", "/readyz", ""); status != 200 {
		t.Fatalf("/readyz: %d, want 200", status)
	}
	e.st.Close()
	status, _, body := e.do("GET", "/readyz", "")
	if status != 503 || !strings.Contains(string(body), "server log") || strings.Contains(string(body), "sql") {
		t.Fatalf("/readyz with the database closed: %d %s; want 503 with a generic message", status, body)
	}
	found := false
	for _, r := range e.logs.withMsg(t, "readiness check: the database does not answer") {
		found = found || strings.Contains(r["err"].(string), "sql")
	}
	if !found {
		t.Errorf("the database error is not in the log")
	}
}

// jsonField returns a string field of a JSON object.
func jsonField(t *testing.T, body []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	s, _ := m[name].(string)
	return s
}
