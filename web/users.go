package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"allot"
	"allot/internal/country"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlstore"
)

// ---- Active users ----

type usersModel struct {
	usersFilter
	Rows        []userRow
	Total       int
	From        int    // 1-based index of the first row
	After       int64  // cursor of this page
	Next        int64  // cursor of the next page, 0 at the end
	NextKey     string // sort value of the next page's cursor
	Products    []*allot.Product
	Departments []string
}

type userRow struct {
	U        *allot.User
	Licenses []string // display names of the products the user holds
	Waiting  []string // products the user waits for or failed to get
}

func (m *usersModel) nextURL() string {
	return query("/users", append(m.params(), "after", i64(m.Next), "key", m.NextKey, "from", strconv.Itoa(m.From+len(m.Rows)))...)
}

func (m *usersModel) to() int { return m.From + len(m.Rows) - 1 }

func (s *Server) loadUsers(q *req) (*usersModel, error) {
	v := q.r.URL.Query()
	m := &usersModel{usersFilter: readUsersFilter(v), From: 1}
	uq, products, err := s.userQuery(q, m.usersFilter)
	if err != nil {
		return nil, err
	}
	m.Products = products
	if m.Departments, err = s.st.Departments(q.ctx(), q.tenant(), 500); err != nil {
		return nil, err
	}
	if m.Dept != "" && !slices.Contains(m.Departments, m.Dept) {
		m.Departments = append(m.Departments, m.Dept) // beyond the first 500, or gone: still shown as chosen
	}
	uq.After, _ = strconv.ParseInt(v.Get("after"), 10, 64)
	uq.AfterKey, uq.Top, uq.Count = v.Get("key"), PageSize, true
	m.After = uq.After
	if f, err := strconv.Atoi(v.Get("from")); err == nil && f > 0 && m.After > 0 {
		m.From = f
	}
	page, err := s.st.FindUsers(q.ctx(), q.tenant(), uq)
	if err != nil {
		return nil, err
	}
	m.Next, m.NextKey, m.Total = page.Next, page.NextKey, page.Total
	if m.Total >= sqlstore.SearchCountLimit && uq.Filtered() {
		m.Total = -1 // many: the pager shows the rows, not a total
	}
	m.Rows, err = s.userRows(q, page.Users)
	return m, err
}

// userRows reads the licenses of a page of users in one batch.
func (s *Server) userRows(q *req, users []*allot.User) ([]userRow, error) {
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	lic, err := s.st.UserLicenses(q.ctx(), q.tenant(), ids)
	if err != nil {
		return nil, err
	}
	rows := make([]userRow, 0, len(users))
	for _, u := range users {
		rows = append(rows, rowOf(u, lic[u.ID]))
	}
	return rows, nil
}

// rowOf summarises a user's licenses for the users table.
func rowOf(u *allot.User, views []store.LicenseView) userRow {
	row := userRow{U: u}
	for _, v := range views {
		name := v.Product.DisplayName
		if v.State == allot.StateActive {
			if !slices.Contains(row.Licenses, name) {
				row.Licenses = append(row.Licenses, name)
			}
		}
	}
	for _, v := range views {
		name := v.Product.DisplayName
		if v.State != allot.StateActive && !slices.Contains(row.Licenses, name) && !slices.Contains(row.Waiting, name) {
			row.Waiting = append(row.Waiting, name)
		}
	}
	return row
}

func (s *Server) users(q *req) error {
	m, err := s.loadUsers(q)
	if err != nil {
		return err
	}
	if q.htmx() && q.r.Header.Get("HX-Target") == "users-table" {
		return q.render(usersTable(q.view("", ""), m))
	}
	return q.render(usersPage(q.view("Active users", "users"), m, nil))
}

// ---- one user: the Manage product licenses panel ----

type panelModel struct {
	U        *allot.User
	Products []panelProduct
	Groups   []*allot.Group // the groups the user is a direct or nested member of
	Err      string
	Saved    string
	Row      *userRow // the updated table row, after a save from the list
	w        *words
}

type panelProduct struct {
	P         *allot.Product
	Checked   bool     // assigned directly (or, after a refused save, as the person asked)
	Direct    bool     // the user holds a direct assignment
	Inherited []string // names of the groups that assign it to the user
	Active    bool     // the user has the product now
	Problem   string   // why the user does not have it, in words
	Plans     []panelPlan
}

type panelPlan struct {
	ID, Name string
	On       bool
}

