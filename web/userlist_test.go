package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"allot"
	"allot/store"
	"allot/web"
)

// addPerson adds a user in a department, enabled or not.
func (e *env) addPerson(name, dept, loc string, enabled bool) *allot.User {
	e.t.Helper()
	u := &allot.User{UserPrincipalName: upnOf(name), DisplayName: name, UsageLocation: loc, AccountEnabled: enabled, Department: dept}
	if err := e.st.CreateUser(context.Background(), actor, e.tenant.ID, u); err != nil {
		e.t.Fatal(err)
	}
	e.users[name] = u
	return u
}

// opsPeople adds 57 unlicensed users of department Ops, created out of name
// order (Ops Person03 and Ops Person40 disabled), and 5 Ops users with E3;
// it returns the 57 names.
func opsPeople(e *env) []string {
	var names []string
	for i := range 57 {
		n := fmt.Sprintf("Ops Person%02d", (i*23)%57+1) // a permutation of 1..57
		e.addPerson(n, "Ops", "DE", n != "Ops Person03" && n != "Ops Person40")
		names = append(names, n)
	}
	for i := 1; i <= 5; i++ {
		n := fmt.Sprintf("Ops Licensed%d", i)
		e.addPerson(n, "Ops", "US", true)
		e.assign(n, "SPE_E3")
	}
	return names
}

// pick chooses a value in a select, as a person would (the change event).
func (b *tab) pick(sel, value string) {
	b.t.Helper()
	b.settle(sel)
	b.evalBool(fmt.Sprintf(`(function(){var e=document.querySelector(%q);e.value=%q;
		e.dispatchEvent(new Event("change",{bubbles:true}));return e.value===%q})()`, sel, value, value))
}

// column returns the texts of one column (1-based, counting the check box)
// of the users table's rows.
func (b *tab) column(n int) []string {
	b.t.Helper()
	b.settle("#users-table")
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](fmt.Sprintf(
		`Array.from(document.querySelectorAll("#users-table tbody tr td:nth-child(%d)")).map(function(td){return td.innerText.trim()})`, n)))
	if err != nil {
		b.fatal("column %d: %v", n, err)
	}
	return v
}

// Unlicensed + department Ops lists exactly the 57 unlicensed Ops users
// over two pages (not the licensed ones, not Sales), the filter is in the
// URL (a bookmark shows the same), the selection stays across the pages,
// and account state narrows further.
func TestBrowserUsersFilterUnlicensedDepartment(t *testing.T) {
	e := newEnv(t, 5)
	want := opsPeople(e)
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.pick("#f-license", "unlicensed")
	b.waitText("#users-table .pager", "of ")
	b.pick("#f-dept", "Ops")
	b.waitText("#users-table .pager", "1–50 of 57")
	got := b.column(2)
	b.click(`input[name=user][value="` + e.users[got[0]].GUID + `"]`)
	b.click(`#users-table .pager a[rel=next]`)
	b.waitText("#users-table .pager", "51–57 of 57")
	page2 := b.column(2)
	b.click(`input[name=user][value="` + e.users[page2[0]].GUID + `"]`)
	b.waitText("#selected-count", "2 selected")
	got = append(got, page2...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("unlicensed Ops users:\n got %q\nwant %q", got, want)
	}
	if p := b.path(); !strings.Contains(p, "license=unlicensed") || !strings.Contains(p, "dept=Ops") {
		t.Errorf("the filter is not in the URL: %s", p)
	}
	b.pick("#f-state", "disabled")
	b.waitText("#users-table .pager", "1–2 of 2")
	if got := b.column(2); !slices.Equal(got, []string{"Ops Person03", "Ops Person40"}) && !slices.Equal(got, []string{"Ops Person40", "Ops Person03"}) {
		t.Errorf("disabled: %q", got)
	}
	bookmark := b.path()
	b.open("/users")
	b.waitText("#users-table .pager", "of 81")
	b.open(bookmark)
	b.waitText("#users-table .pager", "1–2 of 2")
	if v := b.value("#f-state") + "," + b.value("#f-dept") + "," + b.value("#f-license"); v != "disabled,Ops,unlicensed" {
		t.Errorf("bookmarked filter shows %s", v)
	}
}

// Sorting by display name, user name and department orders the rows so,
// across pages, within the filter.
func TestBrowserUsersSort(t *testing.T) {
	e := newEnv(t, 5)
	want := opsPeople(e)
	slices.Sort(want)
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/users?license=unlicensed&dept=Ops")
	b.waitText("#users-table .pager", "1–50 of 57")
	if got := b.column(2); slices.IsSorted(got) {
		t.Fatalf("creation order is name order already: %q", got)
	}
	for _, c := range []struct {
		sort string
		col  int
	}{{"name", 2}, {"upn", 3}} {
		b.pick("#f-sort", c.sort)
		b.waitText("#users-table tbody tr:first-child td:nth-child(2)", "Ops Person01")
		got := b.column(c.col)
		b.click(`#users-table .pager a[rel=next]`)
		b.waitText("#users-table .pager", "51–57 of 57")
		got = append(got, b.column(c.col)...)
		if !slices.IsSorted(got) || len(got) != 57 || (c.col == 2 && !slices.Equal(got, want)) {
			t.Errorf("sorted by %s: %q", c.sort, got)
		}
		b.open("/users?license=unlicensed&dept=Ops")
		b.waitText("#users-table .pager", "1–50 of 57")
	}
	b.open("/users?sort=department")
	b.waitText("#users-table .pager", "1–50 of 81")
	depts := b.column(4)
	b.click(`#users-table .pager a[rel=next]`)
	b.waitText("#users-table .pager", "51–81 of 81")
	depts = append(depts, b.column(4)...)
	if !slices.IsSorted(depts) || depts[0] != "" || depts[len(depts)-1] != "Sales" {
		t.Errorf("sorted by department: %q", depts)
	}
}

