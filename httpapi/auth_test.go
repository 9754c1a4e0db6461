package httpapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

func TestSignInWithPassword(t *testing.T) {
	e := newAuthEnv(t)
	u, _ := e.person("adele@contoso.com", store.RoleLicenseAdmin)
	pw := remember("correct horse battery staple")
	if err := e.st.SetPassword(context.Background(), allot.SystemActor, e.tenant.ID, u.GUID, pw); err != nil {
		t.Fatal(err)
	}
	rec := e.do("POST", "/allot/v1/signin", map[string]any{"userName": "ADELE@contoso.com", "password": pw})
	if rec.Code != 200 {
		t.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}
	var c *http.Cookie
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == sessionCookie {
			c = ck
		}
	}
	if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || !strings.HasPrefix(c.Name, "__Host-") {
		t.Fatalf("session cookie must be __Host-, Secure, HttpOnly, SameSite=Lax, Path=/: %+v", c)
	}
	remember(c.Value)
	me := e.must(200, "GET", "/allot/v1/me", nil, c)
	if me["name"] != "adele@contoso.com" || me["kind"] != "user" || !strings.Contains(strings.Join(toStrings(me["roles"]), ","), store.RoleLicenseAdmin) {
		t.Errorf("me: %v", me)
	}
	if len(e.audits(sqlstore.ActSignIn)) < 2 {
		t.Errorf("sign-ins are not audited")
	}

	// Wrong password, unknown user, disabled user: the same 401.
	bad := e.do("POST", "/allot/v1/signin", map[string]any{"userName": "adele@contoso.com", "password": "wrong password!"})
	unknown := e.do("POST", "/allot/v1/signin", map[string]any{"userName": "nobody@contoso.com", "password": "wrong password!"})
	if bad.Code != 401 || unknown.Code != 401 || errMessage(bad) != errMessage(unknown) {
		t.Errorf("failed sign-ins must answer the same 401: %d %s / %d %s", bad.Code, bad.Body, unknown.Code, unknown.Body)
	}
	fails := e.audits(sqlstore.ActSignInFailed)
	if len(fails) != 2 || fails[0].Result != "failure" {
		t.Errorf("failed sign-ins audited: %d", len(fails))
	}
	for _, f := range fails {
		for _, ch := range f.Changes {
			if strings.Contains(ch.New, "wrong password") {
				t.Errorf("a failed sign-in's audit event contains the password")
			}
		}
	}
	e.must(204, "PATCH", "/v1.0/users/"+u.GUID, map[string]any{"accountEnabled": false}, e.op)
	if rec := e.do("POST", "/allot/v1/signin", map[string]any{"userName": "adele@contoso.com", "password": pw}); rec.Code != 401 {
		t.Errorf("a disabled user signed in: %d", rec.Code)
	}
	if rec := e.do("GET", "/allot/v1/me", nil, c); rec.Code != 401 {
		t.Errorf("a disabled user's session still works: %d", rec.Code)
	}
	e.must(204, "PATCH", "/v1.0/users/"+u.GUID, map[string]any{"accountEnabled": true}, e.op)

	// A form post redirects to a path on this site, never elsewhere.
	for next, want := range map[string]string{"/admin/users": "/admin/users", "https://evil.example/": "/", "//evil.example": "/", "/\\evil": "/"} {
		form := url.Values{"userName": {"adele@contoso.com"}, "password": {pw}, "next": {next}}
		rec := e.do("POST", "/allot/v1/signin", form.Encode(), func(r *http.Request) {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		})
		if rec.Code != 303 || rec.Header().Get("Location") != want {
			t.Errorf("form sign-in next=%q: %d Location %q, want 303 %q", next, rec.Code, rec.Header().Get("Location"), want)
		}
		for _, ck := range rec.Result().Cookies() {
			remember(ck.Value)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	if a, ok := v.([]any); ok {
		for _, x := range a {
			s, _ := x.(string)
			out = append(out, s)
		}
	}
	return out
}

func errMessage(rec *httptest.ResponseRecorder) string {
	var ge graphError
	json.Unmarshal(rec.Body.Bytes(), &ge)
	return ge.Error.Message
}

func TestPasswordsAreArgon2id(t *testing.T) {
	e := newAuthEnv(t)
	u, _ := e.person("hash@contoso.com")
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, "allot.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var h string
	if err := db.QueryRow(`SELECT password_hash FROM user_credentials WHERE user_id = ?`, u.ID).Scan(&h); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("password hash %q is not Argon2id with OWASP parameters", h)
	}
	if rec := e.do("PATCH", "/v1.0/users/"+u.GUID, map[string]any{"passwordProfile": map[string]any{"password": "short"}}, e.op); rec.Code != 400 {
		t.Errorf("a 5-character password was accepted: %d", rec.Code)
	}
}

