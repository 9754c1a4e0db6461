package sqlstore

// Finding people inside a large group: the admin center's search among a
// group's members and among its members with license errors.

import (
	"context"
	"strings"

	"allot"
)

// FindGroupMembers returns a page of the users in the group (directly or
// through nested groups) whose display name, userPrincipalName, mail,
// given name or surname starts with text (case-insensitive), in creation
// order, and the cursor of the next page (0 at the end). With errorsOnly
// it returns only those with a license error from the group. It walks the
// tenant's matching users and probes each one's memberships by index, as
// the users search does, so it never reads the whole group.
func (s *Store) FindGroupMembers(ctx context.Context, tenantID int64, ref, text string, errorsOnly bool, after int64, top int) ([]*allot.User, int64, error) {
	g, err := s.Group(ctx, tenantID, ref)
	if err != nil {
		return nil, 0, err
	}
	groups, err := s.nestedGroupIDs(ctx, g.ID)
	if err != nil {
		return nil, 0, err
	}
	cond, args := s.searchCond(strings.TrimSpace(text))
	where := `+u.tenant_id = ? AND ` + cond + ` AND EXISTS (SELECT 1 FROM memberships m WHERE m.member_type = 0 AND m.member_id = u.id AND m.group_id IN (` + placeholders(len(groups)) + `))`
	args = append(append([]any{tenantID}, args...), idArgs(groups)...)
	if errorsOnly {
		where += ` AND EXISTS (SELECT 1 FROM license_states ls WHERE ls.user_id = u.id AND ls.source_id = ? AND ls.state = 'Error')`
		args = append(args, g.ID)
	}
	users, err := s.readUsers(ctx, `SELECT `+userCols+` FROM users u WHERE `+where+` AND u.id > ? ORDER BY u.id LIMIT ?`, append(args, after, top+1)...)
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

// nestedGroupIDs returns group g and every group nested in it, at any
// depth, each once.
func (s *Store) nestedGroupIDs(ctx context.Context, g int64) ([]int64, error) {
	seen := map[int64]bool{g: true}
	out := []int64{g}
	for i := 0; i < len(out); i++ {
		rows, err := s.query(ctx, `SELECT member_id FROM memberships WHERE group_id = ? AND member_type = 1`, out[i])
		ids, err := collect(rows, err, scanInt64)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out, nil
}
