package sqlstore

// The admin center's users list: search, filters and sort in one query,
// paged by keyset, and the departments to pick from.

import (
	"context"
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
// orders them. One query reads the page and, when asked and the first page
// does not hold every match, one counts: the license filters probe each
// user's license states by primary key.
func (s *Store) FindUsers(ctx context.Context, tenantID int64, q UserQuery) (*UserPage, error) {
	col, ok := UserSorts[q.Sort]
	if !ok {
		return nil, allot.Errorf(allot.EInvalid, "Users cannot be sorted by '%s'.", q.Sort)
	}
	where, args := s.userQueryWhere(tenantID, q)
	page := &UserPage{Total: -1}
	pageWhere, pageArgs, order := keysetPage(where, args, col, q)
	rows, err := s.query(ctx, `SELECT `+userCols+` FROM users u WHERE `+pageWhere+order+` LIMIT ?`, append(pageArgs, q.Top+1)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		page.Users = append(page.Users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
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
		n, err := s.countUsers(ctx, where, args, q.Filtered())
		if err != nil {
			return nil, err
		}
		page.Total = n
	}
	return page, nil
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

// userQueryWhere is the WHERE clause of a UserQuery, without its cursor.
func (s *Store) userQueryWhere(tenantID int64, q UserQuery) (string, []any) {
	where, args := "u.tenant_id = ?", []any{tenantID}
	if q.Sort == "" && q.Department == "" {
		// Walk the users in id order and stop after a page, not through
		// an index of the tenant and a sort of every match (the unary +
		// hides tenant_id from SQLite's index choice).
		where = "+" + where
	}
	add := func(cond string, a ...any) {
		where += " AND " + cond
		args = append(args, a...)
	}
	if t := strings.TrimSpace(q.Search); t != "" {
		cond, a := s.searchCond(t)
		add(cond, a...)
	}
	const active = `EXISTS (SELECT 1 FROM license_states ls WHERE ls.user_id = u.id AND ls.state = ?`
	switch q.Licensed {
	case "licensed":
		add(active+`)`, allot.StateActive)
	case "unlicensed":
		add(`NOT `+active+`)`, allot.StateActive)
	}
	if q.ProductID != 0 {
		add(active+` AND ls.product_id = ?)`, allot.StateActive, q.ProductID)
	}
	if q.Department != "" {
		add("u.department = ?", q.Department)
	}
	if q.UsageLocation != "" {
		add("u.usage_location = ?", q.UsageLocation)
	}
	if q.Enabled != nil {
		add("u.account_enabled = ?", b2i(*q.Enabled))
	}
	return where, args
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
func (s *Store) countUsers(ctx context.Context, where string, args []any, filtered bool) (int, error) {
	q := `SELECT COUNT(*) FROM users u WHERE ` + strings.TrimPrefix(where, "+")
	if filtered {
		q = `SELECT COUNT(*) FROM (SELECT 1 FROM users u WHERE ` + where + ` LIMIT ` + itoa(SearchCountLimit) + `) m`
	}
	var n int
	err := s.queryRow(ctx, q, args...).Scan(&n)
	return n, err
}

// keysetPage adds the cursor to a WHERE clause and orders by the sort
// column, then id.
func keysetPage(where string, args []any, col string, q UserQuery) (string, []any, string) {
	cmp, dir := " > ", ""
	if q.Desc {
		cmp, dir = " < ", " DESC"
	}
	args = append([]any{}, args...)
	if col == "u.id" {
		if q.After != 0 {
			where += " AND u.id" + cmp + "?"
			args = append(args, q.After)
		}
		return where, args, " ORDER BY u.id" + dir
	}
	if q.After != 0 {
		where += " AND (" + col + cmp + "? OR (" + col + " = ? AND u.id" + cmp + "?))"
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
