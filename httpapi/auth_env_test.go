package httpapi

// Fixture of the access-control tests: a server on a SQLite store under one
// directory for the whole test binary, so that after the suite TestMain can
// grep every database file and the server logs for any secret the tests
// issued or typed (tokens, session cookies, passwords).

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"allot"
	"allot/catalog"
	"allot/store"
	"allot/store/sqlstore"
)

// secrets is what the suite must never find in plain text on disk or in logs.
var secrets struct {
	mu     sync.Mutex
	values []string
	root   string       // every auth test's database lives under it
	logs   bytes.Buffer // every auth test server's log
}

func remember(s string) string {
	secrets.mu.Lock()
	secrets.values = append(secrets.values, s)
	secrets.mu.Unlock()
	return s
}

type lockedWriter struct{}

func (lockedWriter) Write(p []byte) (int, error) {
	secrets.mu.Lock()
	defer secrets.mu.Unlock()
	return secrets.logs.Write(p)
}

func TestMain(m *testing.M) {
	root, err := os.MkdirTemp("", "allot-auth-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	secrets.root = root
	code := m.Run()
	if code == 0 {
		if msg := findPlaintextSecrets(); msg != "" {
			fmt.Fprintln(os.Stderr, "FAIL: secrets in plain text after the suite:\n"+msg)
			code = 1
		} else {
			fmt.Fprintf(os.Stderr, "no plain-text secret in %d checked values (database files under %s and server logs)\n", len(secrets.values), root)
		}
	}
	os.RemoveAll(root)
	os.Exit(code)
}

// findPlaintextSecrets greps every file under the root (SQLite database, WAL
// and shared-memory files) and the server logs for every remembered secret.
func findPlaintextSecrets() string {
	var files [][2]string
	filepath.Walk(secrets.root, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if b, err := os.ReadFile(path); err == nil {
				files = append(files, [2]string{path, string(b)})
			}
		}
		return nil
	})
	files = append(files, [2]string{"server logs", secrets.logs.String()})
	var out strings.Builder
	checked := 0
	for _, s := range secrets.values {
		if len(s) < 8 {
			continue
		}
		for _, f := range files {
			checked++
			if strings.Contains(f[1], s) {
				fmt.Fprintf(&out, "  %q found in %s\n", s, f[0])
			}
		}
	}
	if checked == 0 && flag.Lookup("test.run").Value.String() == "" {
		return "  nothing was checked: no secret was remembered"
	}
	return out.String()
}

// authEnv is one server on one fresh SQLite store with tenant Contoso,
// products, a Global Administrator operator token, a target user and a group.
type authEnv struct {
	t      *testing.T
	dir    string
	st     *sqlstore.Store
	srv    *Server
	h      http.Handler
	tenant *allot.Tenant
	op     string // operator Global Administrator token
	skuE3  string
	skuE5  string
	target *allot.User // a user without roles, for changes
	other  *allot.User // another user, for memberships
	group  *allot.Group
	n      int
}

// passwords are the people's passwords by userPrincipalName.
var passwords sync.Map

func passwordOf(t *testing.T, upn string) string {
	pw, ok := passwords.Load(upn)
	if !ok {
		t.Fatalf("no password for %s", upn)
	}
	return pw.(string)
}

var dirSafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func newAuthEnv(t *testing.T, limits ...Limits) *authEnv {
	return newAuthEnvOn(t, nil, limits...)
}

