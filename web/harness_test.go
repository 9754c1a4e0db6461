package web_test

// Test harness of the admin center: a real allot server (httpapi with the
// admin center mounted, the group-licensing worker running) on a fresh
// SQLite store, and a real headless Chromium driven with chromedp.
//
// The browser is Debian's /usr/bin/chromium (or $ALLOT_CHROMIUM). Without it
// the browser tests skip, except under CI=true, where they fail: CI installs
// Chromium (.ci/run) and the tests must run there.
//
// Screenshots go to artifacts/screenshots/ at the repository root (set
// ALLOT_SCREENSHOTS to write them elsewhere).

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"allot"
	"allot/catalog"
	"allot/httpapi"
	"allot/reconcile"
	"allot/scim"
	"allot/store"
	"allot/store/sqlstore"
	"allot/web"
)

const (
	adminUPN    = "admin@contoso.com"
	readerUPN   = "reader@contoso.com"
	leaderUPN   = "leader@contoso.com"
	password    = "correct horse battery staple"
	browserWait = 20 * time.Second
)

var actor = allot.Actor{Kind: "system", ID: "test", Name: "web test"}

// env is one server on one fresh store.
type env struct {
	t      *testing.T
	st     *sqlstore.Store
	tenant *allot.Tenant
	srv    *httptest.Server
	url    string
	skus   map[string]*allot.Product
	users  map[string]*allot.User // by display name
	logs   *errorLog
	log    *slog.Logger
	apiSrv *httpapi.Server
}

