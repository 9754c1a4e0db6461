package httpapi

// Authentication and the checks every route goes through: who the caller is
// (an API token in "Authorization: Bearer", or a person's session cookie),
// the per-credential request rate, the permission the route needs (roles.go),
// the body size, and cross-origin protection for browsers.

import (
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

// sessionCookie carries a person's session. The __Host- prefix makes
// browsers keep it only when it is Secure, host-only and for path /.
const sessionCookie = "__Host-allot_session"

// AuthConfig configures how people sign in.
type AuthConfig struct {
	// SessionLifetime ends a session this long after sign-in (default 8 h).
	SessionLifetime time.Duration
	// SessionIdle ends a session after this long without a request (default 1 h).
	SessionIdle time.Duration
	// OIDC turns on single sign-on with an OpenID Connect provider.
	OIDC *OIDCConfig
}

// routeInfo is one registered route and what it needs.
type routeInfo struct {
	Pattern string
	Need    Perm
	Public  bool // no authentication (health, sign-in, single sign-on)
}

// authState is the server's access-control state.
type authState struct {
	routes  []routeInfo
	session sqlstore.SessionPolicy
	oidc    *oidcState
	rate    limiter
	signin  *signinGuard
}

// newAuthState keeps the rate limits and sign-in counts in this process on
// SQLite (one process serves it) and in the database on PostgreSQL, shared
// by every replica (limits_shared.go).
func newAuthState(st *sqlstore.Store, log *slog.Logger, l Limits) *authState {
	a := &authState{session: sqlstore.SessionPolicy{Lifetime: 8 * time.Hour, Idle: time.Hour}}
	if st.Engine() != sqlstore.Postgres {
		a.rate = newRateLimiter(l.RatePerSecond, l.RateBurst)
		a.signin = newSigninGuard(newLocalSignins())
		return a
	}
	idle := signinWindow
	if l.RatePerSecond > 0 {
		idle = max(idle, time.Duration(float64(max(l.RateBurst, 1))/l.RatePerSecond*float64(time.Second)))
	}
	p := &limitPruner{st: st, log: log, idle: idle}
	a.rate = newSharedRate(st, log, l.RatePerSecond, l.RateBurst, p)
	a.signin = newSigninGuard(&sharedSignins{st: st, pruner: p})
	return a
}

func (a *authState) register(pattern string, need Perm) {
	a.routes = append(a.routes, routeInfo{Pattern: pattern, Need: need})
}

// ConfigureAuth sets how people sign in. Call it before serving.
func (s *Server) ConfigureAuth(c AuthConfig) error {
	if c.SessionLifetime > 0 {
		s.auth.session.Lifetime = c.SessionLifetime
	}
	if c.SessionIdle > 0 {
		s.auth.session.Idle = c.SessionIdle
	}
	if s.auth.session.Idle > s.auth.session.Lifetime {
		s.auth.session.Idle = s.auth.session.Lifetime
	}
	if c.OIDC != nil {
		o, err := newOIDCState(*c.OIDC)
		if err != nil {
			return err
		}
		s.auth.oidc = o
	}
	return nil
}

// Routes lists the registered routes ("METHOD /path") and the permission
// each needs ("public" for routes without authentication).
func (s *Server) Routes() map[string]string {
	out := map[string]string{}
	for _, r := range s.auth.routes {
		switch {
		case r.Public:
			out[r.Pattern] = "public"
		case r.Need == PermSignedIn:
			out[r.Pattern] = "signed in"
		default:
			out[r.Pattern] = strings.Join(r.Need.Names(), " | ")
		}
	}
	return out
}

// public registers a route that needs no authentication; its body is limited
// like every other.
func (s *Server) public(pattern string, h http.HandlerFunc) {
	s.auth.routes = append(s.auth.routes, routeInfo{Pattern: pattern, Public: true})
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.limits.MaxBody)
		}
		h(w, r)
	})
}

