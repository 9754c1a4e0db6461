package web_test

import (
	"context"
	"encoding/base32"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"allot/internal/totp"
)

// The sign-in form has a one-time-code field, and an account with an
// authenticator app on signs in only with its code.
func TestSignInFormAsksForTheOneTimeCode(t *testing.T) {
	e := newEnv(t, 25)
	page, err := http.Get(e.srv.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), `name="code" type="text" inputmode="numeric"`) || !strings.Contains(string(body), `autocomplete="one-time-code"`) {
		t.Fatalf("the sign-in form has no one-time-code field:\n%s", body)
	}
	ctx := context.Background()
	secret, err := e.st.BeginTOTP(ctx, actor, e.tenant.ID, adminUPN)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	now := time.Now()
	if err := e.st.ConfirmTOTP(ctx, actor, e.tenant.ID, adminUPN, totp.Code(key, totp.Step(now)-1, totp.Digits), now); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(code string) (int, string) {
		resp, err := c.PostForm(e.srv.URL+"/signin", url.Values{"userName": {adminUPN}, "password": {password}, "code": {code}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, b := post(""); st != http.StatusUnauthorized || !strings.Contains(b, "code from its authenticator app") {
		t.Errorf("without a code: %d, want 401 asking for the code", st)
	}
	if st, _ := post(totp.Code(key, totp.Step(time.Now())+1, totp.Digits)); st != http.StatusSeeOther {
		t.Errorf("with the code: %d, want 303", st)
	}
}
