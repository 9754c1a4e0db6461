package httpapi

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// getCSV GETs path with Accept: text/csv and returns the records.
func (c *client) getCSV(path string) [][]string {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.h.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "text/csv")
	res, err := c.h.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		c.t.Fatalf("GET %s as CSV: %d %s %s", path, res.StatusCode, res.Header.Get("Content-Type"), data)
	}
	recs, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		c.t.Fatalf("GET %s: not CSV: %v", path, err)
	}
	return recs
}

// TestLicenseAssignmentsReportNamesEverySource builds users licensed
// directly, through groups and both, one disabled, and checks the report
// row by row in JSON (paged one row at a time, so that every page boundary
// is crossed) and in CSV, the unused-seat report and utilisation.
func TestLicenseAssignmentsReportNamesEverySource(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e3, e5 := c.sku("SPE_E3"), c.sku("SPE_E5")
		ann := c.createUser("ann@contoso.com", "US")
		bob := c.createUser("bob@contoso.com", "US")
		cid := c.createUser("cid@contoso.com", "US")
		c.createUser("dan@contoso.com", "US") // no license: no row
		sales, staff := c.createGroup("Sales"), c.createGroup("All Staff")
		for _, m := range []string{bob, cid} {
			c.addMember(sales, m)
			c.addMember(staff, m)
		}
		c.must(200, "POST", "/v1.0/users/"+ann+"/assignLicense", assignBody([]string{e3}, nil))
		c.must(200, "POST", "/v1.0/users/"+bob+"/assignLicense", assignBody([]string{e3}, nil))
		c.must(202, "POST", "/v1.0/groups/"+sales+"/assignLicense", assignBody([]string{e3}, nil))
		c.must(202, "POST", "/v1.0/groups/"+staff+"/assignLicense", assignBody([]string{e3, e5}, nil))
		h.drain()
		c.must(204, "PATCH", "/v1.0/users/"+cid, map[string]any{"accountEnabled": false, "department": "Finance"})

		want := []string{
			"ann@contoso.com SPE_E3 Active Direct",
			"bob@contoso.com SPE_E3 Active Direct; Sales; All Staff",
			"bob@contoso.com SPE_E5 Active All Staff",
			"cid@contoso.com SPE_E3 Active Sales; All Staff",
			"cid@contoso.com SPE_E5 Active All Staff",
		}
		rows := c.listAll("/allot/v1/reports/licenseAssignments?$top=1")
		var got []string
		for _, r := range rows {
			var src []string
			if r["assignedDirectly"] == true {
				src = append(src, "Direct")
			}
			for _, g := range r["assignedByGroups"].([]any) {
				src = append(src, g.(string))
			}
			got = append(got, fmt.Sprintf("%s %s %s %s", r["userPrincipalName"], r["skuPartNumber"], r["state"], strings.Join(src, "; ")))
		}
		if !slices.Equal(got, want) {
			t.Errorf("licenseAssignments JSON:\n got %q\nwant %q", got, want)
		}
		recs := c.getCSV("/allot/v1/reports/licenseAssignments")
		if len(recs) != len(want)+1 || recs[0][0] != "userPrincipalName" || recs[0][7] != "sources" {
			t.Fatalf("licenseAssignments CSV: %q", recs)
		}
		for i, r := range recs[1:] {
			if line := fmt.Sprintf("%s %s %s %s", r[0], r[4], r[6], r[7]); line != want[i] {
				t.Errorf("CSV row %d: %q, want %q", i, line, want[i])
			}
		}
		if recs[4][2] != "Finance" || recs[4][3] != "false" {
			t.Errorf("cid's department and state: %q", recs[4])
		}
		if only := c.listAll("/allot/v1/reports/licenseAssignments?skuId=SPE_E5"); len(only) != 2 {
			t.Errorf("filtered to SPE_E5: %d rows, want 2", len(only))
		}
		unused := c.listAll("/allot/v1/reports/unusedSeats")
		if len(unused) != 2 || unused[0]["userPrincipalName"] != "cid@contoso.com" {
			t.Errorf("unusedSeats: %v", unused)
		}
		util := c.must(200, "GET", "/allot/v1/reports/utilization", nil).values(t)
		for _, u := range util {
			if u["skuPartNumber"] == "SPE_E3" {
				if u["consumedUnits"] != 3.0 || u["availableUnits"] != 97.0 || u["disabledUserUnits"] != 1.0 || u["utilizationPercent"] != 3.0 {
					t.Errorf("SPE_E3 utilization: %v", u)
				}
			}
		}
		c.expectError(404, "", "GET", "/allot/v1/reports/licenseAssignments?skuId=NOPE", nil)
		c.expectError(400, "", "GET", "/allot/v1/reports/licenseAssignments?$skiptoken=garbage", nil)
	})
}

