package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"allot"
	"allot/catalog"
	"allot/httpapi"
	"allot/store"
	"allot/store/sqlstore"
)

// TestReportCommandsAgainstALiveServer runs `allot report seats|cost|
// assignments|unused` with -o table, json and csv against a real server:
// the seat history of every product or one, a window with --from/--to,
// cost month by month over --from..--to, the assignments and the seats of
// disabled users; bad flags are refused with the reason.
func TestReportCommandsAgainstALiveServer(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ten, err := st.CreateTenant(ctx, "Contoso", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	ga := sqlstore.NewToken()
	if err := st.CreateToken(ctx, ten.ID, "ga", store.RoleGlobalAdmin, ga); err != nil {
		t.Fatal(err)
	}
	a := allot.Actor{Kind: "app", ID: "test", Name: "test"}
	e3, _ := catalog.Lookup("SPE_E3")
	e5, _ := catalog.Lookup("SPE_E5")
	for _, d := range []allot.ProductDefinition{e3, e5} {
		if _, err := st.AddProduct(ctx, a, ten.ID, d, 10); err != nil {
			t.Fatal(err)
		}
	}
	var bob *allot.User
	for _, name := range []string{"ann", "bob"} {
		u := &allot.User{UserPrincipalName: name + "@contoso.com", DisplayName: name, UsageLocation: "US", AccountEnabled: true, Department: "Sales"}
		if err := st.CreateUser(ctx, a, ten.ID, u); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AssignUserLicenses(ctx, a, ten.ID, u.GUID, []store.LicenseRequest{{SkuID: e3.SkuID}}, nil); err != nil {
			t.Fatal(err)
		}
		bob = u
	}
	off := false
	if _, err := st.UpdateUser(ctx, a, ten.ID, bob.GUID, store.UserPatch{AccountEnabled: &off}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPrice(ctx, a, ten.ID, "SPE_E3", &store.Price{Currency: "EUR", UnitPrice: 3000, Term: store.TermMonthly}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.DefaultLimits).Handler())
	defer srv.Close()
	t.Setenv("ALLOT_URL", srv.URL)
	t.Setenv("ALLOT_TOKEN", ga)
	runOK := func(args ...string) string {
		t.Helper()
		out, err := runCmd(t, args...)
		if err != nil {
			t.Fatalf("allot %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	records := func(out string) [][]string {
		t.Helper()
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("not CSV: %v\n%s", err, out)
		}
		return recs
	}

	var seats []map[string]any
	if err := json.Unmarshal([]byte(runOK("report", "seats", "-o", "json")), &seats); err != nil {
		t.Fatal(err)
	}
	parts := map[string]map[string]any{}
	for _, p := range seats {
		parts[p["skuPartNumber"].(string)] = p // the last point of each
	}
	if len(parts) != 2 || parts["SPE_E3"]["consumedUnits"] != 2.0 || parts["SPE_E5"]["consumedUnits"] != 0.0 || parts["SPE_E3"]["enabledUnits"] != 10.0 {
		t.Errorf("report seats -o json, every product: %v", parts)
	}
	today := time.Now().UTC().Format("2006-01-02")
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	recs := records(runOK("report", "seats", "SPE_E3", "--from", today, "--to", tomorrow, "-o", "csv"))
	if len(recs) != 2 || recs[0][0] != "product" || recs[1][0] != "SPE_E3" || recs[1][1] != today+"T00:00:00Z" || recs[1][3] != "2" {
		t.Errorf("report seats SPE_E3 --from --to -o csv: %q", recs)
	}
	if out := runOK("report", "seats", "--sku", "SPE_E5"); !strings.Contains(out, "PEAK CONSUMED") || strings.Contains(out, "SPE_E3") {
		t.Errorf("report seats --sku SPE_E5 table:\n%s", out)
	}

	if out := runOK("report", "assignments"); !strings.Contains(out, "USER PRINCIPAL NAME") || !strings.Contains(out, "ann@contoso.com") || !strings.Contains(out, "Direct") {
		t.Errorf("report assignments table:\n%s", out)
	}
	var rows []map[string]string
	if err := json.Unmarshal([]byte(runOK("report", "assignments", "-o", "json")), &rows); err != nil || len(rows) != 2 || rows[0]["sources"] != "Direct" || rows[1]["userPrincipalName"] != "bob@contoso.com" {
		t.Errorf("report assignments -o json: %v %v", err, rows)
	}
	if recs := records(runOK("report", "assignments", "-o", "csv")); len(recs) != 3 || recs[0][0] != "userPrincipalName" {
		t.Errorf("report assignments -o csv: %q", recs)
	}
	if err := json.Unmarshal([]byte(runOK("report", "unused", "-o", "json")), &rows); err != nil || len(rows) != 1 || rows[0]["userPrincipalName"] != "bob@contoso.com" {
		t.Errorf("report unused -o json: %v %v", err, rows)
	}

	now := time.Now().UTC()
	prev := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0).Format("2006-01")
	cur := now.Format("2006-01")
	recs = records(runOK("report", "cost", "--from", prev, "--to", cur, "-o", "csv"))
	months := map[string]bool{}
	for _, r := range recs[1:] {
		months[r[0]] = true
	}
	if recs[0][0] != "month" || !months[cur] || len(recs) < 2 {
		t.Errorf("report cost --from %s --to %s -o csv: %q", prev, cur, recs)
	}
	if out := runOK("report", "cost"); !strings.Contains(out, "DEPARTMENT") || !strings.Contains(out, "Sales") || !strings.Contains(out, "60.00") {
		t.Errorf("report cost table:\n%s", out)
	}

	for _, bad := range [][]string{
		{"report", "cost", "--from", "2026-13"},
		{"report", "cost", "--from", cur, "--to", prev},
		{"report", "cost", "--month", cur, "--from", prev},
		{"report", "seats", "SPE_E3", "--interval", "fortnight"},
		{"report", "assignments", "-o", "xml"},
		{"report", "seats", "NOPE"},
	} {
		if out, err := runCmd(t, bad...); err == nil {
			t.Errorf("allot %s succeeded:\n%s", strings.Join(bad, " "), out)
		}
	}
}
