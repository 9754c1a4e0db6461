package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"allot"
	"allot/catalog"
	"allot/httpapi"
	"allot/store"
	"allot/store/sqlstore"
)

// TestImportActivityCommand runs `allot import activity FILE.csv` against
// a real server: good rows are imported, a bad one is reported by its line
// and makes the command fail.
func TestImportActivityCommand(t *testing.T) {
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
	if err := st.CreateUser(ctx, a, ten.ID, &allot.User{UserPrincipalName: "ann@contoso.com", DisplayName: "ann", AccountEnabled: true}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.DefaultLimits).Handler())
	defer srv.Close()
	t.Setenv("ALLOT_URL", srv.URL)
	t.Setenv("ALLOT_TOKEN", ga)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("userPrincipalName,skuPartNumber,lastActivityDate\nann@contoso.com,SPE_E3,2026-09-01\n"), 0o600)
	if out, err := runCmd(t, "import", "activity", good); err != nil || !strings.Contains(out, "Imported 1 row; 0 rows failed.") {
		t.Fatalf("import activity: %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("userPrincipalName,skuPartNumber,lastActivityDate\nann@contoso.com,SPE_E3,2026-09-01\nzoe@contoso.com,SPE_E3,2026-09-01\n"), 0o600)
	out, err := runCmd(t, "import", "activity", bad)
	if err == nil || !strings.Contains(out, "line 3: No user 'zoe@contoso.com'") {
		t.Fatalf("import activity with a bad row: %v\n%s", err, out)
	}
}