// TestSeatHistoryReport checks the seat history API: the current hour and
// day carry the counters now, JSON and CSV agree, and bad input is a 400.
func TestSeatHistoryReport(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e5 := c.sku("SPE_E5")
		for i := range 3 {
			u := c.createUser(fmt.Sprintf("h%d@contoso.com", i), "US")
			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e5}, nil))
		}
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/"+e5, map[string]any{"enabledUnits": 60})
		for _, iv := range []string{"hour", "day", "week", "month"} {
			path := "/allot/v1/reports/seatHistory?skuId=" + e5 + "&interval=" + iv
			pts := c.must(200, "GET", path, nil).values(t)
			if len(pts) == 0 {
				t.Fatalf("%s: no points", iv)
			}
			last := pts[len(pts)-1]
			if last["enabledUnits"] != 60.0 || last["consumedUnits"] != 3.0 || last["peakConsumedUnits"] != 3.0 || last["availableUnits"] != 57.0 {
				t.Errorf("%s: last point %v", iv, last)
			}
			recs := c.getCSV(path)
			if len(recs) != len(pts)+1 || recs[len(recs)-1][0] != last["dateTime"] || recs[len(recs)-1][2] != "3" {
				t.Errorf("%s CSV %q disagrees with JSON %v", iv, recs, pts)
			}
		}
		// Paging: two hours of a window of 48, one point a page.
		from := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
		if all := c.listAll("/allot/v1/reports/seatHistory?skuId=SPE_E5&interval=hour&$top=1&from=" + from); len(all) < 1 || len(all) > 2 {
			t.Errorf("paged history: %v", all)
		}
		c.expectError(400, "", "GET", "/allot/v1/reports/seatHistory?skuId="+e5+"&interval=fortnight", nil)
		c.expectError(400, "", "GET", "/allot/v1/reports/seatHistory?interval=day", nil)
		c.expectError(400, "", "GET", "/allot/v1/reports/seatHistory?skuId="+e5+"&from=yesterday", nil)
		c.expectError(400, "", "GET", "/allot/v1/reports/seatHistory?skuId="+e5+"&from=2026-02-01&to=2026-01-01", nil)
		c.expectError(404, "", "GET", "/allot/v1/reports/seatHistory?skuId=NOPE", nil)
	})
}

// TestCostReportAPI sets prices through the API and reads the statement:
// amounts in the currency's units, departments priced at their seats, bad
// input refused with a 400 that changes nothing.
func TestCostReportAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e3 := c.sku("SPE_E3")
		u := c.createUser("sal@contoso.com", "US")
		c.must(204, "PATCH", "/v1.0/users/"+u, map[string]any{"department": "Sales"})
		c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e3}, nil))
		got := c.must(200, "PUT", "/allot/v1/subscribedSkus/"+e3+"/price", map[string]any{"currency": "USD", "unitPrice": 36.5, "term": "monthly", "commitmentEndDate": "2027-03-31"}).object(t)
		if got["unitPrice"] != "36.50" || got["commitmentEndDate"] != "2027-03-31" {
			t.Errorf("price: %v", got)
		}
		st := c.must(200, "GET", "/allot/v1/reports/cost", nil).object(t)
		deps := st["departments"].([]any)
		if len(deps) != 1 || deps[0].(map[string]any)["cost"] != "36.50" || deps[0].(map[string]any)["department"] != "Sales" {
			t.Errorf("departments: %v", deps)
		}
		prods := st["products"].([]any)
		// 100 seats, 1 in use: 99 unused at 36.50.
		if len(prods) != 1 || prods[0].(map[string]any)["unusedCost"] != "3613.50" {
			t.Errorf("products: %v", prods)
		}
		recs := c.getCSV("/allot/v1/reports/cost")
		if len(recs) != 2 || recs[1][1] != "Sales" || recs[1][4] != "36.50" {
			t.Errorf("cost CSV: %q", recs)
		}
		before := c.snapshot()
		for _, body := range []map[string]any{
			{"currency": "USD", "unitPrice": 1.234},
			{"currency": "dollars", "unitPrice": 1},
			{"currency": "USD", "unitPrice": -1},
			{"currency": "USD", "unitPrice": 1, "term": "weekly"},
			{"currency": "USD", "unitPrice": 1, "commitmentEndDate": "soon"},
			{"currency": "USD"},
		} {
			c.expectError(400, "", "PUT", "/allot/v1/subscribedSkus/"+e3+"/price", body)
		}
		c.unchanged(before, "refused prices")
		c.expectError(400, "", "GET", "/allot/v1/reports/cost?month=April", nil)
		c.expectError(404, "", "PUT", "/allot/v1/subscribedSkus/NOPE/price", map[string]any{"currency": "USD", "unitPrice": 1})
		if st := c.must(200, "GET", "/allot/v1/reports/cost", nil).object(t); st["products"].([]any)[0].(map[string]any)["price"].(map[string]any)["unitPrice"] != "36.50" {
			t.Errorf("a refused price changed the stored one: %v", st)
		}
		c.must(204, "DELETE", "/allot/v1/subscribedSkus/"+e3+"/price", nil)
		if st := c.must(200, "GET", "/allot/v1/reports/cost", nil).object(t); len(st["products"].([]any)) != 0 {
			t.Errorf("after delete: %v", st)
		}
	})
}
