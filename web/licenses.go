package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"allot"
	"allot/httpapi"
	"allot/odata"
	"allot/store"
	"allot/store/sqlstore"
)

// ---- Licenses: every product ----

func (s *Server) licenses(q *req) error {
	products, err := s.st.Products(q.ctx(), q.tenant())
	if err != nil {
		return err
	}
	sortProducts(products)
	// Groups with members who lack a license they assign (Entra's
	// "license errors"), for those who may see groups.
	var errGroups []*allot.Group
	if q.perms.Has(httpapi.PermGroupsRead) {
		e, _ := odata.ParseFilter("hasMembersWithLicenseErrors eq true")
		if errGroups, _, _, err = s.st.ListGroups(q.ctx(), q.tenant(), store.ListOptions{Filter: e, Top: 20}); err != nil {
			return err
		}
	}
	sparks, err := s.sparklines(q, products)
	if err != nil {
		return err
	}
	return q.render(licensesPage(q.view("Licenses", "licenses"), products, errGroups, sparks))
}

// ---- one product, with its assigned users and groups ----

type productModel struct {
	P      *allot.Product
	Tab    string // "users" or "groups"
	Users  []productUser
	Groups []productGroup
	From   int
	After  int64
	Next   int64
	Waits  int    // users waiting for a seat of this product (on this page)
	Needs  string // the products it needs first, in words
	Live   *seatLive
	Flash  string
	// Policy is the product's assignment policy report.
	Policy *sqlstore.PolicyReport
	// Pools are the product's license pools (pools.go); PoolErr says why
	// a pool form was refused, PoolFlash what one did.
	Pools              []*sqlstore.LicensePool
	PoolErr, PoolFlash string
}

type productUser struct {
	U       *allot.User
	Sources []string // "Direct" and group names
	Direct  bool     // the user holds a direct assignment (which Unassign removes)
}

type productGroup struct {
	G        *allot.Group
	PlansOff []string
}

func (s *Server) productOf(q *req) (*allot.Product, error) {
	return s.st.Product(q.ctx(), q.tenant(), q.r.PathValue("sku"))
}

func skuFilter(p *allot.Product) odata.Expr {
	e, _ := odata.ParseFilter("assignedLicenses/any(x:x/skuId eq " + p.SkuID + ")")
	return e
}

