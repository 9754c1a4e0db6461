package sqlstore

// The admin center's users list: search, filters and sort in one query,
// paged by keyset, and the departments to pick from.

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"allot"
)

// UserQuery selects and orders users for the admin center's users list.
// Zero fields select everything.
type UserQuery struct {
	Search        string // prefix of display name, userPrincipalName, mail, given name or surname
	Licensed      string // "licensed" (holds any product), "unlicensed" (holds none) or ""
	ProductID     int64  // holds this product (an active grant from any source)
	Department    string // exactly this department (case as stored)
	UsageLocation string // exactly this country code
	Enabled       *bool  // account enabled or disabled
	Sort          string // "" (creation), "name", "upn" or "department"
	Desc          bool   // the sort descending
	After         int64  // cursor: id of the last row of the previous page
	AfterKey      string // cursor: sort value of that row
	Top           int
	Count         bool // count the matches (up to SearchCountLimit when filtered)
}

// UserPage is one page of a UserQuery.
type UserPage struct {
	Users   []*allot.User
	Next    int64  // cursor of the next page, 0 at the end
	NextKey string // sort value of the cursor
	Total   int    // matches when counted, else -1; SearchCountLimit means at least that many
}

// UserSorts are the sorts a UserQuery takes, with the column each sorts by.
var UserSorts = map[string]string{"": "u.id", "name": "u.display_name", "upn": "u.upn_key", "department": "u.department"}

// Filtered tells whether the query narrows the users beyond the tenant.
func (q UserQuery) Filtered() bool {
	return strings.TrimSpace(q.Search) != "" || q.Licensed != "" || q.ProductID != 0 || q.Department != "" ||
		q.UsageLocation != "" || q.Enabled != nil
}

// FindUsers returns a page of the tenant's users as the query selects and
// orders them. A filtered page is read through the index of the most
// selective filter (a product's holders, a department, a country) when the
// order is creation or the filter matches few users (listDriver); when it
// matches many, the sort's own order is walked a bounded stretch first,
// and the matches are read and sorted only when that stretch does not fill
// the page. When asked, and the first page does not hold every match, one
// more query counts the matches through the same index.
func (s *Store) FindUsers(ctx context.Context, tenantID int64, q UserQuery) (*UserPage, error) {
	col, ok := UserSorts[q.Sort]
	if !ok {
		return nil, allot.Errorf(allot.EInvalid, "Users cannot be sorted by '%s'.", q.Sort)
	}
	d, many, err := s.listDriver(ctx, tenantID, q)
	if err != nil {
		return nil, err
	}
	src := s.userSource(tenantID, q, d)
	var users []*allot.User
	full := false
	if many {
		if users, full, err = s.walkUsers(ctx, tenantID, q, col); err != nil {
			return nil, err
		}
	}
	if !full {
		where, args, order := keysetPage(src.where, src.args, col, src.id, q)
		if users, err = s.readUsers(ctx, `SELECT `+userCols+` FROM `+src.from+` WHERE `+where+order+` LIMIT ?`, append(args, q.Top+1)...); err != nil {
			return nil, err
		}
	}
	page := &UserPage{Total: -1, Users: users}
	if len(page.Users) > q.Top {
		page.Users = page.Users[:q.Top]
		last := page.Users[len(page.Users)-1]
		page.Next, page.NextKey = last.ID, UserSortKey(last, q.Sort)
	}
	switch {
	case !q.Count:
	case q.After == 0 && page.Next == 0:
		page.Total = len(page.Users) // one page holds every match: no second scan
	default:
		n, err := s.countUsers(ctx, src, q.Filtered())
		if err != nil {
			return nil, err
		}
		page.Total = n
	}
	return page, nil
}

