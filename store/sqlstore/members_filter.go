package sqlstore

import (
	"context"

	"allot"
	"allot/odata"
	"allot/store"
)

// FilteredMembers returns a page of a group's direct members that match a
// $filter, in membership order: a user member is matched with the user
// properties, a group member with the group ones; a condition on a property
// only one of them has excludes the other kind.
func (s *Store) FilteredMembers(ctx context.Context, tenantID int64, groupRef string, filter odata.Expr, after int64, top int) ([]store.Member, int64, error) {
	g, err := s.Group(ctx, tenantID, groupRef)
	if err != nil {
		return nil, 0, err
	}
	ucond, uargs, uerr := compileFilter(filter, userResource)
	gcond, gargs, gerr := compileFilter(filter, groupResource)
	switch {
	case uerr != nil && gerr != nil:
		return nil, 0, uerr
	case uerr != nil && allot.ErrorCode(uerr) != allot.EUnsupportedQuery:
		return nil, 0, uerr
	case gerr != nil && allot.ErrorCode(gerr) != allot.EUnsupportedQuery:
		return nil, 0, gerr
	}
	if uerr != nil {
		ucond, uargs = "1 = 0", nil
	}
	if gerr != nil {
		gcond, gargs = "1 = 0", nil
	}
	q := `SELECT m.seq, m.member_type, m.member_id FROM memberships m WHERE m.group_id = ? AND m.seq > ? AND (
		(m.member_type = 0 AND EXISTS (SELECT 1 FROM users u WHERE u.id = m.member_id AND ` + ucond + `)) OR
		(m.member_type = 1 AND EXISTS (SELECT 1 FROM dir_groups g WHERE g.id = m.member_id AND ` + gcond + `))) ORDER BY m.seq LIMIT ?`
	args := append([]any{g.ID, after}, uargs...)
	args = append(append(args, gargs...), top+1)
	return s.membersPage(ctx, q, top, args...)
}
