package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"allot"
	"allot/store/sqlstore"
)

// runCmd runs the allot command line in this process and returns its
// output and error.
func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestBenchIgnoresALLOT_DB: a benchmark without --db runs on a temporary
// SQLite store even when ALLOT_DB names a (production) database.
func TestBenchIgnoresALLOT_DB(t *testing.T) {
	t.Setenv("ALLOT_DB", "postgres://nobody@127.0.0.1:1/production?connect_timeout=1")
	out, err := runCmd(t, "bench", "group", "--members", "20")
	if err != nil {
		t.Fatalf("bench group with ALLOT_DB set: %v\n%s", err, out)
	}
	if !strings.Contains(out, "engine sqlite") || !strings.Contains(out, "verified: ProcessingComplete") {
		t.Fatalf("bench group did not run on a scratch SQLite store:\n%s", out)
	}
}

// TestBenchRefusesStoreInUse: a --data store holding a tenant that no
// benchmark made is refused (EConflict, nothing written) unless --force;
// one holding only benchmark tenants is accepted.
func TestBenchRefusesStoreInUse(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlstore.OpenSQLite(ctx, dir, sqlstore.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateTenant(ctx, "Contoso", "NAM", "US"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, sub := range [][]string{{"group", "--members", "20"}, {"churn", "--members", "20", "--duration", "100ms"}, {"assign", "--users", "20"}, {"dynamic", "--users", "200", "--groups", "6", "--duration", "100ms", "--rate", "100"}} {
		out, err := runCmd(t, append(append([]string{"bench"}, sub...), "--data", dir)...)
		if allot.ErrorCode(err) != allot.EConflict || !strings.Contains(allot.ErrorMessage(err), "Contoso") {
			t.Fatalf("bench %s on a store in use: err %v, want EConflict naming the tenant\n%s", sub[0], err, out)
		}
	}
	if n := tenantCount(t, dir); n != 1 {
		t.Fatalf("refused benchmarks left %d tenants, want 1", n)
	}
	if out, err := runCmd(t, "bench", "group", "--members", "20", "--data", dir, "--force"); err != nil {
		t.Fatalf("bench group --force: %v\n%s", err, out)
	}
	scratch := t.TempDir()
	for range 2 {
		if out, err := runCmd(t, "bench", "group", "--members", "20", "--data", scratch); err != nil {
			t.Fatalf("bench group on a store of benchmark tenants only: %v\n%s", err, out)
		}
	}
}

// TestBenchImportRefusesStoreInUse: bench import's --data directory gets the
// same check.
func TestBenchImportRefusesStoreInUse(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlstore.OpenSQLite(ctx, dir+string(os.PathSeparator)+"store", sqlstore.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateTenant(ctx, "Fabrikam", "EUR", "DE"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, err = runCmd(t, "bench", "import", "--rows", "100", "--data", dir)
	if allot.ErrorCode(err) != allot.EConflict {
		t.Fatalf("bench import on a store in use: %v, want EConflict", err)
	}
}

func tenantCount(t *testing.T, dir string) int {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), dir, sqlstore.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	names, err := st.TenantNames(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(names)
}
