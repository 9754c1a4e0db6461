package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestWebhooksGoToPublicHTTPSByDefault: with allot's default limits (no
// --webhook-allow-private), a subscription or an alert rule whose URL is
// plain http, a loopback, private or link-local address, or localhost is
// refused with 400 and the Graph error envelope, before any handshake is
// sent there, and nothing is created.
func TestWebhooksGoToPublicHTTPSByDefault(t *testing.T) {
	h := newHarness(t, openSQLiteStore)
	c := h.A.with(t)
	handshakes := 0
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handshakes++
		io.WriteString(w, r.URL.Query().Get("validationToken"))
	}))
	defer rc.Close()
	limits := DefaultLimits
	limits.RatePerSecond = 0
	strict := httptest.NewServer(New(h.st, slog.New(h.logs), limits).Handler())
	defer strict.Close()
	post := func(path string, body any) (int, string) {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", strict.URL+path, bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+c.Token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var e struct {
			Error struct{ Code, Message string }
		}
		json.NewDecoder(res.Body).Decode(&e)
		return res.StatusCode, e.Error.Message
	}
	for _, u := range []string{rc.URL, strings.Replace(rc.URL, "http://", "https://", 1), "https://localhost/hook",
		"https://169.254.169.254/latest/meta-data", "https://10.0.0.7/hook", "https://[::1]/hook"} {
		status, msg := post("/v1.0/subscriptions", subBody(u, "users", "s", time.Hour))
		if status != 400 || !strings.Contains(msg, "--webhook-allow-private") && !strings.Contains(msg, "https") {
			t.Errorf("subscription to %s: %d %q, want 400 saying why", u, status, msg)
		}
		status, msg = post("/allot/v1/alertRules", map[string]any{"displayName": "low", "product": "SPE_E3",
			"metric": "availableSeats", "threshold": 1, "webhookUrl": u})
		if status != 400 || !strings.Contains(msg, "refused") {
			t.Errorf("alert rule to %s: %d %q, want 400 saying why", u, status, msg)
		}
	}
	if handshakes != 0 {
		t.Errorf("%d validation handshakes reached the refused receiver", handshakes)
	}
	if subs := c.must(200, "GET", "/v1.0/subscriptions", nil).values(t); len(subs) != 0 {
		t.Errorf("%d subscriptions exist after refusals", len(subs))
	}
	if rules := c.must(200, "GET", "/allot/v1/alertRules", nil).values(t); len(rules) != 0 {
		t.Errorf("%d alert rules exist after refusals", len(rules))
	}
	// The same receiver is accepted where the operator allows it (the
	// harness's server does).
	c.must(201, "POST", "/v1.0/subscriptions", subBody(rc.URL, "users", "s", time.Hour))
}
