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

	"allot"
	"allot/catalog"
	"allot/httpapi"
	"allot/store"
	"allot/store/sqlstore"
)

// TestReportsCommands runs `allot reports assignments --csv` and `allot
// reports seat-history` against a real server: the CSV has one row per
// user × product with its sources, the history ends at the counters now,
// and the CSV command refuses to print a table.
func TestReportsCommands(t *testing.T) {
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
	d, _ := catalog.Lookup("SPE_E3")
	if _, err := st.AddProduct(ctx, a, ten.ID, d, 10); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ann", "bob"} {
		u := &allot.User{UserPrincipalName: name + "@contoso.com", DisplayName: name, UsageLocation: "US", AccountEnabled: true, Department: "Sales"}
		if err := st.CreateUser(ctx, a, ten.ID, u); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AssignUserLicenses(ctx, a, ten.ID, u.GUID, []store.LicenseRequest{{SkuID: d.SkuID}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(httpapi.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.DefaultLimits).Handler())
	defer srv.Close()
	t.Setenv("ALLOT_URL", srv.URL)
	t.Setenv("ALLOT_TOKEN", ga)

	out, err := runCmd(t, "reports", "assignments", "--csv")
	if err != nil {
		t.Fatalf("reports assignments: %v\n%s", err, out)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 3 || recs[1][0] != "ann@contoso.com" || recs[1][4] != "SPE_E3" || recs[1][7] != "Direct" || recs[2][2] != "Sales" {
		t.Fatalf("reports assignments --csv: %v\n%s", err, out)
	}
	out, err = runCmd(t, "reports", "seat-history", "SPE_E3", "--interval", "hour", "-o", "json")
	if err != nil {
		t.Fatalf("reports seat-history: %v\n%s", err, out)
	}
	var pts []map[string]any
	if err := json.Unmarshal([]byte(out), &pts); err != nil || len(pts) == 0 || pts[len(pts)-1]["consumedUnits"] != 2.0 || pts[len(pts)-1]["enabledUnits"] != 10.0 {
		t.Fatalf("seat-history -o json: %v\n%s", err, out)
	}
	if out, err := runCmd(t, "reports", "seat-history", "SPE_E3"); err != nil || !strings.Contains(out, "PEAK CONSUMED") {
		t.Fatalf("seat-history table: %v\n%s", err, out)
	}
	if out, err := runCmd(t, "reports", "assignments"); err != nil || !strings.Contains(out, "USER PRINCIPAL NAME") {
		t.Fatalf("assignments without --csv: a table: %v\n%s", err, out)
	}
	if out, err := runCmd(t, "reports", "seat-history", "SPE_E3", "--interval", "fortnight"); err == nil || !strings.Contains(err.Error(), "interval") {
		t.Fatalf("a bad interval: %v\n%s", err, out)
	}
	if out, err := runCmd(t, "reports", "cost", "-o", "csv"); err != nil || !strings.HasPrefix(out, "month,department,currency,seats,cost") {
		t.Fatalf("reports cost: %v\n%s", err, out)
	}
}
