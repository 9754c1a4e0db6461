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
