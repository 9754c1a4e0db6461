package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"allot"
	"allot/odata"
	"allot/store"
)

// advancedHint is Graph's message for an operator that needs the advanced
// query parameters.
const advancedHint = "Operator '%s' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"

// eventual tells whether the request sends ConsistencyLevel: eventual.
func eventual(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get("ConsistencyLevel")), "eventual")
}

// advancedOnly names the first operator of e that Graph answers only in an
// advanced query (ne, not, endsWith, /$count), or "".
func advancedOnly(e odata.Expr) string {
	switch x := e.(type) {
	case *odata.Compare:
		if x.Op == odata.OpNe {
			return "ne"
		}
	case *odata.Not:
		return "not"
	case *odata.EndsWith:
		return "endsWith"
	case *odata.Count:
		return "$count"
	case *odata.And:
		return firstOf(advancedOnly(x.Left), advancedOnly(x.Right))
	case *odata.Or:
		return firstOf(advancedOnly(x.Left), advancedOnly(x.Right))
	case *odata.Any:
		return advancedOnly(x.Body)
	}
	return ""
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// sortNames are the $orderby properties per list, in Graph's spelling.
var sortNames = map[string][]string{
	"users":  {"displayName", "userPrincipalName"},
	"groups": {"displayName"},
}

// directoryList parses the options of GET /users or /groups with Graph's
// rules: $search needs ConsistencyLevel: eventual; ne, not, endsWith,
// /$count and $filter with $orderby need it and $count=true; $orderby takes
// one of the sortable properties.
// A /$count segment counts as $count=true.
func (s *Server) directoryList(r *http.Request, list string, segment bool) (odata.Query, store.ListOptions, error) {
	vals, expand, err := takeExpand(r, list)
	if err != nil {
		return odata.Query{}, store.ListOptions{}, err
	}
	q, err := odata.ParseQuery(vals, s.limits.DefaultTop, s.limits.MaxTop)
	if err != nil {
		return q, store.ListOptions{}, err
	}
	q.Expand = expand
	o := store.ListOptions{Filter: q.Filter, Top: q.Top, Count: q.Count}
	advanced := eventual(r) && (q.Count || segment)
	if op := advancedOnly(q.Filter); op != "" && !advanced {
		return q, o, allot.Errorf(allot.EUnsupportedQuery, advancedHint, op)
	}
	if q.Search != "" {
		if !eventual(r) {
			return q, o, allot.Errorf(allot.EUnsupportedQuery, "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
		}
		if o.Search, err = odata.ParseSearch(q.Search); err != nil {
			return q, o, err
		}
	}
	if q.OrderBy != "" {
		if err := orderBy(q, list, advanced, &o); err != nil {
			return q, o, err
		}
	}
	return q, o, s.sortCursor(r, q, &o)
}

// orderBy fills the sort of o from $orderby.
func orderBy(q odata.Query, list string, advanced bool, o *store.ListOptions) error {
	sorting := allot.Errorf(allot.EUnsupportedQuery, "Sorting not supported for current query.")
	if strings.Contains(q.OrderBy, ",") || (q.Filter != nil && !advanced) {
		return sorting
	}
	name, dir, _ := strings.Cut(q.OrderBy, " ")
	for _, n := range sortNames[list] {
		if strings.EqualFold(n, name) {
			o.OrderBy, o.Desc = n, dir == "desc"
			return nil
		}
	}
	return sorting
}

// sortCursor decodes $skiptoken of a list that may be sorted: the path, the
// sort, the sort key and the id of the last row.
func (s *Server) sortCursor(r *http.Request, q odata.Query, o *store.ListOptions) error {
	if q.SkipToken == "" {
		return nil
	}
	bad := allot.Errorf(allot.EInvalid, "$skiptoken is not valid for this list; follow @odata.nextLink as returned.")
	keys, err := odata.DecodeSkipToken(q.SkipToken)
	if err != nil || len(keys) != 4 || keys[0] != r.URL.Path || keys[1] != sortName(*o) {
		return bad
	}
	if o.After, err = strconv.ParseInt(keys[3], 10, 64); err != nil {
		return bad
	}
	o.AfterKey = keys[2]
	return nil
}

func sortName(o store.ListOptions) string {
	if o.Desc {
		return o.OrderBy + " desc"
	}
	return o.OrderBy
}

// sortToken is the $skiptoken of the page after one ending with id and key.
func sortToken(r *http.Request, o store.ListOptions, next int64, key string) string {
	if next == 0 {
		return ""
	}
	return odata.EncodeSkipToken(r.URL.Path, sortName(o), key, strconv.FormatInt(next, 10))
}

// countSegment answers GET /users/$count and /groups/$count: the number of
// items that match $filter and $search, as text/plain. Like Graph, it needs
// ConsistencyLevel: eventual.
func (s *Server) countSegment(list string) handler {
	return func(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
		if !eventual(r) {
			return allot.Errorf(allot.EInvalid, "$count is not currently supported.")
		}
		_, o, err := s.directoryList(r, list, true)
		if err != nil {
			return err
		}
		o.Top, o.Count, o.OrderBy = 1, true, ""
		var n int
		if list == "users" {
			_, _, n, err = s.st.ListUsers(r.Context(), p.Tenant.ID, o)
		} else {
			_, _, n, err = s.st.ListGroups(r.Context(), p.Tenant.ID, o)
		}
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(strconv.Itoa(n)))
		return nil
	}
}

// auditQuery turns a directoryAudits $filter into the store's filter: one
// targetResources/any(t:t/id eq '…') (or t/displayName) at the top level of
// an and chain becomes TargetID; the rest, conditions on the event's own
// properties, goes to Cond.
func auditQuery(e odata.Expr, f *store.AuditFilter) error {
	var rest []odata.Expr
	var walk func(e odata.Expr) error
	walk = func(e odata.Expr) error {
		switch x := e.(type) {
		case nil:
			return nil
		case *odata.And:
			if err := walk(x.Left); err != nil {
				return err
			}
			return walk(x.Right)
		case *odata.Any:
			c, ok := x.Body.(*odata.Compare)
			if !strings.EqualFold(x.Collection, "targetResources") || x.All || !ok || c.Op != odata.OpEq || f.TargetID != "" ||
				!(strings.EqualFold(c.Field, "id") || strings.EqualFold(c.Field, "displayName") || strings.EqualFold(c.Field, "userPrincipalName")) ||
				(c.Value.Kind != odata.KindString && c.Value.Kind != odata.KindGUID) || c.Value.Str == "" {
				return allot.Errorf(allot.EUnsupportedQuery, "Unsupported or invalid query filter clause specified for property 'targetResources' of resource 'directoryAudit'; allot supports targetResources/any(t:t/id eq '…') once, joined by and.")
			}
			f.TargetID = c.Value.Str
			return nil
		}
		rest = append(rest, e)
		return nil
	}
	if err := walk(e); err != nil {
		return err
	}
	for _, x := range rest {
		if f.Cond == nil {
			f.Cond = x
		} else {
			f.Cond = &odata.And{Left: f.Cond, Right: x}
		}
	}
	return nil
}

// maxExpanded is how many objects Graph returns in an expanded relationship.
const maxExpanded = 20

// expandable lists the relationships $expand loads, per list.
var expandable = map[string][]string{"users": {"memberOf", "manager"}, "groups": {"members", "memberOf"}}

// takeExpand removes $expand from the query of r and checks it against
// Graph's limits: one relationship, no nested options, no advanced query.
func takeExpand(r *http.Request, list string) (url.Values, string, error) {
	vals := r.URL.Query()
	var raw []string
	for k, v := range vals {
		if strings.EqualFold(strings.TrimPrefix(k, "$"), "expand") {
			raw = append(raw, v...)
			delete(vals, k)
		}
	}
	if len(raw) == 0 {
		return vals, "", nil
	}
	name := strings.TrimSpace(raw[0])
	if len(raw) > 1 || strings.ContainsAny(name, ",(") {
		return nil, "", allot.Errorf(allot.EInvalid, "$expand: expand one relationship at a time, without nested options, as in $expand=%s.", expandable[list][0])
	}
	if eventual(r) && strings.EqualFold(vals.Get("$count"), "true") {
		return nil, "", allot.Errorf(allot.EUnsupportedQuery, "$expand is not supported with advanced queries (ConsistencyLevel: eventual and $count=true).")
	}
	for _, n := range expandable[list] {
		if strings.EqualFold(n, name) {
			return vals, n, nil
		}
	}
	return nil, "", allot.Errorf(allot.EInvalid, "$expand: %s cannot expand '%s'; it expands %s. Read other relationships from their own routes, such as /v1.0/users/{id}/memberOf.",
		"/v1.0/"+list, name, strings.Join(expandable[list], " and "))
}

// expandInto adds the expanded relationship rel to each rendered item, the
// objects of every item loaded in one batch.
func (s *Server) expandInto(r *http.Request, p *store.Principal, list, rel string, ids []int64, items []map[string]any) error {
	if rel == "manager" {
		return s.expandManager(r, p, ids, items)
	}
	memberOf := -1
	switch {
	case rel == "memberOf" && list == "users":
		memberOf = 0
	case rel == "memberOf":
		memberOf = 1
	}
	links, err := s.st.ExpandLinks(r.Context(), ids, memberOf, maxExpanded)
	if err != nil {
		return err
	}
	var all []store.Member
	for _, id := range ids {
		all = append(all, links[id]...)
	}
	rendered, err := s.memberJSON(r, p, all)
	if err != nil {
		return err
	}
	for i, id := range ids {
		n := len(links[id])
		items[i][rel] = rendered[:n:n]
		rendered = rendered[n:]
	}
	return nil
}

// selectExpanded is $select plus the expanded relationship, which Graph
// returns whatever $select says.
func selectExpanded(q odata.Query) []string {
	if q.Expand == "" || q.Select == nil {
		return q.Select
	}
	return append(append([]string{}, q.Select...), q.Expand)
}