func (s *Server) product(q *req) error {
	p, err := s.productOf(q)
	if err != nil {
		return err
	}
	m := &productModel{P: p, Tab: q.r.URL.Query().Get("tab"), From: 1, Flash: seatsFlash(q, p) + policyFlash(q)}
	if m.Live, err = s.loadSeatLive(q, p); err != nil {
		return err
	}
	if m.Policy, err = s.st.AssignmentPolicy(q.ctx(), q.tenant(), p.SkuID); err != nil {
		return err
	}
	if m.Pools, err = s.productPools(q, p); err != nil {
		return err
	}
	m.PoolFlash = poolFlash(q)
	w, err := s.words(q)
	if err != nil {
		return err
	}
	m.Needs = orList(w.names(p.Rules.RequiresAnyOf, true))
	canUsers, canGroups := q.perms.Has(httpapi.PermUsersRead), q.perms.Has(httpapi.PermGroupsRead)
	if m.Tab != "groups" || !canGroups {
		m.Tab = "users"
	}
	if m.Tab == "users" && !canUsers {
		m.Tab = ""
		if canGroups {
			m.Tab = "groups"
		}
	}
	m.After, _ = strconv.ParseInt(q.r.URL.Query().Get("after"), 10, 64)
	if f, err := strconv.Atoi(q.r.URL.Query().Get("from")); err == nil && f > 0 && m.After > 0 {
		m.From = f
	}
	switch m.Tab {
	case "users":
		users, next, err := s.st.ProductHolders(q.ctx(), q.tenant(), p.ID, m.After, PageSize)
		if err != nil {
			return err
		}
		m.Next = next
		ids := make([]int64, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		lic, err := s.st.UserLicenses(q.ctx(), q.tenant(), ids)
		if err != nil {
			return err
		}
		for _, u := range users {
			pu := productUser{U: u}
			for _, v := range lic[u.ID] {
				if v.ProductID != p.ID || v.State != allot.StateActive {
					continue
				}
				if v.Source == allot.DirectSource {
					pu.Sources = append(pu.Sources, "Direct")
					pu.Direct = true
				} else {
					pu.Sources = append(pu.Sources, "Group "+v.GroupName)
				}
			}
			m.Users = append(m.Users, pu)
		}
	case "groups":
		groups, next, _, err := s.st.ListGroups(q.ctx(), q.tenant(), store.ListOptions{Filter: skuFilter(p), Top: PageSize, After: m.After})
		if err != nil {
			return err
		}
		m.Next = next
		ids := make([]int64, len(groups))
		for i, g := range groups {
			ids[i] = g.ID
		}
		gls, err := s.st.GroupLicenses(q.ctx(), q.tenant(), ids)
		if err != nil {
			return err
		}
		for _, g := range groups {
			pg := productGroup{G: g}
			for _, gl := range gls[g.ID] {
				if gl.ProductID == p.ID {
					for _, id := range gl.DisabledPlans {
						if sp, ok := p.Plan(id); ok {
							pg.PlansOff = append(pg.PlansOff, planName(sp))
						}
					}
				}
			}
			m.Groups = append(m.Groups, pg)
		}
	}
	return q.render(productPage(q.view(p.DisplayName, "licenses"), m))
}

func (m *productModel) pageURL(after int64, from int) string {
	if after == 0 {
		return query("/licenses/"+m.P.SkuID, "tab", m.Tab)
	}
	return query("/licenses/"+m.P.SkuID, "tab", m.Tab, "after", i64(after), "from", strconv.Itoa(from))
}

// ---- Assign: pick users and groups, assignment options, preview, confirm ----

// pick is a user or group chosen to receive the product.
type pick struct {
	Key    string // "u:<guid>" or "g:<guid>"
	Group  bool
	GUID   string
	Name   string
	Detail string
}

type assignModel struct {
	P       *allot.Product
	Q       string
	Picks   []pick
	Results []pick
	Plans   []panelPlan // assignment options
	Preview *previewModel
	Done    []doneItem
	Err     string
}

// previewModel is the review step of Assign: the store's preview of the
// whole assignment (losses first), with a headline about the product.
type previewModel struct {
	*reviewModel
	// Blocked says the assignment cannot be made at all (Headline says why).
	Blocked  bool
	Headline string   // "Would license 812 of 1,000 users; 188 would wait for seats."
	Lines    []string // further detail
	Failures []string // per-user direct assignments that would fail
	Examples []string // some users who would not get it
}

type doneItem struct {
	Pick pick
	OK   bool
	Text string
}

// doneSummary is the headline of Assign's results: "Assigned Microsoft 365
// E3 to 2 users and 1 group." or, when some failed, "…; 1 failure."
func (m *assignModel) doneSummary() (text string, failed bool) {
	var users, groups, failures int
	for _, d := range m.Done {
		switch {
		case !d.OK:
			failures++
		case d.Pick.Group:
			groups++
		default:
			users++
		}
	}
	var to []string
	if users > 0 {
		to = append(to, plural(users, "user", "users"))
	}
	if groups > 0 {
		to = append(to, plural(groups, "group", "groups"))
	}
	if len(to) == 0 {
		to = append(to, "no one")
	}
	text = "Assigned " + m.P.DisplayName + " to " + strings.Join(to, " and ")
	if failures > 0 {
		return text + "; " + plural(failures, "failure", "failures") + ".", true
	}
	return text + ".", false
}

// hidden returns the form fields that carry the picks and plans to the next step.
func (m *assignModel) picksQuery() []string {
	out := make([]string, 0, len(m.Picks))
	for _, p := range m.Picks {
		out = append(out, p.Key)
	}
	return out
}

func (s *Server) resolvePicks(ctx context.Context, tenantID int64, keys []string) ([]pick, error) {
	var out []pick
	seen := map[string]bool{}
	for _, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		if len(out) >= 1000 {
			return nil, allot.Errorf(allot.EInvalid, "Pick at most 1,000 users and groups at once; assign a group to reach more people.")
		}
		kind, id, ok := strings.Cut(k, ":")
		if !ok {
			return nil, allot.Errorf(allot.EInvalid, "'%s' is not a user or group.", k)
		}
		switch kind {
		case "u":
			u, err := s.st.User(ctx, tenantID, id)
			if err != nil {
				return nil, err
			}
			out = append(out, pick{Key: "u:" + u.GUID, GUID: u.GUID, Name: u.DisplayName, Detail: u.UserPrincipalName})
		case "g":
			g, err := s.st.Group(ctx, tenantID, id)
			if err != nil {
				return nil, err
			}
			out = append(out, pick{Key: "g:" + g.GUID, Group: true, GUID: g.GUID, Name: g.DisplayName, Detail: "Group"})
		default:
			return nil, allot.Errorf(allot.EInvalid, "'%s' is not a user or group.", k)
		}
	}
	return out, nil
}

