package web_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"allot/store"
	"allot/store/sqlstore"
)

// economyEnv is an env whose seat history spans days: its store's clock
// starts ten days back and moves forward as the changes are made (E5: two
// users, then six days back three and 30 seats; E3 for five analysts), then comes back to now,
// when a group of five gets Insights (two seats: three wait) and E5 and
// Insights get a price.
func economyEnv(t *testing.T) *env {
	var offset atomic.Int64
	at := func(days int) { offset.Store(int64(time.Duration(-days) * 24 * time.Hour)) }
	at(10)
	open := func(t *testing.T) *sqlstore.Store {
		st, err := sqlstore.OpenSQLite(context.Background(), t.TempDir(), sqlstore.WithClock(func() time.Time {
			return time.Now().Add(time.Duration(offset.Load()))
		}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	e := newEnvOn(t, open, 2)
	ctx := context.Background()
	e.assign("Adele Vance", "SPE_E5")
	e.assign("Alex Wilber", "SPE_E5")
	at(6)
	e.assign("Megan Bowen", "SPE_E5")
	if _, err := e.st.SetSeats(ctx, actor, e.tenant.ID, "SPE_E5", 30, false); err != nil {
		t.Fatal(err)
	}
	analysts := []string{"Diego Siciliani", "Grady Archie", "Isaiah Langer", "Johanna Lorenz", "Joni Sherman"}
	for _, n := range analysts {
		e.assign(n, "SPE_E3") // Insights needs E3 first
	}
	at(0) // the worker's queue runs on the wall clock
	e.startWorker()
	g := e.group("Analysts", analysts...)
	ins := e.skus["WORKPLACE_ANALYTICS_INSIGHTS"]
	if _, err := e.st.AssignGroupLicenses(ctx, actor, e.tenant.ID, g.GUID, []store.LicenseRequest{{SkuID: ins.SkuID}}, nil, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(browserWait)
	for {
		pts, err := e.st.SeatHistory(ctx, e.tenant.ID, store.HistoryQuery{Product: ins.SkuID, From: time.Now().AddDate(0, 0, -30), To: time.Now(), Interval: store.IntervalDay})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(pts); n > 0 && pts[n-1].Waiting == 3 && pts[n-1].Consumed == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Insights history %+v, want 3 waiting", pts)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for sku, cents := range map[string]int64{"SPE_E5": 5700, "WORKPLACE_ANALYTICS_INSIGHTS": 1000} {
		if err := e.st.SetPrice(ctx, actor, e.tenant.ID, sku, &store.Price{Currency: "USD", UnitPrice: cents, Term: store.TermMonthly}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// apiGet reads a JSON answer of the API.
func apiGet(t *testing.T, hc *http.Client, url string, v any) {
	t.Helper()
	res, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || json.Unmarshal(data, v) != nil {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, data)
	}
}

type apiHistory struct {
	Value []struct {
		DateTime                                  string
		EnabledUnits, ConsumedUnits, WaitingUnits int
	}
}

// evalJSON runs js in the tab and decodes the JSON string it returns.
func evalJSON(t *testing.T, b *tab, js string, v any) {
	t.Helper()
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
}

// TestBrowserLicensesSparklinesMatchTheAPI opens the Licenses page after
// ten days of changes and compares each product's sparkline (its data
// attributes and accessible name) with GET
// /allot/v1/reports/seatHistory?interval=day for that product.
func TestBrowserLicensesSparklinesMatchTheAPI(t *testing.T) {
	e := economyEnv(t)
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/licenses")
	b.waitCount("tr[data-sku] svg.sparkline", len(e.skus))
	var shown map[string]struct{ Dates, Consumed, Label string }
	evalJSON(t, b, `JSON.stringify(Object.fromEntries(Array.from(document.querySelectorAll('tr[data-sku]')).map(r => {
		const s = r.querySelector('svg.sparkline');
		return [r.dataset.sku, {dates: s.dataset.dates, consumed: s.dataset.consumed, label: s.getAttribute('aria-label')}];
	})))`, &shown)
	hc := e.client(adminUPN)
	for part, p := range e.skus {
		var api apiHistory
		apiGet(t, hc, e.srv.URL+"/allot/v1/reports/seatHistory?interval=day&skuId="+p.SkuID, &api)
		var dates, consumed []string
		for _, v := range api.Value {
			dates, consumed = append(dates, v.DateTime), append(consumed, strconv.Itoa(v.ConsumedUnits))
		}
		s := shown[part]
		if s.Dates != strings.Join(dates, ",") || s.Consumed != strings.Join(consumed, ",") {
			t.Errorf("%s: sparkline %v / %v, API %v / %v", part, s.Dates, s.Consumed, dates, consumed)
		}
		if len(api.Value) < 2 {
			t.Errorf("%s: %d days of history, want several", part, len(api.Value))
		}
		want := "Consumed seats over 30 days: " + consumed[0] + " to " + consumed[len(consumed)-1]
		if !strings.HasPrefix(s.Label, want) {
			t.Errorf("%s: accessible name %q, want it to start %q", part, s.Label, want)
		}
	}
	if s := shown["SPE_E5"]; !strings.HasPrefix(s.Consumed, "2,") || !strings.HasSuffix(s.Consumed, ",3") {
		t.Errorf("E5 consumed %q, want 2 at first and 3 now", s.Consumed)
	}
	b.screenshot("licenses-sparklines")
}

// TestBrowserReportsWaitingAndUnusedMatchTheAPI compares the Reports
// page's waiting-list chart with the API's waitingUnits and its unused
// spend (total and bars) with GET /allot/v1/reports/cost, downloads the
// charts as SVG files, and checks the page in a 390 px window.
func TestBrowserReportsWaitingAndUnusedMatchTheAPI(t *testing.T) {
	e := economyEnv(t)
	ins := e.skus["WORKPLACE_ANALYTICS_INSIGHTS"].SkuID
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/reports?interval=day&sku=" + ins)
	b.waitText("#waiting-title", "Insights")
	var shown [][]string
	evalJSON(t, b, `JSON.stringify(Array.from(document.querySelectorAll('#waiting-chart circle.point')).map(c => [c.dataset.date, c.dataset.waiting]))`, &shown)
	hc := e.client(adminUPN)
	var api apiHistory
	apiGet(t, hc, e.srv.URL+"/allot/v1/reports/seatHistory?interval=day&skuId="+ins, &api)
	var want, consumed [][]string
	for _, v := range api.Value {
		want = append(want, []string{v.DateTime, strconv.Itoa(v.WaitingUnits)})
		consumed = append(consumed, []string{v.DateTime, strconv.Itoa(v.ConsumedUnits)})
	}
	if len(want) < 2 || want[0][1] != "0" || want[len(want)-1][1] != "3" {
		t.Errorf("API waiting list %v, want 0 at first and 3 now", want)
	}
	if !equalRows(shown, want) {
		t.Errorf("waiting chart %v, API %v", shown, want)
	}
	checkUnused(t, e, b, hc)
	checkDownload(t, e, hc, "/reports/charts/waiting.svg?interval=day&sku="+ins, "circle", "data-waiting", want)
	checkDownload(t, e, hc, "/reports/charts/history.svg?interval=day&sku="+ins, "circle", "data-consumed", consumed)
	b.do(chromedp.EmulateViewport(390, 844))
	b.open("/reports?interval=day&sku=" + ins)
	b.waitText("#waiting-title", "Insights")
	if !b.evalBool(`document.documentElement.scrollWidth <= 390 && ['waiting-chart', 'unused-chart'].every(id => {
		const r = document.getElementById(id).getBoundingClientRect(); return r.width > 300 && r.right <= 390; })`) {
		var got string
		evalJSON(t, b, `JSON.stringify(JSON.stringify([window.innerWidth, document.documentElement.scrollWidth, ...['waiting-chart', 'unused-chart'].map(id => document.getElementById(id).getBoundingClientRect()), Array.from(document.querySelectorAll("body *")).filter(function(e){var r=e.getBoundingClientRect();if(r.right<=window.innerWidth+1)return false;for(var p=e.parentElement;p;p=p.parentElement){var o=getComputedStyle(p).overflowX;if(o==="auto"||o==="hidden"||o==="scroll")return false}return true}).slice(0,8).map(function(e){return e.tagName+"."+e.className+"#"+e.id+" "+Math.round(e.getBoundingClientRect().right)}).join("; ")]))`, &got)
		t.Errorf("the charts do not fit a 390 px window: %s", got)
	}
	b.screenshot("reports-waiting-unused-390")
}

// checkUnused compares the unused spend shown with the API's cost report.
func checkUnused(t *testing.T, e *env, b *tab, hc *http.Client) {
	t.Helper()
	var cost struct {
		Products []struct{ SkuPartNumber, UnusedCost string }
	}
	apiGet(t, hc, e.srv.URL+"/allot/v1/reports/cost", &cost)
	var bars, totals [][]string
	evalJSON(t, b, `JSON.stringify(Array.from(document.querySelectorAll('#unused-chart g.bar')).map(g => [g.dataset.sku, g.dataset.unused]))`, &bars)
	evalJSON(t, b, `JSON.stringify(Array.from(document.querySelectorAll('#unused-totals li')).map(g => [g.dataset.currency, g.dataset.unused]))`, &totals)
	var want [][]string
	var sum int64
	for _, p := range cost.Products {
		c := cents(t, p.UnusedCost)
		sum += c
		want = append(want, []string{p.SkuPartNumber, strconv.FormatInt(c, 10)})
	}
	if len(want) != 2 || !equalRows(bars, want) {
		t.Errorf("unused bars %v, API %v", bars, want)
	}
	if sum <= 0 || !equalRows(totals, [][]string{{"USD", strconv.FormatInt(sum, 10)}}) {
		t.Errorf("unused total %v, API's unusedCost add up to %d USD cents", totals, sum)
	}
	checkDownload(t, e, hc, "/reports/charts/unused.svg", "g", "data-unused", nil)
}

func cents(t *testing.T, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(strings.Replace(s, ".", "", 1), 10, 64)
	if err != nil || !strings.Contains(s, ".") {
		t.Fatalf("amount %q", s)
	}
	return v
}

func equalRows(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "\x00") != strings.Join(b[i], "\x00") {
			return false
		}
	}
	return true
}

// checkDownload downloads a chart: an SVG attachment whose elem elements
// carrying attr hold the dates and values of want (when want is set).
func checkDownload(t *testing.T, e *env, hc *http.Client, path, elem, attr string, want [][]string) {
	t.Helper()
	res, err := hc.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "image/svg+xml") ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment; filename=") {
		t.Fatalf("GET %s: %d %v", path, res.StatusCode, res.Header)
	}
	d := xml.NewDecoder(strings.NewReader(string(data)))
	var got [][]string
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s is not XML: %v\n%s", path, err, data)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = se.Name.Space + " " + se.Name.Local
		}
		attrs := map[string]string{}
		for _, a := range se.Attr {
			attrs[a.Name.Local] = a.Value
		}
		if v, ok := attrs[attr]; ok && se.Name.Local == elem {
			got = append(got, []string{attrs["data-date"], v})
		}
	}
	if root != "http://www.w3.org/2000/svg svg" {
		t.Errorf("%s: root element %q, want an SVG", path, root)
	}
	if len(got) == 0 || (want != nil && !equalRows(got, want)) {
		t.Errorf("%s holds %v, want %v", path, got, want)
	}
}
