package web_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"allot/store"
)

// TestBrowserReportsChartsMatchTheAPI opens the Reports page after seat and
// license changes and a price, reads the figures the SVG charts were drawn
// from (their markers' and bars' data attributes) and compares them with
// GET /allot/v1/reports/seatHistory and /allot/v1/reports/cost.
func TestBrowserReportsChartsMatchTheAPI(t *testing.T) {
	e := newEnv(t, 25)
	ctx := context.Background()
	for _, n := range []string{"Adele Vance", "Alex Wilber", "Megan Bowen"} {
		e.assign(n, "SPE_E5")
	}
	if _, err := e.st.SetSeats(ctx, actor, e.tenant.ID, "SPE_E5", 30, false); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetPrice(ctx, actor, e.tenant.ID, "SPE_E5", &store.Price{Currency: "USD", UnitPrice: 5700, Term: store.TermMonthly}); err != nil {
		t.Fatal(err)
	}
	e5 := e.skus["SPE_E5"].SkuID
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/reports?interval=hour&sku=" + e5)
	b.waitText("#history-title", "Microsoft 365 E5")
	var shown []map[string]string
	js := `JSON.stringify(Array.from(document.querySelectorAll('#history-chart circle.point')).map(c => ({date: c.dataset.date, enabled: c.dataset.enabled, consumed: c.dataset.consumed, waiting: c.dataset.waiting})))`
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(raw), &shown); err != nil {
		t.Fatal(err)
	}
	hc := e.client(adminUPN)
	get := func(path string, v any) {
		t.Helper()
		res, err := hc.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || json.Unmarshal(data, v) != nil {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, data)
		}
	}
	var api struct {
		Value []struct {
			DateTime                                  string
			EnabledUnits, ConsumedUnits, WaitingUnits int
		}
	}
	get("/allot/v1/reports/seatHistory?interval=hour&skuId="+e5, &api)
	if len(shown) == 0 || len(shown) != len(api.Value) {
		t.Fatalf("the chart shows %d points, the API answers %d", len(shown), len(api.Value))
	}
	for i, p := range api.Value {
		s := shown[i]
		if s["date"] != p.DateTime || s["enabled"] != itoa(p.EnabledUnits) || s["consumed"] != itoa(p.ConsumedUnits) || s["waiting"] != itoa(p.WaitingUnits) {
			t.Errorf("point %d: chart %v, API %+v", i, s, p)
		}
	}
	if last := shown[len(shown)-1]; last["enabled"] != "30" || last["consumed"] != "3" {
		t.Errorf("last point %v, want 30 bought and 3 in use", last)
	}
	var cost struct {
		Departments []struct{ Department, Currency, Cost string }
	}
	get("/allot/v1/reports/cost", &cost)
	raw, err = chromedp.Run(b.ctx, chromedp.Evaluate[string](`JSON.stringify(Array.from(document.querySelectorAll('#cost-chart g.bar')).map(g => [g.dataset.department, g.dataset.currency, g.dataset.cost]))`))
	if err != nil {
		t.Fatal(err)
	}
	var bars [][]string
	json.Unmarshal([]byte(raw), &bars)
	if len(bars) != len(cost.Departments) || len(bars) != 1 {
		t.Fatalf("cost bars %v, API %v", bars, cost.Departments)
	}
	// Three users of Sales at 57.00 a month: 171.00.
	if d := cost.Departments[0]; bars[0][0] != d.Department || bars[0][1] != d.Currency || d.Cost != "171.00" || bars[0][2] != "17100" {
		t.Errorf("cost bar %v, API %+v", bars[0], d)
	}
	if got := b.text(`#cost-products [data-sku="SPE_E5"] .unused`); !strings.Contains(got, "27 seats") {
		t.Errorf("unused seats shown: %q", got)
	}
	b.screenshot("reports")
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
