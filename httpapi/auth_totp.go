package httpapi

// The signed-in person's authenticator app (RFC 6238 TOTP), the optional
// second factor of password sign-in.

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

func (s *Server) totpRoutes() {
	s.handle("POST /allot/v1/me/totp", PermSignedIn, s.beginTOTP)
	s.handle("POST /allot/v1/me/totp/confirm", PermSignedIn, s.confirmTOTP)
	s.handle("DELETE /allot/v1/me/totp", PermSignedIn, s.disableTOTP)
}

type totpCodeBody struct {
	Code string `json:"code"`
}

// beginTOTP starts enrolment and answers the secret, the one time it is
// ever shown, with an otpauth:// URI for the authenticator app.
func (s *Server) beginTOTP(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	if p.Kind != store.PrincipalUser {
		return allot.Errorf(allot.EForbidden, "Only a person signed in with a password can add an authenticator app, not an API client.")
	}
	secret, err := s.st.BeginTOTP(r.Context(), p.Actor(), p.Tenant.ID, p.GUID)
	if err != nil {
		return err
	}
	q := url.Values{"secret": {secret}, "issuer": {"allot"}}
	uri := "otpauth://totp/allot:" + url.PathEscape(p.Name) + "?" + q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"secret": secret, "otpauthUri": uri,
		"next": "Add the secret to the authenticator app, then POST /allot/v1/me/totp/confirm with {\"code\": \"123456\"}."})
	return nil
}

// confirmTOTP turns the authenticator app on after a correct code.
func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	return s.withTOTPCode(w, r, p, func(code string) error {
		return s.st.ConfirmTOTP(r.Context(), p.Actor(), p.Tenant.ID, p.GUID, code, time.Now())
	})
}

// disableTOTP turns the authenticator app off; it needs a current code.
func (s *Server) disableTOTP(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	return s.withTOTPCode(w, r, p, func(code string) error {
		return s.st.DisableTOTP(r.Context(), p.Actor(), p.Tenant.ID, p.GUID, code, time.Now())
	})
}

// withTOTPCode reads {"code"} and runs use with it, under the account's
// sign-in throttle: a wrong code counts as a failed sign-in, so codes cannot
// be guessed here faster than at sign-in. It answers 204.
func (s *Server) withTOTPCode(w http.ResponseWriter, r *http.Request, p *store.Principal, use func(code string) error) error {
	if p.Kind != store.PrincipalUser {
		return allot.Errorf(allot.EForbidden, "Only a person signed in with a password has an authenticator app, not an API client.")
	}
	var b totpCodeBody
	if err := decodeBody(r, &b, "totpCode"); err != nil {
		return err
	}
	if b.Code == "" {
		return allot.Errorf(allot.EInvalid, "Send {\"code\": \"123456\"}: the current 6-digit code from the authenticator app.")
	}
	ctx, g := r.Context(), s.auth.signin
	account, addr := itoa64(p.Tenant.ID)+":"+allot.NormalizeKey(p.Name), clientAddress(r)
	wait, err := g.counts.wait(ctx, account, addr, time.Now())
	if err != nil {
		return err
	}
	if wait > 0 {
		setRetryAfter(w, wait)
		return allot.Errorf(allot.ETooManyRequests, "Too many wrong codes; wait before trying again.")
	}
	err = use(b.Code)
	if errors.Is(err, sqlstore.ErrTOTPWrong) {
		if ferr := g.counts.fail(ctx, account, addr, time.Now()); ferr != nil {
			return ferr
		}
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
