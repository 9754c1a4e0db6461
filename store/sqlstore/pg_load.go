package sqlstore

// Bulk loading of users and memberships for tests and benchmarks, on either
// engine: sorted multi-row inserts in one transaction instead of one request
// (and one transaction) per object. The loaded users and memberships are not
// audited one by one; what they cause (marks) is written in the same
// transaction, as with AddMember.

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"allot"
)

// LoadUser is one user for LoadUsers.
type LoadUser struct {
	UserPrincipalName string
	DisplayName       string
	UsageLocation     string
}

// LoadUsers creates users in one transaction and returns their ids in the
// order given. Names are not validated beyond what the schema enforces; a
// userPrincipalName that exists already fails the whole load.
func (s *Store) LoadUsers(ctx context.Context, tenantID int64, users []LoadUser) ([]int64, error) {
	ids := make([]int64, len(users))
	const cols, per = 8, 1000
	err := s.write(ctx, func(tx *tx) error {
		for start := 0; start < len(users); start += per {
			chunk := users[start:min(start+per, len(users))]
			var b strings.Builder
			b.WriteString(`INSERT INTO users (tenant_id, guid, upn, upn_key, display_name, usage_location, account_enabled, created_at) VALUES `)
			args := make([]any, 0, len(chunk)*cols)
			keys := make(map[string]int, len(chunk))
			for i, u := range chunk {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("(?, ?, ?, ?, ?, ?, 1, ?)")
				key := allot.NormalizeKey(u.UserPrincipalName)
				if _, dup := keys[key]; dup {
					return allot.Errorf(allot.EInvalid, "LoadUsers: userPrincipalName '%s' is listed twice.", u.UserPrincipalName)
				}
				keys[key] = start + i
				name := u.DisplayName
				if name == "" {
					name = u.UserPrincipalName
				}
				args = append(args, tenantID, uuid.NewString(), u.UserPrincipalName, key, name, strings.ToUpper(u.UsageLocation), tx.now)
			}
			b.WriteString(` RETURNING id, upn_key`)
			rows, err := tx.query(b.String(), args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				var key string
				if err := rows.Scan(&id, &key); err != nil {
					rows.Close()
					return err
				}
				ids[keys[key]] = id
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// LoadMembers adds users (by internal id) to a group in one transaction, in
// the order given; users that are members already are skipped. When the
// group, or a group containing it, assigns licenses, the users are marked
// for recomputation as AddMember marks them.
func (s *Store) LoadMembers(ctx context.Context, tenantID, groupID int64, userIDs []int64) error {
	if len(userIDs) == 0 {
		return nil
	}
	const cols, per = 5, 1000
	return s.write(ctx, func(tx *tx) error {
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM dir_groups WHERE id = ? AND tenant_id = ?`, groupID, tenantID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return notFound("Group", fmt.Sprint(groupID))
		}
		last, err := tx.nextSeqs(len(userIDs))
		if err != nil {
			return err
		}
		first := last - int64(len(userIDs)) + 1
		for start := 0; start < len(userIDs); start += per {
			chunk := userIDs[start:min(start+per, len(userIDs))]
			var b strings.Builder
			b.WriteString(`INSERT INTO memberships (group_id, seq, member_type, member_id, tenant_id) VALUES `)
			args := make([]any, 0, len(chunk)*cols)
			for i, u := range chunk {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("(?, ?, 0, ?, ?)")
				args = append(args, groupID, first+int64(start+i), u, tenantID)
			}
			b.WriteString(` ON CONFLICT DO NOTHING`)
			if _, err := tx.exec(b.String(), args...); err != nil {
				return err
			}
		}
		parents, _, err := tx.groupGraph(tenantID)
		if err != nil {
			return err
		}
		licensed, err := tx.licensedAmong(append([]int64{groupID}, closure(parents, groupID)...))
		if err != nil || len(licensed) == 0 {
			return err
		}
		return tx.markUsers(tenantID, userIDs)
	})
}