// loadAssign reads the product, the picks and the options of an assign step.
func (s *Server) loadAssign(q *req, form bool) (*assignModel, error) {
	p, err := s.productOf(q)
	if err != nil {
		return nil, err
	}
	vals := q.r.URL.Query()
	if form {
		vals = q.r.PostForm
	}
	m := &assignModel{P: p, Q: strings.TrimSpace(vals.Get("q"))}
	// "add" are search results checked on the way: they join the picks.
	if m.Picks, err = s.resolvePicks(q.ctx(), q.tenant(), append(slices.Clone(vals["pick"]), vals["add"]...)); err != nil {
		return nil, err
	}
	on := vals["plan"]
	custom := vals.Get("options") == "1"
	for _, sp := range p.ServicePlans {
		m.Plans = append(m.Plans, panelPlan{ID: sp.ID, Name: planName(sp), On: !custom || containsFold(on, sp.ID)})
	}
	return m, nil
}

func (m *assignModel) disabledPlans() []string {
	var out []string
	for _, p := range m.Plans {
		if !p.On {
			out = append(out, p.ID)
		}
	}
	return out
}

// search finds users and groups whose names start with the search text,
// leaving out those already picked.
func (s *Server) search(q *req, m *assignModel) error {
	if m.Q == "" {
		return nil
	}
	picked := map[string]bool{}
	for _, p := range m.Picks {
		picked[p.Key] = true
	}
	if e, err := odata.ParseFilter("startswith(displayName,'" + strings.ReplaceAll(m.Q, "'", "''") + "')"); err == nil {
		groups, _, _, err := s.st.ListGroups(q.ctx(), q.tenant(), store.ListOptions{Filter: e, Top: 10})
		if err != nil {
			return err
		}
		for _, g := range groups {
			if !picked["g:"+g.GUID] {
				m.Results = append(m.Results, pick{Key: "g:" + g.GUID, Group: true, GUID: g.GUID, Name: g.DisplayName, Detail: "Group"})
			}
		}
	}
	users, err := s.st.SuggestUsers(q.ctx(), q.tenant(), m.Q, 15)
	if err != nil {
		return err
	}
	for _, u := range users {
		if !picked["u:"+u.GUID] {
			m.Results = append(m.Results, pick{Key: "u:" + u.GUID, GUID: u.GUID, Name: u.DisplayName, Detail: u.UserPrincipalName})
		}
	}
	return nil
}

func (s *Server) assignPick(q *req) error {
	m, err := s.loadAssign(q, false)
	if err != nil {
		return err
	}
	if err := s.search(q, m); err != nil {
		return err
	}
	return q.render(assignPage(q.view("Assign "+m.P.DisplayName, "licenses"), m, "pick"))
}

// assignPicker re-renders the picker (selected items and search results)
// as the person types or checks boxes; checked results join the selection.
func (s *Server) assignPicker(q *req) error {
	m, err := s.loadAssign(q, false)
	if err != nil {
		return err
	}
	if err := s.search(q, m); err != nil {
		return err
	}
	return q.render(picker(m))
}

func (s *Server) assignOptions(q *req) error {
	m, err := s.loadAssign(q, false)
	if err != nil {
		return err
	}
	if len(m.Picks) == 0 {
		m.Err = "Select at least one user or group."
		if err := s.search(q, m); err != nil {
			return err
		}
		return q.render(assignPage(q.view("Assign "+m.P.DisplayName, "licenses"), m, "pick"))
	}
	return q.render(assignPage(q.view("Assign "+m.P.DisplayName, "licenses"), m, "options"))
}

func (s *Server) assignReview(q *req) error {
	m, err := s.loadAssign(q, false)
	if err != nil {
		return err
	}
	if len(m.Picks) == 0 {
		m.Err = "Select at least one user or group."
		return q.render(assignPage(q.view("Assign "+m.P.DisplayName, "licenses"), m, "pick"))
	}
	if m.Preview, err = s.preview(q, m); err != nil {
		return err
	}
	return q.render(assignPage(q.view("Assign "+m.P.DisplayName, "licenses"), m, "review"))
}

