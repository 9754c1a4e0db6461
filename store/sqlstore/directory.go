package sqlstore

// Directory reads that Graph's directoryObject routes need: the groups an
// object is a member of (directly or through nested groups), page by page,
// and objects of either kind by id.

import (
	"context"
	"slices"
	"strings"

	"github.com/google/uuid"

	"allot"
)

// objectRef resolves a user (GUID or userPrincipalName) or group GUID to
// its member type (0 user, 1 group) and internal id.
func (s *Store) objectRef(ctx context.Context, tenantID int64, ref string) (typ int, id int64, err error) {
	if u, uerr := s.User(ctx, tenantID, ref); uerr == nil {
		return 0, u.ID, nil
	} else if allot.ErrorCode(uerr) != allot.ENotFound {
		return 0, 0, uerr
	}
	g, err := s.Group(ctx, tenantID, ref)
	if err != nil {
		return 0, 0, notFound("Directory object", ref)
	}
	return 1, g.ID, nil
}

// MemberOfPage returns a page of the groups the user or group ref is a
// member of, in group creation order: its direct groups, or with
// transitive also every group that contains one of them. after is the
// internal id of the last group of the previous page; next is 0 at the end.
func (s *Store) MemberOfPage(ctx context.Context, tenantID int64, ref string, transitive bool, after int64, top int) ([]*allot.Group, int64, error) {
	typ, id, err := s.objectRef(ctx, tenantID, ref)
	if err != nil {
		return nil, 0, err
	}
	ids, err := s.directGroups(ctx, typ, id)
	if err != nil {
		return nil, 0, err
	}
	if transitive {
		if ids, err = s.withAncestors(ctx, tenantID, ids); err != nil {
			return nil, 0, err
		}
	}
	slices.Sort(ids)
	i, _ := slices.BinarySearch(ids, after+1)
	page := ids[i:min(i+top, len(ids))]
	var next int64
	if i+top < len(ids) {
		next = page[len(page)-1]
	}
	byID, err := s.groupsByID(ctx, page)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*allot.Group, 0, len(page))
	for _, gid := range page {
		if g := byID[gid]; g != nil {
			out = append(out, g)
		}
	}
	return out, next, nil
}

// directGroups lists the internal ids of the groups member (typ, id) is a
// direct member of.
func (s *Store) directGroups(ctx context.Context, typ int, id int64) ([]int64, error) {
	rows, err := s.query(ctx, `SELECT group_id FROM memberships WHERE member_type = ? AND member_id = ?`, typ, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var g int64
		if err := rows.Scan(&g); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// withAncestors adds to groups every group that contains one of them,
// through nested groups, from one read of the tenant's group-in-group edges.
func (s *Store) withAncestors(ctx context.Context, tenantID int64, groups []int64) ([]int64, error) {
	rows, err := s.query(ctx, `SELECT group_id, member_id FROM memberships WHERE tenant_id = ? AND member_type = 1`, tenantID)
	if err != nil {
		return nil, err
	}
	parents := map[int64][]int64{}
	for rows.Next() {
		var p, c int64
		if err := rows.Scan(&p, &c); err != nil {
			rows.Close()
			return nil, err
		}
		parents[c] = append(parents[c], p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	for _, g := range groups {
		seen[g] = true
		for _, a := range closure(parents, g) {
			seen[a] = true
		}
	}
	out := make([]int64, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	return out, nil
}

// DirectoryObjects returns the tenant's users and groups with the GUIDs,
// keyed by lower-case GUID; ids that are not GUIDs or not found are left
// out. Users come with their proxy addresses.
func (s *Store) DirectoryObjects(ctx context.Context, tenantID int64, guids []string) (map[string]*allot.User, map[string]*allot.Group, error) {
	var args []any
	for _, g := range guids {
		if _, err := uuid.Parse(g); err == nil {
			args = append(args, strings.ToLower(g))
		}
	}
	users, groups := map[string]*allot.User{}, map[string]*allot.Group{}
	for start := 0; start < len(args); start += 500 {
		chunk := args[start:min(start+500, len(args))]
		in := placeholders(len(chunk))
		found, err := s.usersWhere(ctx, `u.tenant_id = ? AND u.guid IN (`+in+`)`, append([]any{tenantID}, chunk...)...)
		if err != nil {
			return nil, nil, err
		}
		for _, u := range found {
			users[u.GUID] = u
		}
		rows, err := s.query(ctx, `SELECT `+groupCols+` FROM dir_groups g WHERE g.tenant_id = ? AND g.guid IN (`+in+`)`, append([]any{tenantID}, chunk...)...)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			g, err := scanGroup(rows)
			if err != nil {
				rows.Close()
				return nil, nil, err
			}
			groups[g.GUID] = g
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	return users, groups, nil
}

// usersWhere loads the users that match the condition, with their proxy
// addresses.
func (s *Store) usersWhere(ctx context.Context, cond string, args ...any) ([]*allot.User, error) {
	rows, err := s.query(ctx, `SELECT `+userCols+` FROM users u WHERE `+cond, args...)
	if err != nil {
		return nil, err
	}
	var out []*allot.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.fillProxyAddresses(ctx, out)
}
