package sqlstore

// Online backups and consistency checks of a store.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"allot"
	"allot/store"
)

// BackupTo writes a consistent copy of a SQLite store to the file path
// (VACUUM INTO: one read transaction, so writers go on meanwhile and the
// copy is the state of one moment; it runs on the write pool's spare
// connection, as the read pool is query-only). The file must not exist. PostgreSQL
// stores are backed up with pg_dump (docs/operations.md).
func (s *Store) BackupTo(ctx context.Context, path string) error {
	if s.engine != SQLite {
		return allot.Errorf(allot.EInvalid, "A PostgreSQL store is backed up with pg_dump (docs/operations.md), not 'allot backup'.")
	}
	if _, err := os.Stat(path); err == nil {
		return allot.Errorf(allot.EConflict, "'%s' exists already; back up into a new file.", path)
	}
	if _, err := s.w.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("back up into %s: %w", path, err)
	}
	return nil
}

// Finding is one inconsistency a check found, and what would repair it.
type Finding struct {
	Check  string // what was checked
	Detail string // what is wrong
	Repair string // what would make it right
}

// Check verifies invariants of the store: every product's consumedUnits
// equals the users holding it and stays within enabledUnits, its count of
// waiting users equals the users waiting for a seat; no mark,
// license state or group license points at a user, group or product that
// does not exist. It changes nothing.
func (s *Store) Check(ctx context.Context) ([]Finding, error) {
	var out []Finding
	rows, err := s.query(ctx, `SELECT t.display_name, p.part_number, p.consumed_units, p.enabled_units, p.waiting_units,
		(SELECT COUNT(DISTINCT ls.user_id) FROM license_states ls WHERE ls.product_id = p.id AND ls.state = 'Active'),
		(SELECT COUNT(DISTINCT ls.user_id) FROM license_states ls WHERE ls.product_id = p.id AND ls.code IN ('noSeatsAvailable', 'seatsReducedBelowConsumption'))
		FROM products p JOIN tenants t ON t.id = p.tenant_id ORDER BY p.id`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var tenant, part string
		var consumed, enabled, waiting, holders, waiters int
		if err := rows.Scan(&tenant, &part, &consumed, &enabled, &waiting, &holders, &waiters); err != nil {
			rows.Close()
			return nil, err
		}
		if consumed != holders {
			out = append(out, Finding{"consumedUnits = holders", fmt.Sprintf("%s %s: consumedUnits %d, %d users hold it", tenant, part, consumed, holders),
				fmt.Sprintf("set consumedUnits of %s %s to %d", tenant, part, holders)})
		}
		if waiting != waiters {
			out = append(out, Finding{"waiting count = users waiting", fmt.Sprintf("%s %s: the waiting count is %d, %d users wait for a seat", tenant, part, waiting, waiters),
				fmt.Sprintf("set waiting_units of %s %s to %d", tenant, part, waiters)})
		}
		if holders > enabled {
			out = append(out, Finding{"holders ≤ enabledUnits", fmt.Sprintf("%s %s: %d users hold %d seats", tenant, part, holders, enabled),
				fmt.Sprintf("raise enabledUnits of %s %s to %d, or remove %d licenses", tenant, part, holders, holders-enabled)})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, o := range []struct{ check, query, repair string }{
		{"marks name existing users", fmt.Sprintf(`SELECT COUNT(*) FROM marks m WHERE m.kind = %d AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.target_id)`, store.MarkUser), "delete these user marks"},
		{"marks name existing groups", fmt.Sprintf(`SELECT COUNT(*) FROM marks m WHERE m.kind = %d AND NOT EXISTS (SELECT 1 FROM dir_groups g WHERE g.id = m.target_id)`, store.MarkGroup), "delete these group marks"},
		{"license states name existing users", `SELECT COUNT(*) FROM license_states ls WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = ls.user_id)`, "delete these license states"},
		{"license states name existing products", `SELECT COUNT(*) FROM license_states ls WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.id = ls.product_id)`, "delete these license states"},
		{"group licenses name existing groups and products", `SELECT COUNT(*) FROM group_licenses gl WHERE NOT EXISTS (SELECT 1 FROM dir_groups g WHERE g.id = gl.group_id) OR NOT EXISTS (SELECT 1 FROM products p WHERE p.id = gl.product_id)`, "delete these group licenses"},
	} {
		var n int
		if err := s.queryRow(ctx, o.query).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			out = append(out, Finding{o.check, fmt.Sprintf("%d rows point at nothing", n), o.repair})
		}
	}
	return out, nil
}

// RestoreSQLite puts the backup file from (written by BackupTo) in place as
// the SQLite store of directory dir, migrated to the newest schema. It
// refuses a file that is not a sound allot store, and a directory that
// holds a store already unless replace is set; even then it refuses a store
// that a process has open (a running server).
func RestoreSQLite(ctx context.Context, from, dir string, replace bool) error {
	if err := checkBackupFile(ctx, from); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, "allot.db")
	if _, err := os.Stat(path); err == nil {
		if !replace {
			return allot.Errorf(allot.EConflict, "'%s' holds a store already; restore into an empty directory, or stop the server and pass --force to replace it.", dir)
		}
		if err := notInUse(ctx, path); err != nil {
			return err
		}
	}
	tmp := path + ".restoring"
	if err := copyFile(from, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	for _, f := range []string{path + "-wal", path + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	st, err := OpenSQLite(ctx, dir, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	// The backup's leases belong to the process that held them then.
	return errors.Join(st.ReleaseLeases(ctx), st.Close())
}

// checkBackupFile opens from read-only and checks it is an intact SQLite
// database with allot's schema.
func checkBackupFile(ctx context.Context, from string) error {
	if _, err := os.Stat(from); err != nil {
		return allot.Errorf(allot.ENotFound, "Backup file '%s' cannot be read: %v.", from, err)
	}
	db, err := sql.Open("sqlite", "file:"+from+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		return allot.Errorf(allot.EInvalid, "'%s' is not an intact SQLite database (%s); name a file written by 'allot backup'.", from, orText(err, res))
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name IN ('goose_db_version', 'tenants')`).Scan(&n); err != nil || n != 2 {
		return allot.Errorf(allot.EInvalid, "'%s' is not an allot store; name a file written by 'allot backup'.", from)
	}
	return nil
}

func orText(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// notInUse refuses a store file that another connection has open: leaving
// WAL mode needs the only connection.
func notInUse(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(1000)")
	if err != nil {
		return err
	}
	defer db.Close()
	var mode string
	err = db.QueryRowContext(ctx, `PRAGMA journal_mode=DELETE`).Scan(&mode)
	if err != nil || !strings.EqualFold(mode, "delete") {
		return allot.Errorf(allot.EConflict, "The store in '%s' is in use (a server is running on it?); stop it before restoring.", filepath.Dir(path))
	}
	return nil
}

// copyFile copies from to a new file to and syncs it.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return errors.Join(out.Sync(), out.Close())
}
