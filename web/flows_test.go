package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Sign in with a wrong password (refused inline), then the right one; sign
// out.
func TestBrowserSignIn(t *testing.T) {
	e := newEnv(t, 25)
	b := e.browser()
	b.signIn(adminUPN, "wrong password!")
	if msg := b.text(".msg.error"); !strings.Contains(msg, "incorrect") {
		t.Errorf("wrong password: %q", msg)
	}
	b.do(chromedp.Clear(chromedp.ID("password")), chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)))
	b.waitPath("/users")
	if who := b.text(".who .person"); who != adminUPN {
		t.Errorf("signed in as %q", who)
	}
	b.waitText("#users-table", "Adele Vance")
	b.screenshot("users")
	b.click(`form[action="/signout"] button`)
	b.waitPath("/signin")
	b.open("/users")
	b.waitPath("/signin")
}
