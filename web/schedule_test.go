package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"allot/store"
)

// TestBrowserSchedulesShowEndsAndWhatTheyDo: three users get Office 365
// E3 through the API with an endDateTime two days ahead; the product's
// other seven seats are taken and two members of a group wait for it; a
// group's E5 assignment ends in five days. The Schedules page lists both
// ends, soonest first, names the three users the API was told about, and
// says what the end does: the three lose it and as many people get it as
// the API's utilization report says are waiting (2); a direct E5
// assignment that starts in three days is listed between them with the
// one user who gets it then. Viewing changes nothing.
func TestBrowserSchedulesShowEndsAndWhatTheyDo(t *testing.T) {
	e := newEnv(t, 25)
	ctx := context.Background()
	hc := e.client(adminUPN)
	pack, e5 := e.skus["ENTERPRISEPACK"], e.skus["SPE_E5"]
	end := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Minute)
	temps := []string{"Adele Vance", "Alex Wilber", "Diego Siciliani"}
	for _, n := range temps {
		body := fmt.Sprintf(`{"addLicenses": [{"skuId": %q, "endDateTime": %q}], "removeLicenses": []}`, pack.SkuID, end.Format(time.RFC3339))
		res, err := hc.Post(e.srv.URL+"/v1.0/users/"+e.users[n].GUID+"/assignLicense", "application/json", strings.NewReader(body))
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("assign with an end: %v %v", err, res.Status)
		}
		res.Body.Close()
	}
	for _, n := range []string{"Grady Archie", "Henrietta Mueller", "Isaiah Langer", "Johanna Lorenz", "Joni Sherman", "Lidia Holloway", "Lynne Robbins"} {
		e.assign(n, "ENTERPRISEPACK")
	}
	waiting := e.group("Waiting room", "Megan Bowen", "Miriam Graham")
	if _, err := e.st.AssignGroupLicenses(ctx, actor, e.tenant.ID, waiting.GUID, []store.LicenseRequest{{SkuID: pack.SkuID}}, nil, false); err != nil {
		t.Fatal(err)
	}
	pilot := e.group("E5 Pilot", "Nestor Wilke", "Patti Fernandez")
	if _, err := e.st.AssignGroupLicenses(ctx, actor, e.tenant.ID, pilot.GUID, []store.LicenseRequest{{SkuID: e5.SkuID, EndsAt: time.Now().Add(5 * 24 * time.Hour).UnixMilli()}}, nil, false); err != nil {
		t.Fatal(err)
	}
	// Pradeep Gupta gets E5 three days ahead (startDateTime).
	start := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Minute)
	body := fmt.Sprintf(`{"addLicenses": [{"skuId": %q, "startDateTime": %q}], "removeLicenses": []}`, e5.SkuID, start.Format(time.RFC3339))
	res, err := hc.Post(e.srv.URL+"/v1.0/users/"+e.users["Pradeep Gupta"].GUID+"/assignLicense", "application/json", strings.NewReader(body))
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("assign with a start: %v %v", err, res.Status)
	}
	res.Body.Close()
	var util struct {
		Value []struct {
			SkuPartNumber string
			WaitingUnits  int
		}
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		apiGet(t, hc, e.srv.URL+"/allot/v1/reports/utilization", &util)
		w := 0
		for _, u := range util.Value {
			if u.SkuPartNumber == "ENTERPRISEPACK" {
				w = u.WaitingUnits
			}
		}
		if (w == 2 && e.holds("Nestor Wilke")["SPE_E5"]) || time.Now().After(deadline) {
			break
		}
	}

	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.click(`nav.side a[href="/schedules"]`)
	b.waitPath("/schedules")
	rows := `#schedules-table tbody tr`
	if n := b.count(rows); n != 3 {
		t.Fatalf("%d upcoming starts and ends, want 3", n)
	}
	first := rows + `:first-child`
	if got := b.text(first + ` [data-product]`); got != pack.DisplayName {
		t.Errorf("first end's product %q", got)
	}
	if got := b.text(first + ` [data-who]`); !strings.HasPrefix(got, "3 users") || !strings.Contains(got, upnOf("Adele Vance")) || !strings.Contains(got, upnOf("Diego Siciliani")) {
		t.Errorf("who %q", got)
	}
	wait := 0
	for _, u := range util.Value {
		if u.SkuPartNumber == "ENTERPRISEPACK" {
			wait = u.WaitingUnits
		}
	}
	want := fmt.Sprintf("On %s, 3 users lose Office 365 E3; %d waiting people get it.", end.Format("2 January 2006 at 15:04 UTC"), wait)
	if got := b.text(first + ` [data-does]`); got != want || wait != 2 {
		t.Errorf("does %q, want %q", got, want)
	}
	wantStart := fmt.Sprintf("On %s, 1 user gets Microsoft 365 E5.", start.Format("2 January 2006 at 15:04 UTC"))
	if got := b.text(rows + `:nth-child(2) [data-does]`); got != wantStart {
		t.Errorf("start %q, want %q", got, wantStart)
	}
	if got := b.text(rows + `:nth-child(3) [data-does]`); !strings.Contains(got, "group E5 Pilot's assignment ends: 2 users lose Microsoft 365 E5.") {
		t.Errorf("group end %q", got)
	}
	if e.holds("Pradeep Gupta")["SPE_E5"] {
		t.Errorf("Pradeep Gupta holds E5 before its start")
	}
	b.axeCheck("schedules")
	for _, n := range temps {
		if !e.holds(n)["ENTERPRISEPACK"] {
			t.Errorf("viewing the schedule took %s's license", n)
		}
	}
	b.screenshotView("schedules")
}
