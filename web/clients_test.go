package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"allot/store"
	"allot/store/sqlstore"
)

// newClient creates an API client owned by the Global Administrator and
// returns it with its token.
func (e *env) newClient(name string, scopes ...string) (*sqlstore.APIClient, string) {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.st.User(ctx, e.tenant.ID, adminUPN)
	if err != nil {
		e.t.Fatal(err)
	}
	owner := &store.Principal{Tenant: e.tenant, Kind: store.PrincipalUser, GUID: u.GUID, UserID: u.ID,
		Name: u.UserPrincipalName, Roles: []string{store.RoleIDGlobalAdmin}}
	c, raw, err := e.st.CreateAPIClient(ctx, owner, sqlstore.NewAPIClient{DisplayName: name, Scopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	return c, raw
}

// bearerGet sends GET path with the token and returns the status.
func (e *env) bearerGet(token, path string) int {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestBrowserAPIClients: the API clients page lists a SCIM provisioning
// client in words with its last use (it provisioned once), a client never
// used as "never", a revoked one as revoked, and no secret.
func TestBrowserAPIClients(t *testing.T) {
	e := newEnv(t, 25)
	scimClient, scimToken := e.newClient("Entra provisioning", "SCIM.Provisioning")
	plain, plainToken := e.newClient("License report job", "LicenseAssignment.Read.All")
	old, _ := e.newClient("Old sync", "User.Read.All")
	if err := e.st.RevokeAPIClient(context.Background(), actor, e.tenant.ID, old.GUID); err != nil {
		t.Fatal(err)
	}
	if code := e.bearerGet(scimToken, "/scim/v2/Users"); code != http.StatusOK {
		t.Fatalf("SCIM GET /scim/v2/Users: %d", code)
	}

	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.click(`nav.side a[href="/clients"]`)
	b.waitPath("/clients")
	b.waitText("main h1", "API clients")
	row := func(c *sqlstore.APIClient, cell string) string {
		t.Helper()
		return b.text(`#clients-table tr[data-client="` + c.GUID + `"] [` + cell + `]`)
	}
	if got := row(scimClient, "data-scopes"); !strings.Contains(got, "SCIM provisioning") {
		t.Errorf("SCIM client's scopes: %q", got)
	}
	if got := row(scimClient, "data-last-used"); !strings.Contains(got, "just now") || !strings.Contains(got, " UTC") {
		t.Errorf("SCIM client's last use: %q, want relative and absolute times", got)
	}
	if got := row(plain, "data-scopes"); !strings.Contains(got, "Read license assignments") {
		t.Errorf("plain client's scopes: %q", got)
	}
	if got := row(plain, "data-last-used"); got != "never" {
		t.Errorf("unused client's last use: %q, want never", got)
	}
	for c, want := range map[*sqlstore.APIClient]string{scimClient: "Active", plain: "Active", old: "Revoked"} {
		if got := row(c, "data-state"); !strings.HasPrefix(got, want) {
			t.Errorf("%s's state: %q, want %s", c.DisplayName, got, want)
		}
	}
	html, err := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, scimToken) || strings.Contains(html, plainToken) {
		t.Errorf("the page shows a secret")
	}
	b.screenshotView("clients")
}

// TestAPIClientsPageNeedsClientsPermission: a Global Reader (clients.read)
// sees every client; a License Administrator (clients.write) only their
// own, as in the API; an Insights Business Leader gets 403 and no link.
func TestAPIClientsPageNeedsClientsPermission(t *testing.T) {
	e := newEnv(t, 25)
	e.newClient("Entra provisioning", "SCIM.Provisioning")
	la := e.addUser("Lara License", "US")
	if _, err := e.st.AddRoleAssignment(context.Background(), actor, e.tenant.ID, la.UserPrincipalName, store.RoleIDLicenseAdmin); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetPassword(context.Background(), actor, e.tenant.ID, la.UserPrincipalName, password); err != nil {
		t.Fatal(err)
	}
	get := func(upn string) (int, string) {
		t.Helper()
		resp, err := e.client(upn).Get(e.srv.URL + "/clients")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(readerUPN); code != http.StatusOK || !strings.Contains(body, "SCIM provisioning") || !strings.Contains(body, `href="/clients"`) {
		t.Errorf("reader: %d, SCIM client listed: %v, navigation link: %v", code,
			strings.Contains(body, "SCIM provisioning"), strings.Contains(body, `href="/clients"`))
	}
	if code, body := get(la.UserPrincipalName); code != http.StatusOK || strings.Contains(body, "Entra provisioning") || !strings.Contains(body, "You have created no API clients") {
		t.Errorf("License Administrator: %d, sees another's client: %v", code, strings.Contains(body, "Entra provisioning"))
	}
	if code, _ := get(leaderUPN); code != http.StatusForbidden {
		t.Errorf("leader: %d, want 403", code)
	}

	l := e.browser()
	l.signIn(leaderUPN, password)
	l.waitPath("/licenses")
	if nav := l.text("nav.side ul"); strings.Contains(nav, "API clients") || l.count(`nav.side a[href="/clients"]`) != 0 {
		t.Errorf("leader's navigation links to API clients: %q", nav)
	}
	l.open("/clients")
	l.waitText("main h1", "Not allowed")
}
