package httpapi

import (
	"bufio"
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

	"allot/store"
	"allot/store/sqlstore"
)

// opsEnv is a real server on a real SQLite store whose log is kept as JSON
// lines at DEBUG, for the tests of logs, metrics and proxies.
type opsEnv struct {
	t      *testing.T
	st     *sqlstore.Store
	server *Server
	srv    *httptest.Server
	logs   *lineLog
	token  string
	tenant string // GUID
}

// lineLog is a concurrency-safe buffer of JSON log lines.
type lineLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// records returns the log records, parsed.
func (l *lineLog) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// withMsg returns the records with the message.
func (l *lineLog) withMsg(t *testing.T, msg string) []map[string]any {
	var out []map[string]any
	for _, r := range l.records(t) {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// newOpsEnv starts the server; configure, if given, runs before it serves.
func newOpsEnv(t *testing.T, configure func(*Server)) *opsEnv {
	t.Helper()
	st := openSQLiteStore(t)
	logs := &lineLog{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	limits := DefaultLimits
	limits.RatePerSecond = 0
	server := New(st, log, limits)
	if configure != nil {
		configure(server)
	}
	srv := httptest.NewServer(server.Handler())
	t.Cleanup(srv.Close)
	e := &opsEnv{t: t, st: st, server: server, srv: srv, logs: logs}
	ctx := context.Background()
	ten, err := st.CreateTenant(ctx, "Contoso", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	e.tenant = ten.GUID
	e.token = sqlstore.TokenPrefix + "ops-test-" + strings.Repeat("x", 32)
	if err := st.CreateToken(ctx, ten.ID, "ops test", store.RoleGlobalAdmin, e.token); err != nil {
		t.Fatal(err)
	}
	return e
}

// do sends a request with the token and returns the status, headers and body.
func (e *opsEnv) do(method, path, body string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// noErrors fails the test when the server logged at ERROR.
func (e *opsEnv) noErrors() {
	e.t.Helper()
	for _, r := range e.logs.records(e.t) {
		if r["level"] == "ERROR" {
			e.t.Errorf("the server logged an error: %v", r)
		}
	}
}

var _ = fmt.Sprint