func TestFailedSignInsAreSlowedDown(t *testing.T) {
	e := newAuthEnv(t)
	u, _ := e.person("slow@contoso.com")
	pw := remember("the right password 1")
	e.st.SetPassword(context.Background(), allot.SystemActor, e.tenant.ID, u.GUID, pw)
	for i := 0; i < signinFreePerAccount; i++ {
		if rec := e.do("POST", "/allot/v1/signin", map[string]any{"userName": "slow@contoso.com", "password": "guess" + strconv.Itoa(i)}); rec.Code != 401 {
			t.Fatalf("attempt %d: %d", i, rec.Code)
		}
	}
	// Even the right password waits now: the account is slowed down.
	rec := e.do("POST", "/allot/v1/signin", map[string]any{"userName": "slow@contoso.com", "password": pw})
	if ra, _ := strconv.Atoi(rec.Header().Get("Retry-After")); rec.Code != 429 || ra < 1 {
		t.Fatalf("after %d failures: %d Retry-After %q, want 429 with Retry-After", signinFreePerAccount, rec.Code, rec.Header().Get("Retry-After"))
	}
	// Another account from the same address is not slowed down yet...
	v, _ := e.person("victim2@contoso.com")
	_ = v
	// ...until the address has failed too often, on any accounts.
	for i := 0; i < signinFreePerAddress; i++ {
		e.do("POST", "/allot/v1/signin", map[string]any{"userName": "spray" + strconv.Itoa(i) + "@contoso.com", "password": "Winter2026!"})
	}
	rec = e.do("POST", "/allot/v1/signin", map[string]any{"userName": "victim2@contoso.com", "password": "anything at all"})
	if rec.Code != 429 {
		t.Errorf("password spraying from one address is not slowed down: %d", rec.Code)
	}
	if n := len(e.audits(sqlstore.ActSignInFailed)); n != signinFreePerAddress {
		t.Errorf("failed sign-ins audited: %d", n)
	}
}

