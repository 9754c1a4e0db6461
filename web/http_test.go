package web_test

// Checks of the admin center that need no browser: redirects to sign in,
// cross-origin protection of every POST, headers, static files, and that
// the committed *_templ.go files match the *.templ sources.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"allot/store"
	"allot/store/sqlstore/pgtest"
)

func TestSignInRedirects(t *testing.T) {
	e := newEnv(t, 25)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.srv.URL + "/licenses?tab=groups")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/signin?next="+url.QueryEscape("/licenses?tab=groups") {
		t.Errorf("anonymous GET: %d %q", resp.StatusCode, loc)
	}
	// htmx asks for a redirect of the whole page.
	req, _ := http.NewRequest("GET", e.srv.URL+"/users?q=a", nil)
	req.Header.Set("HX-Request", "true")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("HX-Redirect") == "" {
		t.Errorf("htmx without a session: no HX-Redirect (%d)", resp.StatusCode)
	}
	// After sign-in, next is followed, but only to this site.
	for next, want := range map[string]string{"/groups": "/groups", "//evil.example/x": "/", "https://evil.example/": "/"} {
		resp, err := c.PostForm(e.srv.URL+"/signin", url.Values{"userName": {adminUPN}, "password": {password}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != want {
			t.Errorf("next %q: redirected to %q, want %q", next, loc, want)
		}
	}
}

// Every state change is a POST that a page on another site cannot make.
func TestCrossOriginPostsRefused(t *testing.T) {
	e := newEnv(t, 25)
	c := e.client(adminUPN)
	adele := e.users["Adele Vance"]
	g := e.dynamicGroup("Dynamic A", `user.displayName -startsWith "A"`)
	plain := e.group("Plain", "Alex Wilber")
	for _, path := range []string{"/users/" + adele.GUID + "/licenses", "/users/" + adele.GUID + "/usage-location", "/assign-more",
		"/licenses/" + e.skus["SPE_E3"].SkuID + "/assign", "/roles/assign", "/roles/remove", "/signout", "/groups/" + g.GUID + "/rule",
		"/licenses/" + e.skus["SPE_E3"].SkuID + "/seats", "/groups", "/groups/" + plain.GUID + "/rename", "/groups/" + plain.GUID + "/delete",
		"/groups/" + plain.GUID + "/members", "/groups/" + plain.GUID + "/members/remove", "/groups/" + plain.GUID + "/reprocess",
		"/webhooks/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9/test", "/alerts", "/alerts/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9/delete",
		"/bulk-licenses/review", "/bulk-licenses/apply"} {
		form := url.Values{"sku": {e.skus["SPE_E3"].SkuID}, "user": {adele.GUID}, "usageLocation": {"DE"}, "pick": {"u:" + adele.GUID},
			"role": {"62e90394-69f5-4237-9190-012177145e10"}, "enabledUnits": {"60"}, "name": {"Evil"}, "member": {adele.GUID}}
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d, want 403", path, resp.StatusCode)
		}
	}
	if len(e.holds("Adele Vance")) != 0 {
		t.Errorf("a cross-site POST assigned a license")
	}
	if sg := e.storedGroup(plain); sg.DisplayName != "Plain" || len(e.memberUPNs(plain)) != 1 {
		t.Errorf("a cross-site POST changed group Plain: %q, members %v", sg.DisplayName, e.memberUPNs(plain))
	}
	if rule := e.storedGroup(g).MembershipRule; rule != `user.displayName -startsWith "A"` {
		t.Errorf("a cross-site POST saved the rule %q", rule)
	}
	// The same POST from the site itself works.
	req, _ := http.NewRequest("POST", e.srv.URL+"/users/"+adele.GUID+"/licenses", strings.NewReader(url.Values{"sku": {e.skus["SPE_E3"].SkuID}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("Saved: assigned Microsoft 365 E3")) {
		t.Errorf("same-origin POST: %d", resp.StatusCode)
	}
	// GET never changes anything: the state-changing routes have no GET.
	resp, err = c.Get(e.srv.URL + "/roles/remove")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /roles/remove: %d", resp.StatusCode)
	}
}

func TestHeadersAndStatic(t *testing.T) {
	e := newEnv(t, 25)
	c := e.client(adminUPN)
	resp, err := c.Get(e.srv.URL + "/users")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("X-Frame-Options") != "DENY" ||
		h.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", h)
	}
	for path, want := range map[string]string{"/static/htmx.min.js": "htmx", "/static/app.css": ":root", "/static/app.js": "use strict"} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	// The API keeps its routes under the admin center.
	resp, err = http.Get(e.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
	resp, err = c.Get(e.srv.URL + "/no/such/page")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown page: %d", resp.StatusCode)
	}
}