// startWorker runs group-based licensing in the background until the test ends.
func (e *env) startWorker() {
	wctx, cancel := context.WithCancel(context.Background())
	worker := reconcile.New(e.st, e.log)
	done := make(chan struct{})
	go func() { defer close(done); worker.Run(wctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// people are the users every env has (display name; usage location).
var people = []struct{ name, loc string }{
	{"Adele Vance", "US"}, {"Alex Wilber", "US"}, {"Diego Siciliani", "US"}, {"Grady Archie", "US"},
	{"Henrietta Mueller", "US"}, {"Isaiah Langer", "US"}, {"Johanna Lorenz", "US"}, {"Joni Sherman", "US"},
	{"Lee Gu", ""}, {"Lidia Holloway", "US"}, {"Lynne Robbins", "US"}, {"Megan Bowen", "US"},
	{"Miriam Graham", "US"}, {"Nestor Wilke", "US"}, {"Patti Fernandez", "US"}, {"Pradeep Gupta", "US"},
}

func upnOf(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@contoso.com"
}

// newEnv starts a server with tenant Contoso (NAM, US): products SPE_E3
// (50 seats), SPE_E5 (20), ENTERPRISEPACK (10) and
// WORKPLACE_ANALYTICS_INSIGHTS (seats as given), the people above, a Global
// Administrator (adminUPN), a Global Reader (readerUPN) and an Insights
// Business Leader (leaderUPN), all with the password above. SCIM is served
// at /scim/v2, as by allot serve.
func newEnv(t *testing.T, insightsSeats int) *env {
	t.Helper()
	e := newEnvPaused(t, insightsSeats)
	e.startWorker()
	return e
}

// newEnvPaused is newEnv without the group-licensing worker: groups stay
// queued until startWorker.
func newEnvPaused(t *testing.T, insightsSeats int) *env {
	t.Helper()
	return newEnvOn(t, openSQLite, insightsSeats)
}

// openSQLite opens a fresh SQLite store for the test.
func openSQLite(t *testing.T) *sqlstore.Store {
	st, err := sqlstore.OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newEnvOn is newEnvPaused on the store that open gives.
func newEnvOn(t *testing.T, open func(*testing.T) *sqlstore.Store, insightsSeats int) *env {
	t.Helper()
	ctx := context.Background()
	st := open(t)
	ten, err := st.CreateTenant(ctx, "Contoso", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, tenant: ten, skus: map[string]*allot.Product{}, users: map[string]*allot.User{}, logs: &errorLog{}}
	for part, seats := range map[string]int{"SPE_E3": 50, "SPE_E5": 20, "ENTERPRISEPACK": 10, "WORKPLACE_ANALYTICS_INSIGHTS": insightsSeats} {
		d, ok := catalog.Lookup(part)
		if !ok {
			t.Fatalf("catalog has no %s", part)
		}
		p, err := st.AddProduct(ctx, actor, ten.ID, d, seats)
		if err != nil {
			t.Fatal(err)
		}
		e.skus[part] = p
	}
	for _, p := range people {
		e.addUser(p.name, p.loc)
	}
	for _, a := range []struct{ name, upn, role string }{
		{"Contoso Admin", adminUPN, store.RoleIDGlobalAdmin},
		{"Rita Reader", readerUPN, store.RoleIDGlobalReader},
		{"Bea Leader", leaderUPN, store.RoleIDInsightsLeader},
	} {
		u := &allot.User{UserPrincipalName: a.upn, DisplayName: a.name, UsageLocation: "US", AccountEnabled: true}
		if err := st.CreateUser(ctx, actor, ten.ID, u); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddRoleAssignment(ctx, actor, ten.ID, a.upn, a.role); err != nil {
			t.Fatal(err)
		}
		if err := st.SetPassword(ctx, actor, ten.ID, a.upn, password); err != nil {
			t.Fatal(err)
		}
	}

	log := slog.New(e.logs)
	limits := httpapi.DefaultLimits
	limits.RatePerSecond = 0
	api := httpapi.New(st, log, limits)
	api.MountSCIM(scim.Prefix, scim.New(st, log))
	w := web.Mount(st, api, log)
	w.PollInterval = 300 * time.Millisecond
	e.log, e.apiSrv = log, api
	e.srv = httptest.NewServer(api.Handler())
	t.Cleanup(e.srv.Close)
	// The browser reaches the server at localhost, as a person would.
	e.url = strings.Replace(e.srv.URL, "127.0.0.1", "localhost", 1)
	t.Cleanup(func() {
		if msgs := e.logs.take(); len(msgs) > 0 {
			t.Errorf("the server logged %d error(s):\n%s", len(msgs), strings.Join(msgs, "\n"))
		}
	})
	return e
}

func (e *env) addUser(name, loc string) *allot.User {
	e.t.Helper()
	first, last, _ := strings.Cut(name, " ")
	u := &allot.User{UserPrincipalName: upnOf(name), DisplayName: name, GivenName: first, Surname: last, Mail: upnOf(name),
		UsageLocation: loc, AccountEnabled: true, Department: "Sales"}
	if err := e.st.CreateUser(context.Background(), actor, e.tenant.ID, u); err != nil {
		e.t.Fatal(err)
	}
	e.users[name] = u
	return u
}

// assign gives users products directly, through the store.
func (e *env) assign(name string, parts ...string) {
	e.t.Helper()
	var add []store.LicenseRequest
	for _, p := range parts {
		add = append(add, store.LicenseRequest{SkuID: e.skus[p].SkuID})
	}
	if _, err := e.st.AssignUserLicenses(context.Background(), actor, e.tenant.ID, e.users[name].GUID, add, nil); err != nil {
		e.t.Fatalf("assign %v to %s: %v", parts, name, err)
	}
}

// group creates a group with the members (display names), in order.
func (e *env) group(name string, members ...string) *allot.Group {
	e.t.Helper()
	ctx := context.Background()
	g := &allot.Group{DisplayName: name, Description: "Test group " + name, MailNickname: strings.ReplaceAll(strings.ToLower(name), " ", ""), SecurityEnabled: true}
	if err := e.st.CreateGroup(ctx, actor, e.tenant.ID, g); err != nil {
		e.t.Fatal(err)
	}
	for _, m := range members {
		if err := e.st.AddMember(ctx, actor, e.tenant.ID, g.GUID, e.users[m].GUID); err != nil {
			e.t.Fatal(err)
		}
	}
	return g
}

// holds tells which products a user holds (active, any source).
func (e *env) holds(name string) map[string]bool {
	e.t.Helper()
	u := e.users[name]
	lic, err := e.st.UserLicenses(context.Background(), e.tenant.ID, []int64{u.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]bool{}
	for _, v := range lic[u.ID] {
		if v.State == allot.StateActive {
			out[v.Product.SkuPartNumber] = true
		}
	}
	return out
}

// ---- the browser ----

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc
	browserErr    error
)

// chromiumPath is the browser the tests drive.
func chromiumPath() string {
	if p := os.Getenv("ALLOT_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browserCancel != nil {
		browserCancel()
	}
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	os.Exit(code)
}

// startBrowser starts one headless Chromium for the test binary, with a
// fresh profile.
func startBrowser() (context.Context, error) {
	browserOnce.Do(func() {
		path := chromiumPath()
		if _, err := exec.LookPath(path); err != nil {
			browserErr = fmt.Errorf("no Chromium at %s (apt-get install chromium): %w", path, err)
			return
		}
		dir, err := os.MkdirTemp("", "allot-chromium-")
		if err != nil {
			browserErr = err
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-extensions", true),
			chromedp.Flag("force-color-profile", "srgb"),
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 900),
		}
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(allocCtx)
		if err := chromedp.Do(ctx); err != nil { // starts the browser
			cancelCtx()
			cancelAlloc()
			os.RemoveAll(dir)
			browserErr = fmt.Errorf("start Chromium: %w", err)
			return
		}
		browserCtx = ctx
		browserCancel = func() { cancelCtx(); cancelAlloc(); os.RemoveAll(dir) }
	})
	return browserCtx, browserErr
}

// tab is one browser tab with its own cookies (a new browser context).
type tab struct {
	t   *testing.T
	e   *env
	ctx context.Context
}

// browser opens a tab for the test; it skips the test without Chromium,
// or fails it under CI=true.
func (e *env) browser() *tab {
	t := e.t
	t.Helper()
	bctx, err := startBrowser()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser tests must run in CI: %v", err)
		}
		t.Skipf("browser tests skipped: %v", err)
	}
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelT)
	// The first action creates the tab, which lives as long as the context
	// that action gets: the test's, not a per-action timeout.
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	b := &tab{t: t, e: e, ctx: tctx}
	return b
}

