package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"allot"
)

// backdateDirect makes the tenant's direct licenses look assigned days ago.
func (h *harness) backdateDirect(days int) {
	h.t.Helper()
	if _, err := h.st.DB().ExecContext(context.Background(), fmt.Sprintf(`UPDATE license_states SET updated_at = updated_at - %d WHERE source_id = 0`, int64(days)*86400000)); err != nil {
		h.t.Fatalf("backdate: %v", err)
	}
}

func TestReclaim_AnInactiveUsersLicenseIsReclaimedAfterNoticeAndGoesToTheFirstWaiter(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		pack := c.sku("ENTERPRISEPACK")
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/ENTERPRISEPACK", map[string]any{"enabledUnits": 4})
		c.must(200, "PUT", "/allot/v1/subscribedSkus/ENTERPRISEPACK/price", map[string]any{"currency": "USD", "unitPrice": "20.00", "term": "monthly"})
		idle := c.createUser("idle@contoso.com", "US")
		active := c.createUser("active@contoso.com", "US")
		exec := c.createUser("exec@contoso.com", "US")
		keeper := c.createUser("keeper@contoso.com", "US")
		for _, u := range []string{idle, active, exec, keeper} {
			c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{pack}, nil))
		}
		h.backdateDirect(100)
		old := map[string]any{"signInActivity": map[string]any{"lastSignInDateTime": "2026-01-05T08:00:00Z"}}
		c.must(204, "PATCH", "/v1.0/users/"+idle, old)
		c.must(204, "PATCH", "/v1.0/users/"+active, old)
		c.expectError(400, "invalid", "PATCH", "/v1.0/users/"+idle, map[string]any{"signInActivity": map[string]any{"lastSignInDateTime": "yesterday"}})
		got := c.getJSON("/v1.0/users/" + idle + "?$select=id,signInActivity")
		if si, _ := got["signInActivity"].(map[string]any); si == nil || si["lastSignInDateTime"] != "2026-01-05T08:00:00Z" {
			t.Errorf("signInActivity %v", got["signInActivity"])
		}
		// The active user's report is recent: the later of the two dates counts.
		today := time.Now().UTC().Format("2006-01-02")
		rep := c.must(200, "POST", "/allot/v1/activityReports", map[string]any{"value": []map[string]any{
			{"userPrincipalName": "idle@contoso.com", "skuPartNumber": "ENTERPRISEPACK", "lastActivityDate": "2026-02-01"},
			{"userId": active, "skuId": pack, "lastActivityDate": today},
		}}).object(t)
		if rep["imported"] != float64(2) || rep["failed"] != float64(0) {
			t.Errorf("report %v", rep)
		}
		executives := c.createGroup("Executives")
		c.addMember(executives, exec)
		first := c.createUser("first@contoso.com", "US")
		second := c.createUser("second@contoso.com", "US")
		waiting := c.createGroup("Waiting")
		c.must(202, "POST", "/v1.0/groups/"+waiting+"/assignLicense", assignBody([]string{pack}, nil))
		c.addMember(waiting, first)
		c.addMember(waiting, second)
		h.drain()

		c.expectError(400, "invalid", "POST", "/allot/v1/reclamationRules", map[string]any{"skuId": "ENTERPRISEPACK", "kind": "deleted", "disabledFor": "P1D", "notice": "P1D"})
		c.expectError(400, "invalid", "POST", "/allot/v1/reclamationRules", map[string]any{"skuId": "ENTERPRISEPACK", "kind": "noActivity", "disabledFor": "P30D", "notice": "P1D"})
		c.expectError(404, "notFound", "POST", "/allot/v1/reclamationRules", map[string]any{"skuId": "ENTERPRISEPACK", "kind": "noActivity", "inactiveFor": "P30D", "notice": "PT2S", "exemptGroups": []string{"00000000-0000-0000-0000-000000000001"}})
		rule := c.must(201, "POST", "/allot/v1/reclamationRules", map[string]any{"skuId": "ENTERPRISEPACK", "kind": "noActivity",
			"inactiveFor": "P30D", "notice": "PT2S", "exemptGroups": []string{executives}}).object(t)
		if rule["kind"] != "noActivity" || rule["inactiveFor"] != "P30D" || len(rule["exemptGroups"].([]any)) != 1 {
			t.Errorf("rule %v", rule)
		}
		id := rule["id"].(string)
		run := "/allot/v1/reclamationRules/" + id + "/run"

		before := c.snapshot()
		pv := c.must(200, "POST", run, map[string]any{"preview": true}).object(t)
		if pv["noticed"] != float64(2) || !sameNames(pv, "noticed", "idle@contoso.com", "keeper@contoso.com") {
			t.Errorf("dry run: %v", pv)
		}
		c.unchanged(before, "a dry run")

		c.must(200, "POST", run, map[string]any{})
		c.expectError(400, "invalid", "POST", "/allot/v1/reclamationRules/"+id+"/keep", map[string]any{})
		c.must(204, "POST", "/allot/v1/reclamationRules/"+id+"/keep", map[string]any{"userId": "keeper@contoso.com"})
		notices := map[string]any{}
		for _, n := range c.getJSON("/allot/v1/reclamationNotices")["value"].([]any) {
			m := n.(map[string]any)
			notices[m["userPrincipalName"].(string)] = m["keptDateTime"]
		}
		if len(notices) != 2 || notices["idle@contoso.com"] != nil || notices["keeper@contoso.com"] == nil {
			t.Errorf("notices (user → kept) %v, want idle and keeper, keeper kept", notices)
		}
		time.Sleep(2100 * time.Millisecond)
		done := c.must(200, "POST", run, map[string]any{}).object(t)
		if done["reclaimed"] != float64(1) || done["cancelled"] != float64(1) || !sameNames(done, "reclaimed", "idle@contoso.com") || !sameNames(done, "cancelled", "keeper@contoso.com") {
			t.Errorf("run: %v", done)
		}
		h.drain()
		if slices.Contains(c.userSkus(idle), pack) {
			t.Errorf("the inactive user kept the license")
		}
		for name, u := range map[string]string{"active": active, "exempt": exec, "keeper": keeper, "first waiter": first} {
			if !slices.Contains(c.userSkus(u), pack) {
				t.Errorf("the %s user has no license", name)
			}
		}
		if slices.Contains(c.userSkus(second), pack) {
			t.Errorf("the second waiter got a seat")
		}
		runs := c.getJSON("/allot/v1/reclamationRuns")["value"].([]any)
		last := runs[0].(map[string]any)
		saved, _ := last["savedPerMonth"].(map[string]any)
		if saved == nil || saved["amount"] != float64(20) || saved["currency"] != "USD" || fmt.Sprint(last["reclaimedUsers"]) != "[idle@contoso.com]" {
			t.Errorf("last run %v", last)
		}
		acts := map[string]int{}
		for _, e := range c.listAll("/v1.0/auditLogs/directoryAudits?$top=999") {
			acts[e["activityDisplayName"].(string)]++
		}
		if acts[allot.ActReclaimKeep] != 1 || acts[allot.ActImportActivity] != 1 || acts[allot.ActReclaimNotice] != 2 || acts[allot.ActReclaimCancel] != 1 {
			t.Errorf("audit %v", acts)
		}
	})
}