func TestSignOutAndSessionExpiry(t *testing.T) {
	e := newAuthEnv(t)
	_, c := e.person("out@contoso.com", store.RoleGlobalReader)
	e.must(200, "GET", "/v1.0/users", nil, c)
	rec := e.do("POST", "/allot/v1/signout", nil, c)
	if rec.Code != 204 {
		t.Fatalf("sign out: %d", rec.Code)
	}
	cleared := false
	for _, ck := range rec.Result().Cookies() {
		cleared = cleared || (ck.Name == sessionCookie && ck.MaxAge < 0)
	}
	if !cleared {
		t.Errorf("sign-out does not clear the cookie")
	}
	if rec := e.do("GET", "/v1.0/users", nil, c); rec.Code != 401 {
		t.Errorf("a signed-out session still works: %d", rec.Code)
	}
	if len(e.audits(sqlstore.ActSignOut)) != 1 {
		t.Errorf("sign-out not audited")
	}

	// Sessions expire.
	if err := e.srv.ConfigureAuth(AuthConfig{SessionLifetime: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	_, c2 := e.person("brief@contoso.com", store.RoleGlobalReader)
	e.must(200, "GET", "/v1.0/users", nil, c2)
	time.Sleep(1600 * time.Millisecond)
	if rec := e.do("GET", "/v1.0/users", nil, c2); rec.Code != 401 {
		t.Errorf("an expired session still works: %d", rec.Code)
	}
	// A password reset ends the user's sessions.
	e.srv.ConfigureAuth(AuthConfig{SessionLifetime: time.Hour})
	u3, c3 := e.person("reset@contoso.com", store.RoleGlobalReader)
	e.must(200, "GET", "/v1.0/users", nil, c3)
	e.must(204, "PATCH", "/v1.0/users/"+u3.GUID, map[string]any{"passwordProfile": map[string]any{"password": remember("a brand new password"), "forceChangePasswordNextSignIn": false}}, e.op)
	if rec := e.do("GET", "/v1.0/users", nil, c3); rec.Code != 401 {
		t.Errorf("a session survived a password reset: %d", rec.Code)
	}
	e.signin("reset@contoso.com", "a brand new password")
	if len(e.audits(sqlstore.ActResetPassword)) < 1 {
		t.Errorf("password reset not audited")
	}
}

// Every state-changing route refuses a cross-site browser request, signed in
// or not, before it does anything.
func TestCrossSiteBrowserPostsAreRefused(t *testing.T) {
	e := newAuthEnv(t)
	_, c := e.person("csrf@contoso.com", store.RoleGlobalAdmin)
	v := newVictims(e)
	before := dbSnapshot(t, e)
	n := 0
	for _, p := range sortedRoutes(e.srv) {
		method, path, body := matrixRequest(e, v, p)
		if method == "GET" || method == "HEAD" {
			continue
		}
		if p == "POST /allot/v1/signin" {
			body = map[string]any{"userName": "csrf@contoso.com", "password": "x"}
		}
		for _, h := range []http.Header{
			{"Sec-Fetch-Site": {"cross-site"}},
			{"Sec-Fetch-Site": {"same-site"}},
			{"Origin": {"https://evil.example"}},
		} {
			rec := e.do(method, path, body, c, h)
			if rec.Code != 403 {
				t.Errorf("%s with %v → %d %s, want 403", p, h, rec.Code, rec.Body)
			}
			n++
		}
	}
	if n < 3*15 {
		t.Errorf("only %d cross-site requests sent", n)
	}
	if after := dbSnapshot(t, e); after != before {
		t.Errorf("cross-site requests changed the database:\n%s", diffLines(before, after))
	}
	// A same-origin browser request and a non-browser client pass.
	e.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Same origin", "mailEnabled": false, "mailNickname": "so", "securityEnabled": true},
		c, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	e.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Script", "mailEnabled": false, "mailNickname": "sc", "securityEnabled": true}, c)
}

func TestAPIClients(t *testing.T) {
	e := newAuthEnv(t)
	_, ga := e.person("ga@contoso.com", store.RoleGlobalAdmin)
	out := e.must(201, "POST", "/allot/v1/apiClients", map[string]any{"displayName": "HR sync", "scopes": []string{"user.readwrite.all", "Group.ReadWrite.All"}}, ga)
	tok, _ := out["token"].(string)
	remember(tok)
	id, _ := out["id"].(string)
	if !strings.HasPrefix(tok, "allot_") || len(tok) < 6+27 {
		t.Fatalf("token %q: want allot_ and at least 128 random bits", tok)
	}
	if got := toStrings(out["scopes"]); strings.Join(got, " ") != "User.ReadWrite.All Group.ReadWrite.All" {
		t.Errorf("scopes %v", got)
	}
	e.must(201, "POST", "/v1.0/users", map[string]any{"userPrincipalName": "hired@contoso.com", "displayName": "Hired", "accountEnabled": true}, tok)
	if rec := e.do("POST", "/allot/v1/subscribedSkus", map[string]any{"skuPartNumber": "ENTERPRISEPACK", "enabledUnits": 1}, tok); rec.Code != 403 {
		t.Errorf("a client without Organization.ReadWrite.All changed products: %d", rec.Code)
	}
	list := e.do("GET", "/allot/v1/apiClients", nil, ga)
	if strings.Contains(list.Body.String(), tok) || strings.Contains(list.Body.String(), `"token"`) {
		t.Errorf("the list shows a secret: %s", list.Body)
	}
	got := e.must(200, "GET", "/allot/v1/apiClients/"+id, nil, ga)
	if got["lastUsedDateTime"] == nil || got["createdBy"] == nil {
		t.Errorf("lastUsedDateTime and createdBy must be set after use: %v", got)
	}
	e.must(204, "DELETE", "/allot/v1/apiClients/"+id, nil, ga)
	if rec := e.do("GET", "/v1.0/users", nil, tok); rec.Code != 401 {
		t.Errorf("a revoked token still works: %d", rec.Code)
	}
	if len(e.audits(allot.ActCreateToken)) < 1 || len(e.audits(sqlstore.ActRevokeToken)) != 1 {
		t.Errorf("token creation and revocation must be audited")
	}

	// A client never exceeds its creator: scopes ∩ the creator's roles, now.
	la, lac := e.person("la@contoso.com", store.RoleLicenseAdmin)
	out = e.must(201, "POST", "/allot/v1/apiClients", map[string]any{"displayName": "usage locations", "scopes": []string{"User.ReadWrite.All"}}, lac)
	latok := remember(out["token"].(string))
	if eff := strings.Join(toStrings(out["effectivePermissions"]), " "); eff != "users.read users.usageLocation" {
		t.Errorf("effective permissions %q", eff)
	}
	if rec := e.do("PATCH", "/v1.0/users/"+e.target.GUID, map[string]any{"displayName": "Renamed"}, latok); rec.Code != 403 {
		t.Errorf("a License Administrator's client renamed a user: %d", rec.Code)
	}
	e.must(204, "PATCH", "/v1.0/users/"+e.target.GUID, map[string]any{"usageLocation": "DE"}, latok)
	if rec := e.do("POST", "/allot/v1/apiClients", map[string]any{"displayName": "x", "scopes": []string{"AuditLog.Read.All"}}, lac); rec.Code != 403 {
		t.Errorf("a License Administrator made a client with a scope they have nothing of: %d", rec.Code)
	}
	if rec := e.do("POST", "/allot/v1/apiClients", map[string]any{"displayName": "x", "scopes": []string{"Mail.Send"}}, lac); rec.Code != 400 {
		t.Errorf("unknown scope: %d", rec.Code)
	}
	// The creator loses the role: the client loses it too.
	ras := e.must(200, "GET", "/v1.0/roleManagement/directory/roleAssignments?$filter=principalId eq '"+la.GUID+"'", nil, ga)
	for _, ra := range ras["value"].([]any) {
		e.must(204, "DELETE", "/v1.0/roleManagement/directory/roleAssignments/"+ra.(map[string]any)["id"].(string), nil, ga)
	}
	if rec := e.do("PATCH", "/v1.0/users/"+e.target.GUID, map[string]any{"usageLocation": "FR"}, latok); rec.Code != 403 {
		t.Errorf("a client kept rights its creator lost: %d", rec.Code)
	}
	// People without clients.read see only their own clients.
	_, uac := e.person("ua@contoso.com", store.RoleUserAdmin)
	e.client(uac, "mine", "User.Read.All")
	var l struct{ Value []map[string]any }
	json.Unmarshal(e.do("GET", "/allot/v1/apiClients", nil, uac).Body.Bytes(), &l)
	if len(l.Value) != 1 || l.Value[0]["displayName"] != "mine" {
		t.Errorf("a User Administrator sees others' clients: %v", l.Value)
	}
	if rec := e.do("DELETE", "/allot/v1/apiClients/"+id, nil, uac); rec.Code != 404 {
		t.Errorf("a User Administrator revoked another's client: %d", rec.Code)
	}
	// Mass assignment: privileged fields are refused.
	for _, f := range []string{"id", "roles", "tenantId", "token", "createdBy"} {
		if rec := e.do("POST", "/allot/v1/apiClients", map[string]any{"displayName": "x", "scopes": []string{"User.Read.All"}, f: "x"}, ga); rec.Code != 400 {
			t.Errorf("apiClients accepted %s: %d", f, rec.Code)
		}
	}
}

func TestRoleAssignments(t *testing.T) {
	e := newAuthEnv(t)
	defs := e.must(200, "GET", "/v1.0/roleManagement/directory/roleDefinitions", nil, e.op)
	want := map[string]string{
		"Global Administrator": "62e90394-69f5-4237-9190-012177145e10", "License Administrator": "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
		"User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1", "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
		"Insights Administrator": "eb1f4a8d-243a-41f0-9fbd-c7cdf6c5ef7c", "Insights Business Leader": "31e939ad-9672-4796-9c2e-873181342d2d",
	}
	vals := defs["value"].([]any)
	if len(vals) != len(want) {
		t.Fatalf("%d role definitions", len(vals))
	}
	for _, v := range vals {
		d := v.(map[string]any)
		if want[d["displayName"].(string)] != d["id"] || d["templateId"] != d["id"] || d["isBuiltIn"] != true {
			t.Errorf("role definition %v", d)
		}
	}

	// A Global Administrator grants a role; the user's session has it at once.
	gaUser, ga := e.person("ga@contoso.com", store.RoleGlobalAdmin)
	u, uc := e.person("helpdesk@contoso.com")
	if rec := e.do("POST", "/v1.0/users", map[string]any{"userPrincipalName": "a@contoso.com", "displayName": "A"}, uc); rec.Code != 403 {
		t.Fatalf("a user without roles created a user: %d", rec.Code)
	}
	ra := e.must(201, "POST", "/v1.0/roleManagement/directory/roleAssignments",
		map[string]any{"@odata.type": "#microsoft.graph.unifiedRoleAssignment", "principalId": u.GUID, "roleDefinitionId": store.RoleIDUserAdmin, "directoryScopeId": "/"}, ga)
	e.must(201, "POST", "/v1.0/users", map[string]any{"userPrincipalName": "a@contoso.com", "displayName": "A"}, uc)
	if rec := e.do("POST", "/v1.0/roleManagement/directory/roleAssignments", map[string]any{"principalId": u.GUID, "roleDefinitionId": store.RoleIDUserAdmin, "directoryScopeId": "/"}, ga); rec.Code != 400 {
		t.Errorf("duplicate assignment: %d", rec.Code)
	}
	for _, bad := range []map[string]any{
		{"principalId": u.GUID, "roleDefinitionId": "00000000-0000-0000-0000-000000000000"},
		{"principalId": u.GUID, "roleDefinitionId": store.RoleIDGlobalReader, "directoryScopeId": "/administrativeUnits/x"},
		{"principalId": u.GUID, "roleDefinitionId": store.RoleIDGlobalReader, "id": "x"},
		{"principalId": u.GUID, "roleDefinitionId": store.RoleIDGlobalReader, "tenantId": "x"},
	} {
		if rec := e.do("POST", "/v1.0/roleManagement/directory/roleAssignments", bad, ga); rec.Code != 400 {
			t.Errorf("role assignment %v: %d", bad, rec.Code)
		}
	}
	// A User Administrator cannot grant roles, nor take over a Global
	// Administrator's account.
	if rec := e.do("POST", "/v1.0/roleManagement/directory/roleAssignments", map[string]any{"principalId": u.GUID, "roleDefinitionId": store.RoleIDGlobalAdmin}, uc); rec.Code != 403 {
		t.Errorf("a User Administrator granted Global Administrator: %d", rec.Code)
	}
	for _, body := range []map[string]any{
		{"passwordProfile": map[string]any{"password": "taken over, now!"}},
		{"userPrincipalName": "mine@contoso.com"},
		{"accountEnabled": false},
	} {
		if rec := e.do("PATCH", "/v1.0/users/"+gaUser.GUID, body, uc); rec.Code != 403 {
			t.Errorf("a User Administrator changed a Global Administrator (%v): %d", body, rec.Code)
		}
	}
	if rec := e.do("DELETE", "/v1.0/users/"+gaUser.GUID, nil, uc); rec.Code != 403 {
		t.Errorf("a User Administrator deleted a Global Administrator: %d", rec.Code)
	}
	// ...but may set a plain user's password, who can then sign in.
	e.must(204, "PATCH", "/v1.0/users/"+e.target.GUID, map[string]any{"passwordProfile": map[string]any{"password": remember("target's new password")}}, uc)
	e.signin("target@contoso.com", "target's new password")
	// Only a Global Administrator grants Global Administrator.
	p := &store.Principal{Kind: store.PrincipalClient, Roles: []string{store.RoleIDUserAdmin}, Scopes: []string{"RoleManagement.ReadWrite.Directory"}}
	if err := e.srv.mayManageRole(p, roleDef{ID: store.RoleIDGlobalAdmin}); allot.ErrorCode(err) != allot.EForbidden {
		t.Errorf("a non-Global Administrator may grant Global Administrator: %v", err)
	}
	_, roleTok := e.client(ga, "role manager", "RoleManagement.ReadWrite.Directory")
	gaRA := e.must(201, "POST", "/v1.0/roleManagement/directory/roleAssignments", map[string]any{"principalId": u.GUID, "roleDefinitionId": store.RoleIDGlobalAdmin}, roleTok)

	// Filter, read, remove.
	l := e.must(200, "GET", "/v1.0/roleManagement/directory/roleAssignments?$filter=principalId eq '"+u.GUID+"' and roleDefinitionId eq '"+store.RoleIDUserAdmin+"'", nil, ga)
	if n := len(l["value"].([]any)); n != 1 {
		t.Errorf("filtered assignments: %d", n)
	}
	e.must(200, "GET", "/v1.0/roleManagement/directory/roleAssignments/"+ra["id"].(string), nil, ga)
	e.must(204, "DELETE", "/v1.0/roleManagement/directory/roleAssignments/"+ra["id"].(string), nil, ga)
	if len(e.audits(sqlstore.ActAddRoleMember)) < 3 || len(e.audits(sqlstore.ActRemoveRoleMember)) != 1 {
		t.Errorf("role changes must be audited")
	}

	// The last Global Administrator cannot be removed, disabled, deleted or revoked.
	e.must(204, "DELETE", "/v1.0/roleManagement/directory/roleAssignments/"+gaRA["id"].(string), nil, ga)
	opClient := principalOf(t, e, e.op)
	e.must(204, "DELETE", "/allot/v1/apiClients/"+opClient, nil, ga) // ga@ is still a Global Administrator
	gaOnly := e.must(200, "GET", "/v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '"+store.RoleIDGlobalAdmin+"'", nil, ga)
	var last string
	for _, v := range gaOnly["value"].([]any) {
		m := v.(map[string]any)
		if m["principalId"] == gaUser.GUID {
			last = m["id"].(string)
		}
	}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"DELETE", "/v1.0/roleManagement/directory/roleAssignments/" + last, nil},
		{"PATCH", "/v1.0/users/" + gaUser.GUID, map[string]any{"accountEnabled": false}},
		{"DELETE", "/v1.0/users/" + gaUser.GUID, nil},
	} {
		if rec := e.do(c.method, c.path, c.body, ga); rec.Code != 400 || !strings.Contains(rec.Body.String(), "last Global Administrator") {
			t.Errorf("%s %s on the last Global Administrator: %d %s", c.method, c.path, rec.Code, rec.Body)
		}
	}
	e.must(200, "GET", "/v1.0/users", nil, ga)
}