// onCount says how many plans are on.
func (pp *panelProduct) onCount() int {
	n := 0
	for _, p := range pp.Plans {
		if p.On {
			n++
		}
	}
	return n
}

func (pp *panelProduct) inheritedOnly() bool { return !pp.Direct && len(pp.Inherited) > 0 }

func (s *Server) loadPanel(q *req, ref string) (*panelModel, error) {
	u, err := s.st.User(q.ctx(), q.tenant(), ref)
	if err != nil {
		return nil, err
	}
	products, err := s.st.Products(q.ctx(), q.tenant())
	if err != nil {
		return nil, err
	}
	lic, err := s.st.UserLicenses(q.ctx(), q.tenant(), []int64{u.ID})
	if err != nil {
		return nil, err
	}
	groups, err := s.st.MemberOf(q.ctx(), q.tenant(), u.GUID)
	if err != nil {
		return nil, err
	}
	m := &panelModel{U: u, Groups: groups, w: newWords(products)}
	row := rowOf(u, lic[u.ID])
	m.Row = &row
	sortProducts(products)
	for _, p := range products {
		pp := panelProduct{P: p}
		var direct *store.LicenseView
		var active [][]string
		for i, v := range lic[u.ID] {
			if v.ProductID != p.ID {
				continue
			}
			if v.Source == allot.DirectSource {
				direct = &lic[u.ID][i]
			} else if !slices.Contains(pp.Inherited, v.GroupName) {
				pp.Inherited = append(pp.Inherited, v.GroupName)
			}
			if v.State == allot.StateActive {
				pp.Active = true
				active = append(active, v.DisabledPlans)
			} else if pp.Problem == "" && v.Code != "" {
				pp.Problem = m.w.reason(v.Code, p)
			}
		}
		if pp.Active {
			pp.Problem = ""
		}
		pp.Direct, pp.Checked = direct != nil, direct != nil
		for _, sp := range p.ServicePlans {
			on := true
			switch {
			case direct != nil:
				on = !containsFold(direct.DisabledPlans, sp.ID)
			case len(active) > 0:
				on = slices.Contains(licensing.EnabledPlans(p, active), sp.ID)
			}
			pp.Plans = append(pp.Plans, panelPlan{ID: sp.ID, Name: planName(sp), On: on})
		}
		m.Products = append(m.Products, pp)
	}
	return m, nil
}

