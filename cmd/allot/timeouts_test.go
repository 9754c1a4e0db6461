package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"allot"
	"allot/httpapi"
	"allot/store"
	"allot/store/sqlstore"
)

// timedServer is the real API (newHTTPServer over httpapi on SQLite) on a
// loopback port, with the connections it closed counted.
type timedServer struct {
	addr   string
	token  string
	mu     sync.Mutex
	closed int
	logs   *strings.Builder
}

func startTimed(t *testing.T, to timeouts, users int) *timedServer {
	t.Helper()
	ctx := context.Background()
	logs := &strings.Builder{}
	var lmu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedW{&lmu, logs}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir(), sqlstore.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ten, err := st.CreateTenant(ctx, "Contoso", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	ts := &timedServer{token: sqlstore.TokenPrefix + "timeouts-" + strings.Repeat("x", 32), logs: logs}
	if err := st.CreateToken(ctx, ten.ID, "t", store.RoleGlobalAdmin, ts.token); err != nil {
		t.Fatal(err)
	}
	us := make([]*allot.User, users)
	for i := range us {
		us[i] = &allot.User{UserPrincipalName: fmt.Sprintf("user%05d@contoso.com", i), DisplayName: strings.Repeat("D", 200),
			UsageLocation: "US", AccountEnabled: true}
	}
	if users > 0 {
		if err := st.CreateUsersBulk(ctx, allot.Actor{Kind: "system", ID: "t"}, ten.ID, us); err != nil {
			t.Fatal(err)
		}
	}
	limits := httpapi.DefaultLimits
	limits.RatePerSecond = 0
	srv := newHTTPServer(httpapi.New(st, log, limits).Handler(), to, log)
	srv.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			ts.mu.Lock()
			ts.closed++
			ts.mu.Unlock()
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ts
}

type lockedW struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedW) Write(p []byte) (int, error) { w.mu.Lock(); defer w.mu.Unlock(); return w.b.Write(p) }

func (ts *timedServer) closedConns() int { ts.mu.Lock(); defer ts.mu.Unlock(); return ts.closed }

// TestSlowBodyIsCutOff: a client that sends its body one byte every 50 ms
// over TCP gets a 400 and a closed connection once --read-timeout (1 s)
// has passed, long before its 1,000-byte body would have arrived (50 s).
func TestSlowBodyIsCutOff(t *testing.T) {
	ts := startTimed(t, timeouts{readHeader: time.Second, read: time.Second, write: 5 * time.Second, idle: 5 * time.Second}, 0)
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /v1.0/users HTTP/1.1\r\nHost: allot\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", ts.token)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // the slow body, bounded: 1,000 bytes at most, until the server hangs up
		for range 1000 {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("no answer to the slow body after %s: %v", took, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "read timeout") || took > 4*time.Second {
		t.Fatalf("slow body: %d %s after %s; want 400 naming the read timeout within about 1 s", resp.StatusCode, body, took)
	}
	if strings.Contains(ts.logs.String(), "level=ERROR") {
		t.Errorf("a slow client made the server log an error:\n%s", ts.logs.String())
	}
}

// TestClientThatNeverReadsIsCutOff: a client that pipelines requests for
// large pages (about 300 kB each) over one TCP connection and never reads
// the answers fills the socket buffers; --write-timeout (1 s) then closes
// the connection, so the answers do not stay pinned in memory.
func TestClientThatNeverReadsIsCutOff(t *testing.T) {
	ts := startTimed(t, timeouts{readHeader: 2 * time.Second, read: 2 * time.Second, write: time.Second, idle: 30 * time.Second}, 1000)
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	var reqs strings.Builder
	for range 40 {
		fmt.Fprintf(&reqs, "GET /v1.0/users?$top=999 HTTP/1.1\r\nHost: allot\r\nAuthorization: Bearer %s\r\n\r\n", ts.token)
	}
	if _, err := conn.Write([]byte(reqs.String())); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for ts.closedConns() == 0 {
		if time.Since(start) > 8*time.Second {
			t.Fatalf("the server still holds the connection of a client that never reads after %s", time.Since(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("connection closed %s after the requests", time.Since(start).Round(time.Millisecond))
}
