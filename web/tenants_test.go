package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"allot"
	"allot/store"
)

// secondTenant adds tenant Fabrikam (not the default one) with a Global
// Administrator upn and one user, and returns it.
func (e *env) secondTenant(upn string) *allot.Tenant {
	e.t.Helper()
	ctx := context.Background()
	ten, err := e.st.CreateTenant(ctx, "Fabrikam", "EUR", "DE")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, u := range []*allot.User{
		{UserPrincipalName: upn, DisplayName: "Fabrikam Admin", UsageLocation: "DE", AccountEnabled: true},
		{UserPrincipalName: "karl.klammer@fabrikam.com", DisplayName: "Karl Klammer", UsageLocation: "DE", AccountEnabled: true},
	} {
		if err := e.st.CreateUser(ctx, actor, ten.ID, u); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := e.st.AddRoleAssignment(ctx, actor, ten.ID, upn, store.RoleIDGlobalAdmin); err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.SetPassword(ctx, actor, ten.ID, upn, password); err != nil {
		e.t.Fatal(err)
	}
	return ten
}

// An admin of a tenant that is not the default one signs in through the
// form with only a user name and password, and sees that tenant's users,
// not the default tenant's.
func TestBrowserSecondTenantSignIn(t *testing.T) {
	e := newEnv(t, 5)
	e.secondTenant("admin@fabrikam.com")
	b := e.browser()
	b.signIn("admin@fabrikam.com", password)
	b.waitPath("/users")
	b.waitText("#users-table", "Karl Klammer")
	if s := b.text("#users-table"); strings.Contains(s, "Adele Vance") {
		t.Errorf("Fabrikam's admin sees Contoso's users: %q", s)
	}
}

// When two tenants have an account with the same user name, the form asks
// for the organization, and signs in to the one named (by name or id); a
// wrong organization is refused like a wrong password.
func TestBrowserSignInAsksOrganization(t *testing.T) {
	e := newEnv(t, 5)
	fab := e.secondTenant(adminUPN) // the same user name as Contoso's admin
	b := e.browser()
	b.signIn(adminUPN, "wrong password")
	wrong := b.text(".msg.error")
	b.signIn(adminUPN, password)
	b.waitText(".msg.error", "more than one organization")
	b.waitPath("/signin")
	// A wrong password reads the same: the form does not tell that this
	// user name is in two organizations.
	if got := b.text(".msg.error"); got != wrong {
		t.Fatalf("ambiguous user name: %q, wrong password: %q; want the same words", got, wrong)
	}
	b.do(chromedp.WaitVisible(chromedp.ID("organization")),
		chromedp.SendKeys(chromedp.ID("organization"), "Nowhere Ltd"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)))
	b.waitText(".msg.error", "organization, user name or password is incorrect")
	b.do(chromedp.Clear(chromedp.ID("organization")), chromedp.SendKeys(chromedp.ID("organization"), "Fabrikam"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)))
	b.waitPath("/users")
	b.waitText("#users-table", "Karl Klammer")
	b.click(`form[action="/signout"] button`)
	b.waitPath("/signin")

	// By tenant id, into the default tenant.
	b.do(chromedp.WaitVisible(chromedp.ID("userName")), chromedp.SendKeys(chromedp.ID("userName"), adminUPN),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`#org summary`)),
		chromedp.SendKeys(chromedp.ID("organization"), e.tenant.GUID),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type=submit]`)))
	b.waitPath("/users")
	b.waitText("#users-table", "Adele Vance")
	_ = fab
}