func planName(sp allot.ServicePlan) string {
	if sp.DisplayName != "" {
		return sp.DisplayName
	}
	return sp.Name
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// sortProducts orders products by display name.
func sortProducts(ps []*allot.Product) {
	slices.SortFunc(ps, func(a, b *allot.Product) int { return strings.Compare(a.DisplayName, b.DisplayName) })
}

func (s *Server) user(q *req) error {
	m, err := s.loadPanel(q, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	m.Row = nil
	if q.htmx() && q.r.Header.Get("HX-Target") == "panel" {
		return q.render(licensePanel(q.view("", "users"), m))
	}
	return q.render(userPage(q.view(m.U.DisplayName, "users"), m))
}

// formPlans reads the plans a form turned off for product p: the form
// lists the product in "shown" when it showed its plans; every plan not
// checked in "plan:<skuId>" is off.
func formPlans(r *http.Request, p *allot.Product) (disabled []string, shown bool) {
	if !slices.Contains(r.PostForm["shown"], p.SkuID) {
		return nil, false
	}
	on := r.PostForm["plan:"+p.SkuID]
	for _, sp := range p.ServicePlans {
		if !containsFold(on, sp.ID) {
			disabled = append(disabled, sp.ID)
		}
	}
	return disabled, true
}

func (s *Server) saveUserLicenses(q *req) error {
	m, err := s.loadPanel(q, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	checked := q.r.PostForm["sku"]
	var add []store.LicenseRequest
	var remove []string
	for i := range m.Products {
		pp := &m.Products[i]
		want := slices.Contains(checked, pp.P.SkuID)
		disabled, shown := formPlans(q.r, pp.P)
		switch {
		case want && !pp.Direct:
			add = append(add, store.LicenseRequest{SkuID: pp.P.SkuID, DisabledPlans: disabled})
		case want && shown && !samePlans(disabledOf(pp), disabled):
			add = append(add, store.LicenseRequest{SkuID: pp.P.SkuID, DisabledPlans: disabled})
		case !want && pp.Direct:
			remove = append(remove, pp.P.SkuID)
		}
		// Show what the person asked for if the save is refused.
		if !pp.inheritedOnly() {
			pp.Checked = want
			if shown {
				for j := range pp.Plans {
					pp.Plans[j].On = !containsFold(disabled, pp.Plans[j].ID)
				}
			}
		}
	}
	if len(add) == 0 && len(remove) == 0 {
		m.Saved = "Nothing to save: the licenses are as shown."
		return s.renderPanel(q, m)
	}
	if _, err := s.st.AssignUserLicenses(q.ctx(), q.p.Actor(), q.tenant(), m.U.GUID, add, remove); err != nil {
		if !isUserError(err) {
			return err
		}
		added := make([]string, len(add))
		for i, a := range add {
			added[i] = a.SkuID
		}
		m.Err = m.w.err(err, added...)
		m.Row = nil
		return s.renderPanel(q, m)
	}
	fresh, err := s.loadPanel(q, m.U.GUID)
	if err != nil {
		return err
	}
	var parts []string
	for _, r := range add {
		parts = append(parts, "assigned "+productName(fresh.Products, r.SkuID))
	}
	for _, id := range remove {
		parts = append(parts, "removed "+productName(fresh.Products, id))
	}
	fresh.Saved = "Saved: " + strings.Join(parts, ", ") + "."
	return s.renderPanel(q, fresh)
}

func (s *Server) renderPanel(q *req, m *panelModel) error {
	if !q.htmx() {
		m.Row = nil
		return q.render(userPage(q.view(m.U.DisplayName, "users"), m))
	}
	return q.render(licensePanel(q.view("", "users"), m))
}

// isUserError tells whether err is something the person can fix (shown
// inline), rather than a failure of the server.
func isUserError(err error) bool {
	c := allot.ErrorCode(err)
	return c != allot.EInternal && c != allot.EUnavailable
}

func disabledOf(pp *panelProduct) []string {
	var out []string
	for _, p := range pp.Plans {
		if !p.On {
			out = append(out, p.ID)
		}
	}
	return out
}

func samePlans(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !containsFold(b, x) {
			return false
		}
	}
	return true
}

func productName(ps []panelProduct, skuID string) string {
	for _, pp := range ps {
		if pp.P.SkuID == skuID {
			return pp.P.DisplayName
		}
	}
	return skuID
}

func (s *Server) saveUsageLocation(q *req) error {
	loc := strings.ToUpper(strings.TrimSpace(q.r.PostForm.Get("usageLocation")))
	ref := q.r.PathValue("id")
	u, err := s.st.User(q.ctx(), q.tenant(), ref)
	if err != nil {
		return err
	}
	var uerr error
	if loc != "" && !country.Valid(loc) {
		uerr = allot.Errorf(allot.EInvalid, "Usage location must be a two-letter country code such as US; “%s” is not one. Choose the country from the list.", loc)
	} else {
		_, uerr = s.st.UpdateUser(q.ctx(), q.p.Actor(), q.tenant(), u.GUID, store.UserPatch{UsageLocation: &loc})
	}
	if uerr != nil && !isUserError(uerr) {
		return uerr
	}
	m, err := s.loadPanel(q, u.GUID)
	if err != nil {
		return err
	}
	if uerr != nil {
		m.Err = m.w.err(uerr)
	} else if loc == "" {
		m.Saved = "Usage location cleared."
	} else {
		m.Saved = "Usage location set to " + loc + " (" + countryName(loc) + ")."
	}
	return s.renderPanel(q, m)
}

// ---- Assign more: several users, products to add ----

type assignMoreModel struct {
	Users    []*allot.User
	Products []*allot.Product
	Results  []moreResult // after Save
	Summary  string
	Failed   int // how many user–product pairs failed, after Save
	Err      string
}

type moreResult struct {
	U     *allot.User
	Items []moreItem
}

type moreItem struct {
	Product string
	OK      bool
	Text    string
}

// selectedUsers reads the selected users (GUIDs, in the order given,
// without repeats) in one batch.
func (s *Server) selectedUsers(q *req, refs []string) ([]*allot.User, error) {
	var ids []string
	seen := map[string]bool{}
	for _, ref := range refs {
		ref = strings.ToLower(strings.TrimSpace(ref))
		if ref == "" || seen[ref] {
			continue
		}
		seen[ref] = true
		if len(ids) == sqlstore.MaxBulkUsers {
			return nil, allot.Errorf(allot.EInvalid, "Select at most %s users at once.", num(sqlstore.MaxBulkUsers))
		}
		ids = append(ids, ref)
	}
	found, err := s.st.UsersByGUID(q.ctx(), q.tenant(), ids)
	if err != nil {
		return nil, err
	}
	out := make([]*allot.User, 0, len(ids))
	for _, id := range ids {
		u := found[id]
		if u == nil {
			return nil, allot.Errorf(allot.ENotFound, "A selected user no longer exists; go back to Active users and select again.")
		}
		out = append(out, u)
	}
	return out, nil
}

func (s *Server) assignMore(q *req) error {
	users, err := s.selectedUsers(q, q.r.URL.Query()["user"])
	if err != nil {
		return err
	}
	products, err := s.st.Products(q.ctx(), q.tenant())
	if err != nil {
		return err
	}
	sortProducts(products)
	m := &assignMoreModel{Users: users, Products: products}
	if len(users) == 0 {
		m.Err = "Select one or more users in Active users first, then choose Assign more."
	}
	return q.render(assignMorePage(q.view("Assign more licenses", "users"), m))
}

func (s *Server) saveAssignMore(q *req) error {
	users, err := s.selectedUsers(q, q.r.PostForm["user"])
	if err != nil {
		return err
	}
	products, err := s.st.Products(q.ctx(), q.tenant())
	if err != nil {
		return err
	}
	sortProducts(products)
	w := newWords(products)
	m := &assignMoreModel{Users: users, Products: products}
	var chosen []*allot.Product
	for _, p := range products {
		if slices.Contains(q.r.PostForm["sku"], p.SkuID) {
			chosen = append(chosen, p)
		}
	}
	switch {
	case len(users) == 0:
		m.Err = "Select one or more users in Active users first, then choose Assign more."
	case len(chosen) == 0:
		m.Err = "Select at least one product to assign."
	}
	if m.Err != "" {
		return q.render(assignMorePage(q.view("Assign more licenses", "users"), m))
	}
	// Products that others need first go first, so that a prerequisite
	// chosen together with its dependant is in place when that one is checked.
	slices.SortStableFunc(chosen, func(a, b *allot.Product) int {
		return len(a.Rules.RequiresAnyOf) - len(b.Rules.RequiresAnyOf)
	})
	refs := make([]string, len(users))
	idx := map[string]int{}
	for i, u := range users {
		refs[i] = u.GUID
		idx[u.GUID] = i
		m.Results = append(m.Results, moreResult{U: u})
	}
	licensed, failed := 0, 0
	for _, p := range chosen {
		disabled, _ := formPlans(q.r, p)
		res, err := s.st.BulkAssignLicense(q.ctx(), q.p.Actor(), q.tenant(), sqlstore.BulkAssignRequest{Sku: p.SkuID, DisabledPlans: disabled, Users: refs})
		if err != nil {
			if !isUserError(err) {
				return err
			}
			m.Err = allot.ErrorMessage(err)
			return q.render(assignMorePage(q.view("Assign more licenses", "users"), m))
		}
		for _, o := range res.Outcomes {
			i, ok := idx[o.GUID]
			if !ok {
				continue
			}
			it := moreItem{Product: p.DisplayName}
			switch o.Result {
			case sqlstore.BulkLicensed:
				it.OK, it.Text = true, "Assigned"
				licensed++
			case sqlstore.BulkAlreadyLicensed:
				it.OK, it.Text = true, "Already assigned"
				if o.Via != "" && o.Via != "direct" {
					it.Text += " through group " + o.Via
				}
			default:
				it.Text = o.Message
				if o.Code.IsLicensing() && o.Target != "" {
					it.Text = w.err(&allot.Error{Code: o.Code, Message: o.Message, Target: o.Target}, p.SkuID)
				}
				failed++
			}
			m.Results[i].Items = append(m.Results[i].Items, it)
		}
	}
	m.Summary = plural(licensed, "license assigned", "licenses assigned") + ", " + plural(failed, "failure", "failures") + "."
	m.Failed = failed
	return q.render(assignMorePage(q.view("Assign more licenses", "users"), m))
}

// newProductChoice is a product to choose, unchecked, with every plan on.
func newProductChoice(p *allot.Product) panelProduct {
	pp := panelProduct{P: p}
	for _, sp := range p.ServicePlans {
		pp.Plans = append(pp.Plans, panelPlan{ID: sp.ID, Name: planName(sp), On: true})
	}
	return pp
}
