package sqlstore

// Queries of the web admin center (package web) that the Graph surface has
// no shape for: a search box over several name columns, and the holders of
// one product.

import (
	"context"
	"strings"

	"allot"
)

// SearchUsers returns a page of the tenant's users, ordered by creation,
// whose display name, given name, surname, userPrincipalName or mail starts
// with q (case-insensitive), the cursor of the next page (0 at the end) and,
// when count is set, how many match in all.
func (s *Store) SearchUsers(ctx context.Context, tenantID int64, q string, after int64, top int, count bool) ([]*allot.User, int64, int, error) {
	like := likePrefix(strings.ToLower(strings.TrimSpace(q)))
	where := `u.tenant_id = ? AND (LOWER(u.display_name) LIKE ? ESCAPE '\' OR u.upn_key LIKE ? ESCAPE '\' OR LOWER(u.given_name) LIKE ? ESCAPE '\'
		OR LOWER(u.surname) LIKE ? ESCAPE '\' OR LOWER(u.mail) LIKE ? ESCAPE '\')`
	base := []any{tenantID, like, like, like, like, like}
	n := -1
	if count {
		if err := s.queryRow(ctx, `SELECT COUNT(*) FROM users u WHERE `+where, base...).Scan(&n); err != nil {
			return nil, 0, 0, err
		}
	}
	rows, err := s.query(ctx, `SELECT `+userCols+` FROM users u WHERE `+where+` AND u.id > ? ORDER BY u.id LIMIT ?`, append(base, after, top+1)...)
	if err != nil {
		return nil, 0, 0, err
	}
	defer rows.Close()
	var out []*allot.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, 0, err
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, 0, err
	}
	var next int64
	if len(out) > top {
		out = out[:top]
		next = out[len(out)-1].ID
	}
	return out, next, n, nil
}

// ProductHolders returns a page of the users who hold the product (an
// active grant from any source), ordered by internal id, and the cursor of
// the next page (0 at the end).
func (s *Store) ProductHolders(ctx context.Context, tenantID, productID int64, after int64, top int) ([]*allot.User, int64, error) {
	rows, err := s.query(ctx, `SELECT DISTINCT ls.user_id FROM license_states ls JOIN users u ON u.id = ls.user_id
		WHERE u.tenant_id = ? AND ls.product_id = ? AND ls.state = 'Active' AND ls.user_id > ? ORDER BY ls.user_id LIMIT ?`,
		tenantID, productID, after, top+1)
	if err != nil {
		return nil, 0, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(ids) > top {
		ids = ids[:top]
		next = ids[len(ids)-1]
	}
	byID, err := s.usersByID(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*allot.User, 0, len(ids))
	for _, id := range ids {
		if u := byID[id]; u != nil {
			out = append(out, u)
		}
	}
	return out, next, nil
}