// preview runs the whole assignment as a dry run (store.Preview of
// exactly what Assign applies) and says what it would do.
func (s *Server) preview(q *req, m *assignModel) (*previewModel, error) {
	add := []store.LicenseRequest{{SkuID: m.P.SkuID, DisabledPlans: m.disabledPlans()}}
	w, err := s.words(q)
	if err != nil {
		return nil, err
	}
	var failures []string
	a, t := q.p.Actor(), q.tenant()
	r, err := s.review(q, func(ctx context.Context) error {
		failures = nil
		for _, pk := range m.Picks {
			if pk.Group {
				if _, err := s.st.AssignGroupLicenses(ctx, a, t, pk.GUID, add, nil, true); err != nil {
					return err
				}
				continue
			}
			if _, err := s.st.AssignUserLicenses(ctx, a, t, pk.GUID, add, nil); err != nil {
				if !isUserError(err) {
					return err
				}
				failures = append(failures, pk.Name+": "+w.err(err, m.P.SkuID))
			}
		}
		return nil
	})
	if err != nil {
		if isUserError(err) {
			return &previewModel{reviewModel: &reviewModel{}, Blocked: true, Headline: "This assignment cannot be made: " + w.err(err, m.P.SkuID)}, nil
		}
		return nil, err
	}
	out := &previewModel{reviewModel: r, Failures: failures}
	s.headline(q, m, out)
	return out, nil
}

// headline says what the assignment does for its own product.
func (s *Server) headline(q *req, m *assignModel, out *previewModel) {
	var pp *store.PreviewProduct
	for i := range out.pv.Products {
		if out.pv.Products[i].SkuID == m.P.SkuID {
			pp = &out.pv.Products[i]
		}
	}
	total := out.pv.UsersEvaluated
	if pp == nil {
		out.Headline = fmt.Sprintf("Would license no one new: the %s already have %s or cannot get it.", plural(total, "user", "users"), m.P.SkuPartNumber)
		if total == 0 {
			out.Headline = "Would license no one: the selected groups have no members."
		}
		return
	}
	head := fmt.Sprintf("Would license %s of %s", num(pp.Gain), plural(total, "user", "users"))
	if groups := countGroups(m.Picks); groups > 0 {
		head = fmt.Sprintf("Would license %s of %s", num(pp.Gain), plural(total, "member", "members"))
		if groups < len(m.Picks) {
			head = fmt.Sprintf("Would license %s of %s (group members and users)", num(pp.Gain), plural(total, "person", "people"))
		}
	}
	var parts []string
	for _, code := range sortedKeys(pp.FailByCode) {
		parts = append(parts, num(pp.FailByCode[code])+" "+codeWords(code))
	}
	if len(parts) > 0 {
		head += "; " + strings.Join(parts, "; ")
	}
	if already := total - pp.Gain - pp.Fail; already > 0 {
		head += "; " + num(already) + " already have it"
	}
	out.Headline = head + "."
	out.Lines = append(out.Lines, fmt.Sprintf("Seats after the change: %s of %s in use.", num(pp.ConsumedUnitsAfter), num(pp.EnabledUnits)))
	if pp.Fail > 0 && pp.FailByCode[string(allot.ENoSeats)] > 0 {
		out.Lines = append(out.Lines, "Members who wait get a seat automatically, first come first served, when seats free up or more are bought.")
	}
	for _, id := range pp.SampleFail {
		if u, err := s.st.User(q.ctx(), q.tenant(), id); err == nil {
			out.Examples = append(out.Examples, u.DisplayName)
		}
	}
}

func countGroups(ps []pick) int {
	n := 0
	for _, p := range ps {
		if p.Group {
			n++
		}
	}
	return n
}

// assignConfirm applies the reviewed assignment. When the review showed
// losses, the person must have ticked the confirmation, and the change
// must still take exactly those licenses away; it then runs confirmed.
func (s *Server) assignConfirm(q *req) error {
	m, err := s.loadAssign(q, true)
	if err != nil {
		return err
	}
	if len(m.Picks) == 0 {
		m.Err = "Select at least one user or group."
		return q.render(assignPage(q.view("Assign "+m.P.DisplayName, "licenses"), m, "pick"))
	}
	confirm := q.lossConfirmed()
	if confirm {
		if m.Preview, err = s.preview(q, m); err != nil {
			return err
		}
		if msg := q.recheck(m.Preview.reviewModel); msg != "" {
			return s.assignReviewAgain(q, m, msg)
		}
	}
	add := []store.LicenseRequest{{SkuID: m.P.SkuID, DisabledPlans: m.disabledPlans()}}
	w, err := s.words(q)
	if err != nil {
		return err
	}
	for _, pk := range m.Picks {
		d := doneItem{Pick: pk}
		var err error
		if pk.Group {
			_, err = s.st.AssignGroupLicenses(q.ctx(), q.p.Actor(), q.tenant(), pk.GUID, add, nil, confirm)
			d.Text = "Assigned to the group; its members are being licensed now."
		} else {
			_, err = s.st.AssignUserLicenses(q.ctx(), q.p.Actor(), q.tenant(), pk.GUID, add, nil)
			d.Text = "Assigned."
		}
		switch {
		case err == nil:
			d.OK = true
		case isLossRefusal(err) && len(m.Done) == 0:
			// Nothing is changed yet: show who would lose what.
			return s.assignReviewAgain(q, m, msgLossRefused)
		case isUserError(err):
			d.Text = w.err(err, m.P.SkuID)
		default:
			return err
		}
		m.Done = append(m.Done, d)
	}
	return q.render(assignPage(q.view("Assign "+m.P.DisplayName, "licenses"), m, "done"))
}

