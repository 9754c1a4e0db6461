package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"allot"
	"allot/store/sqlstore"
)

// TestShutdownFinishesRequestsInFlight: when `allot serve` is told to stop
// (its context ends, as on SIGINT or SIGTERM) while a request's body is
// still arriving over TCP, it stops accepting connections, answers that
// request in full (201, the user created) and then exits without an error.
func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	token := sqlstore.TokenPrefix + "shutdown-" + strings.Repeat("s", 32)
	t.Setenv("ALLOT_ADMIN_TOKEN", token)
	t.Setenv("ALLOT_DB", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	root := newRoot()
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	root.SetArgs([]string{"serve", "--data", t.TempDir(), "--addr", addr, "--log-level", "error"})
	exited := make(chan error, 1)
	go func() { exited <- root.ExecuteContext(ctx) }()
	waitReady(t, "http://"+addr+"/readyz", exited)

	body := `{"accountEnabled":true,"displayName":"Late Comer","mailNickname":"late","userPrincipalName":"late@contoso.com","usageLocation":"US","passwordProfile":{"password":"a long enough password 1"}}`
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1.0/users HTTP/1.1\r\nHost: allot\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		token, len(body), body[:20])
	time.Sleep(200 * time.Millisecond) // the server is reading the body
	stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break // no longer accepting
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections 5 s after it was told to stop")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := io.WriteString(conn, body[20:]); err != nil {
		t.Fatalf("the request in flight was cut: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the request in flight: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || !strings.Contains(string(b), "late@contoso.com") {
		t.Fatalf("the request in flight got %d %s, want 201 with the user", resp.StatusCode, b)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve ended with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not end after the request in flight was answered")
	}
}

// waitReady polls url until it answers 200, or fails the test.
func waitReady(t *testing.T, url string, exited <-chan error) {
	t.Helper()
	for range 200 {
		select {
		case err := <-exited:
			t.Fatalf("serve ended before it was ready: %v", err)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered 200", url)
}

// TestHealthCommand: `allot health` exits 0 when /readyz answers 200, and
// fails (EUnavailable, exit 1) on another status or no answer.
func TestHealthCommand(t *testing.T) {
	status := 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	if out, err := runCmd(t, "health", "--url", srv.URL+"/readyz"); err != nil || !strings.Contains(out, "ready") {
		t.Errorf("ready server: %v %s", err, out)
	}
	status = 503
	if _, err := runCmd(t, "health", "--url", srv.URL+"/readyz"); allot.ErrorCode(err) != allot.EUnavailable || exitCode(allot.ErrorCode(err)) != 1 {
		t.Errorf("503: %v, want unavailable (exit 1)", err)
	}
	srv.Close()
	if _, err := runCmd(t, "health", "--url", srv.URL+"/readyz", "--timeout", "1s"); allot.ErrorCode(err) != allot.EUnavailable {
		t.Errorf("no server: %v, want unavailable", err)
	}
}
