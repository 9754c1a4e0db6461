package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"allot/httpapi"
	"allot/scim"
	"allot/store"
	"allot/store/sqlstore"
)

// TestClientsListShowsLastUse: `allot clients` lists a SCIM provisioning
// client as never used until its token calls /scim/v2, then with the time
// of that use.
func TestClientsListShowsLastUse(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ten, err := st.CreateTenant(ctx, "Contoso", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	ga := sqlstore.NewToken()
	if err := st.CreateToken(ctx, ten.ID, "ga", store.RoleGlobalAdmin, ga); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	api := httpapi.New(st, log, httpapi.DefaultLimits)
	api.MountSCIM(scim.Prefix, scim.New(st, log))
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	call := func(tok, method, path string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, m)
		}
		return m
	}
	c := call(ga, "POST", "/allot/v1/apiClients", map[string]any{"displayName": "Entra provisioning", "scopes": []string{"SCIM.Provisioning"}})
	t.Setenv("ALLOT_URL", srv.URL)
	t.Setenv("ALLOT_TOKEN", ga)
	line := func() string {
		t.Helper()
		out, err := runCmd(t, "clients")
		if err != nil {
			t.Fatalf("allot clients: %v\n%s", err, out)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "Entra provisioning") {
				return l
			}
		}
		t.Fatalf("allot clients does not list the SCIM client:\n%s", out)
		return ""
	}
	if l := line(); !strings.Contains(l, "SCIM.Provisioning") || !strings.Contains(l, "never") || !strings.Contains(l, c["id"].(string)) {
		t.Fatalf("before use: %q", l)
	}
	call(c["token"].(string), "GET", "/scim/v2/Users", nil)
	stamp := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`)
	if l := line(); strings.Contains(l, "never") || len(stamp.FindAllString(l, -1)) != 2 {
		t.Fatalf("after a SCIM request the last use is not shown: %q", l)
	}
}
