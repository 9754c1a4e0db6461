package httpapi

// People's sign-in with a password, and sign-out.

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

func (s *Server) authRoutes() {
	s.public("POST /allot/v1/signin", s.signin)
	s.public("POST /allot/v1/signout", s.signout)
	s.public("GET /allot/v1/sso/login", s.ssoLogin)
	s.public("GET /allot/v1/sso/callback", s.ssoCallback)
	s.apiClientRoutes()
	s.roleRoutes()
	s.totpRoutes()
}

type signinBody struct {
	UserName string `json:"userName"`
	Password string `json:"password"`
	TenantID string `json:"tenantId"`
	Next     string `json:"next"`
	// Code is the authenticator app's one-time code, for an account that
	// has one on.
	Code string `json:"code"`
}

// signin checks a user name and password (and one-time code, when the
// account has an authenticator app) and starts a session: JSON
// ({"userName", "password", "tenantId"?, "code"?}) answers 200 with the signed-in
// user; a form post answers 303 to next (a path on this site) or /.
func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	ctx := sqlstoreCtx(r)
	r = r.WithContext(ctx)
	b, form, err := readSignin(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, ten, sess, err := s.passwordSignIn(w, r, b)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if form {
		http.Redirect(w, r, safeNext(b.Next), http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": u.GUID, "userPrincipalName": u.UserPrincipalName, "displayName": u.DisplayName,
		"tenantId": ten.GUID, "expiresDateTime": graphTime(sess.ExpiresAt)})
}

// passwordSignIn checks a user name and password (slowing down repeated
// failures per account and address), starts a session and sets its cookie.
// A refusal for too many attempts sets Retry-After and returns
// ETooManyRequests. The web admin center signs in through it too.
func (s *Server) passwordSignIn(w http.ResponseWriter, r *http.Request, b signinBody) (*allot.User, *allot.Tenant, *sqlstore.Session, error) {
	ctx := r.Context()
	ten, err := s.signinTenant(r, b.TenantID)
	if err != nil {
		return nil, nil, nil, err
	}
	addr := clientAddress(r)
	account := itoa64(ten.ID) + ":" + allot.NormalizeKey(b.UserName)
	g := s.auth.signin
	wait, err := g.counts.wait(ctx, account, addr, time.Now())
	if err != nil {
		return nil, nil, nil, err
	}
	if wait > 0 {
		setRetryAfter(w, wait)
		return nil, nil, nil, allot.Errorf(allot.ETooManyRequests, "Too many failed sign-ins; wait before trying again.")
	}
	if !g.acquire(10 * time.Second) {
		setRetryAfter(w, time.Second)
		return nil, nil, nil, allot.Errorf(allot.ETooManyRequests, "Too many sign-ins at once; try again.")
	}
	u, err := s.st.CheckPassword(ctx, ten.ID, b.UserName, b.Password)
	g.release()
	if allot.ErrorCode(err) == allot.EUnauthorized {
		if ferr := g.counts.fail(ctx, account, addr, time.Now()); ferr != nil {
			return nil, nil, nil, ferr
		}
		if aerr := s.st.RecordSignInFailure(ctx, ten.ID, b.UserName, "password", addr, "Invalid user name or password, or the account is disabled."); aerr != nil {
			return nil, nil, nil, aerr
		}
		return nil, nil, nil, err
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if err := s.secondFactor(ctx, u, b, account, addr); err != nil {
		return nil, nil, nil, err
	}
	if err := g.counts.succeed(ctx, account); err != nil {
		return nil, nil, nil, err
	}
	raw, sess, err := s.st.CreateSession(ctx, u, "password", addr, s.auth.session)
	if err != nil {
		return nil, nil, nil, err
	}
	s.setSessionCookie(w, r, raw)
	w.Header().Set("Cache-Control", "no-store")
	return u, ten, sess, nil
}

// Answers of a sign-in whose second factor is missing or wrong: they tell
// nothing more than that a code is needed or was not accepted.
var (
	errCodeNeeded = allot.Errorf(allot.ETOTPRequired, "This account also needs the 6-digit code from its authenticator app: send it as 'code' with the password.")
	errCodeWrong  = allot.Errorf(allot.ETOTPRequired, "The code from the authenticator app is wrong, expired or already used: send the current 6-digit code as 'code'.")
)

// secondFactor checks the one-time code of a user whose password was right,
// when the user has an authenticator app on. A wrong code counts and is
// audited as a failed sign-in, like a wrong password; a missing one only
// asks for it.
func (s *Server) secondFactor(ctx context.Context, u *allot.User, b signinBody, account, addr string) error {
	on, err := s.st.TOTPEnabled(ctx, u.ID)
	if err != nil || !on {
		return err
	}
	if strings.TrimSpace(b.Code) == "" {
		return errCodeNeeded
	}
	err = s.st.CheckTOTP(ctx, u.ID, b.Code, time.Now())
	if !errors.Is(err, sqlstore.ErrTOTPWrong) {
		return err
	}
	if ferr := s.auth.signin.counts.fail(ctx, account, addr, time.Now()); ferr != nil {
		return ferr
	}
	if aerr := s.st.RecordSignInFailure(ctx, u.TenantID, b.UserName, "password+totp", addr, "Wrong or reused one-time code."); aerr != nil {
		return aerr
	}
	return errCodeWrong
}

// readSignin reads a sign-in from a JSON body or a form.
func readSignin(r *http.Request) (signinBody, bool, error) {
	var b signinBody
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data" {
		if err := r.ParseForm(); err != nil {
			return b, true, allot.Errorf(allot.EInvalid, "The sign-in form could not be read: %v", err)
		}
		b.UserName = firstNonEmpty(r.PostForm.Get("userName"), r.PostForm.Get("username"))
		b.Password, b.TenantID, b.Next = r.PostForm.Get("password"), r.PostForm.Get("tenantId"), r.PostForm.Get("next")
		b.Code = r.PostForm.Get("code")
		return b, true, checkSignin(b)
	}
	data, err := readBody(r)
	if err != nil {
		return b, false, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return b, false, allot.Errorf(allot.EInvalid, "Send {\"userName\": \"...\", \"password\": \"...\"} as JSON, or a form.")
	}
	for k, v := range raw {
		var sv string
		if json.Unmarshal(v, &sv) != nil {
			return b, false, allot.Errorf(allot.EInvalid, "'%s' must be a string.", k)
		}
		switch strings.ToLower(k) {
		case "username":
			b.UserName = sv
		case "password":
			b.Password = sv
		case "tenantid":
			b.TenantID = sv
		case "next":
			b.Next = sv
		case "code":
			b.Code = sv
		default:
			return b, false, allot.Errorf(allot.EInvalid, "Sign-in has no property '%s'; send userName and password.", k)
		}
	}
	return b, false, checkSignin(b)
}

