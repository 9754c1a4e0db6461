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
// whose display name, userPrincipalName, mail, given name or surname starts
// with q (case-insensitive), and the cursor of the next page (0 at the end).
// With count set it also counts the matches, up to SearchCountLimit (a
// count of SearchCountLimit means "at least that many"): a search's count
// scans the users, so it stops early on large tenants.
func (s *Store) SearchUsers(ctx context.Context, tenantID int64, q string, after int64, top int, count bool) ([]*allot.User, int64, int, error) {
	like := likePrefix(strings.ToLower(strings.TrimSpace(q)))
	// SQLite's LIKE ignores ASCII case; PostgreSQL needs ILIKE.
	op := "LIKE"
	if s.engine == Postgres {
		op = "ILIKE"
	}
	cond := func(col string) string { return col + " " + op + ` ? ESCAPE '\'` }
	where := `+u.tenant_id = ? AND (` + cond("u.display_name") + ` OR ` + cond("u.upn_key") + ` OR ` + cond("u.mail") + ` OR ` +
		cond("u.given_name") + ` OR ` + cond("u.surname") + `)`
	// +tenant_id: walk users in id order (and stop at a page's worth)
	// rather than through the tenant's name index and a sort of every match.
	base := []any{tenantID, like, like, like, like, like}
	n := -1
	if count {
		if err := s.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM users u WHERE `+where+` LIMIT `+itoa(SearchCountLimit)+`) m`, base...).Scan(&n); err != nil {
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

// SearchCountLimit is where SearchUsers stops counting.
const SearchCountLimit = 1000

// ProductHolders returns a page of the users who hold the product (an
// active grant from any source), ordered by internal id, and the cursor of
// the next page (0 at the end). tenantID is the product's tenant.
func (s *Store) ProductHolders(ctx context.Context, tenantID, productID int64, after int64, top int) ([]*allot.User, int64, error) {
	// In user order through the index of the product's active states
	// (a product belongs to one tenant, so its holders are the tenant's).
	rows, err := s.query(ctx, `SELECT user_id FROM license_states`+s.indexedBy("license_states_product")+`
		WHERE product_id = ? AND state = 'Active' AND user_id > ? GROUP BY user_id ORDER BY user_id LIMIT ?`, productID, after, top+1)
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
		if u := byID[id]; u != nil && u.TenantID == tenantID {
			out = append(out, u)
		}
	}
	return out, next, nil
}

// DirectMemberCount counts group g's direct members (a dynamic group's
// members are all direct users).
func (s *Store) DirectMemberCount(ctx context.Context, g int64) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM memberships WHERE group_id = ?`, g).Scan(&n)
	return n, err
}

// ProductWaiters returns up to top of the users who wait for a seat of the
// product, first in line first (the order in which seats go to them), and
// the number who wait in all. With top 0 it only counts.
func (s *Store) ProductWaiters(ctx context.Context, tenantID, productID int64, top int) ([]*allot.User, int, error) {
	var waiting int
	if err := s.queryRow(ctx, `SELECT waiting_units FROM products WHERE id = ? AND tenant_id = ?`, productID, tenantID).Scan(&waiting); err != nil {
		return nil, 0, err
	}
	if top <= 0 || waiting == 0 {
		return nil, waiting, nil
	}
	rows, err := s.query(ctx, `SELECT user_id FROM license_states WHERE product_id = ? AND code IN ('noSeatsAvailable', 'seatsReducedBelowConsumption')
		GROUP BY user_id ORDER BY MIN(seq) LIMIT ?`, productID, top)
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
	return out, waiting, nil
}
