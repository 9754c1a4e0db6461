package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"

	"allot"
)

// UserFloor measures the fastest known write of the rows a SCIM create
// writes for these users (the users rows and their SCIM attributes rows,
// externalIDs[i] for users[i]) on this engine: multi-row inserts in one
// transaction, into the tenant's real tables with their indexes. It is the
// floor of `allot bench scim`. The rows are deleted afterwards (not timed);
// the users' GUIDs are not kept.
func (s *Store) UserFloor(ctx context.Context, tenantID int64, users []*allot.User, externalIDs []string) (time.Duration, error) {
	n := len(users)
	start := time.Now()
	err := s.write(ctx, func(tx *tx) error {
		var first int64
		if err := tx.queryRow(`SELECT COALESCE(MAX(id), 0) FROM users`).Scan(&first); err != nil {
			return err
		}
		first++
		now := tx.now
		if err := tx.insertRows(`INSERT INTO users (id, tenant_id, guid, upn, upn_key, display_name, given_name, surname, mail, job_title,
			department, usage_location, account_enabled, created_at, profile) VALUES `, 15, "", n, 500,
			func(i int, args []any) []any {
				u := users[i]
				return append(args, first+int64(i), tenantID, uuid.NewString(), u.UserPrincipalName, allot.NormalizeKey(u.UserPrincipalName),
					u.DisplayName, u.GivenName, u.Surname, u.Mail, u.JobTitle, u.Department, u.UsageLocation, b2i(u.AccountEnabled), now,
					encodeProfile(u.Profile))
			}); err != nil {
			return err
		}
		if err := tx.insertRows(`INSERT INTO scim_attrs (kind, target_id, tenant_id, external_id, cost_center, division, manager) VALUES `, 7, "", n, 1000,
			func(i int, args []any) []any {
				return append(args, 0, first+int64(i), tenantID, externalIDs[i], "", "", "")
			}); err != nil {
			return err
		}
		if s.engine == Postgres {
			// Explicit ids bypass the identity sequence: move it past them.
			_, err := tx.exec(`SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users))`)
			return err
		}
		return nil
	})
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	return took, s.write(ctx, func(tx *tx) error {
		if _, err := tx.exec(`DELETE FROM scim_attrs WHERE tenant_id = ? AND kind = 0`, tenantID); err != nil {
			return err
		}
		_, err := tx.exec(`DELETE FROM users WHERE tenant_id = ?`, tenantID)
		return err
	})
}