// walkUsers reads a page of q by walking the sort's order over at most
// sortCap users from the cursor; full tells whether that settled the page
// (it filled, or the walk reached the last user).
func (s *Store) walkUsers(ctx context.Context, tenantID int64, q UserQuery, col string) ([]*allot.User, bool, error) {
	src := s.userSource(tenantID, q, driveNone)
	where, args, order := keysetPage(src.where, src.args, col, src.id, q)
	// The last user of the stretch, found through the sort's index alone.
	bw, bargs, _ := keysetPage("u.tenant_id = ?", []any{tenantID}, col, "u.id", q)
	var key string
	var id int64
	err := s.queryRow(ctx, `SELECT `+col+`, u.id FROM users u WHERE `+bw+order+` LIMIT 1 OFFSET ?`, append(bargs, s.sortCap()-1)...).Scan(&key, &id)
	end := errors.Is(err, sql.ErrNoRows)
	if err != nil && !end {
		return nil, false, err
	}
	if !end {
		lt, le := " < ", " <= "
		if q.Desc {
			lt, le = " > ", " >= "
		}
		// The plain bound ends the index range; the other settles ties.
		where += " AND " + col + le + "? AND (" + col + lt + "? OR u.id" + le + "?)"
		args = append(args, key, key, id)
	}
	users, err := s.readUsers(ctx, `SELECT `+userCols+` FROM `+src.from+` WHERE `+where+order+` LIMIT ?`, append(args, q.Top+1)...)
	return users, end || len(users) > q.Top, err
}

// readUsers runs a query of userCols.
func (s *Store) readUsers(ctx context.Context, query string, args ...any) ([]*allot.User, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*allot.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UserSortKey is a user's value of a UserQuery sort (the cursor's key).
func UserSortKey(u *allot.User, sort string) string {
	switch sort {
	case "name":
		return u.DisplayName
	case "upn":
		return allot.NormalizeKey(u.UserPrincipalName)
	case "department":
		return u.Department
	}
	return ""
}

// userSource is the FROM and WHERE clauses of a UserQuery read one way
// (its listDriver), without the cursor; id names the column that orders
// the users by creation.
type userSource struct {
	from, where string
	args        []any
	id          string
}

// userSource builds the query's clauses for the driver d. The driver's
// condition is the one its index serves; the other filters' columns are
// hidden from the planner (|| ”), so that it never picks their index and
// sorts every match of a filter that matches many.
func (s *Store) userSource(tenantID int64, q UserQuery, d listDriver) userSource {
	src := userSource{from: "users u", where: "u.tenant_id = ?", args: []any{tenantID}, id: "u.id"}
	if q.Sort == "" && d == driveNone {
		// Walk the users in id order and stop after a page, not through
		// an index of the tenant and a sort of every match (the unary +
		// hides tenant_id from SQLite's index choice).
		src.where = "+" + src.where
	}
	add := func(cond string, a ...any) {
		src.where += " AND " + cond
		src.args = append(src.args, a...)
	}
	switch d {
	case driveProduct:
		// Each holder once: the row of the lowest source of the product.
		src.from = "license_states ls" + s.indexedBy("license_states_product") + " CROSS JOIN users u"
		src.where = `ls.product_id = ? AND ls.state = 'Active' AND u.id = ls.user_id AND NOT EXISTS (SELECT 1 FROM license_states l2
			WHERE l2.user_id = ls.user_id AND l2.product_id = ls.product_id AND l2.state = 'Active' AND l2.source_id < ls.source_id) AND ` + src.where
		src.args = append([]any{q.ProductID}, src.args...)
		src.id = "ls.user_id"
	case driveLicensed:
		// In user order through the states' primary key, each holder of
		// any product once (its first active row).
		src.from = "license_states ls CROSS JOIN users u"
		src.where = `ls.state = 'Active' AND u.id = ls.user_id AND NOT EXISTS (SELECT 1 FROM license_states l2 WHERE l2.user_id = ls.user_id
			AND l2.state = 'Active' AND (l2.product_id < ls.product_id OR (l2.product_id = ls.product_id AND l2.source_id < ls.source_id))) AND ` + src.where
		src.id = "ls.user_id"
	case driveDepartment:
		src.from = "users u" + s.indexedBy("users_tenant_department")
	case driveLocation:
		src.from = "users u" + s.indexedBy("users_tenant_location")
	}
	if t := strings.TrimSpace(q.Search); t != "" {
		cond, a := s.searchCond(t)
		add(cond, a...)
	}
	const active = `EXISTS (SELECT 1 FROM license_states ls WHERE ls.user_id = u.id AND ls.state = ?`
	switch {
	case q.Licensed == "licensed" && d != driveLicensed && d != driveProduct:
		add(active+`)`, allot.StateActive)
	case q.Licensed == "unlicensed":
		add(`NOT `+active+`)`, allot.StateActive)
	}
	if q.ProductID != 0 && d != driveProduct {
		add(active+` AND ls.product_id = ?)`, allot.StateActive, q.ProductID)
	}
	hide := func(col string, mine bool) string {
		if mine {
			return col
		}
		return col + " || ''"
	}
	if q.Department != "" {
		add(hide("u.department", d == driveDepartment)+" = ?", q.Department)
	}
	if q.UsageLocation != "" {
		add(hide("u.usage_location", d == driveLocation)+" = ?", q.UsageLocation)
	}
	if q.Enabled != nil {
		add("u.account_enabled = ?", b2i(*q.Enabled))
	}
	return src
}

