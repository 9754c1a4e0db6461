package sqlstore_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"allot"
	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
)

// TestMigrationMovesSCIMManagersOntoTheReference: migration 00230 turns a
// manager SCIM kept as an attribute into the user's manager reference when
// it names another user of the tenant (in any case), clears it there, and
// keeps a value that names no user; a user that already has a manager
// keeps it.
func TestMigrationMovesSCIMManagersOntoTheReference(t *testing.T) {
	ctx := context.Background()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			var st *sqlstore.Store
			if engine == "sqlite" {
				var err error
				st, err = sqlstore.OpenSQLite(ctx, t.TempDir(), sqlstore.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
			} else {
				st = pgtest.Open(t)
			}
			ten, err := st.CreateTenant(ctx, "Contoso", "NAM", "US")
			if err != nil {
				t.Fatal(err)
			}
			var users []*allot.User
			for _, n := range []string{"a", "b", "c", "d", "e"} {
				users = append(users, &allot.User{UserPrincipalName: n + "@contoso.com", DisplayName: n, AccountEnabled: true})
			}
			if err := st.CreateUsersBulk(ctx, allot.SystemActor, ten.ID, users); err != nil {
				t.Fatal(err)
			}
			a, b, c, d, e := users[0], users[1], users[2], users[3], users[4]
			if err := st.SetManager(ctx, allot.SystemActor, ten.ID, d.GUID, e.GUID); err != nil {
				t.Fatal(err)
			}
			db := st.DB()
			ph := func(q string) string {
				if engine == "postgres" {
					for i := 1; strings.Contains(q, "?"); i++ {
						q = strings.Replace(q, "?", "$"+string(rune('0'+i)), 1)
					}
				}
				return q
			}
			for _, x := range []struct {
				u   *allot.User
				ref string
			}{{a, strings.ToUpper(b.GUID)}, {c, "00000000-0000-4000-8000-000000000000"}, {d, a.GUID}} {
				if _, err := db.ExecContext(ctx, ph(`INSERT INTO scim_attrs (kind, target_id, tenant_id, external_id, cost_center, division, manager) VALUES (0, ?, ?, '', '', '', ?)`),
					x.u.ID, ten.ID, x.ref); err != nil {
					t.Fatal(err)
				}
			}
			stmts, err := sqlstore.MigrationUp(engine, "00230_scim_manager_reference.sql")
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range stmts {
				if _, err := db.ExecContext(ctx, s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			m, err := st.Managers(ctx, []int64{a.ID, c.ID, d.ID})
			if err != nil {
				t.Fatal(err)
			}
			if m[a.ID] == nil || m[a.ID].ID != b.ID || m[c.ID] != nil || m[d.ID] == nil || m[d.ID].ID != e.ID {
				t.Fatalf("managers after the migration: a %v, c %v, d %v; want b, none, e", m[a.ID], m[c.ID], m[d.ID])
			}
			left := map[int64]string{}
			rows, err := db.QueryContext(ctx, ph(`SELECT target_id, manager FROM scim_attrs WHERE kind = 0 AND tenant_id = ?`), ten.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				var v string
				if err := rows.Scan(&id, &v); err != nil {
					t.Fatal(err)
				}
				left[id] = v
			}
			if left[a.ID] != "" || left[c.ID] != "00000000-0000-4000-8000-000000000000" || left[d.ID] != "" {
				t.Fatalf("scim_attrs.manager after the migration: %v", left)
			}
		})
	}
}