// serveAuthenticated runs an authenticated route's handler after the checks.
func (s *Server) serveAuthenticated(w http.ResponseWriter, r *http.Request, need Perm, h handler) {
	p, err := s.authenticate(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="allot"`)
		s.writeError(w, r, err)
		return
	}
	notePrincipal(r, p)
	if wait, ok := s.auth.rate.allow(r.Context(), rateKey(p), time.Now()); !ok {
		s.writeRetryAfter(w, r, wait, "Too many requests with this credential; slow down and retry after the Retry-After header's seconds.")
		return
	}
	if scimOnly(p) {
		s.writeError(w, r, allot.Errorf(allot.EForbidden, "This API client has the %s scope: it may only call /scim/v2. Use another client for this route.", SCIMScope))
		return
	}
	if need != PermSignedIn && effectivePerms(p)&need == 0 {
		s.writeError(w, r, forbidden(p, need))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.bodyLimit(r.Pattern))
	ctx := sqlstore.WithCorrelationID(r.Context(), requestIDOf(r))
	if err := h(w, r.WithContext(ctx), p); err != nil {
		s.writeError(w, r, err)
	}
}

// forbidden is the answer to a caller that lacks the permission.
func forbidden(p *store.Principal, need Perm) error {
	who := "your roles do"
	switch {
	case p.Kind == store.PrincipalClient && p.Scopes != nil:
		who = "this API client's scopes and roles do"
	case p.Role != "":
		who = "the role " + p.Role + " does"
	case p.Kind == store.PrincipalUser:
		who = "a user without directory roles does"
	}
	return allot.Errorf(allot.EForbidden, "Insufficient privileges to complete the operation: it needs %s, which %s not allow.",
		strings.Join(need.Names(), " or "), who)
}

// authenticate finds the caller: an API token ("Authorization: Bearer"),
// else a session cookie.
func (s *Server) authenticate(r *http.Request) (*store.Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || strings.TrimSpace(tok) == "" {
			return nil, allot.Errorf(allot.EUnauthorized, "Send 'Authorization: Bearer <token>'; POST /allot/v1/apiClients or 'allot token create' gives one.")
		}
		return s.st.Authenticate(r.Context(), strings.TrimSpace(tok))
	}
	if c := sessionCookieOf(r); c != "" {
		return s.st.SessionPrincipal(r.Context(), c, s.auth.session)
	}
	return nil, allot.Errorf(allot.EUnauthorized, "Access token is empty. Send 'Authorization: Bearer <token>', or sign in (POST /allot/v1/signin).")
}

func rateKey(p *store.Principal) string {
	if p.Kind == store.PrincipalUser {
		return "s" + itoa64(p.SessionID)
	}
	return "c" + itoa64(p.TokenID)
}

func itoa64(n int64) string {
	b := make([]byte, 0, 20)
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		b = append(b, byte('0'+n%10))
		n /= 10
	}
	if neg {
		b = append(b, '-')
	}
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// writeRetryAfter answers 429 with a Retry-After of wait (whole seconds, at
// least 1).
func (s *Server) writeRetryAfter(w http.ResponseWriter, r *http.Request, wait time.Duration, msg string) {
	secs := int64((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", itoa64(secs))
	s.writeError(w, r, allot.Errorf(allot.ETooManyRequests, "%s", msg))
}

// crossOrigin refuses state-changing requests (anything but GET, HEAD and
// OPTIONS) that a browser sends from another origin, with net/http's
// CrossOriginProtection: by Sec-Fetch-Site, else by Origin against Host.
// Clients that are not browsers send neither header and pass.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, allot.Errorf(allot.EForbidden, "Cross-origin request refused: a page on another site cannot change anything here."))
	}))
	return cop.Handler(next)
}

// setSessionCookie gives the browser its session cookie: the Secure
// __Host- one where browsers keep Secure cookies (https, and loopback hosts
// such as localhost and 127.0.0.1), else, over plain HTTP to another host,
// plainSessionCookie without Secure.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, raw string) {
	name, secure := sessionCookie, true
	if !secureCookieOK(r) {
		name, secure = plainSessionCookie, false
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: raw, Path: "/", Secure: secure, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.auth.session.Lifetime / time.Second)})
}

// plainSessionCookie carries a session over plain HTTP to a host that is
// not loopback, where browsers refuse Secure (and so __Host-) cookies. It is
// read only from such requests.
const plainSessionCookie = "allot_session"

// secureCookieOK tells whether a browser keeps a Secure cookie from this
// request: over TLS (directly or behind a proxy that says so) or from a
// loopback host.
func secureCookieOK(r *http.Request) bool {
	if requestScheme(r) == "https" {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sessionCookieOf returns the request's session cookie value, or "".
func sessionCookieOf(r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		return c.Value
	}
	if !secureCookieOK(r) {
		if c, err := r.Cookie(plainSessionCookie); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// clearSessionCookie removes the session cookie in the browser.
func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	if secureCookieOK(r) {
		clearCookie(w, sessionCookie)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: plainSessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// setRetryAfter sets Retry-After to wait in whole seconds, at least 1.
func setRetryAfter(w http.ResponseWriter, wait time.Duration) {
	secs := int64((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", itoa64(secs))
}

func clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// guardUserChange refuses a change to a user that would let the caller take
// over more rights than they have, or leave the tenant without a Global
// Administrator: only a caller whose permissions include all of the target
// user's may change anything but the usage location of that user, reset
// their password or delete them; and the last Global Administrator can be
// neither disabled nor deleted. Unknown users pass (the store answers 404).
func (s *Server) guardUserChange(r *http.Request, p *store.Principal, userRef string, onlyUsageLocation, disables bool) error {
	pr, err := s.st.FindPrincipal(r.Context(), p.Tenant.ID, userRef)
	if err != nil || pr.Kind != store.PrincipalUser {
		return nil
	}
	if !onlyUsageLocation {
		target := rolePerms(pr.Roles)
		if target&^effectivePerms(p) != 0 || (containsRole(pr.Roles, store.RoleIDGlobalAdmin) && !isGlobalAdmin(p)) {
			return allot.Errorf(allot.EForbidden, "Insufficient privileges: '%s' holds %s, with rights you do not have; only a Global Administrator can change this user.",
				pr.Name, roleList(pr.Roles))
		}
	}
	if disables && pr.Enabled && containsRole(pr.Roles, store.RoleIDGlobalAdmin) {
		last, err := s.st.IsLastGlobalAdmin(r.Context(), p.Tenant.ID, store.PrincipalUser, pr.ID)
		if err != nil {
			return err
		}
		if last {
			return allot.Errorf(allot.EConflict, "'%s' is the tenant's last Global Administrator; assign the role to someone else first.", pr.Name)
		}
	}
	return nil
}

func containsRole(roles []string, id string) bool {
	for _, r := range roles {
		if strings.EqualFold(r, id) {
			return true
		}
	}
	return false
}

func roleList(ids []string) string {
	var names []string
	for _, id := range ids {
		if r, ok := roleByID(id); ok {
			names = append(names, r.Name)
		}
	}
	return strings.Join(names, ", ")
}

// passwordFromProfile returns the password of a Graph passwordProfile
// ({"password": "...", "forceChangePasswordNextSignIn": false}).
func passwordFromProfile(pp map[string]any) (string, error) {
	for k := range pp {
		switch k {
		case "password", "forceChangePasswordNextSignIn", "forceChangePasswordNextSignInWithMfa":
		default:
			return "", allot.Errorf(allot.EInvalid, "passwordProfile has no property '%s'; send {\"password\": \"...\"}.", k)
		}
	}
	pw, ok := pp["password"].(string)
	if !ok {
		return "", allot.Errorf(allot.EInvalid, "passwordProfile.password must be a string.")
	}
	return pw, sqlstore.ValidatePassword(pw)
}

// setUserPassword sets the password of a passwordProfile for a user after
// guarding the change.
func (s *Server) setUserPassword(r *http.Request, p *store.Principal, userRef string, pp map[string]any) error {
	pw, err := passwordFromProfile(pp)
	if err != nil {
		return err
	}
	if effectivePerms(p)&PermUsersWrite == 0 {
		return forbidden(p, PermUsersWrite)
	}
	if err := s.guardUserChange(r, p, userRef, false, false); err != nil {
		return err
	}
	return s.st.SetPassword(r.Context(), p.Actor(), p.Tenant.ID, userRef, pw)
}
