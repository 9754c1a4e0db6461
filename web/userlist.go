package web

// The users list's filters and sort, kept in the URL, and its CSV export.

import (
	"encoding/csv"
	"net/url"
	"strings"

	"allot"
	"allot/internal/country"
	"allot/store/sqlstore"
)

// usersFilter is what the users list shows, as the URL says: q (search),
// license ("licensed", "unlicensed" or a product's skuId), dept, loc
// (country code), state ("enabled" or "disabled") and sort ("name",
// "upn" or "department").
type usersFilter struct {
	Q, License, Dept, Loc, State, Sort string
}

func readUsersFilter(v url.Values) usersFilter {
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return usersFilter{Q: get("q"), License: get("license"), Dept: get("dept"), Loc: strings.ToUpper(get("loc")),
		State: get("state"), Sort: get("sort")}
}

// params are the filter's query parameters (key, value, ...).
func (f usersFilter) params() []string {
	return []string{"q", f.Q, "license", f.License, "dept", f.Dept, "loc", f.Loc, "state", f.State, "sort", f.Sort}
}

// filtered tells whether anything beyond the search narrows the list.
func (f usersFilter) filtered() bool {
	return f.License != "" || f.Dept != "" || f.Loc != "" || f.State != ""
}

// userQuery turns the filter into a store query; it also returns the
// tenant's products, sorted by name (the license filter's choices).
func (s *Server) userQuery(q *req, f usersFilter) (sqlstore.UserQuery, []*allot.Product, error) {
	uq := sqlstore.UserQuery{Search: f.Q, Department: f.Dept, UsageLocation: f.Loc, Sort: f.Sort}
	products, err := s.st.Products(q.ctx(), q.tenant())
	if err != nil {
		return uq, nil, err
	}
	sortProducts(products)
	switch f.License {
	case "", "licensed", "unlicensed":
		uq.Licensed = f.License
	default:
		for _, p := range products {
			if strings.EqualFold(p.SkuID, f.License) {
				uq.ProductID = p.ID
			}
		}
		if uq.ProductID == 0 {
			return uq, nil, allot.Errorf(allot.EInvalid, "The product in this link is no longer in the tenant; choose another license filter.")
		}
	}
	switch f.State {
	case "enabled", "disabled":
		on := f.State == "enabled"
		uq.Enabled = &on
	case "":
	default:
		return uq, nil, allot.Errorf(allot.EInvalid, "Account state must be enabled or disabled.")
	}
	if _, ok := sqlstore.UserSorts[f.Sort]; !ok {
		return uq, nil, allot.Errorf(allot.EInvalid, "Users can be sorted by name, user name or department.")
	}
	if f.Loc != "" && !country.Valid(f.Loc) {
		return uq, nil, allot.Errorf(allot.EInvalid, "Usage location must be a two-letter country code such as US.")
	}
	return uq, products, nil
}

// exportURL is the CSV export of the list as filtered.
func (f usersFilter) exportURL() string { return query("/users/export", f.params()...) }

// usersCSV writes every user the filter selects as CSV, in the list's
// order, reading exportBatch users (and their licenses, in one batch) at a time.
func (s *Server) usersCSV(q *req) error {
	f := readUsersFilter(q.r.URL.Query())
	uq, _, err := s.userQuery(q, f)
	if err != nil {
		return err
	}
	h := q.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="users.csv"`)
	cw := csv.NewWriter(q.w)
	cw.Write([]string{"User name", "Display name", "Department", "Usage location", "Account enabled", "Licenses"})
	uq.Top = exportBatch
	for {
		page, err := s.st.FindUsers(q.ctx(), q.tenant(), uq)
		if err != nil {
			return err
		}
		rows, err := s.userRows(q, page.Users)
		if err != nil {
			return err
		}
		for _, r := range rows {
			cw.Write(csvRow(r))
		}
		if cw.Flush(); cw.Error() != nil {
			return errWritten
		}
		if page.Next == 0 {
			return nil
		}
		uq.After, uq.AfterKey = page.Next, page.NextKey
	}
}

// csvRow is one user's line of the export.
func csvRow(r userRow) []string {
	enabled := "false"
	if r.U.AccountEnabled {
		enabled = "true"
	}
	return []string{csvSafe(r.U.UserPrincipalName), csvSafe(r.U.DisplayName), csvSafe(r.U.Department), r.U.UsageLocation,
		enabled, csvSafe(strings.Join(r.Licenses, "; "))}
}

// exportBatch is how many users the export reads at a time.
var exportBatch = 1000

// sortChoices are the users list's sorts, in words.
var sortChoices = []struct{ Value, Label string }{
	{"", "Creation"}, {"name", "Display name"}, {"upn", "User name"}, {"department", "Department"},
}
