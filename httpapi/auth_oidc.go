package httpapi

// Single sign-on with OpenID Connect (authorization code flow with PKCE,
// state and nonce): GET /allot/v1/sso/login sends the browser to the
// provider, GET /allot/v1/sso/callback checks what comes back, finds the
// allot user and starts a session.

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"allot"
	"allot/store/sqlstore"
)

// OIDCConfig configures single sign-on with an OpenID Connect provider.
type OIDCConfig struct {
	Issuer       string // the provider's issuer URL (discovery at /.well-known/openid-configuration)
	ClientID     string
	ClientSecret string
	// RedirectURL is this server's callback as the provider knows it:
	// https://allot.example.com/allot/v1/sso/callback.
	RedirectURL string
	// TenantID is the tenant (GUID) whose users sign in; "" for the default tenant.
	TenantID string
	// Scopes asked for; default openid, email, profile.
	Scopes []string
	// UserClaims are the ID token claims whose value may match a user's
	// userPrincipalName on the first sign-in (later ones follow the link
	// to that user). Default: "email", used only when email_verified is
	// true. With Microsoft Entra ID use "upn" or "preferred_username".
	UserClaims []string
	// HTTPClient talks to the provider (default http.DefaultClient).
	HTTPClient *http.Client
}

// ssoCookie holds the login's state, nonce, PKCE verifier and return path
// for the few minutes between login and callback.
const ssoCookie = "__Host-allot_sso"

type oidcState struct {
	cfg OIDCConfig

	mu       sync.Mutex
	provider *oidc.Provider // discovered on first use
	verifier *oidc.IDTokenVerifier
	oauth    *oauth2.Config
}

func newOIDCState(c OIDCConfig) (*oidcState, error) {
	if c.Issuer == "" || c.ClientID == "" || c.RedirectURL == "" {
		return nil, allot.Errorf(allot.EInvalid, "Single sign-on needs the provider's issuer URL, a client id and the redirect URL (…/allot/v1/sso/callback).")
	}
	if len(c.UserClaims) == 0 {
		c.UserClaims = []string{"email"}
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	return &oidcState{cfg: c}, nil
}

func (o *oidcState) ctx(ctx context.Context) context.Context {
	if o.cfg.HTTPClient != nil {
		return oidc.ClientContext(ctx, o.cfg.HTTPClient)
	}
	return ctx
}

// setup discovers the provider once; a failure is retried on the next login.
func (o *oidcState) setup(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return nil
	}
	dctx, cancel := context.WithTimeout(o.ctx(ctx), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, o.cfg.Issuer)
	if err != nil {
		return allot.Errorf(allot.EUnavailable, "The single sign-on provider does not answer: %v", err)
	}
	o.provider = p
	o.verifier = p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID})
	o.oauth = &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: o.cfg.Scopes}
	return nil
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ssoLogin sends the browser to the provider.
func (s *Server) ssoLogin(w http.ResponseWriter, r *http.Request) {
	o := s.auth.oidc
	if o == nil {
		s.writeError(w, r, allot.Errorf(allot.ENotFound, "Single sign-on is not configured on this server; sign in with POST /allot/v1/signin."))
		return
	}
	if err := o.setup(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	}
	state, nonce, verifier := randomString(24), randomString(24), oauth2.GenerateVerifier()
	next := base64.RawURLEncoding.EncodeToString([]byte(safeNext(r.URL.Query().Get("next"))))
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: strings.Join([]string{state, nonce, verifier, next}, "."),
		Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, o.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// ssoCallback finishes the login: the state must match the cookie, the code
// is exchanged with the PKCE verifier, the ID token's signature, issuer,
// audience, expiry and nonce are checked, and the identity must belong to an
// enabled allot user.
func (s *Server) ssoCallback(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(sqlstoreCtx(r))
	o := s.auth.oidc
	if o == nil {
		s.writeError(w, r, allot.Errorf(allot.ENotFound, "Single sign-on is not configured on this server."))
		return
	}
	c, err := r.Cookie(ssoCookie)
	clearCookie(w, ssoCookie)
	w.Header().Set("Cache-Control", "no-store")
	parts := []string{}
	if err == nil {
		parts = strings.Split(c.Value, ".")
	}
	q := r.URL.Query()
	if len(parts) != 4 || subtle.ConstantTimeCompare([]byte(parts[0]), []byte(q.Get("state"))) != 1 {
		s.writeError(w, r, allot.Errorf(allot.EInvalid, "This sign-in link is not valid or has expired; start again at /allot/v1/sso/login."))
		return
	}
	nonce, verifier := parts[1], parts[2]
	nextB, _ := base64.RawURLEncoding.DecodeString(parts[3])
	if e := q.Get("error"); e != "" {
		s.writeError(w, r, allot.Errorf(allot.EUnauthorized, "The single sign-on provider refused the sign-in: %s.", e))
		return
	}
	if err := o.setup(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	}
	ten, err := s.ssoTenant(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	addr := clientAddress(r)
	fail := func(reason string, code allot.Code, who string) {
		if aerr := s.st.RecordSignInFailure(r.Context(), ten.ID, who, "oidc", addr, reason); aerr != nil {
			s.writeError(w, r, aerr)
			return
		}
		s.writeError(w, r, allot.Errorf(code, "Single sign-on failed: %s", reason))
	}
	ctx, cancel := context.WithTimeout(o.ctx(r.Context()), 15*time.Second)
	defer cancel()
	tok, err := o.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		fail("the provider did not accept the authorization code.", allot.EUnauthorized, "")
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := o.verifier.Verify(ctx, rawID)
	if err != nil || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		fail("the ID token is not valid.", allot.EUnauthorized, "")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		fail("the ID token's claims cannot be read.", allot.EUnauthorized, "")
		return
	}
	claim := func(k string) string { v, _ := claims[k].(string); return v }
	var names []string
	for _, k := range o.cfg.UserClaims {
		if k == "email" && claims["email_verified"] != true {
			continue // an unverified email proves nothing
		}
		names = append(names, claim(k))
	}
	who := firstNonEmpty(claim("email"), claim("upn"), claim("preferred_username"), idt.Subject)
	u, err := s.st.UserForIdentity(r.Context(), ten.ID, idt.Issuer, idt.Subject, names)
	if allot.ErrorCode(err) == allot.EForbidden {
		fail("no enabled allot user matches this account.", allot.EForbidden, who)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	raw, _, err := s.st.CreateSession(r.Context(), u, "oidc", addr, s.auth.session)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setSessionCookie(w, r, raw)
	http.Redirect(w, r, safeNext(string(nextB)), http.StatusSeeOther)
}

func (s *Server) ssoTenant(r *http.Request) (*allot.Tenant, error) {
	if id := s.auth.oidc.cfg.TenantID; id != "" {
		return s.st.TenantByGUID(r.Context(), id)
	}
	return s.st.DefaultTenant(r.Context())
}

// sqlstoreCtx is the request's context carrying its audit correlation id.
func sqlstoreCtx(r *http.Request) context.Context {
	return sqlstore.WithCorrelationID(r.Context(), requestIDOf(r))
}