// The CSV export of a filtered list (E3 holders of Ops: 61, more than a
// page) has every matching user, with the columns the API gives for the
// same filter and the licenses by product name.
func TestBrowserUsersExportCSV(t *testing.T) {
	e := newEnv(t, 5)
	ctx := context.Background()
	if _, err := e.st.SetSeats(ctx, actor, e.tenant.ID, e.skus["SPE_E3"].SkuID, 500, false); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 61; i++ {
		n := fmt.Sprintf("Exp User%02d", i)
		e.addPerson(n, "Ops", []string{"US", "DE", "FR"}[i%3], i != 7)
		e.assign(n, "SPE_E3")
	}
	e.assign("Exp User05", "SPE_E5")
	e.addPerson("Ops Unlicensed", "Ops", "US", true)
	e.assign("Adele Vance", "SPE_E3") // Sales
	defer func(n int) { *web.ExportBatch = n }(*web.ExportBatch)
	*web.ExportBatch = 20 // the export reads four batches
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.pick("#f-license", e.skus["SPE_E3"].SkuID)
	b.waitText("#users-table .pager", "of 62")
	b.pick("#f-dept", "Ops")
	b.waitText("#users-table .pager", "1–50 of 61")
	href, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("export-csv").getAttribute("href")`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.client(adminUPN).Get(e.srv.URL + href)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("export %s: %d %s", href, resp.StatusCode, ct)
	}
	lines, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if h := strings.Join(lines[0], ","); h != "User name,Display name,Department,Usage location,Account enabled,Licenses" {
		t.Errorf("header %q", h)
	}
	got := map[string]string{}
	for _, l := range lines[1:] {
		got[l[0]] = csvLine(l[1:5], strings.Split(l[5], "; "))
	}
	want := e.apiRows("department eq 'Ops' and assignedLicenses/any(x:x/skuId eq " + e.skus["SPE_E3"].SkuID + ")")
	if len(got) != 61 || len(lines) != 62 || len(want) != 61 {
		t.Errorf("export has %d rows (%d distinct), the API %d", len(lines)-1, len(got), len(want))
	}
	for upn, w := range want {
		if got[upn] != w {
			t.Errorf("%s: export %q, API %q", upn, got[upn], w)
		}
	}
}

// csvLine joins cells and sorted licenses, to compare rows.
func csvLine(cells, licenses []string) string {
	slices.Sort(licenses)
	return strings.Join(cells, "|") + "|" + strings.Join(licenses, "; ")
}

// apiRows reads the users the Graph filter selects, through the API, as
// csvLine of display name, department, usage location, account enabled
// and product names, by userPrincipalName.
func (e *env) apiRows(filter string) map[string]string {
	e.t.Helper()
	token := strings.Repeat("t", 40)
	if err := e.st.CreateToken(context.Background(), e.tenant.ID, "export test", store.RoleGlobalAdmin, token); err != nil {
		e.t.Fatal(err)
	}
	names := map[string]string{}
	for _, p := range e.skus {
		names[p.SkuID] = p.DisplayName
	}
	out := map[string]string{}
	next := e.srv.URL + "/v1.0/users?$top=999&$filter=" + url.QueryEscape(filter)
	for next != "" {
		req, _ := http.NewRequest("GET", next, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			e.t.Fatal(err)
		}
		var page struct {
			Value []struct {
				UPN              string `json:"userPrincipalName"`
				DisplayName      string
				Department       string
				UsageLocation    string
				AccountEnabled   bool
				AssignedLicenses []struct{ SkuID string }
			}
			Next string `json:"@odata.nextLink"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			e.t.Fatalf("GET %s: %d %v", next, resp.StatusCode, err)
		}
		for _, u := range page.Value {
			var lic []string
			for _, a := range u.AssignedLicenses {
				lic = append(lic, names[a.SkuID])
			}
			out[u.UPN] = csvLine([]string{u.DisplayName, u.Department, u.UsageLocation, fmt.Sprint(u.AccountEnabled)}, lic)
		}
		next = page.Next
	}
	return out
}

// The panel's usage location is a country picker (names, with the code):
// picking Germany saves DE. A form that sends no country ("USA", as a
// hand-made request might) is refused in words and changes nothing.
func TestBrowserPickUsageLocation(t *testing.T) {
	e := newEnv(t, 5)
	lee := e.users["Lee Gu"]
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/users/" + lee.GUID)
	b.waitText(`#usageLocation option[value="DE"]`, "Germany (DE)")
	b.pick("#usageLocation", "DE")
	b.click(`form[action$="/usage-location"] button[type=submit]`)
	b.waitText("#panel", "Usage location set to DE")
	if u, err := e.st.User(context.Background(), e.tenant.ID, lee.GUID); err != nil || u.UsageLocation != "DE" {
		t.Fatalf("after the pick: %+v %v", u, err)
	}
	b.waitText(`#usageLocation option:checked`, "Germany")

	c := e.client(adminUPN)
	resp, err := c.PostForm(e.srv.URL+"/users/"+lee.GUID+"/usage-location", url.Values{"usageLocation": {"USA"}})
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	_, _ = fmt.Fprint(&body, readAll(resp))
	if !strings.Contains(body.String(), "Usage location must be a two-letter country code such as US") {
		t.Errorf("form with USA: %d %s", resp.StatusCode, body.String())
	}
	if u, _ := e.st.User(context.Background(), e.tenant.ID, lee.GUID); u.UsageLocation != "DE" {
		t.Errorf("after USA: %q", u.UsageLocation)
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}