func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatal("browser: %v", err)
	}
}

// fatal fails the test after saving a screenshot and the page's HTML.
func (b *tab) fatal(format string, args ...any) {
	b.t.Helper()
	name := "FAILED-" + strings.ReplaceAll(b.t.Name(), "/", "-")
	b.screenshotTo(name)
	html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	if len(html) > 6000 {
		html = html[:6000] + "…"
	}
	b.t.Fatalf(format+"\nat %s\n%s", append(args, loc, html)...)
}

func (b *tab) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.e.url + path))
}

// text returns the text of the first element the CSS selector finds,
// waiting for it to be visible (and retrying while a navigation replaces
// the page).
func (b *tab) text(sel string) string {
	b.t.Helper()
	deadline := time.Now().Add(browserWait)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, time.Until(deadline))
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if err == nil {
			return s
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	b.fatal("text of %s: %v", sel, last)
	return ""
}

// waitText waits until the element's text contains want.
func (b *tab) waitText(sel, want string) string {
	b.t.Helper()
	deadline := time.Now().Add(browserWait)
	var got string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(function(){var e=document.querySelector(%q);return e?e.innerText:""})()`, sel)))
		cancel()
		if err == nil {
			got = s
			if strings.Contains(s, want) {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.fatal("%s never contained %q; last text: %q", sel, want, got)
	return ""
}

// waitCount waits until the CSS selector finds n elements.
func (b *tab) waitCount(sel string, n int) {
	b.t.Helper()
	deadline := time.Now().Add(browserWait)
	got := -1
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		c, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
		cancel()
		if err == nil {
			if got = c; c == n {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.fatal("%s: %d elements, want %d", sel, got, n)
}

// count returns how many elements the CSS selector finds now.
func (b *tab) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		b.fatal("count %s: %v", sel, err)
	}
	return n
}

// click clicks the first element the CSS selector finds, after htmx has
// finished any request and set the element up (a click before that would
// follow the plain link or form).
func (b *tab) click(sel string) {
	b.t.Helper()
	b.settle(sel)
	b.do(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// settle waits until no htmx request is running and htmx has processed the
// element (htmx marks the elements it has set up).
func (b *tab) settle(sel string) {
	b.t.Helper()
	js := fmt.Sprintf(`(function(){
		if (!window.htmx) return false;
		if (document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling")) return false;
		var e = document.querySelector(%q);
		if (!e) return false;
		var h = e.closest("[hx-get],[hx-post]");
		return !h || !!h["htmx-internal-data"];
	})()`, sel)
	deadline := time.Now().Add(browserWait)
	var last error
	for time.Now().Before(deadline) {
		// Evaluate, not Poll: a navigation in between fails one try, not the wait.
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	b.fatal("waiting for %s to be ready: %v", sel, last)
}

// rowText returns the text of the first table row under sel that contains s.
func (b *tab) rowText(sel, s string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(function(){var r=Array.from(document.querySelectorAll(%q)).find(function(r){return r.innerText.indexOf(%q)>=0});return r?r.innerText:""})()`,
		sel+" tr", s)))
	if err != nil {
		b.fatal("row of %s with %q: %v", sel, s, err)
	}
	return v
}