// principalOf returns the id of the API client of a token.
func principalOf(t *testing.T, e *authEnv, tok string) string {
	me := e.must(200, "GET", "/allot/v1/me", nil, tok)
	return me["id"].(string)
}

func TestLicenseAdministratorCannotManageDirectoryOrSeats(t *testing.T) {
	e := newAuthEnv(t)
	_, la := e.person("la@contoso.com", store.RoleLicenseAdmin)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1.0/users", map[string]any{"userPrincipalName": "x@contoso.com", "displayName": "X"}},
		{"POST", "/v1.0/groups", map[string]any{"displayName": "X", "mailEnabled": false, "mailNickname": "x", "securityEnabled": true}},
		{"PATCH", "/allot/v1/subscribedSkus/" + e.skuE3, map[string]any{"enabledUnits": 1000}},
		{"POST", "/allot/v1/subscribedSkus", map[string]any{"skuPartNumber": "ENTERPRISEPACK", "enabledUnits": 5}},
		{"PATCH", "/v1.0/users/" + e.target.GUID, map[string]any{"displayName": "Renamed", "usageLocation": "DE"}},
		{"POST", "/v1.0/groups/" + e.group.GUID + "/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + e.target.GUID}},
		{"DELETE", "/v1.0/users/" + e.target.GUID, nil},
	} {
		if rec := e.do(c.method, c.path, c.body, la); rec.Code != 403 {
			t.Errorf("License Administrator %s %s: %d %s", c.method, c.path, rec.Code, rec.Body)
		}
	}
	e.must(204, "PATCH", "/v1.0/users/"+e.target.GUID, map[string]any{"usageLocation": "DE"}, la)
	e.must(200, "POST", "/v1.0/users/"+e.target.GUID+"/assignLicense", map[string]any{"addLicenses": []map[string]any{{"skuId": e.skuE3}}, "removeLicenses": []string{}}, la)
	sku := e.must(200, "GET", "/v1.0/subscribedSkus/"+e.skuE3, nil, la)
	if sku["prepaidUnits"].(map[string]any)["enabled"].(float64) != 10 {
		t.Errorf("seats changed: %v", sku["prepaidUnits"])
	}
}