// searchCond matches users whose names start with t, ignoring case.
func (s *Store) searchCond(t string) (string, []any) {
	like := likePrefix(strings.ToLower(t))
	op := "LIKE" // SQLite's LIKE ignores ASCII case; PostgreSQL needs ILIKE
	if s.engine == Postgres {
		op = "ILIKE"
	}
	var conds []string
	var args []any
	for _, col := range []string{"u.display_name", "u.upn_key", "u.mail", "u.given_name", "u.surname"} {
		conds = append(conds, col+" "+op+` ? ESCAPE '\'`)
		args = append(args, like)
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// countUsers counts the matches: all of them when unfiltered, else up to
// SearchCountLimit, so that a filter that scans a large tenant stops early.
func (s *Store) countUsers(ctx context.Context, src userSource, filtered bool) (int, error) {
	q := `SELECT COUNT(*) FROM ` + src.from + ` WHERE ` + strings.TrimPrefix(src.where, "+")
	if filtered {
		q = `SELECT COUNT(*) FROM (SELECT 1 FROM ` + src.from + ` WHERE ` + src.where + ` LIMIT ` + itoa(SearchCountLimit) + `) m`
	}
	var n int
	err := s.queryRow(ctx, q, src.args...).Scan(&n)
	return n, err
}

// keysetPage adds the cursor to a WHERE clause and orders by the sort
// column, then by id (the column idCol, which equals the user's id).
func keysetPage(where string, args []any, col, idCol string, q UserQuery) (string, []any, string) {
	cmp, dir := " > ", ""
	if q.Desc {
		cmp, dir = " < ", " DESC"
	}
	args = append([]any{}, args...)
	if col == "u.id" {
		if q.After != 0 {
			where += " AND " + idCol + cmp + "?"
			args = append(args, q.After)
		}
		return where, args, " ORDER BY " + idCol + dir
	}
	if q.After != 0 {
		// The plain bound starts the index range; the other settles ties.
		where += " AND " + col + strings.TrimSpace(cmp) + "= ? AND (" + col + cmp + "? OR u.id" + cmp + "?)"
		args = append(args, q.AfterKey, q.AfterKey, q.After)
	}
	return where, args, " ORDER BY " + col + dir + ", u.id" + dir
}

// Departments returns the tenant's distinct departments, sorted, at most
// limit of them. It skips from one department to the next through the
// users_tenant_department index rather than reading every user.
func (s *Store) Departments(ctx context.Context, tenantID int64, limit int) ([]string, error) {
	rows, err := s.query(ctx, `WITH RECURSIVE d(name) AS (
		SELECT MIN(department) FROM users WHERE tenant_id = ? AND department > ''
		UNION ALL
		SELECT (SELECT MIN(department) FROM users WHERE tenant_id = ? AND department > d.name) FROM d WHERE d.name IS NOT NULL
	) SELECT name FROM d WHERE name IS NOT NULL LIMIT ?`, tenantID, tenantID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
