package web

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/httpapi"
	"allot/licensing"
	"allot/odata"
	"allot/store"
)

// ---- Groups ----

type groupsModel struct {
	New      groupForm // the New group form, as typed
	Flash    string
	Q        string
	Groups   []*allot.Group
	Licenses map[int64][]string
	Total    int
	From     int
	After    int64
	Next     int64
}

func (s *Server) groups(q *req) error {
	m, err := s.loadGroups(q)
	if err != nil {
		return err
	}
	if q.htmx() && q.r.Header.Get("HX-Target") == "groups-table" {
		return q.render(groupsTable(m))
	}
	m.Flash = s.deletedFlash(q)
	return q.render(groupsPage(q.view("Groups", "groups"), m))
}

// loadGroups reads the page of groups the query asks for.
func (s *Server) loadGroups(q *req) (*groupsModel, error) {
	m := &groupsModel{Q: strings.TrimSpace(q.r.URL.Query().Get("q")), From: 1, Licenses: map[int64][]string{}}
	m.After, _ = strconv.ParseInt(q.r.URL.Query().Get("after"), 10, 64)
	if f, err := strconv.Atoi(q.r.URL.Query().Get("from")); err == nil && f > 0 && m.After > 0 {
		m.From = f
	}
	o := store.ListOptions{Top: PageSize, After: m.After, Count: true}
	if m.Q != "" {
		e, err := odata.ParseFilter("startswith(displayName,'" + strings.ReplaceAll(m.Q, "'", "''") + "')")
		if err != nil {
			return nil, allot.Errorf(allot.EInvalid, "Search for the start of a group name.")
		}
		o.Filter = e
	}
	var err error
	if m.Groups, m.Next, m.Total, err = s.st.ListGroups(q.ctx(), q.tenant(), o); err != nil {
		return nil, err
	}
	ids := make([]int64, len(m.Groups))
	for i, g := range m.Groups {
		ids[i] = g.ID
	}
	gls, err := s.st.GroupLicenses(q.ctx(), q.tenant(), ids)
	if err != nil {
		return nil, err
	}
	products, err := s.productsByID(q)
	if err != nil {
		return nil, err
	}
	for id, ls := range gls {
		for _, gl := range ls {
			if p := products[gl.ProductID]; p != nil {
				m.Licenses[id] = append(m.Licenses[id], p.DisplayName)
			}
		}
	}
	return m, nil
}

func (m *groupsModel) firstURL() string {
	if m.After == 0 {
		return ""
	}
	return query("/groups", "q", m.Q)
}

func (m *groupsModel) nextURL() string {
	if m.Next == 0 {
		return ""
	}
	return query("/groups", "q", m.Q, "after", i64(m.Next), "from", strconv.Itoa(m.From+len(m.Groups)))
}

func (s *Server) productsByID(q *req) (map[int64]*allot.Product, error) {
	ps, err := s.st.Products(q.ctx(), q.tenant())
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*allot.Product, len(ps))
	for _, p := range ps {
		out[p.ID] = p
	}
	return out, nil
}

// ---- one group ----

type groupModel struct {
	G        *allot.Group
	Licenses []groupLicense
	Summary  *store.LicenseSummary
	Members  []groupMember
	After    int64 // members page cursor
	Next     int64
	All      bool // members of nested groups listed too
	Errors   []memberError
	MoreErrs bool
	ErrAfter int64 // errors page cursor
	ErrNext  int64
	ErrFrom  int              // the position of the page's first member with errors
	Products []*allot.Product // products the group does not assign yet
	Poll     string           // htmx polling interval while processing, "" when done
	// RuleMembers is a dynamic group's direct member count.
	RuleMembers int
	// Done of Total members are processed (0 of 0: no worker is at it).
	Done, Total int
	Rename      groupForm // the rename form, as typed after a refusal
	MemberQ     string    // a search for members to add (without script)
	Find        string    // a search among the members (and those with errors)
	Found       []memberResult
	MemberErr   string // why a member could not be added
	Flash       string
	Err         string
}

type groupLicense struct {
	P        *allot.Product
	PlansOn  []string
	PlansOff []string
}

type groupMember struct {
	U      *allot.User
	G      *allot.Group
	Status string // the member's licenses from this group, in words
	OK     bool
	Bad    bool
}

type memberError struct {
	U        *allot.User
	Problems []memberProblem
}

// memberProblem is one product a member does not get from the group, and why.
type memberProblem struct {
	Product, Reason string
}

