package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"allot"
	"allot/client"
	"allot/csvimport"
	"allot/httpapi"
)

// TestClientCommandsHaveExamples: every client command shows an example in
// --help, and every command that takes arguments says which in Use.
func TestClientCommandsHaveExamples(t *testing.T) {
	root := newRoot()
	mine := map[string]bool{"login": true, "logout": true, "whoami": true, "skus": true, "users": true, "groups": true,
		"license": true, "clients": true, "import": true, "report": true, "completion": true}
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		n++
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no Example", c.CommandPath())
		}
		if c.Short == "" {
			t.Errorf("%q has no Short", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	for _, c := range root.Commands() {
		if mine[c.Name()] {
			walk(c)
		}
		if c.Name() == "bench" {
			for _, sub := range c.Commands() {
				if sub.Name() == "import" {
					walk(sub)
				}
			}
		}
	}
	if n < 30 {
		t.Fatalf("walked only %d client commands", n)
	}
}

func TestCLIErrorMapping(t *testing.T) {
	cases := []struct {
		err  error
		code allot.Code
		exit int
		msg  string
	}{
		{&client.Error{Status: 400, Code: "noSeatsAvailable", GraphCode: "Request_BadRequest", Message: "No seats left."}, allot.ENoSeats, 1, "No seats left. (noSeatsAvailable)"},
		{&client.Error{Status: 400, Code: "invalid", GraphCode: "Request_BadRequest", Message: "Bad."}, allot.EInvalid, 2, "Bad. (Request_BadRequest)"},
		{&client.Error{Status: 400, Code: "unsupportedQuery", GraphCode: "Request_UnsupportedQuery", Message: "No."}, allot.EInvalid, 2, "No. (Request_UnsupportedQuery)"},
		{&client.Error{Status: 404, Code: "notFound", GraphCode: "Request_ResourceNotFound", Message: "Gone."}, allot.ENotFound, 3, "Gone. (Request_ResourceNotFound)"},
		{&client.Error{Status: 409, Code: "licenseLossNotConfirmed", GraphCode: "licenseLossNotConfirmed", Message: "Loss."}, allot.ELicenseLoss, 5, "Loss."},
		// A server that sends no details: the top-level code.
		{&client.Error{Status: 400, Code: "noSeatsAvailable", Message: "No seats left."}, allot.ENoSeats, 1, "No seats left. (noSeatsAvailable)"},
		{&client.Error{Status: 400, Code: "Request_BadRequest", Message: "Bad."}, allot.EInvalid, 2, "Bad. (Request_BadRequest)"},
		{&client.Error{Status: 404, Code: "Request_ResourceNotFound", Message: "Gone."}, allot.ENotFound, 3, "Gone. (Request_ResourceNotFound)"},
		{&client.Error{Status: 401, Code: "InvalidAuthenticationToken", Message: "Expired."}, allot.EUnauthorized, 4, "allot login"},
		{&client.Error{Status: 403, Code: "Authorization_RequestDenied", Message: "No."}, allot.EForbidden, 4, "No."},
		{&client.Error{Status: 503, Code: "ServiceNotAvailable", Message: "Down.", RequestID: "r1"}, allot.EUnavailable, 1, "request-id r1"},
		{&client.Error{Status: 0, Message: "Cannot reach the allot server"}, allot.EUnavailable, 1, "Cannot reach"},
		{errors.New("boom"), allot.EUnavailable, 1, "boom"},
	}
	for _, c := range cases {
		err := cliError(c.err)
		if allot.ErrorCode(err) != c.code || exitCode(allot.ErrorCode(err)) != c.exit || !strings.Contains(allot.ErrorMessage(err), c.msg) {
			t.Errorf("%v → code %s exit %d %q; want %s %d containing %q", c.err, allot.ErrorCode(err), exitCode(allot.ErrorCode(err)),
				allot.ErrorMessage(err), c.code, c.exit, c.msg)
		}
	}
	p := prefixError("user x", &client.Error{Status: 400, Code: "membershipCycle", Message: "Cycle."})
	if allot.ErrorCode(p) != "membershipCycle" || allot.ErrorMessage(p) != "user x: Cycle. (membershipCycle)" {
		t.Errorf("prefixError: %v", p)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	t.Setenv("ALLOT_URL", "")
	t.Setenv("ALLOT_TOKEN", "")
	if _, err := clientFromEnv(); allot.ErrorCode(err) != allot.EUnauthorized {
		t.Fatalf("no config: %v", err)
	}
	p, err := saveConfig(&cliConfig{URL: "http://127.0.0.1:9", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 || filepath.Dir(p) != filepath.Join(dir, "allot") {
		t.Fatalf("config %s: %v %v", p, fi.Mode(), err)
	}
	c, err := clientFromEnv()
	if err != nil || c.BaseURL != "http://127.0.0.1:9" || c.Token != "tok" {
		t.Fatalf("from file: %+v %v", c, err)
	}
	t.Setenv("ALLOT_URL", "https://allot.example.com/")
	t.Setenv("ALLOT_TOKEN", "envtok")
	if c, _ := clientFromEnv(); c.BaseURL != "https://allot.example.com" || c.Token != "envtok" {
		t.Fatalf("env override: %+v", c)
	}
	t.Setenv("ALLOT_URL", "allot.example.com")
	if _, err := clientFromEnv(); allot.ErrorCode(err) != allot.EInvalid {
		t.Fatalf("URL without scheme: %v", err)
	}
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, on: true, label: "Importing", start: time.Now()}
	p.set(50, 100, "rows")
	if got := buf.String(); !strings.Contains(got, "\rImporting [###############---------------] 50/100  rows") {
		t.Fatalf("bar %q", got)
	}
	buf.Reset()
	p.set(60, 100, "")  // throttled
	p.set(100, 100, "") // the last one is always drawn
	if got := buf.String(); !strings.Contains(got, "100/100") || strings.Contains(got, "60/100") {
		t.Fatalf("throttle %q", got)
	}
	p.done()
	if !strings.HasSuffix(buf.String(), "\r\x1b[K") {
		t.Fatalf("done %q", buf.String())
	}
	off := newProgress(&buf, "x") // not a terminal: draws nothing
	buf.Reset()
	off.set(1, 2, "")
	if buf.Len() != 0 {
		t.Fatal("drew on a non-terminal")
	}
	if thousands(1234567) != "1,234,567" || thousands(-1000) != "-1,000" || thousands(999) != "999" {
		t.Fatal("thousands")
	}
}

// TestCSVRowLimit: the limit the server documents is the one the CLI enforces.
func TestCSVRowLimit(t *testing.T) {
	if httpapi.MaxCSVRows != csvimport.DefaultMaxRows || httpapi.DefaultLimits.MaxCSVRows != csvimport.DefaultMaxRows {
		t.Fatalf("httpapi.MaxCSVRows %d, csvimport.DefaultMaxRows %d", httpapi.MaxCSVRows, csvimport.DefaultMaxRows)
	}
	if csvimport.DefaultMaxRows < 100_000 {
		t.Fatal("a 100,000-row import must be accepted")
	}
}

// TestConfirmLoss: a change the server refuses because people would lose
// licenses is not resent without a terminal: the error lists the first 20
// losses with a count, names --yes and exits 5; --yes confirms up front.
func TestConfirmLoss(t *testing.T) {
	var sent []bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := r.Header.Get("Allot-Confirm-License-Loss") == "true"
		sent = append(sent, ok)
		if ok {
			w.Write([]byte(`{}`))
			return
		}
		// allot's own entry first, then one per loss.
		details := []map[string]string{{"code": "licenseLossNotConfirmed", "target": "", "message": "This change would take 25 licenses away."}}
		for i := range 25 {
			details = append(details, map[string]string{"code": "prerequisiteMissing", "target": fmt.Sprintf("id-%d", i%24),
				"message": fmt.Sprintf("u%d@contoso.com would lose WORKPLACE_ANALYTICS_INSIGHTS (prerequisiteMissing)", i)})
		}
		w.WriteHeader(http.StatusConflict)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "licenseLossNotConfirmed",
			"message": "This change would take 25 licenses away.", "details": details}})
	}))
	defer srv.Close()
	c := client.New(srv.URL, "tok")
	change := func(c *client.Client) error {
		_, err := c.Do(context.Background(), http.MethodPatch, "/allot/v1/subscribedSkus/x", map[string]int{"enabledUnits": 1}, nil)
		return err
	}
	cmd := &cobra.Command{}
	cmd.SetIn(strings.NewReader("y\n")) // a "yes" on a pipe is not an answer
	var stderr bytes.Buffer
	cmd.SetErr(&stderr)

	var lf lossFlag
	err := cliError(lf.confirmLoss(cmd, c, change))
	msg := allot.ErrorMessage(err)
	if allot.ErrorCode(err) != allot.ELicenseLoss || exitCode(allot.ErrorCode(err)) != 5 {
		t.Fatalf("refusal: code %s exit %d", allot.ErrorCode(err), exitCode(allot.ErrorCode(err)))
	}
	for _, w := range []string{"This change would take 25 licenses away.", "24 people would lose 25 licenses:",
		"u0@contoso.com would lose WORKPLACE_ANALYTICS_INSIGHTS (prerequisiteMissing)", "u19@contoso.com", "...and 5 more.", "Nothing changed", "--yes"} {
		if !strings.Contains(msg, w) {
			t.Errorf("refusal lacks %q:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, "u20@") {
		t.Errorf("more than 20 losses listed:\n%s", msg)
	}
	if len(sent) != 1 || sent[0] || stderr.Len() != 0 {
		t.Fatalf("requests %v (want one, unconfirmed), prompt %q", sent, stderr.String())
	}

	sent = nil
	lf.yes = true
	if err := lf.confirmLoss(cmd, c, change); err != nil || len(sent) != 1 || !sent[0] {
		t.Fatalf("--yes: %v, requests %v (want one, confirmed)", err, sent)
	}
	// The server lists at most 100: a full list may stand for more.
	many := make([]client.ErrorDetail, client.MaxErrorDetails)
	for i := range many {
		many[i] = client.ErrorDetail{Target: fmt.Sprint(i), Message: "x"}
	}
	if l := lossList(many); !strings.HasPrefix(l, "At least 100 people would lose 100 licenses:") || !strings.Contains(l, "...and 80 more.") {
		t.Errorf("100 details: %q", l)
	}
	// The refusal from any other command maps to the same exit status.
	if err := cliError(change(c)); exitCode(allot.ErrorCode(err)) != 5 {
		t.Fatalf("plain refusal: %v", err)
	}
}