// Read-only and privileged properties sent to every writable resource are
// refused and never persisted.
func TestMassAssignment(t *testing.T) {
	e := newAuthEnv(t)
	privileged := map[string]any{
		"id": "00000000-0000-0000-0000-000000000001", "consumedUnits": 0, "assignedLicenses": []map[string]any{{"skuId": "x"}},
		"roles": []string{store.RoleIDGlobalAdmin}, "tenantId": "00000000-0000-0000-0000-000000000002",
	}
	with := func(base map[string]any, k string) map[string]any {
		out := map[string]any{k: privileged[k]}
		for bk, bv := range base {
			out[bk] = bv
		}
		return out
	}
	for k := range privileged {
		cases := []struct {
			method, path string
			body         map[string]any
		}{
			{"POST", "/v1.0/users", map[string]any{"userPrincipalName": "mass-" + k + "@contoso.com", "displayName": "Mass"}},
			{"PATCH", "/v1.0/users/" + e.target.GUID, map[string]any{"displayName": "Mass " + k}},
			{"POST", "/v1.0/groups", map[string]any{"displayName": "Mass " + k, "mailEnabled": false, "mailNickname": "m", "securityEnabled": true}},
			{"PATCH", "/v1.0/groups/" + e.group.GUID, map[string]any{"displayName": "Mass " + k}},
			{"POST", "/allot/v1/subscribedSkus", map[string]any{"skuPartNumber": "ENTERPRISEPACK", "enabledUnits": 3}},
			{"PATCH", "/allot/v1/subscribedSkus/" + e.skuE3, map[string]any{"enabledUnits": 33}},
			{"POST", "/allot/v1/apiClients", map[string]any{"displayName": "Mass " + k, "scopes": []string{"User.Read.All"}}},
			{"POST", "/v1.0/roleManagement/directory/roleAssignments", map[string]any{"principalId": e.other.GUID, "roleDefinitionId": store.RoleIDGlobalReader}},
		}
		for _, c := range cases {
			if rec := e.do(c.method, c.path, with(c.body, k), e.op); rec.Code != 400 {
				t.Errorf("%s %s with %s: %d %s, want 400", c.method, c.path, k, rec.Code, rec.Body)
			}
		}
	}
	// Nothing of it was persisted.
	users := e.must(200, "GET", "/v1.0/users", nil, e.op)
	for _, v := range users["value"].([]any) {
		u := v.(map[string]any)
		if strings.HasPrefix(u["userPrincipalName"].(string), "mass-") || strings.HasPrefix(u["displayName"].(string), "Mass") ||
			len(u["assignedLicenses"].([]any)) != 0 || u["id"] == privileged["id"] {
			t.Errorf("persisted: %v", u)
		}
	}
	groups := e.must(200, "GET", "/v1.0/groups", nil, e.op)
	if n := len(groups["value"].([]any)); n != 1 || groups["value"].([]any)[0].(map[string]any)["displayName"] != "Licensed" {
		t.Errorf("groups: %v", groups["value"])
	}
	skus := e.must(200, "GET", "/v1.0/subscribedSkus", nil, e.op)
	for _, v := range skus["value"].([]any) {
		s := v.(map[string]any)
		if s["skuPartNumber"] == "ENTERPRISEPACK" || s["prepaidUnits"].(map[string]any)["enabled"].(float64) != 10 {
			t.Errorf("products: %v", s)
		}
	}
	ras := e.must(200, "GET", "/v1.0/roleManagement/directory/roleAssignments?$filter=principalId eq '"+e.other.GUID+"'", nil, e.op)
	if n := len(ras["value"].([]any)); n != 0 {
		t.Errorf("role assignments persisted: %v", ras["value"])
	}
	clients := e.must(200, "GET", "/allot/v1/apiClients", nil, e.op)
	for _, v := range clients["value"].([]any) {
		if strings.HasPrefix(v.(map[string]any)["displayName"].(string), "Mass") {
			t.Errorf("API client persisted: %v", v)
		}
	}
}