// sameNames tells whether a run's users of the action are exactly names.
func sameNames(run map[string]any, action string, names ...string) bool {
	users, _ := run["users"].(map[string]any)
	var got []string
	for _, n := range asList(users[action]) {
		got = append(got, n.(string))
	}
	slices.Sort(got)
	return slices.Equal(got, names)
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func TestActivityReports_BadRowsAreReportedAndGoodRowsImported(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		c.createUser("adele@contoso.com", "US")
		c.createUser("ben@contoso.com", "US")
		before := c.snapshot()
		c.expectError(400, "invalid", "POST", "/allot/v1/activityReports", map[string]any{"rows": []any{}})
		c.expectError(400, "invalid", "POST", "/allot/v1/activityReports", "not json")
		res := c.postCSV("/allot/v1/activityReports", "user,sku\nadele@contoso.com,SPE_E3\n")
		if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "lastActivityDate") {
			t.Errorf("a CSV without the columns: %s", res)
		}
		c.unchanged(before, "refused reports")
		csv := "userPrincipalName,skuPartNumber,lastActivityDate\n" +
			"adele@contoso.com,SPE_E3,2026-09-01\n" +
			"nobody@contoso.com,SPE_E3,2026-09-01\n" +
			"ben@contoso.com,NOPE,2026-09-01\n" +
			"ben@contoso.com,SPE_E3,01/09/2026\n" +
			"ben@contoso.com,SPE_E3,2099-01-01\n" +
			"BEN@contoso.com,spe_e3,2026-08-01\n"
		res = c.postCSV("/allot/v1/activityReports", csv)
		out := res.object(t)
		if res.Status != 200 || out["imported"] != float64(2) || out["failed"] != float64(4) {
			t.Fatalf("import: %s", res)
		}
		// A later report with an older date keeps the later one; a newer date wins.
		c.postCSV("/allot/v1/activityReports", "userPrincipalName,skuPartNumber,lastActivityDate\nadele@contoso.com,SPE_E3,2026-07-01\nben@contoso.com,SPE_E3,2026-10-01\n")
		got := map[string]string{}
		rows, err := h.st.DB().QueryContext(context.Background(), `SELECT u.upn, a.last_activity FROM activity_reports a JOIN users u ON u.id = a.user_id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var upn string
			var ms int64
			if err := rows.Scan(&upn, &ms); err != nil {
				t.Fatal(err)
			}
			got[upn] = time.UnixMilli(ms).UTC().Format("2006-01-02")
		}
		rows.Close()
		if got["adele@contoso.com"] != "2026-09-01" || got["ben@contoso.com"] != "2026-10-01" {
			t.Errorf("stored dates %v, want adele 2026-09-01 (the later) and ben 2026-10-01", got)
		}
		want := []string{"row 3: No user 'nobody@contoso.com'", "row 4: No product 'NOPE'", "row 5: The last activity date '01/09/2026' of 'ben@contoso.com' is not a date", "row 6: The last activity date of 'ben@contoso.com' is in the future"}
		errs := out["errors"].([]any)
		for i, w := range want {
			e := errs[i].(map[string]any)
			if got := fmt.Sprintf("row %v: %v", e["row"], e["message"]); !strings.HasPrefix(got, w) {
				t.Errorf("error %d: %q, want %q…", i, got, w)
			}
		}
	})
}

// postCSV posts a CSV body.
func (c *client) postCSV(path, body string) *response {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "text/csv")
	res, err := c.h.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return &response{Method: "POST", Path: path, Status: res.StatusCode, Header: res.Header, Body: data}
}

func TestActivityReports_AHundredThousandRowsImportInSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 users")
	}
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		const n = 100_000
		users := make([]*allot.User, n)
		var b strings.Builder
		b.WriteString("userPrincipalName,skuPartNumber,lastActivityDate\n")
		for i := range users {
			upn := fmt.Sprintf("u%06d@contoso.com", i)
			users[i] = &allot.User{UserPrincipalName: upn, DisplayName: upn, AccountEnabled: true, UsageLocation: "US"}
			fmt.Fprintf(&b, "%s,SPE_E3,2026-%02d-%02d\n", upn, 1+i%9, 1+i%28)
		}
		if err := h.st.CreateUsersBulk(context.Background(), allot.SystemActor, c.Tenant.ID, users); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		res := c.postCSV("/allot/v1/activityReports", b.String())
		took := time.Since(start)
		if out := res.object(t); res.Status != 200 || out["imported"] != float64(n) {
			t.Fatalf("import: %d %v", res.Status, out["imported"])
		}
		t.Logf("%d rows (%d KB) imported in %v", n, b.Len()/1024, took.Round(time.Millisecond))
		if took > 10*time.Second {
			t.Errorf("%d rows took %v, want seconds", n, took)
		}
	})
}
