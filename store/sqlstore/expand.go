package sqlstore

import (
	"context"

	"allot"
	"allot/store"
)

// ExpandLinks loads, for each of the ids, up to per linked objects in one
// query per 500 ids: with memberOf 0 (users) or 1 (groups), the groups each
// object (internal id) is a direct member of, by group id; with memberOf -1
// the direct members of each group, in membership order. It serves
// $expand=memberOf and $expand=members.
func (s *Store) ExpandLinks(ctx context.Context, ids []int64, memberOf, per int) (map[int64][]store.Member, error) {
	type link struct {
		owner, id int64
		typ       int
	}
	var links []link
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		q := `SELECT owner, member_type, member_id FROM (SELECT group_id AS owner, member_type, member_id,
			ROW_NUMBER() OVER (PARTITION BY group_id ORDER BY seq) AS n FROM memberships WHERE group_id IN (` + placeholders(len(chunk)) + `)) x
			WHERE n <= ? ORDER BY owner, n`
		args := append(idArgs(chunk), per)
		if memberOf >= 0 {
			q = `SELECT owner, 1, group_id FROM (SELECT member_id AS owner, group_id,
				ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY group_id) AS n FROM memberships
				WHERE member_type = ? AND member_id IN (` + placeholders(len(chunk)) + `)) x WHERE n <= ? ORDER BY owner, n`
			args = append([]any{memberOf}, args...)
		}
		rows, err := s.query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var l link
			if err := rows.Scan(&l.owner, &l.typ, &l.id); err != nil {
				rows.Close()
				return nil, err
			}
			links = append(links, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	var uids, gids []int64
	for _, l := range links {
		if l.typ == 0 {
			uids = append(uids, l.id)
		} else {
			gids = append(gids, l.id)
		}
	}
	users, err := s.usersByID(ctx, uids)
	if err != nil {
		return nil, err
	}
	groups, err := s.groupsByID(ctx, gids)
	if err != nil {
		return nil, err
	}
	if err := s.fillProxyAddresses(ctx, values(users)); err != nil {
		return nil, err
	}
	out := map[int64][]store.Member{}
	for _, l := range links {
		m := store.Member{User: users[l.id]}
		if l.typ != 0 {
			m = store.Member{Group: groups[l.id]}
		}
		if m.User != nil || m.Group != nil {
			out[l.owner] = append(out[l.owner], m)
		}
	}
	return out, nil
}

func values(m map[int64]*allot.User) []*allot.User {
	out := make([]*allot.User, 0, len(m))
	for _, u := range m {
		out = append(out, u)
	}
	return out
}