// assignReviewAgain shows the review step again, computed now, with why.
func (s *Server) assignReviewAgain(q *req, m *assignModel, msg string) error {
	var err error
	if m.Preview, err = s.preview(q, m); err != nil {
		return err
	}
	m.Err = msg
	return q.renderStatus(http.StatusConflict, assignPage(q.view("Assign "+m.P.DisplayName, "licenses"), m, "review"))
}

// unassignModel is the Unassign flow of a product's Assigned users tab:
// the users selected (across pages), the review of who loses what, then
// one result per user.
type unassignModel struct {
	P       *allot.Product
	Users   []*allot.User
	Review  *reviewModel
	Done    []doneItem
	Failed  int
	Err     string
	Summary string
}

// unassign reviews, then removes in one batch, the product's direct
// assignment of the users selected on the Assigned users tab. A user whose
// other product needs this one keeps both and is told why, in words; a
// license from a group stays.
func (s *Server) unassign(q *req) error {
	p, err := s.productOf(q)
	if err != nil {
		return err
	}
	users, err := s.selectedUsers(q, q.r.PostForm["user"])
	if err != nil {
		return err
	}
	m := &unassignModel{P: p, Users: users}
	title := "Unassign " + p.DisplayName
	if len(users) == 0 {
		m.Err = "Select one or more users with a direct assignment first."
		return q.render(unassignPage(q.view(title, "licenses"), m))
	}
	a, t, req := q.p.Actor(), q.tenant(), sqlstore.BulkDirectRequest{Remove: []string{p.SkuID}}
	for _, u := range users {
		req.Users = append(req.Users, u.GUID)
	}
	if m.Review, err = s.review(q, func(ctx context.Context) error { _, err := s.st.BulkChangeDirect(ctx, a, t, req); return err }); err != nil {
		return err
	}
	if q.r.PostForm.Get("confirm") != "yes" {
		return q.render(unassignPage(q.view(title, "licenses"), m))
	}
	if m.Err = q.recheck(m.Review); m.Err != "" {
		return q.renderStatus(http.StatusConflict, unassignPage(q.view(title, "licenses"), m))
	}
	out, err := s.st.BulkChangeDirect(q.ctx(), a, t, req)
	if err != nil {
		return err
	}
	s.unassignReport(q, m, out)
	return q.render(unassignPage(q.view(title, "licenses"), m))
}

// unassignReport says, per user, what Unassign did.
func (s *Server) unassignReport(q *req, m *unassignModel, out []sqlstore.BulkDirectOutcome) {
	w := newWords([]*allot.Product{m.P})
	if all, err := s.words(q); err == nil {
		w = all
	}
	removed := 0
	for i, o := range out {
		d := doneItem{Pick: pick{GUID: m.Users[i].GUID, Name: m.Users[i].DisplayName}, OK: true, Text: "Unassigned."}
		switch {
		case o.NotFound:
			d.OK, d.Text = false, "This user no longer exists."
		case o.Code != "":
			d.OK, d.Text = false, w.err(&allot.Error{Code: o.Code, Message: o.Message, Target: o.Target})
		case o.NoDiff && o.FromGroup[m.P.SkuID] != "":
			d.OK, d.Text = false, "Not changed: the license comes from group "+o.FromGroup[m.P.SkuID]+", and a license from a group is never removed here."
		case o.NoDiff:
			d.OK, d.Text = false, "Not changed: the user has no direct assignment of "+m.P.DisplayName+"."
		default:
			removed++
		}
		if !d.OK {
			m.Failed++
		}
		m.Done = append(m.Done, d)
	}
	m.Summary = fmt.Sprintf("%s of %s unassigned, %s.", plural(removed, "license", "licenses"), m.P.DisplayName, plural(m.Failed, "failure", "failures"))
}
