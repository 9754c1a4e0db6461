package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"allot"
	"allot/odata"
	"allot/store"
	"allot/store/sqlstore"
)

// Graph's delta queries on users and groups (docs/api.md, "Delta queries";
// the feed behind them: docs/design.md, "Change feed"). A first call pages
// through every current object and ends with an @odata.deltaLink; a call
// with its $deltatoken answers the objects changed since, deleted ones as
// {"id": …, "@removed": {"reason": …}}. Tokens are opaque skip tokens
// (odata.EncodeSkipToken) that carry the list, the tenant, the feed
// positions, the page's cursor and $select.

// codeSyncState is Graph's error code for a delta token it cannot continue.
const codeSyncState allot.Code = "syncStateNotFound"

// Page sizes: Graph's default (and largest, for users and groups) page of a
// delta is 200 objects; Prefer: odata.maxpagesize asks for another, up to
// the server's MaxTop. A groups page lists at most memberLinksPerObject
// member links per object of the page size.
const (
	deltaPageSize        = 200
	memberLinksPerObject = 5
	maxMemberLinks       = 1000
)

const tokenVersion = "d1"

func (s *Server) deltaRoutes() {
	// delta() is how Microsoft's SDKs (Kiota) spell the function.
	for _, fn := range []string{"delta", "delta()"} {
		s.handle("GET /v1.0/users/"+fn, PermUsersRead, s.delta("users"))
		s.handle("GET /v1.0/groups/"+fn, PermGroupsRead, s.delta("groups"))
	}
}

// deltaState is where a delta call stands: the first pass through every
// object (mode "init") or the changes in the feed window [from, to)
// (mode "changes"), with the page's cursor.
type deltaState struct {
	list   string
	mode   string
	from   int64
	to     int64
	after  int64 // init: users — last user id; groups — first group id of the page
	mseq   int64 // init, groups: the first group's members after this place
	cursor *sqlstore.FeedCursor
	sel    []string
}

func (d *deltaState) skipToken(tenant string) string {
	c := d.cursor
	if c == nil {
		c = &sqlstore.FeedCursor{Kind: -1}
	}
	return odata.EncodeSkipToken(tokenVersion, d.list, tenant, d.mode, i64s(d.from), i64s(d.to), i64s(d.after), i64s(d.mseq),
		i64s(c.Seq), strconv.Itoa(c.Kind), c.Object, c.Member, strings.Join(d.sel, ","), i64s(c.ObjectID), i64s(c.MemberID))
}

func deltaToken(list, tenant string, pos int64, sel []string) string {
	return odata.EncodeSkipToken(tokenVersion, list, tenant, "token", i64s(pos), strings.Join(sel, ","))
}

func i64s(n int64) string { return strconv.FormatInt(n, 10) }

// badDeltaToken is the answer to a token that is not one allot gave for this
// list and tenant.
func badDeltaToken(name string) error {
	return allot.Errorf(allot.EInvalid, "%s is not valid for this delta query; follow @odata.nextLink and @odata.deltaLink as returned, or start again without a token.", name)
}

// resync is the answer to a token whose changes allot no longer has.
func resync() error {
	return allot.Errorf(codeSyncState, "The sync state generation is not found. The delta token is expired and data must be synchronized again.")
}

