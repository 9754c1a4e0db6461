package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"allot/store"
	"allot/store/sqlstore"
)

// waitingOrder returns the user GUIDs of a product's waiting room as the
// API answers them.
func (e *env) waitingOrder(token, sku string) []string {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/allot/v1/subscribedSkus/"+sku+"/waitingRoom", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Value []struct {
			UserID string `json:"userId"`
		} `json:"value"`
	}
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&body) != nil {
		e.t.Fatalf("waiting room: %s", res.Status)
	}
	var out []string
	for _, v := range body.Value {
		out = append(out, v.UserID)
	}
	return out
}

// The waiting room page, reached from the product page with the keyboard:
// Insights has 1 seat and 3 members of a group wait for it. A move up
// without a reason is refused in place; with one it puts Grady first, and
// the page's order is the API's. Axe finds nothing on either page.
func TestBrowserWaitingRoomMoveUp(t *testing.T) {
	e := newEnv(t, 1)
	ctx := context.Background()
	names := []string{"Adele Vance", "Alex Wilber", "Diego Siciliani", "Grady Archie"}
	for _, n := range names {
		e.assign(n, "SPE_E5")
	}
	g := e.group("Insights Pilot", names...)
	ins := e.skus["WORKPLACE_ANALYTICS_INSIGHTS"].SkuID
	if _, err := e.st.AssignGroupLicenses(ctx, actor, e.tenant.ID, g.GUID, []store.LicenseRequest{{SkuID: ins}}, nil, false); err != nil {
		t.Fatal(err)
	}
	token := sqlstore.TokenPrefix + "waitroom-test-0123456789abcdef0123456789"
	if err := e.st.CreateToken(ctx, e.tenant.ID, "waiting room test", store.RoleGlobalReader, token); err != nil {
		t.Fatal(err)
	}
	guid := func(n string) string { return e.users[n].GUID }
	want := []string{guid("Alex Wilber"), guid("Diego Siciliani"), guid("Grady Archie")}
	for deadline := time.Now().Add(20 * time.Second); !slices.Equal(e.waitingOrder(token, ins), want); {
		if time.Now().After(deadline) {
			t.Fatalf("waiting room %v, want Alex, Diego, Grady", e.waitingOrder(token, ins))
		}
		time.Sleep(100 * time.Millisecond)
	}

	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/licenses/" + ins)
	b.tabTo("#waiting-room", 80, false)
	b.press(kb.Enter)
	b.waitPath("/licenses/" + ins + "/waiting-room")
	b.waitCount("#waiting-table tbody tr", 3)
	b.axeCheck("waiting room")
	order := func() []string {
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("#waiting-table tbody tr")).map(function(r){return r.dataset.user}).join(",")`))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(s, ",")
	}

	// Without a reason (the browser's own check taken away): refused in place.
	b.do(chromedp.SetValue(`#move-form select[name=user]`, guid("Grady Archie")))
	b.fill(`#move-form input[name=position]`, "1")
	b.evalBool(`(function(){document.querySelector("#move-form textarea").removeAttribute("required");return true})()`)
	b.tabTo("#move-submit", 10, false)
	b.press(kb.Enter)
	b.waitText("main [role=alert]", "Say why")
	b.axeCheck("waiting room refused")
	if got := e.waitingOrder(token, ins); !slices.Equal(got, want) {
		t.Fatalf("a refused move changed the order: %v", got)
	}

	b.do(chromedp.SetValue(`#move-form select[name=user]`, guid("Grady Archie")))
	b.fill(`#move-form input[name=position]`, "1")
	b.fill(`#move-form textarea[name=reason]`, "Presents the pilot's results on Friday")
	b.tabTo("#move-submit", 10, false)
	b.press(kb.Enter)
	b.waitText("main [role=status]", "Moved up")
	b.axeCheck("waiting room moved")
	api := e.waitingOrder(token, ins)
	if moved := []string{guid("Grady Archie"), guid("Alex Wilber"), guid("Diego Siciliani")}; !slices.Equal(api, moved) {
		t.Fatalf("API order %v, want Grady, Alex, Diego", api)
	}
	if page := order(); !slices.Equal(page, api) {
		t.Errorf("page order %v, API order %v", page, api)
	}
	if txt := b.rowText("#waiting-table tbody", "Grady Archie"); !strings.Contains(txt, "Moved up by an admin: Presents the pilot's results on Friday") {
		t.Errorf("Grady's row says %q", txt)
	}
}
