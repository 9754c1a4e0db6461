package web_test

import (
	"strings"
	"testing"
)

// Assign more where one user fails (no usage location): the summary is a
// warning, not a green success, and the failure is in product names.
func TestBrowserAssignMorePartialFailureWarns(t *testing.T) {
	e := newEnv(t, 25)
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	for _, n := range []string{"Isaiah Langer", "Lee Gu"} {
		b.click(`input[name=user][value="` + e.users[n].GUID + `"]`)
	}
	b.click("#assign-more")
	b.waitText("#assign-more-form legend", "2 users selected")
	b.click("#sku-" + e.skus["SPE_E3"].SkuID)
	b.click("#save-more")
	res := b.waitText("#results", "Lee Gu")
	if b.count(".msg.ok") != 0 {
		t.Errorf("a partial failure is shown as a success: %q", b.text(".msg.ok"))
	}
	if sum := b.text(".msg.warn"); !strings.Contains(sum, "1 license assigned, 1 failure") {
		t.Errorf("summary: %q", sum)
	}
	if !strings.Contains(res, "Microsoft 365 E3: The user has no usage location") {
		t.Errorf("results: %q", res)
	}
	noPartNumbers(t, res)
}
