package httpapi

import (
	"encoding/base32"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"allot/internal/totp"
	"allot/store/sqlstore"
)

// totpAt is the secret's 6-digit code at step now+delta.
func totpAt(t *testing.T, secret string, delta int64) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatalf("secret %q is not base32: %v", secret, err)
	}
	return totp.Code(key, totp.Step(time.Now())+delta, totp.Digits)
}

// awayFromStepEnd waits for a new step when less than 10 s of the current
// one is left, so that a flow's codes stay in the ±1 step window.
func awayFromStepEnd() {
	into := time.Duration(time.Now().UnixNano() % int64(totp.Period))
	if into > totp.Period-10*time.Second {
		time.Sleep(totp.Period - into + 100*time.Millisecond)
	}
}

func errCodeOf(rec *httptest.ResponseRecorder) string {
	var ge graphError
	json.Unmarshal(rec.Body.Bytes(), &ge)
	return ge.Error.Code
}

// enrolTOTP turns the authenticator app on for the session's person and
// returns the secret; the code used is that of the step before now's. The
// secret is kept in the database as it is (the server must compute codes
// from it), so it is not remember()ed; noSecretShown checks the rest.
func enrolTOTP(e *authEnv, c *http.Cookie, upn string) string {
	e.t.Helper()
	out := e.must(200, "POST", "/allot/v1/me/totp", nil, c)
	secret, _ := out["secret"].(string)
	want := "otpauth://totp/allot:" + upn + "?issuer=allot&secret=" + secret
	if out["otpauthUri"] != want {
		e.t.Errorf("otpauthUri: got %v, want %s", out["otpauthUri"], want)
	}
	if rec := e.do("POST", "/allot/v1/me/totp/confirm", map[string]any{"code": "000000x"}, c); rec.Code != 400 {
		e.t.Errorf("a malformed code confirmed: %d %s", rec.Code, rec.Body)
	}
	e.must(204, "POST", "/allot/v1/me/totp/confirm", map[string]any{"code": totpAt(e.t, secret, -1)}, c)
	return secret
}

// The authenticator app, on every engine: enrol, confirm, sign-in needs the
// code, a wrong code is refused and audited, a used code is refused, and
// turning it off needs a code.
func TestTOTPSecondFactorOnEveryEngine(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		e := newAuthEnvOn(t, open)
		awayFromStepEnd()
		_, c := e.person("mfa@contoso.com")
		upn, pw := "mfa@contoso.com", passwordOf(t, "mfa@contoso.com")
		secret := enrolTOTP(e, c, upn)
		if rec := e.do("POST", "/allot/v1/me/totp", nil, c); rec.Code != 400 {
			t.Errorf("enrolling again while on must be refused: %d %s", rec.Code, rec.Body)
		}
		if got := e.audits(sqlstore.ActTOTPBegin); len(got) != 1 || len(e.audits(sqlstore.ActTOTPConfirm)) != 1 {
			t.Errorf("enrolment is not audited")
		}

		none := e.do("POST", "/allot/v1/signin", map[string]any{"userName": upn, "password": pw})
		if none.Code != 401 || errCodeOf(none) != "totpRequired" || !strings.Contains(errMessage(none), "authenticator app") {
			t.Fatalf("sign-in without a code: %d %s", none.Code, none.Body)
		}
		fails := len(e.audits(sqlstore.ActSignInFailed))
		wrong := e.do("POST", "/allot/v1/signin", map[string]any{"userName": upn, "password": pw, "code": totpAt(t, secret, 5)})
		if wrong.Code != 401 || errCodeOf(wrong) != "totpRequired" {
			t.Errorf("a wrong code: %d %s", wrong.Code, wrong.Body)
		}
		if n := len(e.audits(sqlstore.ActSignInFailed)); n != fails+1 {
			t.Errorf("a wrong code must be audited as a failed sign-in: %d → %d", fails, n)
		}
		badpw := e.do("POST", "/allot/v1/signin", map[string]any{"userName": upn, "password": "wrong password!", "code": totpAt(t, secret, 0)})
		if badpw.Code != 401 || errCodeOf(badpw) == "totpRequired" {
			t.Errorf("a wrong password with a right code: %d %s", badpw.Code, badpw.Body)
		}

		code := totpAt(t, secret, 0)
		form := url.Values{"userName": {upn}, "password": {pw}, "code": {code}, "next": {"/admin"}}
		ok := e.do("POST", "/allot/v1/signin", form.Encode(), func(r *http.Request) {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		})
		if ok.Code != 303 {
			t.Fatalf("form sign-in with the right code: %d %s", ok.Code, ok.Body)
		}
		replay := e.do("POST", "/allot/v1/signin", map[string]any{"userName": upn, "password": pw, "code": code})
		if replay.Code != 401 || errCodeOf(replay) != "totpRequired" {
			t.Errorf("a code used once must be refused: %d %s", replay.Code, replay.Body)
		}

		if rec := e.do("DELETE", "/allot/v1/me/totp", map[string]any{"code": code}, c); rec.Code != 400 {
			t.Errorf("turning off with a used code: %d %s", rec.Code, rec.Body)
		}
		e.must(204, "DELETE", "/allot/v1/me/totp", map[string]any{"code": totpAt(t, secret, 1)}, c)
		if len(e.audits(sqlstore.ActTOTPDisable)) != 1 {
			t.Errorf("turning off is not audited")
		}
		e.signin(upn, pw)
		noSecretShown(e, c, secret)
	})
}

// noSecretShown checks that the TOTP secret is in no server log, no audit
// event and no later answer about the caller.
func noSecretShown(e *authEnv, c *http.Cookie, secret string) {
	e.t.Helper()
	secrets.mu.Lock()
	logged := strings.Contains(secrets.logs.String(), secret)
	secrets.mu.Unlock()
	if logged {
		e.t.Errorf("the TOTP secret is in the server log")
	}
	for _, act := range []string{sqlstore.ActTOTPBegin, sqlstore.ActTOTPConfirm, sqlstore.ActTOTPDisable} {
		for _, ev := range e.audits(act) {
			if b, _ := json.Marshal(ev); strings.Contains(string(b), secret) {
				e.t.Errorf("the TOTP secret is in the audit event %s", act)
			}
		}
	}
	if rec := e.do("GET", "/allot/v1/me", nil, c); strings.Contains(rec.Body.String(), secret) {
		e.t.Errorf("the TOTP secret is shown again")
	}
}

// Wrong codes count against the account like wrong passwords, at sign-in
// and at /allot/v1/me/totp (enrolTOTP's malformed code is the first): past
// the free failures even the right code is held back.
func TestTOTPWrongCodesAreThrottled(t *testing.T) {
	e := newAuthEnv(t)
	awayFromStepEnd()
	_, c := e.person("guess@contoso.com")
	upn, pw := "guess@contoso.com", passwordOf(t, "guess@contoso.com")
	secret := enrolTOTP(e, c, upn)
	for i := range signinFreePerAccount - 1 {
		rec := e.do("POST", "/allot/v1/signin", map[string]any{"userName": upn, "password": pw, "code": totpAt(t, secret, int64(10+i))})
		if rec.Code != 401 {
			t.Fatalf("wrong code %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := e.do("POST", "/allot/v1/signin", map[string]any{"userName": upn, "password": pw, "code": totpAt(t, secret, 0)})
	if rec.Code != 429 {
		t.Errorf("after %d wrong codes the next sign-in must wait: %d %s", signinFreePerAccount, rec.Code, rec.Body)
	}
}
