package httpapi

// Single sign-on end to end against a real OpenID Connect provider running
// in the test process (oauth2-proxy/mockoidc): the browser (an http.Client
// with a cookie jar) goes allot → provider → allot callback → the page it
// asked for, signed in.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"allot/store"
	"allot/store/sqlstore"
)

func TestOIDCSignInEndToEnd(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	remember(m.ClientSecret)

	e := newAuthEnv(t)
	srv := httptest.NewUnstartedServer(e.h)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	cfg := m.Config()
	if err := e.srv.ConfigureAuth(AuthConfig{OIDC: &OIDCConfig{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RedirectURL: srv.URL + "/allot/v1/sso/callback"}}); err != nil {
		t.Fatal(err)
	}
	// jane.doe@example.com is mockoidc's default user; make her a Global Reader.
	jane := e.user("jane.doe@example.com")
	e.must(201, "POST", "/v1.0/roleManagement/directory/roleAssignments", map[string]any{"principalId": jane.GUID, "roleDefinitionId": store.RoleIDGlobalReader}, e.op)

	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		c := srv.Client()
		c.Jar = jar
		return c
	}
	b := browser()
	res, err := b.Get(srv.URL + "/allot/v1/sso/login?next=/allot/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.Path != "/allot/v1/me" {
		t.Fatalf("SSO sign-in ended at %s with %d %s", res.Request.URL, res.StatusCode, body)
	}
	var me map[string]any
	json.Unmarshal(body, &me)
	if me["name"] != "jane.doe@example.com" || me["kind"] != "user" {
		t.Fatalf("signed in as %v", me)
	}
	u, _ := url.Parse(srv.URL)
	for _, c := range b.Jar.Cookies(u) {
		remember(c.Value)
	}
	// The session works for the API, and the sign-in is audited with its method.
	res, _ = b.Get(srv.URL + "/v1.0/users")
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("the SSO session cannot read users: %d", res.StatusCode)
	}
	ok := false
	for _, ev := range e.audits(sqlstore.ActSignIn) {
		for _, c := range ev.Changes {
			ok = ok || (ev.TargetName == "jane.doe@example.com" && c.New == "oidc")
		}
	}
	if !ok {
		t.Errorf("the SSO sign-in is not audited")
	}
	// A second sign-in follows the link to the same user even after her
	// userPrincipalName changes.
	e.must(204, "PATCH", "/v1.0/users/"+jane.GUID, map[string]any{"userPrincipalName": "jane@contoso.com"}, e.op)
	b2 := browser()
	res, err = b2.Get(srv.URL + "/allot/v1/sso/login?next=/allot/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	json.Unmarshal(body, &me)
	if res.StatusCode != 200 || me["name"] != "jane@contoso.com" {
		t.Errorf("second SSO sign-in: %d %s", res.StatusCode, body)
	}

	// Someone the provider knows but allot does not: refused and audited.
	m.QueueUser(&mockoidc.MockUser{Subject: "stranger", Email: "stranger@example.com", EmailVerified: true, PreferredUsername: "stranger"})
	res, err = browser().Get(srv.URL + "/allot/v1/sso/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Errorf("an unknown SSO user: %d, want 403", res.StatusCode)
	}
	if n := len(e.audits(sqlstore.ActSignInFailed)); n != 1 {
		t.Errorf("failed SSO sign-in audited %d times", n)
	}
	// An unverified email does not link an account.
	m.QueueUser(&mockoidc.MockUser{Subject: "unverified", Email: "target@contoso.com", EmailVerified: false})
	res, _ = browser().Get(srv.URL + "/allot/v1/sso/login")
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Errorf("an unverified email linked an account: %d", res.StatusCode)
	}

	// A callback whose state does not match the browser's cookie is refused
	// (login CSRF), as is one without the cookie.
	nb := browser()
	nb.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, _ = nb.Get(srv.URL + "/allot/v1/sso/login")
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if loc.Query().Get("code_challenge") == "" || loc.Query().Get("nonce") == "" || loc.Query().Get("state") == "" {
		t.Errorf("the authorization request lacks PKCE, nonce or state: %s", loc)
	}
	res, _ = nb.Get(srv.URL + "/allot/v1/sso/callback?code=x&state=forged")
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Errorf("forged state: %d", res.StatusCode)
	}
	res, _ = srv.Client().Get(srv.URL + "/allot/v1/sso/callback?code=x&state=" + url.QueryEscape(loc.Query().Get("state")))
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Errorf("callback without the login cookie: %d", res.StatusCode)
	}
	if strings.Contains(secrets.logs.String(), cfg.ClientSecret) {
		t.Errorf("the client secret was logged")
	}
}

func TestSSONotConfigured(t *testing.T) {
	e := newAuthEnv(t)
	if rec := e.do("GET", "/allot/v1/sso/login", nil); rec.Code != 404 {
		t.Errorf("SSO login without configuration: %d", rec.Code)
	}
}