func TestRateLimitPerToken(t *testing.T) {
	l := DefaultLimits
	l.RatePerSecond, l.RateBurst = 1, 3
	e := newAuthEnv(t, l)
	other := remember(sqlstore.NewToken())
	e.st.CreateToken(context.Background(), e.tenant.ID, "other", store.RoleGlobalReader, other)
	for i := 0; i < 3; i++ {
		e.must(200, "GET", "/v1.0/users", nil, e.op)
	}
	rec := e.do("GET", "/v1.0/users", nil, e.op)
	ra, _ := strconv.Atoi(rec.Header().Get("Retry-After"))
	if rec.Code != 429 || ra < 1 {
		t.Fatalf("4th request: %d Retry-After %q, want 429 with Retry-After ≥ 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	e.must(200, "GET", "/v1.0/users", nil, other) // another token is not limited
	time.Sleep(time.Duration(ra) * time.Second)
	e.must(200, "GET", "/v1.0/users", nil, e.op)
}

func TestTopAndBodyLimits(t *testing.T) {
	e := newAuthEnv(t)
	// $top above the maximum is capped (as Graph does), never served whole.
	if rec := e.do("GET", "/v1.0/users?$top=1000000", nil, e.op); rec.Code != 200 || e.srv.limits.MaxTop != 999 {
		t.Errorf("$top above the maximum: %d (MaxTop %d)", rec.Code, e.srv.limits.MaxTop)
	}
	big := map[string]any{"userPrincipalName": "big@contoso.com", "displayName": strings.Repeat("x", int(DefaultLimits.MaxBody))}
	if rec := e.do("POST", "/v1.0/users", big, e.op); rec.Code != 413 {
		t.Errorf("a body above the limit: %d", rec.Code)
	}
	if rec := e.do("POST", "/allot/v1/signin", `{"userName":"`+strings.Repeat("x", int(DefaultLimits.MaxBody))+`","password":"x"}`); rec.Code != 413 && rec.Code != 400 {
		t.Errorf("a sign-in body above the limit: %d", rec.Code)
	}
	if MaxCSVRows <= 0 || DefaultLimits.MaxCSVRows != MaxCSVRows {
		t.Errorf("MaxCSVRows must be configured")
	}
}

// The access-control flows on every store engine (SQLite and PostgreSQL).
func TestAuthFlowsOnEveryEngine(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		e := newAuthEnvOn(t, open)
		ctx := context.Background()
		gaUser, ga := e.person("ga@contoso.com", store.RoleGlobalAdmin)
		// Roles: grant, read with a filter, use, remove.
		ra := e.must(201, "POST", "/v1.0/roleManagement/directory/roleAssignments", map[string]any{"principalId": e.target.GUID, "roleDefinitionId": store.RoleIDLicenseAdmin}, ga)
		l := e.must(200, "GET", "/v1.0/roleManagement/directory/roleAssignments?$filter=principalId eq '"+e.target.GUID+"'", nil, ga)
		if n := len(l["value"].([]any)); n != 1 {
			t.Errorf("assignments of target: %d", n)
		}
		e.must(204, "DELETE", "/v1.0/roleManagement/directory/roleAssignments/"+ra["id"].(string), nil, ga)
		// API clients: create, use (last used), revoke.
		id, tok := e.client(ga, "sync", "Directory.Read.All")
		e.must(200, "GET", "/v1.0/users", nil, tok)
		if c := e.must(200, "GET", "/allot/v1/apiClients/"+id, nil, ga); c["lastUsedDateTime"] == nil {
			t.Errorf("last used time not recorded")
		}
		if rec := e.do("POST", "/v1.0/groups", map[string]any{"displayName": "x", "mailEnabled": false, "mailNickname": "x", "securityEnabled": true}, tok); rec.Code != 403 {
			t.Errorf("a Directory.Read.All client wrote: %d", rec.Code)
		}
		e.must(204, "DELETE", "/allot/v1/apiClients/"+id, nil, ga)
		if rec := e.do("GET", "/v1.0/users", nil, tok); rec.Code != 401 {
			t.Errorf("revoked token: %d", rec.Code)
		}
		// The last Global Administrator.
		e.must(204, "DELETE", "/allot/v1/apiClients/"+principalOf(t, e, e.op), nil, ga)
		if rec := e.do("PATCH", "/v1.0/users/"+gaUser.GUID, map[string]any{"accountEnabled": false}, ga); rec.Code != 400 {
			t.Errorf("disabling the last Global Administrator: %d", rec.Code)
		}
		// Single sign-on links an identity once, then follows the link.
		u, err := e.st.UserForIdentity(ctx, e.tenant.ID, "https://idp.example", "sub-1", []string{"target@contoso.com"})
		if err != nil || u.GUID != e.target.GUID {
			t.Fatalf("link identity: %v %v", u, err)
		}
		if u, err := e.st.UserForIdentity(ctx, e.tenant.ID, "https://idp.example", "sub-1", nil); err != nil || u.GUID != e.target.GUID {
			t.Errorf("follow the link: %v %v", u, err)
		}
		if _, err := e.st.UserForIdentity(ctx, e.tenant.ID, "https://idp.example", "sub-2", []string{"target@contoso.com"}); allot.ErrorCode(err) != allot.EForbidden {
			t.Errorf("a second identity took over a linked user: %v", err)
		}
		// Sign out ends the session; deleting a user removes its access.
		e.must(204, "POST", "/allot/v1/signout", nil, ga)
		if rec := e.do("GET", "/allot/v1/me", nil, ga); rec.Code != 401 {
			t.Errorf("after sign-out: %d", rec.Code)
		}
		del, dc := e.person("leaver@contoso.com", store.RoleGlobalReader)
		e.must(200, "GET", "/allot/v1/me", nil, dc)
		e.must(204, "DELETE", "/v1.0/users/"+del.GUID, nil, e.signin("ga@contoso.com", passwordOf(t, "ga@contoso.com")))
		if rec := e.do("GET", "/allot/v1/me", nil, dc); rec.Code != 401 {
			t.Errorf("a deleted user's session works: %d", rec.Code)
		}
	})
}

