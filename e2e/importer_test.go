package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"allot"
	"allot/catalog"
	"allot/client"
	"allot/csvimport"
	"allot/httpapi"
	"allot/store"
	"allot/store/sqlstore"
)

// The import engine (csvimport.Importer) against an allot API in this
// process: quicker to set up than a child process for the exact cases.

// inProcess is an allot API on a fresh SQLite store with one tenant, SPE_E3
// with seats, and users u1..uN (usage location US, proxy alias aN@alias.test).
func inProcess(t *testing.T, seats, users int) *client.Client {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ten, err := st.CreateTenant(ctx, "Contoso", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	tok := sqlstore.NewToken()
	if err := st.CreateToken(ctx, ten.ID, "test", store.RoleGlobalAdmin, tok); err != nil {
		t.Fatal(err)
	}
	actor := allot.Actor{Kind: "system", ID: "test", Name: "test"}
	e3, _ := catalog.Lookup("SPE_E3")
	if _, err := st.AddProduct(ctx, actor, ten.ID, e3, seats); err != nil {
		t.Fatal(err)
	}
	var us []*allot.User
	for i := 1; i <= users; i++ {
		us = append(us, &allot.User{UserPrincipalName: fmt.Sprintf("u%d@contoso.com", i), DisplayName: fmt.Sprintf("U%d", i),
			UsageLocation: "US", AccountEnabled: true, ProxyAddresses: []string{fmt.Sprintf("smtp:a%d@alias.test", i)}})
	}
	if err := st.CreateUsersBulk(ctx, actor, ten.ID, us); err != nil {
		t.Fatal(err)
	}
	limits := httpapi.DefaultLimits
	limits.RatePerSecond = 0
	srv := httptest.NewServer(httpapi.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), limits).Handler())
	t.Cleanup(srv.Close)
	return client.New(srv.URL, tok)
}

func rowsOf(emails ...string) []csvimport.Row {
	var out []csvimport.Row
	for i, e := range emails {
		out = append(out, csvimport.Row{Line: i + 2, Email: e})
	}
	return out
}

func results(rep *csvimport.Report) string {
	var parts []string
	for _, o := range rep.Outcomes {
		r := o.Result
		if o.Code != "" {
			r += ":" + o.Code
		}
		parts = append(parts, r)
	}
	return strings.Join(parts, " ")
}

// TestImporterExactAcrossBatches: the same user under two addresses in
// different batches takes one seat, in a dry run (each batch rolled back)
// as in the import itself, and the dry run predicts the import exactly.
func TestImporterExactAcrossBatches(t *testing.T) {
	c := inProcess(t, 3, 6)
	sku, err := c.Sku(context.Background(), "SPE_E3")
	if err != nil {
		t.Fatal(err)
	}
	rows := rowsOf("u1@contoso.com", "U2@Contoso.com", // batch 1
		"a1@alias.test", "u3@contoso.com", // batch 2: u1 again, by proxy address
		"u4@contoso.com", "nobody@contoso.com", // batch 3: no seat left
		"A3@ALIAS.TEST", "u1@contoso.com", // batch 4: duplicates
		"bad address", "") // invalid, empty
	want := "licensed licensed alreadyLicensed licensed failed:noSeatsAvailable notFound:userNotFound alreadyLicensed alreadyLicensed failed:invalidAddress failed:emptyAddress"
	for _, dry := range []bool{true, false} {
		var progress []int
		im := &csvimport.Importer{Client: c, SkuID: sku.SkuID, DryRun: dry, BatchSize: 2, Progress: func(d, n int) { progress = append(progress, d) }}
		rep, err := im.Run(context.Background(), rows)
		if err != nil {
			t.Fatal(err)
		}
		if got := results(rep); got != want {
			t.Fatalf("dry run %v:\n got %s\nwant %s", dry, got, want)
		}
		if rep.Licensed != 3 || rep.AlreadyLicensed != 3 || rep.NotFound != 1 || rep.Failed != 3 || rep.OK() {
			t.Fatalf("dry run %v: counts %+v", dry, rep)
		}
		if o := rep.Outcomes[2]; o.MatchedBy != "proxyAddresses" || o.UserPrincipalName != "u1@contoso.com" || !strings.Contains(o.Message, "line 2") {
			t.Fatalf("duplicate row: %+v", o)
		}
		if last := progress[len(progress)-1]; last != len(rows) {
			t.Fatalf("progress ended at %d of %d: %v", last, len(rows), progress)
		}
		s, _ := c.Sku(context.Background(), "SPE_E3")
		if want := map[bool]int{true: 0, false: 3}[dry]; s.ConsumedUnits != want {
			t.Fatalf("dry run %v: %d seats consumed, want %d", dry, s.ConsumedUnits, want)
		}
	}
	// Again: everyone licensed before is already licensed; the rest fail as before.
	rep, err := (&csvimport.Importer{Client: c, SkuID: sku.SkuID}).Run(context.Background(), rows)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Licensed != 0 || rep.AlreadyLicensed != 6 || rep.Failed != 3 {
		t.Fatalf("third run: %s", results(rep))
	}
}

// TestImporterStopsOnServerError: a request the server refuses stops the
// import with the server's error; the report covers the rows done.
func TestImporterStopsOnServerError(t *testing.T) {
	c := inProcess(t, 10, 3)
	rep, err := (&csvimport.Importer{Client: c, SkuID: "NOPE"}).Run(context.Background(), rowsOf("u1@contoso.com", "x"))
	if client.ErrorCode(err) != "invalid" || !strings.Contains(err.Error(), "NOPE") {
		t.Fatalf("err = %v", err)
	}
	if rep.Failed != 1 || rep.Outcomes[0].Result != "" {
		t.Fatalf("report %+v", rep)
	}
	var b strings.Builder
	if err := rep.WriteCSV(&b); err != nil || !strings.Contains(b.String(), "2,u1@contoso.com,notProcessed") {
		t.Fatalf("report CSV (%v):\n%s", err, b.String())
	}
}
