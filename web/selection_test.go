package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The selection of users stays while the admin searches and pages: tick
// Adele, search for Alex and tick him, and both stay selected ("2
// selected"); then 120 users ticked over three pages are assigned in one
// go. With nothing selected, Assign more is off.
func TestBrowserSelectionAcrossSearchAndPages(t *testing.T) {
	e := newEnv(t, 5)
	if _, err := e.st.SetSeats(context.Background(), actor, e.tenant.ID, e.skus["SPE_E3"].SkuID, 500, false); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 130; i++ {
		e.addUser(fmt.Sprintf("Bulk User%03d", i), "US")
	}
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.waitCount("#assign-more:disabled", 1) // nothing selected yet

	// Search, tick, search again, tick: the first stays.
	adele, alex := e.users["Adele Vance"], e.users["Alex Wilber"]
	b.do(chromedp.SendKeys(chromedp.ID("q"), "Adele"))
	b.waitText("#users-table .pager", "1–1 of 1")
	b.click(`input[name=user][value="` + adele.GUID + `"]`)
	b.waitText("#selected-count", "1 selected")
	b.fill("#q", "Alex")
	b.waitCount(`input[name=user][value="`+alex.GUID+`"]`, 1)
	b.click(`input[name=user][value="` + alex.GUID + `"]`)
	b.waitText("#selected-count", "2 selected")
	b.fill("#q", "Adele")
	b.waitCount(`input[name=user][value="`+adele.GUID+`"]`, 1)
	b.waitCount(`input[name=user][value="`+adele.GUID+`"]:checked`, 1) // still ticked after another search
	b.click("#clear-selection")
	b.waitCount("#selected-count[hidden]", 1)

	// 120 Bulk users over three pages: 50, 50 and 20.
	b.open("/users?q=Bulk")
	b.waitText("#users-table .pager", "1–50 of 130")
	b.click("#select-all")
	b.waitText("#selected-count", "50 selected")
	b.click(`#users-table .pager a[rel=next]`)
	b.waitText("#users-table .pager", "51–100 of 130")
	b.click("#select-all")
	b.waitText("#selected-count", "100 selected")
	b.click(`#users-table .pager a[rel=next]`)
	b.waitText("#users-table .pager", "101–130 of 130")
	for i := 101; i <= 120; i++ {
		b.click(`input[name=user][value="` + e.users[fmt.Sprintf("Bulk User%03d", i)].GUID + `"]`)
	}
	b.waitText("#selected-count", "120 selected")
	b.click("#assign-more")
	b.waitPath("/assign-more")
	b.waitText("#assign-more-form legend", "120 users selected")
	b.click("#sku-" + e.skus["SPE_E3"].SkuID)
	b.click("#save-more")
	b.waitText(".msg.ok", "120 licenses assigned, 0 failures")
	for i := 1; i <= 130; i++ {
		n := fmt.Sprintf("Bulk User%03d", i)
		if got, want := e.holds(n)["SPE_E3"], i <= 120; got != want {
			t.Errorf("%s holds E3: %v, want %v", n, got, want)
		}
	}
	// Done clears the selection.
	b.click("#done")
	b.waitPath("/users")
	b.waitCount("#selected-count[hidden]", 1)
	b.waitCount("#assign-more:disabled", 1)
	if res := b.text("#users-table"); !strings.Contains(res, "Adele Vance") {
		t.Errorf("users table: %q", res)
	}
}

// With nothing selected, the Assign more page says so and leads back; it
// is no error page.
func TestAssignMoreWithNothingSelected(t *testing.T) {
	e := newEnv(t, 5)
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/assign-more")
	b.waitText(".msg.error", "Select one or more users")
	b.click("#back-to-users")
	b.waitPath("/users")
}
