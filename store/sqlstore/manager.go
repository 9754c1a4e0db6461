package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"allot"
)

// SetManager makes the user managerRef (GUID or userPrincipalName) the
// manager of the user ref, both of the tenant. A user cannot manage itself.
// It is audited as "Update user" with the property manager.
func (s *Store) SetManager(ctx context.Context, a allot.Actor, tenantID int64, ref, managerRef string) error {
	return s.write(ctx, func(tx *tx) error {
		u, err := tx.userLocked(tenantID, ref, lockChange)
		if err != nil {
			return err
		}
		m, err := tx.managerLocked(tenantID, managerRef)
		if err != nil {
			return err
		}
		if m.ID == u.ID {
			return allot.Errorf(allot.EInvalid, "A user cannot be its own manager.")
		}
		return tx.setManager(tenantID, a, u, m)
	})
}

// managerLocked reads the user ref (GUID or userPrincipalName) that is to
// become a manager, kept from being deleted until the commit (lockKeep), so
// that DeleteUser of the manager, which waits, then clears the reference;
// no license lock, nor a lock that two opposite SetManager calls could
// deadlock on.
func (tx *tx) managerLocked(tenantID int64, ref string) (*allot.User, error) {
	w, arg := userWhere(ref)
	m, err := scanUser(tx.queryRow(`SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND `+w+tx.lockRows(lockKeep), tenantID, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("User", ref)
	}
	return m, err
}

// RemoveManager clears the manager of the user ref; 404 when it has none.
func (s *Store) RemoveManager(ctx context.Context, a allot.Actor, tenantID int64, ref string) error {
	return s.write(ctx, func(tx *tx) error {
		u, err := tx.userLocked(tenantID, ref, lockChange)
		if err != nil {
			return err
		}
		return tx.setManager(tenantID, a, u, nil)
	})
}

// setManager stores m (nil: none) as the manager of u and audits the change.
func (tx *tx) setManager(tenantID int64, a allot.Actor, u, m *allot.User) error {
	var old sql.NullInt64
	if err := tx.queryRow(`SELECT manager_id FROM users WHERE id = ?`, u.ID).Scan(&old); err != nil {
		return err
	}
	var newID any
	oldGUID, newGUID := "", ""
	if old.Valid {
		if err := tx.queryRow(`SELECT guid FROM users WHERE id = ?`, old.Int64).Scan(&oldGUID); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	if m != nil {
		newID, newGUID = m.ID, m.GUID
	} else if !old.Valid {
		return allot.Errorf(allot.ENotFound, "User '%s' has no manager.", u.GUID)
	}
	if oldGUID == newGUID && old.Valid {
		return nil
	}
	if _, err := tx.exec(`UPDATE users SET manager_id = ? WHERE id = ?`, newID, u.ID); err != nil {
		return err
	}
	tx.recordChanges(tenantID, DirChange{Kind: ChangeUser, ObjectID: u.ID, Object: u.GUID})
	return tx.audit(tenantID, a, allot.AuditEvent{Activity: allot.ActUpdateUser, TargetKind: "User", TargetID: u.GUID,
		TargetName: u.UserPrincipalName, Changes: []allot.Change{{Property: "manager", Old: oldGUID, New: newGUID}}})
}

// Manager returns the manager of the user ref; 404 when it has none.
func (s *Store) Manager(ctx context.Context, tenantID int64, ref string) (*allot.User, error) {
	u, err := s.User(ctx, tenantID, ref)
	if err != nil {
		return nil, err
	}
	m, err := s.Managers(ctx, []int64{u.ID})
	if err != nil {
		return nil, err
	}
	if m[u.ID] == nil {
		return nil, allot.Errorf(allot.ENotFound, "Resource 'manager' does not exist or one of its queried reference-property objects are not present.")
	}
	return m[u.ID], nil
}

// Managers loads the managers of the users (internal ids) in one query per
// 500 ids, with their proxy addresses: it serves $expand=manager.
func (s *Store) Managers(ctx context.Context, ids []int64) (map[int64]*allot.User, error) {
	out := map[int64]*allot.User{}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		rows, err := s.query(ctx, `SELECT r.id, `+userCols+` FROM users r JOIN users u ON u.id = r.manager_id
			WHERE r.id IN (`+placeholders(len(chunk))+`)`, idArgs(chunk)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var rid int64
			u, err := scanUser(prefixScan{rows, &rid})
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[rid] = u
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, s.fillProxyAddresses(ctx, values(out))
}

// DirectReports lists a page of the users whose manager is the user ref,
// by internal id after after; next is the last id when more follow.
func (s *Store) DirectReports(ctx context.Context, tenantID int64, ref string, after int64, top int) ([]*allot.User, int64, error) {
	m, err := s.User(ctx, tenantID, ref)
	if err != nil {
		return nil, 0, err
	}
	users, err := s.usersWhere(ctx, `u.tenant_id = ? AND u.manager_id = ? AND u.id > ? ORDER BY u.id LIMIT ?`, tenantID, m.ID, after, top+1)
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(users) > top {
		users = users[:top]
		next = users[top-1].ID
	}
	return users, next, nil
}

// prefixScan scans one leading column into first, the rest with row.
type prefixScan struct {
	row   interface{ Scan(...any) error }
	first *int64
}

func (p prefixScan) Scan(dst ...any) error { return p.row.Scan(append([]any{p.first}, dst...)...) }