func (s *Server) loadGroup(q *req) (*groupModel, error) {
	g, err := s.st.Group(q.ctx(), q.tenant(), q.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	m := &groupModel{G: g}
	m.After, _ = strconv.ParseInt(q.r.URL.Query().Get("after"), 10, 64)
	products, err := s.productsByID(q)
	if err != nil {
		return nil, err
	}
	gls, err := s.st.GroupLicenses(q.ctx(), q.tenant(), []int64{g.ID})
	if err != nil {
		return nil, err
	}
	assigned := map[int64]bool{}
	for _, gl := range gls[g.ID] {
		p := products[gl.ProductID]
		if p == nil {
			continue
		}
		assigned[p.ID] = true
		l := groupLicense{P: p}
		for _, sp := range p.ServicePlans {
			if containsFold(gl.DisabledPlans, sp.ID) {
				l.PlansOff = append(l.PlansOff, planName(sp))
			} else {
				l.PlansOn = append(l.PlansOn, planName(sp))
			}
		}
		m.Licenses = append(m.Licenses, l)
	}
	for _, p := range products {
		if !assigned[p.ID] {
			m.Products = append(m.Products, p)
		}
	}
	sortProducts(m.Products)
	if g.Dynamic() {
		if m.RuleMembers, err = s.st.DirectMemberCount(q.ctx(), g.ID); err != nil {
			return nil, err
		}
	}
	if q.perms.Has(httpapi.PermReportsRead) {
		if m.Summary, err = s.st.GroupLicenseSummary(q.ctx(), q.tenant(), g.GUID); err != nil {
			return nil, err
		}
	}
	if g.ProcessingState != allot.ProcessingComplete && g.ProcessingState != "" {
		every := s.PollInterval
		if m.Summary != nil && m.Summary.Members > 10_000 {
			every = max(every, 3*time.Second) // each poll counts every member
		}
		m.Poll = "every " + every.String()
		if m.Done, m.Total, err = s.st.GroupProgress(q.ctx(), g.ID); err != nil {
			return nil, err
		}
	}
	// Direct members (or every member, nested groups' too), with what this
	// group gives each user.
	list := s.st.Members
	if m.All = q.r.URL.Query().Get("members") == "all"; m.All {
		list = s.st.TransitiveMembers
	}
	if m.Find = strings.TrimSpace(q.r.URL.Query().Get("find")); m.Find != "" {
		list = s.findMembers(m.Find)
	}
	members, next, err := list(q.ctx(), q.tenant(), g.GUID, m.After, PageSize)
	if err != nil {
		return nil, err
	}
	m.Next = next
	var uids []int64
	for _, mb := range members {
		if mb.User != nil {
			uids = append(uids, mb.User.ID)
		}
	}
	lic, err := s.st.UserLicenses(q.ctx(), q.tenant(), uids)
	if err != nil {
		return nil, err
	}
	all := make([]*allot.Product, 0, len(products))
	for _, p := range products {
		all = append(all, p)
	}
	w := newWords(all)
	for _, mb := range members {
		gm := groupMember{U: mb.User, G: mb.Group}
		if mb.User != nil && len(m.Licenses) > 0 {
			gm.Status, gm.OK, gm.Bad = memberStatus(g, lic[mb.User.ID], w)
		}
		m.Members = append(m.Members, gm)
	}
	// Members with license errors from this group, with the reasons (the
	// summary says when there are none, which saves walking the members).
	if m.Summary != nil && m.Summary.NotLicensed == 0 {
		return m, nil
	}
	m.ErrAfter, _ = strconv.ParseInt(q.r.URL.Query().Get("errafter"), 10, 64)
	m.ErrFrom = 1
	if f, err := strconv.Atoi(q.r.URL.Query().Get("errfrom")); err == nil && f > 0 && m.ErrAfter > 0 {
		m.ErrFrom = f
	}
	m.Errors, m.ErrNext, err = s.memberErrors(q, g, w, m.Find, m.ErrAfter, PageSize)
	if err != nil {
		return nil, err
	}
	m.MoreErrs = m.ErrNext != 0
	return m, nil
}

// memberErrors returns a page of the group's members with license errors
// from it (with find, those whose names start with it): one entry per member, with one reason per product (a product
// that failed only because another did is named when nothing else is),
// and the cursor of the next page (0 at the end).
func (s *Server) memberErrors(q *req, g *allot.Group, w *words, find string, after int64, top int) ([]memberError, int64, error) {
	var bad []*allot.User
	var next int64
	var err error
	if find != "" {
		bad, next, err = s.st.FindGroupMembers(q.ctx(), q.tenant(), g.GUID, find, true, after, top)
	} else {
		bad, next, err = s.st.GroupMembersWithErrors(q.ctx(), q.tenant(), g.GUID, after, top)
	}
	if err != nil {
		return nil, 0, err
	}
	ids := make([]int64, len(bad))
	for i, u := range bad {
		ids[i] = u.ID
	}
	blic, err := s.st.UserLicenses(q.ctx(), q.tenant(), ids)
	if err != nil {
		return nil, 0, err
	}
	out := make([]memberError, 0, len(bad))
	for _, u := range bad {
		me := memberError{U: u}
		for _, other := range []bool{false, true} {
			for _, v := range blic[u.ID] {
				if v.Source == g.ID && v.State != allot.StateActive && v.Code != "" && (other || v.Code != allot.EOtherProductFailed) {
					me.Problems = append(me.Problems, memberProblem{Product: w.name(v.Product.SkuPartNumber), Reason: w.reason(v.Code, v.Product)})
				}
			}
			if len(me.Problems) > 0 {
				break
			}
		}
		out = append(out, me)
	}
	return out, next, nil
}

// groupErrorsCSV writes every member with a license error from the group
// as CSV: one line per member and product, with the reason in words. It
// reads the members a page of 2,000 at a time.
func (s *Server) groupErrorsCSV(q *req) error {
	g, err := s.st.Group(q.ctx(), q.tenant(), q.r.PathValue("id"))
	if err != nil {
		return err
	}
	w, err := s.words(q)
	if err != nil {
		return err
	}
	h := q.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="license-errors.csv"`)
	cw := csv.NewWriter(q.w)
	cw.Write([]string{"Display name", "User name", "Product", "Reason"})
	for after := int64(0); ; {
		page, next, err := s.memberErrors(q, g, w, "", after, 2000)
		if err != nil {
			return err
		}
		for _, me := range page {
			for _, p := range me.Problems {
				cw.Write([]string{csvSafe(me.U.DisplayName), csvSafe(me.U.UserPrincipalName), p.Product, p.Reason})
			}
		}
		if cw.Flush(); cw.Error() != nil {
			return errWritten
		}
		if next == 0 {
			return nil
		}
		after = next
	}
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// memberStatus says what the group gives one user: every license it
// assigns, or why not.
func memberStatus(g *allot.Group, views []store.LicenseView, w *words) (string, bool, bool) {
	active, total := 0, 0
	var problem string
	var waiting bool
	for _, v := range views {
		if v.Source != g.ID {
			continue
		}
		total++
		if v.State == allot.StateActive {
			active++
			continue
		}
		if v.Code != "" && (problem == "" || v.Code != allot.EOtherProductFailed) {
			problem = w.reason(v.Code, v.Product)
			waiting = licensing.IsWaiting(v.Code)
		}
	}
	switch {
	case problem != "" && waiting:
		return "No license: waiting for a seat", false, true
	case problem != "":
		return "No license: " + problem, false, true
	case total > 0 && active == total:
		return "Has license", true, false
	}
	return "Not processed yet", false, false
}

func (s *Server) group(q *req) error {
	m, err := s.loadGroup(q)
	if err != nil {
		return err
	}
	m.Flash = ruleFlash(q, m.G)
	if f := s.groupFlash(q, m.G); f != "" {
		m.Flash = f
	}
	if m.MemberQ = strings.TrimSpace(q.r.URL.Query().Get("mq")); m.MemberQ != "" && q.perms.Has(httpapi.PermUsersRead|httpapi.PermGroupsWrite) {
		if m.Found, err = s.memberSearch(q, m.G, m.MemberQ); err != nil {
			return err
		}
	}
	if id := q.r.URL.Query().Get("removed"); id != "" {
		// The redirect carries the product's id, not words (see roleFlash).
		if p, err := s.st.Product(q.ctx(), q.tenant(), id); err == nil {
			m.Flash = "Removed " + p.DisplayName + " from the group; its members are being updated."
		}
	}
	return q.render(groupPage(q.view(m.G.DisplayName, "groups"), m))
}

// groupStatus is the live part of the group page, polled while the group
// is processed.
func (s *Server) groupStatus(q *req) error {
	m, err := s.loadGroup(q)
	if err != nil {
		return err
	}
	return q.render(groupLive(q.view("", "groups"), m))
}

// removeModel is the review of removing a product from a group.
type removeModel struct {
	G      *allot.Group
	P      *allot.Product
	Review *reviewModel
	Err    string
}

// loadRemove reads the group and product of a removal (the sku from the
// query or the form) and reviews the removal.
func (s *Server) loadRemove(q *req, sku string) (*removeModel, error) {
	g, err := s.st.Group(q.ctx(), q.tenant(), q.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	p, err := s.st.Product(q.ctx(), q.tenant(), sku)
	if err != nil {
		return nil, err
	}
	m := &removeModel{G: g, P: p}
	a, t := q.p.Actor(), q.tenant()
	m.Review, err = s.review(q, func(ctx context.Context) error {
		_, err := s.st.AssignGroupLicenses(ctx, a, t, g.GUID, nil, []string{p.SkuID}, true)
		return err
	})
	return m, err
}

// removeGroupLicenseReview shows what removing a product from a group
// would do, losses first, before anything changes.
func (s *Server) removeGroupLicenseReview(q *req) error {
	m, err := s.loadRemove(q, q.r.URL.Query().Get("sku"))
	if err != nil {
		return err
	}
	return q.render(groupRemovePage(q.view("Remove "+m.P.DisplayName, "groups"), m))
}

// removeGroupLicense removes a product from a group after its review. The
// removal is reviewed again now: it must take away exactly the licenses
// the person saw, and, when it takes any, the person must have confirmed.
func (s *Server) removeGroupLicense(q *req) error {
	m, err := s.loadRemove(q, q.r.PostForm.Get("sku"))
	if err != nil {
		return err
	}
	if msg := q.recheck(m.Review); msg != "" {
		m.Err = msg
		return q.renderStatus(http.StatusConflict, groupRemovePage(q.view("Remove "+m.P.DisplayName, "groups"), m))
	}
	if _, err := s.st.AssignGroupLicenses(q.ctx(), q.p.Actor(), q.tenant(), m.G.GUID, nil, []string{m.P.SkuID}, m.Review.NeedsConfirm()); err != nil {
		if !isLossRefusal(err) {
			return err
		}
		if m, err = s.loadRemove(q, m.P.SkuID); err != nil {
			return err
		}
		m.Err = msgLossRefused
		return q.renderStatus(http.StatusConflict, groupRemovePage(q.view("Remove "+m.P.DisplayName, "groups"), m))
	}
	http.Redirect(q.w, q.r, query("/groups/"+m.G.GUID, "removed", m.P.SkuID), http.StatusSeeOther)
	return nil
}

// groupAssign starts the Assign flow of a product for this group.
func (s *Server) groupAssign(q *req) error {
	g, err := s.st.Group(q.ctx(), q.tenant(), q.r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := s.st.Product(q.ctx(), q.tenant(), q.r.URL.Query().Get("sku"))
	if err != nil {
		return err
	}
	http.Redirect(q.w, q.r, query("/licenses/"+p.SkuID+"/assign/options", "pick", "g:"+g.GUID), http.StatusSeeOther)
	return nil
}

func (m *groupModel) membersURL(after int64) string {
	return query("/groups/"+m.G.GUID, "after", afterParam(after), "members", m.allParam(), "find", m.Find)
}

// findMembers lists the group's members whose names start with text, as
// a page of members.
func (s *Server) findMembers(text string) func(ctx context.Context, tenantID int64, ref string, after int64, top int) ([]store.Member, int64, error) {
	return func(ctx context.Context, tenantID int64, ref string, after int64, top int) ([]store.Member, int64, error) {
		users, next, err := s.st.FindGroupMembers(ctx, tenantID, ref, text, false, after, top)
		out := make([]store.Member, len(users))
		for i, u := range users {
			out[i] = store.Member{User: u}
		}
		return out, next, err
	}
}

// toggleURL switches between direct members and every member.
func (m *groupModel) toggleURL() string {
	if m.All {
		return "/groups/" + m.G.GUID
	}
	return query("/groups/"+m.G.GUID, "members", "all")
}

func (m *groupModel) statusURL() string {
	return query("/groups/"+m.G.GUID+"/status", "after", afterParam(m.After), "members", m.allParam(), "find", m.Find)
}

func (m *groupModel) allParam() string {
	if m.All {
		return "all"
	}
	return ""
}

func afterParam(n int64) string {
	if n == 0 {
		return ""
	}
	return i64(n)
}