// The generated *_templ.go files are committed, so building and testing
// need no templ tool. When the tool is at hand (templ on PATH, or
// ALLOT_TEMPL), this checks they are up to date: `go generate ./web/`
// regenerates them.
func TestTemplGeneratedUpToDate(t *testing.T) {
	bin := os.Getenv("ALLOT_TEMPL")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("templ"); err != nil {
			home, _ := os.UserHomeDir()
			if _, serr := os.Stat(filepath.Join(home, "go", "bin", "templ")); serr != nil {
				t.Skip("no templ tool; the committed *_templ.go files are used as they are")
			}
			bin = filepath.Join(home, "go", "bin", "templ")
		}
	}
	dir := t.TempDir()
	srcs, _ := filepath.Glob("*.templ")
	for _, f := range srcs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	out, err := exec.Command(bin, "generate", "-path", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("templ generate: %v\n%s", err, out)
	}
	for _, f := range srcs {
		gen := strings.TrimSuffix(f, ".templ") + "_templ.go"
		want, _ := os.ReadFile(filepath.Join(dir, gen))
		got, _ := os.ReadFile(gen)
		if !bytes.Equal(want, got) {
			t.Errorf("%s is not what templ generates from %s: run go generate ./web/", gen, f)
		}
	}
}

// Every page and a license change, on PostgreSQL (the admin center's own
// queries have engine-specific SQL). Skipped without a PostgreSQL server,
// a failure under CI=true (pgtest).
func TestPagesOnPostgres(t *testing.T) {
	e := newEnvOn(t, pgtest.Open, 25)
	e.startWorker()
	e.assign("Adele Vance", "SPE_E5")
	g := e.group("Sales Team", "Adele Vance", "Alex Wilber")
	if _, err := e.st.AssignGroupLicenses(context.Background(), actor, e.tenant.ID, g.GUID, []store.LicenseRequest{{SkuID: e.skus["SPE_E3"].SkuID}}, nil, false); err != nil {
		t.Fatal(err)
	}
	c := e.client(adminUPN)
	get := func(path, want string) {
		t.Helper()
		resp, err := c.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// User names carry line-break opportunities (<wbr>) after "@" and before ".".
		if resp.StatusCode != 200 || !strings.Contains(strings.ReplaceAll(string(body), "<wbr>", ""), want) {
			t.Errorf("GET %s: %d, want %q in the page", path, resp.StatusCode, want)
		}
	}
	get("/users", "1–19 of 19")
	get("/users?q=ADELE", "adele.vance@contoso.com")
	get("/users?q=vance", "Adele Vance")
	get("/users?q=nobody", "No user")
	get("/users?license=unlicensed&dept=Sales&sort=name", "Diego Siciliani")
	get("/users?license=unlicensed&sort=upn&loc=US&state=enabled", "diego.siciliani@contoso.com")
	get("/users?license="+e.skus["SPE_E5"].SkuID+"&sort=department", "1–1 of 1")
	get("/users/export?license="+e.skus["SPE_E5"].SkuID+"&dept=Sales", "adele.vance@contoso.com,Adele Vance,Sales,US,true,")
	get("/licenses", "Microsoft 365 E5")
	get("/licenses", `class="sparkline"`)
	get("/reports?interval=day", `id="waiting-chart"`)
	get("/reports/charts/waiting.svg?interval=day", `<svg xmlns="http://www.w3.org/2000/svg" id="waiting-chart"`)
	get("/licenses/"+e.skus["SPE_E5"].SkuID, "adele.vance@contoso.com")
	get("/licenses/"+e.skus["SPE_E3"].SkuID+"?tab=groups", "Sales Team")
	get("/licenses/"+e.skus["SPE_E3"].SkuID+"/assign?q=sal", "Sales Team")
	get("/licenses/"+e.skus["SPE_E3"].SkuID+"/assign/review?pick=u:"+e.users["Megan Bowen"].GUID, "Would license 1 of 1 user")
	get("/groups?q=sales", "Sales Team")
	get("/groups/"+g.GUID, "Members")
	get("/roles", "Global Administrator")
	get("/audit?activity=Set+group+license", "Sales Team")
	e.newClient("Entra provisioning", "SCIM.Provisioning")
	get("/clients", "SCIM provisioning")
	form := url.Values{"sku": {e.skus["SPE_E3"].SkuID}}
	req, _ := http.NewRequest("POST", e.srv.URL+"/users/"+e.users["Megan Bowen"].GUID+"/licenses", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !e.holds("Megan Bowen")["SPE_E3"] {
		t.Errorf("assign on PostgreSQL: %d", resp.StatusCode)
	}
}