func TestRetryAfterIsTheRealWait(t *testing.T) {
	l := DefaultLimits
	l.RatePerSecond, l.RateBurst = 0.25, 1
	e := newAuthEnv(t, l)
	e.must(200, "GET", "/v1.0/users", nil, e.op)
	rec := e.do("GET", "/v1.0/users", nil, e.op)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "4" {
		t.Errorf("rate 1 per 4 s: %d Retry-After %q, want 429 and 4", rec.Code, rec.Header().Get("Retry-After"))
	}
	forEachSigninCounter(t, func(t *testing.T, g signinCounter) {
		now := time.Now().Truncate(time.Millisecond)
		for i := 0; i < signinFreePerAccount+2; i++ {
			mustDo(t, g.fail(ctx, "a", "addr", now))
		}
		if w := mustWait(t, g, "a", "other", now); w != 4*time.Second {
			t.Errorf("after %d failures: wait %v, want 4s (1s, doubling)", signinFreePerAccount+2, w)
		}
		if w := mustWait(t, g, "b", "other", now); w != 0 {
			t.Errorf("another account waits %v", w)
		}
		mustDo(t, g.succeed(ctx, "a"))
		if w := mustWait(t, g, "a", "other", now); w != 0 {
			t.Errorf("after a success: wait %v", w)
		}
		// The count restarts after signinWindow without a failure.
		later := now.Add(signinWindow + time.Minute)
		for i := 0; i < signinFreePerAccount-1; i++ {
			mustDo(t, g.fail(ctx, "c", "addr2", now))
		}
		mustDo(t, g.fail(ctx, "c", "addr2", later))
		if w := mustWait(t, g, "c", "other", later); w != 0 {
			t.Errorf("a failure after a quiet window waits %v, want 0 (the count restarts)", w)
		}
	})
}
