package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
)

// tinyDynamic is the bench at a size CI affords.
var tinyDynamic = []string{"bench", "dynamic", "--users", "2000", "--groups", "20", "--duration", "3s"}

// TestBenchDynamicRunsAndVerifies: `allot bench dynamic` at a tiny size
// runs its changes, verifies the result and prints the figure next to its
// floor, on SQLite and PostgreSQL.
func TestBenchDynamicRunsAndVerifies(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			args := tinyDynamic
			if engine == "postgres" {
				args = append(append([]string{}, tinyDynamic...), "--db", pgtest.NewDatabase(t))
			}
			out, err := runCmd(t, args...)
			if err != nil {
				t.Fatalf("bench dynamic: %v\n%s", err, out)
			}
			for _, want := range []string{"engine " + engine, "verified: every group's members", "change → license visible: p50", "floor:    p50", "of which over SCIM"} {
				if !strings.Contains(out, want) {
					t.Fatalf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestBenchDynamicCatchesWrongState: a state changed behind the service's
// back after the load (a member gone, a user's licenses gone, a seat count
// off, a department changed without its memberships following) fails the
// bench's verification, naming what is wrong.
func TestBenchDynamicCatchesWrongState(t *testing.T) {
	tests := []struct {
		name, sql, want string
	}{
		{"a member missing from its group",
			`DELETE FROM memberships WHERE member_type = 0 AND member_id = (SELECT id FROM users WHERE guid = ?)`, "members, its rule matches"},
		{"a changed user's licenses gone",
			`DELETE FROM license_states WHERE user_id = (SELECT id FROM users WHERE guid = ?)`, "holds [], want"},
		{"consumedUnits off by one",
			`UPDATE products SET consumed_units = consumed_units + 1 WHERE id = (SELECT MIN(p.id) FROM products p JOIN users u ON u.tenant_id = p.tenant_id WHERE u.guid = ?)`, "consumedUnits"},
		{"a department changed without the memberships",
			`UPDATE users SET department = 'Dept0' WHERE guid = ?`, "reads back with department"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := sqlstore.OpenSQLite(ctx, t.TempDir(), sqlstore.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			cfg := dynBenchConfig{users: 600, groups: 12, rate: 100, duration: time.Second, poll: 25 * time.Millisecond, scimShare: 0.25,
				corrupt: func(ctx context.Context, st *sqlstore.Store, tenantID int64, changed []string) error {
					_, err := st.DB().ExecContext(ctx, tt.sql, changed[len(changed)/2])
					return err
				}}
			err = benchDynamic(ctx, io.Discard, st, cfg)
			if err == nil || !strings.Contains(err.Error(), "verify:") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("bench over a broken state: %v, want a verify error with %q", err, tt.want)
			}
		})
	}
}