// path returns the current location's path and query.
func (b *tab) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.fatal("location: %v", err)
	}
	return strings.TrimPrefix(loc, b.e.url)
}

// waitPath waits until the location's path starts with prefix.
func (b *tab) waitPath(prefix string) {
	b.t.Helper()
	deadline := time.Now().Add(browserWait)
	for time.Now().Before(deadline) {
		// A navigation in between fails one look, not the wait.
		if loc, err := chromedp.Run(b.ctx, chromedp.Location()); err == nil && strings.HasPrefix(strings.TrimPrefix(loc, b.e.url), prefix) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.fatal("never reached %s (at %s)", prefix, b.path())
}

// signIn signs in through the sign-in page.
func (b *tab) signIn(upn, pw string) {
	b.t.Helper()
	b.open("/")
	b.waitPath("/signin")
	b.do(
		chromedp.WaitVisible(chromedp.ID("userName")),
		chromedp.SendKeys(chromedp.ID("userName"), upn),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)),
	)
}

// screenshotDir is where screenshots go.
func screenshotDir() string {
	if d := os.Getenv("ALLOT_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join("..", "artifacts", "screenshots")
}

// screenshot saves the whole page as <name>.png.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	if err := b.screenshotTo(name); err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
	}
}

// screenshotView saves what the window shows as <name>.png.
func (b *tab) screenshotView(name string) {
	b.t.Helper()
	if err := b.capture(name, chromedp.CaptureScreenshot()); err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
	}
}

func (b *tab) screenshotTo(name string) error { return b.capture(name, chromedp.FullScreenshot(100)) }

func (b *tab) capture(name string, shot chromedp.Action[[]byte]) error {
	dir := screenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	buf, err := chromedp.Run(ctx, shot)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
}

// ---- plain HTTP, for checks that need no browser ----

// client is a cookie-holding HTTP client signed in as upn.
func (e *env) client(upn string) *http.Client {
	e.t.Helper()
	jar := newJar()
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(e.srv.URL+"/signin", map[string][]string{"userName": {upn}, "password": {password}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign in %s: %d", upn, resp.StatusCode)
	}
	return c
}

// errorLog collects the server's error logs.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	l.mu.Lock()
	l.msgs = append(l.msgs, b.String())
	l.mu.Unlock()
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }
func (l *errorLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.msgs
	l.msgs = nil
	return m
}

// jar keeps every cookie for every URL: the test server is one host.
type jar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func newJar() *jar { return &jar{cookies: map[string]*http.Cookie{}} }

func (j *jar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cs {
		if c.MaxAge < 0 {
			delete(j.cookies, c.Name)
			continue
		}
		j.cookies[c.Name] = c
	}
}

func (j *jar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

// value returns the value of the first form field the CSS selector finds.
func (b *tab) value(sel string) string {
	b.t.Helper()
	b.do(chromedp.WaitReady(chromedp.CSS(sel)))
	v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		b.fatal("value of %s: %v", sel, err)
	}
	return v
}

// disabled tells whether the first element the CSS selector finds is disabled.
func (b *tab) disabled(sel string) bool {
	b.t.Helper()
	return b.evalBool(fmt.Sprintf(`!!(document.querySelector(%q)||{}).disabled`, sel))
}

// checked tells whether the first check box the CSS selector finds is ticked.
func (b *tab) checked(sel string) bool {
	b.t.Helper()
	return b.evalBool(fmt.Sprintf(`!!(document.querySelector(%q)||{}).checked`, sel))
}

func (b *tab) evalBool(js string) bool {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		b.fatal("%s: %v", js, err)
	}
	return v
}

// fill empties a text field and types text into it, as a person would.
func (b *tab) fill(sel, text string) {
	b.t.Helper()
	b.evalBool(fmt.Sprintf(`(function(){var e=document.querySelector(%q);e.value="";return true})()`, sel))
	b.do(chromedp.SendKeys(chromedp.CSS(sel), text))
}