func checkSignin(b signinBody) error {
	if strings.TrimSpace(b.UserName) == "" || b.Password == "" {
		return allot.Errorf(allot.EInvalid, "Send userName and password.")
	}
	return nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// signinTenant is the tenant whose users sign in: the one named, or the
// default one. An unknown tenant answers like a wrong password.
func (s *Server) signinTenant(r *http.Request, id string) (*allot.Tenant, error) {
	if id == "" {
		return s.st.DefaultTenant(r.Context())
	}
	t, err := s.st.TenantByGUID(r.Context(), id)
	if allot.ErrorCode(err) == allot.ENotFound {
		return nil, allot.Errorf(allot.EUnauthorized, "The user name or password is incorrect.")
	}
	return t, err
}

// safeNext keeps a redirect target on this site: a path, never another
// host ("//evil", "/\evil", "https://evil").
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// signout ends the caller's session, if any, and clears the cookie.
func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(sqlstoreCtx(r))
	if err := s.endSession(w, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// endSession ends the request's session, if any, and clears the cookie.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) error {
	if c := sessionCookieOf(r); c != "" {
		if p, err := s.st.SessionPrincipal(r.Context(), c, s.auth.session); err == nil {
			if err := s.st.EndSession(r.Context(), p); err != nil {
				return err
			}
		}
	}
	clearSessionCookie(w, r)
	w.Header().Set("Cache-Control", "no-store")
	return nil
}

// principalJSON describes the caller for /allot/v1/me-like answers.
func principalJSON(p *store.Principal) map[string]any {
	return map[string]any{"id": p.GUID, "kind": p.Kind, "name": p.Name, "roles": roleNamesOf(p.Roles),
		"scopes": p.Scopes, "permissions": nonNil(effectivePerms(p).Names())}
}

func roleNamesOf(ids []string) []string {
	out := []string{}
	for _, id := range ids {
		if r, ok := roleByID(id); ok {
			out = append(out, r.Name)
		}
	}
	return out
}