// newAuthEnvOn is newAuthEnv on a store from open (nil: SQLite under the
// directory that TestMain greps).
func newAuthEnvOn(t *testing.T, open storeOpener, limits ...Limits) *authEnv {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(lockedWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var st *sqlstore.Store
	var dir string
	if open != nil {
		st = open(t)
	} else {
		var err error
		if dir, err = os.MkdirTemp(secrets.root, dirSafe.ReplaceAllString(t.Name(), "_")+"-"); err != nil {
			t.Fatal(err)
		}
		if st, err = sqlstore.OpenSQLite(ctx, dir, sqlstore.WithLogger(log)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
	}
	var err error
	l := DefaultLimits
	l.RatePerSecond = 0
	if len(limits) > 0 {
		l = limits[0]
	}
	e := &authEnv{t: t, dir: dir, st: st}
	e.srv = New(st, log, l)
	e.h = e.srv.Handler()
	if e.tenant, err = st.CreateTenant(ctx, "Contoso", "NAM", "US"); err != nil {
		t.Fatal(err)
	}
	e.op = remember(sqlstore.NewToken())
	if err := st.CreateToken(ctx, e.tenant.ID, "operator", store.RoleGlobalAdmin, e.op); err != nil {
		t.Fatal(err)
	}
	sys := allot.Actor{Kind: "system", ID: "test", Name: "test"}
	for _, part := range []string{"SPE_E3", "SPE_E5"} {
		d, _ := catalog.Lookup(part)
		p, err := st.AddProduct(ctx, sys, e.tenant.ID, d, 10)
		if err != nil {
			t.Fatal(err)
		}
		if part == "SPE_E3" {
			e.skuE3 = p.SkuID
		} else {
			e.skuE5 = p.SkuID
		}
	}
	e.target = e.user("target@contoso.com")
	e.other = e.user("other@contoso.com")
	e.group = &allot.Group{DisplayName: "Licensed", MailNickname: "licensed"}
	if err := st.CreateGroup(ctx, sys, e.tenant.ID, e.group); err != nil {
		t.Fatal(err)
	}
	return e
}

// user creates a user without roles or password.
func (e *authEnv) user(upn string) *allot.User {
	e.t.Helper()
	u := &allot.User{UserPrincipalName: upn, DisplayName: strings.Split(upn, "@")[0], UsageLocation: "US", AccountEnabled: true}
	if err := e.st.CreateUser(context.Background(), allot.Actor{Kind: "system", ID: "test", Name: "test"}, e.tenant.ID, u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// person creates a user with a password and the roles (display names),
// signs in through the API and returns the user and the session cookie.
func (e *authEnv) person(upn string, roles ...string) (*allot.User, *http.Cookie) {
	e.t.Helper()
	u := e.user(upn)
	pw := remember(fmt.Sprintf("pw-%s-%d-Secret!", strings.Split(upn, "@")[0], e.n))
	e.n++
	passwords.Store(upn, pw)
	ctx := context.Background()
	if err := e.st.SetPassword(ctx, allot.Actor{Kind: "system", ID: "test", Name: "test"}, e.tenant.ID, u.GUID, pw); err != nil {
		e.t.Fatal(err)
	}
	for _, r := range roles {
		if _, err := e.st.AddRoleAssignment(ctx, allot.Actor{Kind: "system", ID: "test", Name: "test"}, e.tenant.ID, u.GUID, store.RoleIDs[r]); err != nil {
			e.t.Fatal(err)
		}
	}
	return u, e.signin(upn, pw)
}

// signin signs in with a password and returns the session cookie.
func (e *authEnv) signin(upn, pw string) *http.Cookie {
	e.t.Helper()
	rec := e.do("POST", "/allot/v1/signin", map[string]any{"userName": upn, "password": pw})
	if rec.Code != 200 {
		e.t.Fatalf("sign in %s: %d %s", upn, rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionCookie {
			remember(c.Value)
			return c
		}
	}
	e.t.Fatalf("sign in %s: no session cookie", upn)
	return nil
}

// client creates an API client as the session's person (or token) with the
// scopes and returns its id and token.
func (e *authEnv) client(as any, name string, scopes ...string) (string, string) {
	e.t.Helper()
	rec := e.do("POST", "/allot/v1/apiClients", map[string]any{"displayName": name, "scopes": scopes}, as)
	if rec.Code != 201 {
		e.t.Fatalf("create API client %s: %d %s", name, rec.Code, rec.Body)
	}
	var out struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	json.Unmarshal(rec.Body.Bytes(), &out)
	return out.ID, remember(out.Token)
}

// do sends a request through the server's handler. Each of as is a token
// (string), a session cookie, an http.Header to add, or a func(*http.Request).
func (e *authEnv) do(method, path string, body any, as ...any) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	r := httptest.NewRequest(method, "https://allot.test"+strings.ReplaceAll(strings.ReplaceAll(path, " ", "%20"), "'", "%27"), rd)
	if rd != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	for _, a := range as {
		switch x := a.(type) {
		case string:
			r.Header.Set("Authorization", "Bearer "+x)
		case *http.Cookie:
			r.AddCookie(x)
		case http.Header:
			for k, v := range x {
				r.Header[k] = v
			}
		case func(*http.Request):
			x(r)
		case nil:
		default:
			e.t.Fatalf("do: unknown credential %T", a)
		}
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	if rec.Code >= 500 {
		e.t.Errorf("%s %s → %d %s", method, path, rec.Code, rec.Body)
	}
	return rec
}

// must checks the status of a request and returns the decoded JSON body.
func (e *authEnv) must(want int, method, path string, body any, as ...any) map[string]any {
	e.t.Helper()
	rec := e.do(method, path, body, as...)
	if rec.Code != want {
		e.t.Fatalf("%s %s: want %d, got %d %s", method, path, want, rec.Code, rec.Body)
	}
	var out map[string]any
	json.Unmarshal(rec.Body.Bytes(), &out)
	return out
}

// audits returns the tenant's audit events with the activity, newest first.
func (e *authEnv) audits(activity string) []*allot.AuditEvent {
	e.t.Helper()
	evs, _, err := e.st.ListAudit(context.Background(), e.tenant.ID, store.AuditFilter{Activity: activity, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}
