package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"allot"
	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
)

// TestBackupDuringGroupAssignment: backups taken with `allot backup` while
// a 30,000-member group assignment is being applied restore with `allot
// restore` to stores that `allot check` finds consistent, at least one of
// them mid-way (some but not all seats consumed), and a worker on a
// restored copy finishes the assignment from the marks the backup kept
// (restore released the leases the backup caught).
func TestBackupDuringGroupAssignment(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.OpenSQLite(ctx, dir, sqlstore.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const members, seats = 30000, 25000
	ten, p, err := benchTenant(ctx, st, seats)
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := st.LoadGroup(ctx, ten.ID, "all", "m", members)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AssignGroupLicenses(ctx, benchActor, ten.ID, g.GUID, []store.LicenseRequest{{SkuID: p.SkuID}}, nil, false); err != nil {
		t.Fatal(err)
	}
	w := reconcile.New(st, quiet)
	w.GroupChunk = 100
	done := make(chan error, 1)
	go func() { done <- w.Drain(ctx) }()
	var backups []string
	for running := true; running && len(backups) < 50; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		f := filepath.Join(t.TempDir(), "allot.db")
		if out, err := runCmd(t, "backup", "--data", dir, "--to", f); err != nil {
			t.Fatalf("allot backup: %v\n%s", err, out)
		}
		backups = append(backups, f)
	}
	midway := 0
	for i, f := range backups {
		restored := filepath.Join(t.TempDir(), "data")
		out, err := runCmd(t, "restore", "--from", f, "--data", restored)
		if err != nil || !strings.Contains(out, "consistent") {
			t.Fatalf("backup %d: allot restore (and its check): %v\n%s", i, err, out)
		}
		if out, err := runCmd(t, "check", "--data", restored); err != nil || !strings.Contains(out, "consistent") {
			t.Fatalf("backup %d: allot check of the restored store: %v\n%s", i, err, out)
		}
		if c := consumed(t, restored, ten.ID); c > 0 && c < seats {
			midway++
			if midway == 1 {
				finish(t, restored, ten.ID, seats)
			}
		}
	}
	t.Logf("%d backups, %d of them mid-way through the assignment", len(backups), midway)
	if midway == 0 {
		t.Fatalf("no backup caught the assignment mid-way (%d backups)", len(backups))
	}
}

// consumed opens the store in dir and returns the bench product's seats in use.
func consumed(t *testing.T, dir string, tenantID int64) int {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), dir, sqlstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ps, err := st.Products(context.Background(), tenantID)
	if err != nil || len(ps) != 1 {
		t.Fatalf("products of the restored store: %v %v", ps, err)
	}
	return ps[0].ConsumedUnits
}

// finish runs a worker on the restored store in dir and checks the
// assignment completes there: every seat consumed, still consistent.
func finish(t *testing.T, dir string, tenantID int64, seats int) {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), dir, sqlstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	// Within 15 s: a lease the backup caught would hold its mark back until
	// it expired, had restore not released it.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := reconcile.New(st, slog.New(slog.DiscardHandler)).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if c := consumed(t, dir, tenantID); c != seats {
		t.Errorf("the restored store converged to %d consumed seats, want %d", c, seats)
	}
	if out, err := runCmd(t, "check", "--data", dir); err != nil {
		t.Errorf("allot check after converging the restored store: %v\n%s", err, out)
	}
}