// parseDeltaState decodes $skiptoken or $deltatoken of a delta call on list.
func parseDeltaState(list, tenant, skip, delta string) (*deltaState, error) {
	if skip != "" {
		k, err := odata.DecodeSkipToken(skip)
		if err != nil || len(k) != 15 || k[0] != tokenVersion || k[1] != list || k[3] == "token" {
			return nil, badDeltaToken("$skiptoken")
		}
		if k[2] != tenant {
			return nil, badDeltaToken("$skiptoken")
		}
		d := &deltaState{list: list, mode: k[3]}
		nums := make([]int64, 7)
		for i, v := range []string{k[4], k[5], k[6], k[7], k[8], k[13], k[14]} {
			if nums[i], err = strconv.ParseInt(v, 10, 64); err != nil {
				return nil, badDeltaToken("$skiptoken")
			}
		}
		kind, err := strconv.Atoi(k[9])
		if err != nil || (d.mode != "init" && d.mode != "changes") {
			return nil, badDeltaToken("$skiptoken")
		}
		d.from, d.to, d.after, d.mseq = nums[0], nums[1], nums[2], nums[3]
		if kind >= 0 {
			d.cursor = &sqlstore.FeedCursor{Seq: nums[4], Kind: kind, ObjectID: nums[5], MemberID: nums[6], Object: k[10], Member: k[11]}
		}
		d.sel = splitSelect(k[12])
		return d, nil
	}
	k, err := odata.DecodeSkipToken(delta)
	if err != nil || len(k) != 6 || k[0] != tokenVersion || k[1] != list || k[3] != "token" || k[2] != tenant {
		return nil, badDeltaToken("$deltatoken")
	}
	pos, err := strconv.ParseInt(k[4], 10, 64)
	if err != nil {
		return nil, badDeltaToken("$deltatoken")
	}
	return &deltaState{list: list, mode: "changes", from: pos, sel: splitSelect(k[5])}, nil
}

func splitSelect(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// takeDeltaOptions removes $skiptoken and $deltatoken (with or without $)
// from the query and returns them; it refuses the options a delta does not
// take.
func takeDeltaOptions(vals url.Values) (skip, delta string, err error) {
	for k, v := range vals {
		base := strings.ToLower(strings.TrimPrefix(k, "$"))
		switch base {
		case "skiptoken", "deltatoken":
			if len(v) != 1 || v[0] == "" || (base == "skiptoken" && skip != "") || (base == "deltatoken" && delta != "") {
				return "", "", allot.Errorf(allot.EInvalid, "$%s: give it once, as the previous response's link has it.", base)
			}
			if base == "skiptoken" {
				skip = v[0]
			} else {
				delta = v[0]
			}
			delete(vals, k)
		case "top", "filter", "orderby", "search", "count", "expand":
			return "", "", allot.Errorf(allot.EUnsupportedQuery, "%s is not supported on a delta query; allot's delta takes $select, and the page size from the Prefer: odata.maxpagesize header.", k)
		}
	}
	if skip != "" && delta != "" {
		return "", "", allot.Errorf(allot.EInvalid, "Give $skiptoken or $deltatoken, not both.")
	}
	return skip, delta, nil
}

// maxPageSize returns the page size a delta request asks for with Prefer:
// odata.maxpagesize, and whether it asked.
func (s *Server) maxPageSize(r *http.Request) (int, bool) {
	for _, h := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(h, ",") {
			name, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "odata.maxpagesize") {
				continue
			}
			n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(v), `"`))
			if err != nil || n <= 0 {
				continue
			}
			return min(n, max(s.limits.MaxTop, 1)), true
		}
	}
	return deltaPageSize, false
}

// deltaPage is one page of a delta answer.
type deltaPage struct {
	items []map[string]any
	next  *deltaState // nil: the last page, with the deltaLink to
	to    int64
}

func (s *Server) delta(list string) handler {
	return func(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
		vals := r.URL.Query()
		skip, dtok, err := takeDeltaOptions(vals)
		if err != nil {
			return err
		}
		q, err := odata.ParseQuery(vals, 1, 1)
		if err != nil {
			return err
		}
		size, asked := s.maxPageSize(r)
		var d *deltaState
		switch {
		case strings.EqualFold(dtok, "latest"):
			to, err := s.st.DeltaWatermark(r.Context(), p.Tenant.ID)
			if err != nil {
				return err
			}
			d = &deltaState{list: list, mode: "changes", from: to, to: to}
		case skip != "" || dtok != "":
			if d, err = parseDeltaState(list, p.Tenant.GUID, skip, dtok); err != nil {
				return err
			}
		default:
			d = &deltaState{list: list, mode: "init", mseq: -1}
		}
		if q.Select != nil || (skip == "" && dtok == "") {
			d.sel = cleanSelect(q.Select)
		}
		if err := checkDeltaSelect(list, d.sel); err != nil {
			return err
		}
		if err := s.checkDeltaWindow(r, p, d, skip == "" && dtok != "" && !strings.EqualFold(dtok, "latest")); err != nil {
			return err
		}
		var pg *deltaPage
		switch {
		case d.mode == "init" && list == "users":
			pg, err = s.usersInitPage(r, p, d, size)
		case d.mode == "init":
			pg, err = s.groupsInitPage(r, p, d, size)
		case list == "users":
			pg, err = s.usersChangesPage(r, p, d, size)
		default:
			pg, err = s.groupsChangesPage(r, p, d, size)
		}
		if err != nil {
			return err
		}
		if asked {
			w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(size))
		}
		s.writeDelta(w, r, p, d, pg)
		return nil
	}
}

