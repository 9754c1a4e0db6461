package httpapi

// What the web admin center (package web) needs from the API server, so
// that it signs people in, keeps their sessions, limits their requests and
// decides what they may do exactly as the API does: one implementation.

import (
	"net/http"
	"strings"
	"time"

	"allot"
	"allot/store"
)

// Mount serves h for pattern on the server's mux, behind the server's
// middleware (request ids, panic recovery, cross-origin protection of every
// state change). Call it before serving.
func (s *Server) Mount(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// SessionPrincipal returns the person signed in with the request's session
// cookie, after the per-session rate limit (ETooManyRequests past it).
// Without a valid session it returns EUnauthorized.
func (s *Server) SessionPrincipal(r *http.Request) (*store.Principal, error) {
	c := sessionCookieOf(r)
	if c == "" {
		return nil, allot.Errorf(allot.EUnauthorized, "Sign in to continue.")
	}
	p, err := s.st.SessionPrincipal(r.Context(), c, s.auth.session)
	if err != nil {
		return nil, err
	}
	notePrincipal(r, p)
	if _, ok := s.auth.rate.allow(r.Context(), rateKey(p), time.Now()); !ok {
		return nil, allot.Errorf(allot.ETooManyRequests, "Too many requests in this session; wait a moment and try again.")
	}
	return p, nil
}

// PasswordSignIn checks a user name and password (and the authenticator
// app's code, when the account has one on) and starts a session (the cookie
// is set on w), with the API's slow-down of repeated failures. organization
// names the tenant (its id or display name); when it is empty, the tenant is
// the one whose account has the user name and a password, or the default
// tenant when none has. When several tenants have such an account,
// PasswordSignIn returns ErrOrganizationNeeded and checks nothing.
func (s *Server) PasswordSignIn(w http.ResponseWriter, r *http.Request, userName, password, code, organization string) (*allot.User, error) {
	b := signinBody{UserName: userName, Password: password, Code: code}
	if err := checkSignin(b); err != nil {
		return nil, err
	}
	ten, err := s.formTenant(r, userName, organization)
	if err != nil {
		return nil, err
	}
	b.TenantID = ten
	u, _, _, err := s.passwordSignIn(w, r, b)
	return u, err
}

// ErrOrganizationNeeded is PasswordSignIn's answer when the user name alone
// does not tell the tenant. It is an EUnauthorized like a wrong password, so
// that a surface that words both alike tells nobody where a name exists.
var ErrOrganizationNeeded = allot.Errorf(allot.EUnauthorized, "The user name or password is incorrect. If your user name is in more than one organization, enter your organization too.")

// formTenant is the tenant (GUID, or "" for the default one) of a sign-in
// through the admin center's form.
func (s *Server) formTenant(r *http.Request, userName, organization string) (string, error) {
	ctx := r.Context()
	if org := strings.TrimSpace(organization); org != "" {
		t, err := s.st.TenantByGUID(ctx, org)
		if allot.ErrorCode(err) == allot.ENotFound {
			t, err = s.st.TenantByName(ctx, org)
		}
		if allot.ErrorCode(err) == allot.ENotFound {
			return "", allot.Errorf(allot.EUnauthorized, "The user name or password is incorrect.")
		}
		if err != nil {
			return "", err
		}
		return t.GUID, nil
	}
	ids, err := s.st.PasswordTenants(ctx, userName, 2)
	switch {
	case err != nil:
		return "", err
	case len(ids) == 0:
		return "", nil
	case len(ids) > 1:
		return "", ErrOrganizationNeeded
	}
	t, err := s.st.Tenant(ctx, ids[0])
	if err != nil {
		return "", err
	}
	return t.GUID, nil
}

// SignOut ends the request's session, if any, and clears its cookie.
func (s *Server) SignOut(w http.ResponseWriter, r *http.Request) error { return s.endSession(w, r) }

// SSOEnabled tells whether single sign-on is configured; its login starts at
// GET /allot/v1/sso/login?next=<path>.
func (s *Server) SSOEnabled() bool { return s.auth.oidc != nil }

// Perms returns what the principal may do.
func Perms(p *store.Principal) Perm { return effectivePerms(p) }

// Has tells whether the set holds every permission of q.
func (p Perm) Has(q Perm) bool { return p&q == q }

// Role is a directory role that can be assigned.
type Role struct {
	ID          string
	Name        string
	Description string
	Perms       Perm
}

// Roles lists the directory roles, in the order the API lists them.
func Roles() []Role {
	out := make([]Role, len(roleDefs))
	for i, d := range roleDefs {
		out[i] = Role{ID: d.ID, Name: d.Name, Description: d.Description, Perms: d.Perms}
	}
	return out
}

// MayManageRole returns nil when the principal may grant and remove the
// role, else the reason why not (the API's rule).
func (s *Server) MayManageRole(p *store.Principal, roleID string) error {
	if effectivePerms(p)&PermRolesWrite == 0 {
		return forbidden(p, PermRolesWrite)
	}
	d, ok := roleByID(roleID)
	if !ok {
		return allot.Errorf(allot.EInvalid, "'%s' is not a role.", roleID)
	}
	return s.mayManageRole(p, d)
}