// TestCheckFindsInconsistencies: a product whose consumedUnits differs from
// its holders and a mark of a user that does not exist are reported with
// their repairs, and the check fails (EConflict); nothing is changed.
func TestCheckFindsInconsistencies(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlstore.OpenSQLite(ctx, dir, sqlstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ten, _, err := benchTenant(ctx, st, 10)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, "check", "--data", dir); err != nil {
		t.Fatalf("a fresh store: %v\n%s", err, out)
	}
	db := st.DB()
	if _, err := db.Exec(`UPDATE products SET consumed_units = 3 WHERE tenant_id = ?`, ten.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO marks (kind, target_id, tenant_id, seq, lease_owner, lease_until) VALUES (?, 999999, ?, 1, '', 0)`, store.MarkUser, ten.ID); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for range 2 { // the check changes nothing: the same findings twice
		out, err := runCmd(t, "check", "--data", dir)
		if allot.ErrorCode(err) != allot.EConflict || !strings.Contains(out, "consumedUnits 3, 0 users hold it") ||
			!strings.Contains(out, "repair: set consumedUnits of "+ten.DisplayName+" SPE_E3 to 0") || !strings.Contains(out, "delete these user marks") {
			t.Fatalf("check of a broken store: %v\n%s", err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "allot.db")); err != nil {
		t.Fatal(err)
	}
	_ = fmt.Sprint
}

// TestCheckAndBackupOnPostgres: `allot check --db` verifies a PostgreSQL
// store after a converged group assignment and finds a broken count;
// `allot backup --db` refuses and points to pg_dump.
func TestCheckAndBackupOnPostgres(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	st, err := sqlstore.OpenPostgres(ctx, url, sqlstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ten, p, err := benchTenant(ctx, st, 150)
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := st.LoadGroup(ctx, ten.ID, "all", "m", 200)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AssignGroupLicenses(ctx, benchActor, ten.ID, g.GUID, []store.LicenseRequest{{SkuID: p.SkuID}}, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := reconcile.New(st, slog.New(slog.DiscardHandler)).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, "check", "--db", url); err != nil || !strings.Contains(out, "consistent") {
		t.Fatalf("check of a converged PostgreSQL store: %v\n%s", err, out)
	}
	if _, err := st.DB().Exec(`UPDATE products SET consumed_units = 149 WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, "check", "--db", url); allot.ErrorCode(err) != allot.EConflict || !strings.Contains(out, "consumedUnits 149, 150 users hold it") {
		t.Fatalf("check of a broken PostgreSQL store: %v\n%s", err, out)
	}
	if _, err := runCmd(t, "backup", "--db", url, "--to", filepath.Join(t.TempDir(), "x")); allot.ErrorCode(err) != allot.EInvalid || !strings.Contains(allot.ErrorMessage(err), "pg_dump") {
		t.Fatalf("backup of PostgreSQL: %v, want EInvalid naming pg_dump", err)
	}
}

// TestRestoreRefusals: `allot restore` refuses a file that is not an allot
// backup, a directory that holds a store (without --force), a store a
// process has open (even with --force) and a PostgreSQL target; with
// --force on a stopped store it replaces it.
func TestRestoreRefusals(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	st, err := sqlstore.OpenSQLite(ctx, src, sqlstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateTenant(ctx, "Backed up", "NAM", "US"); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "b.db")
	if err := st.BackupTo(ctx, backup); err != nil {
		t.Fatal(err)
	}
	st.Close()
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte("not a database"), 0o600)
	live := t.TempDir()
	lst, err := sqlstore.OpenSQLite(ctx, live, sqlstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		code allot.Code
	}{
		{"not a database", []string{"--from", junk, "--data", t.TempDir()}, allot.EInvalid},
		{"no such file", []string{"--from", junk + ".missing", "--data", t.TempDir()}, allot.ENotFound},
		{"no --from", []string{"--data", t.TempDir()}, allot.EInvalid},
		{"a store is there", []string{"--from", backup, "--data", live}, allot.EConflict},
		{"a server has it open", []string{"--from", backup, "--data", live, "--force"}, allot.EConflict},
		{"PostgreSQL", []string{"--from", backup, "--db", "postgres://x@127.0.0.1/x"}, allot.EInvalid},
	} {
		if out, err := runCmd(t, append([]string{"restore"}, c.args...)...); allot.ErrorCode(err) != c.code {
			t.Errorf("%s: %v (%s), want %s", c.name, err, out, c.code)
		}
	}
	if ts, err := lst.TenantNames(ctx, 10); err != nil || len(ts) != 0 {
		t.Fatalf("the live store changed: %v %v", ts, err)
	}
	lst.Close()
	if out, err := runCmd(t, "restore", "--from", backup, "--data", live, "--force"); err != nil {
		t.Fatalf("restore --force on a stopped store: %v\n%s", err, out)
	}
	lst, err = sqlstore.OpenSQLite(ctx, live, sqlstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer lst.Close()
	if ts, err := lst.TenantNames(ctx, 10); err != nil || len(ts) != 1 || ts[0] != "Backed up" {
		t.Errorf("after restore --force: tenants %v %v, want the backed-up one", ts, err)
	}
}