// checkDeltaWindow checks the token's feed positions against what the feed
// still has (floor) and can answer (watermark), and on the first page of a
// round of changes (fresh) fixes the window's end. The first page of a
// first pass fixes the position its deltaLink will hold: every change
// below it is visible to the pages that follow.
func (s *Server) checkDeltaWindow(r *http.Request, p *store.Principal, d *deltaState, fresh bool) error {
	if d.mode == "init" && d.after == 0 && d.mseq < 0 && d.to == 0 {
		to, err := s.st.DeltaWatermark(r.Context(), p.Tenant.ID)
		d.to = to
		return err
	}
	if d.mode != "changes" {
		return nil
	}
	floor, err := s.st.DeltaFloor(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	if d.from < floor {
		return resync()
	}
	if !fresh {
		return nil
	}
	to, err := s.st.DeltaWatermark(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	if d.from > to {
		// Not a position of this database (a token from before a restore).
		return resync()
	}
	d.to = to
	return nil
}

func cleanSelect(sel []string) []string {
	var out []string
	for _, f := range sel {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// checkDeltaSelect refuses a $select property the list's type does not
// have; groups/delta also takes members (members@delta).
func checkDeltaSelect(list string, sel []string) error {
	if list == "users" {
		return checkSelect(sel, "user")
	}
	var rest []string
	for _, f := range sel {
		if !strings.EqualFold(f, "members") {
			rest = append(rest, f)
		}
	}
	return checkSelect(rest, "group")
}

// withMembers tells whether a groups delta lists members@delta: without
// $select, or when $select names members.
func withMembers(sel []string) bool {
	if len(sel) == 0 {
		return true
	}
	for _, f := range sel {
		if strings.EqualFold(f, "members") {
			return true
		}
	}
	return false
}

func (s *Server) writeDelta(w http.ResponseWriter, r *http.Request, p *store.Principal, d *deltaState, pg *deltaPage) {
	ctx := s.baseURL(r) + "/v1.0/$metadata#" + d.list
	if len(d.sel) > 0 {
		ctx += "(" + strings.Join(d.sel, ",") + ")"
	}
	out := map[string]any{"@odata.context": ctx}
	vals := make([]map[string]any, len(pg.items))
	for i, it := range pg.items {
		vals[i] = deltaSelect(it, d.sel)
	}
	out["value"] = vals
	link := s.baseURL(r) + r.URL.Path + "?"
	if pg.next != nil {
		out["@odata.nextLink"] = link + "$skiptoken=" + url.QueryEscape(pg.next.skipToken(p.Tenant.GUID))
	} else {
		out["@odata.deltaLink"] = link + "$deltatoken=" + url.QueryEscape(deltaToken(d.list, p.Tenant.GUID, pg.to, d.sel))
	}
	writeJSON(w, http.StatusOK, out)
}

// deltaSelect keeps the selected properties of an item, and always its id,
// @removed and members@delta.
func deltaSelect(m map[string]any, sel []string) map[string]any {
	if len(sel) == 0 {
		return m
	}
	out := selectFields(m, sel)
	for _, k := range []string{"id", "@removed", "members@delta"} {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

func removedItem(typ, id string, reason int) map[string]any {
	why := "deleted"
	if reason == sqlstore.RemovedChanged {
		why = "changed"
	}
	return map[string]any{"@odata.type": "#microsoft.graph." + typ, "id": id, "@removed": map[string]any{"reason": why}}
}

func (s *Server) usersInitPage(r *http.Request, p *store.Principal, d *deltaState, size int) (*deltaPage, error) {
	users, next, _, err := s.st.ListUsers(r.Context(), p.Tenant.ID, store.ListOptions{Top: size, After: d.after})
	if err != nil {
		return nil, err
	}
	items, err := s.userJSON(r, p, users)
	if err != nil {
		return nil, err
	}
	pg := &deltaPage{items: items, to: d.to}
	if next != 0 {
		n := *d
		n.after = next
		pg.next = &n
	}
	return pg, nil
}

// groupsInitPage answers a page of the first pass through the groups: up to
// size groups, each with its members in members@delta, at most a page's
// budget of member links in all. A group with more members than the budget
// leaves it ends the page and comes again on the next with the rest.
func (s *Server) groupsInitPage(r *http.Request, p *store.Principal, d *deltaState, size int) (*deltaPage, error) {
	after := max(d.after-1, 0)
	groups, next, _, err := s.st.ListGroups(r.Context(), p.Tenant.ID, store.ListOptions{Top: size, After: after})
	if err != nil {
		return nil, err
	}
	budget := min(size*memberLinksPerObject, maxMemberLinks)
	var refs []sqlstore.MemberRef
	members := withMembers(d.sel)
	if members && len(groups) > 0 {
		ids := make([]int64, len(groups))
		for i, g := range groups {
			ids[i] = g.ID
		}
		if refs, err = s.st.MemberRefs(r.Context(), ids, d.after, d.mseq, budget+1); err != nil {
			return nil, err
		}
	}
	pg := &deltaPage{to: d.to}
	var cont *deltaState
	if len(refs) > budget {
		last, extra := refs[budget-1], refs[budget]
		refs = refs[:budget]
		cont = &deltaState{list: d.list, mode: "init", to: d.to, sel: d.sel}
		if extra.GroupID == last.GroupID {
			cont.after, cont.mseq = last.GroupID, last.Seq
		} else {
			cont.after, cont.mseq = extra.GroupID, -1
		}
		var keep []*allot.Group
		for _, g := range groups {
			if g.ID < cont.after || (g.ID == cont.after && cont.mseq >= 0) {
				keep = append(keep, g)
			}
		}
		groups = keep
	} else if next != 0 {
		cont = &deltaState{list: d.list, mode: "init", to: d.to, sel: d.sel, after: next + 1, mseq: -1}
	}
	items, err := s.groupJSON(r, p, groups)
	if err != nil {
		return nil, err
	}
	byGroup := map[int64][]map[string]any{}
	for _, m := range refs {
		byGroup[m.GroupID] = append(byGroup[m.GroupID], memberLink(m.Type, m.GUID, 0))
	}
	for i, g := range groups {
		if members {
			items[i]["members@delta"] = nonNilLinks(byGroup[g.ID])
		}
	}
	pg.items, pg.next = items, cont
	return pg, nil
}

func nonNilLinks(l []map[string]any) []map[string]any {
	if l == nil {
		return []map[string]any{}
	}
	return l
}

func memberLink(typ int, guid string, removed int) map[string]any {
	t := "#microsoft.graph.user"
	if typ == 1 {
		t = "#microsoft.graph.group"
	}
	m := map[string]any{"@odata.type": t, "id": guid}
	if removed != sqlstore.Present {
		m["@removed"] = map[string]any{"reason": "deleted"}
	}
	return m
}

// usersChangesPage answers a page of the users changed in the window: each
// with its current properties, or as removed.
func (s *Server) usersChangesPage(r *http.Request, p *store.Principal, d *deltaState, size int) (*deltaPage, error) {
	rows, err := s.st.FeedChanges(r.Context(), p.Tenant.ID, sqlstore.FeedUsers, d.from, d.to, d.cursor, size+1)
	if err != nil {
		return nil, err
	}
	pg := &deltaPage{to: d.to}
	if len(rows) > size {
		rows = rows[:size]
		n := *d
		c := rows[len(rows)-1].Cursor()
		n.cursor = &c
		pg.next = &n
	}
	var guids []string
	for _, c := range rows {
		if c.Removed == sqlstore.Present {
			guids = append(guids, c.Object)
		}
	}
	found, err := s.st.UsersByGUID(r.Context(), p.Tenant.ID, guids)
	if err != nil {
		return nil, err
	}
	var users []*allot.User
	for _, g := range guids {
		if u := found[g]; u != nil {
			users = append(users, u)
		}
	}
	rendered, err := s.userJSON(r, p, users)
	if err != nil {
		return nil, err
	}
	byGUID := make(map[string]map[string]any, len(users))
	for i, u := range users {
		byGUID[u.GUID] = rendered[i]
	}
	for _, c := range rows {
		switch {
		case c.Removed != sqlstore.Present:
			pg.items = append(pg.items, removedItem("user", c.Object, c.Removed))
		case byGUID[c.Object] != nil:
			// A user deleted since is answered by its removal, later.
			pg.items = append(pg.items, byGUID[c.Object])
		}
	}
	return pg, nil
}

// groupsChangesPage answers a page of the groups changed in the window:
// each group once per page, with its current properties (or as removed)
// and, when members are listed, the members it gained and lost in
// members@delta. A page holds up to size groups and the page's budget of
// feed rows; a group with more member changes comes again on the next page.
func (s *Server) groupsChangesPage(r *http.Request, p *store.Principal, d *deltaState, size int) (*deltaPage, error) {
	budget := min(size*memberLinksPerObject, maxMemberLinks)
	rows, err := s.st.FeedChanges(r.Context(), p.Tenant.ID, sqlstore.FeedGroups, d.from, d.to, d.cursor, budget+1)
	if err != nil {
		return nil, err
	}
	more := len(rows) > budget
	if more {
		rows = rows[:budget]
	}
	var order []string
	seen := map[string]bool{}
	used := 0
	for _, c := range rows {
		if !seen[c.Object] {
			if len(order) == size {
				more = true
				break
			}
			seen[c.Object] = true
			order = append(order, c.Object)
		}
		used++
	}
	rows = rows[:used]
	pg := &deltaPage{to: d.to}
	if more {
		n := *d
		c := rows[len(rows)-1].Cursor()
		n.cursor = &c
		pg.next = &n
	}
	found, err := s.st.GroupsByGUID(r.Context(), p.Tenant.ID, order)
	if err != nil {
		return nil, err
	}
	var groups []*allot.Group
	for _, g := range order {
		if x := found[g]; x != nil {
			groups = append(groups, x)
		}
	}
	rendered, err := s.groupJSON(r, p, groups)
	if err != nil {
		return nil, err
	}
	byGUID := make(map[string]map[string]any, len(groups))
	for i, g := range groups {
		byGUID[g.GUID] = rendered[i]
	}
	removed := map[string]int{}
	links := map[string][]map[string]any{}
	for _, c := range rows {
		switch c.Kind {
		case sqlstore.ChangeGroup:
			if c.Removed != sqlstore.Present {
				removed[c.Object] = c.Removed
			}
		case sqlstore.ChangeMember:
			links[c.Object] = append(links[c.Object], memberLink(c.MemberType, c.Member, c.Removed))
		}
	}
	members := withMembers(d.sel)
	for _, g := range order {
		switch {
		case removed[g] != sqlstore.Present:
			pg.items = append(pg.items, removedItem("group", g, removed[g]))
		case byGUID[g] != nil:
			it := byGUID[g]
			if members && len(links[g]) > 0 {
				it["members@delta"] = links[g]
			}
			pg.items = append(pg.items, it)
		}
	}
	return pg, nil
}
