package scim

import (
	"net/http"
	"strconv"
	"strings"

	"allot/scim/filter"
	"allot/store"
	"allot/store/sqlstore"
)

// MaxCount is the largest page a list answers (count above it is cut to it).
const MaxCount = 1000

// defaultCount is the page size when count is absent.
const defaultCount = 100

// maxFilterTerms bounds the comparisons of one filter: a longer one is
// refused with tooMany rather than turned into a query that large.
const maxFilterTerms = 64

// checkFilter refuses a filter on the password (sensitive: it would put a
// secret in a URL, RFC 7644 §3.12 and §7.5.2) and one with more than
// maxFilterTerms comparisons (tooMany).
func checkFilter(e filter.Expr) error {
	terms := 0
	var sensitive bool
	var walk func(e filter.Expr)
	walk = func(e filter.Expr) {
		switch x := e.(type) {
		case *filter.Compare:
			terms++
			sensitive = sensitive || strings.EqualFold(x.Attr.Name, "password")
		case *filter.Logical:
			walk(x.L)
			walk(x.R)
		case *filter.Not:
			walk(x.X)
		case *filter.ValuePath:
			sensitive = sensitive || strings.EqualFold(x.Attr.Name, "password")
			walk(x.Filter)
		}
	}
	walk(e)
	if sensitive {
		return errf(403, typeSensitive, "A filter may not name the password: it would carry a secret in the URL. allot never returns or matches passwords.")
	}
	if terms > maxFilterTerms {
		return errf(400, typeTooMany, "The filter has %d comparisons; allot evaluates at most %d in one query. Split it into several queries.", terms, maxFilterTerms)
	}
	return nil
}

// listQuery reads filter, startIndex, count, sortBy and sortOrder.
func listQuery(r *http.Request) (sqlstore.SCIMQuery, int, error) {
	v := r.URL.Query()
	q := sqlstore.SCIMQuery{Limit: defaultCount, SortBy: v.Get("sortBy")}
	if f := v.Get("filter"); f != "" {
		e, err := filter.Parse(f)
		if err != nil {
			return q, 0, errf(400, typeInvalidFilter, "filter %q: %v.", f, err)
		}
		if err := checkFilter(e); err != nil {
			return q, 0, err
		}
		q.Filter = e
	}
	start := 1
	if s := v.Get("startIndex"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return q, 0, errf(400, typeInvalidValue, "startIndex must be a whole number (1 is the first result), not %q.", s)
		}
		start = max(n, 1)
	}
	if s := v.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return q, 0, errf(400, typeInvalidValue, "count must be a whole number, not %q.", s)
		}
		q.Limit = min(max(n, 0), MaxCount)
	}
	switch o := strings.ToLower(v.Get("sortOrder")); o {
	case "", "ascending":
	case "descending":
		q.Desc = true
	default:
		return q, 0, errf(400, typeInvalidValue, "sortOrder must be ascending or descending, not %q.", v.Get("sortOrder"))
	}
	q.Offset = start - 1
	return q, start, nil
}

func (h *Handler) writeList(w http.ResponseWriter, r *http.Request, docs []doc, total, start int) error {
	proj, err := projection(r)
	if err != nil {
		return err
	}
	res := make([]any, len(docs))
	for i, d := range docs {
		res[i] = proj(d)
	}
	writeJSON(w, 200, doc{"schemas": []any{listSchema}, "totalResults": total, "startIndex": start,
		"itemsPerPage": len(docs), "Resources": res})
	return nil
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, start, err := listQuery(r)
	if err != nil {
		return err
	}
	us, total, err := h.st.SCIMListUsers(r.Context(), p.Tenant.ID, q)
	if err != nil {
		return err
	}
	docs := make([]doc, len(us))
	for i, u := range us {
		docs[i] = userDoc(u, h.base(r))
	}
	return h.writeList(w, r, docs, total, start)
}

// projection returns the function that applies attributes or
// excludedAttributes to a resource; id, schemas and meta always stay.
func projection(r *http.Request) (func(doc) doc, error) {
	v := r.URL.Query()
	inc, exc := splitAttrs(v.Get("attributes")), splitAttrs(v.Get("excludedAttributes"))
	if len(inc) > 0 && len(exc) > 0 {
		return nil, errf(400, typeInvalidValue, "Send attributes or excludedAttributes, not both.")
	}
	for _, a := range append(inc, exc...) {
		if _, err := filter.ParsePath(a); err != nil {
			return nil, errf(400, typeInvalidValue, "'%s' is not an attribute path: %v.", a, err)
		}
	}
	return func(d doc) doc {
		switch {
		case len(inc) > 0:
			out := doc{}
			for _, k := range []string{"id", "schemas", "meta"} {
				if x, ok := d[k]; ok {
					out[k] = x
				}
			}
			for _, a := range inc {
				copyAttr(out, d, a)
			}
			return out
		case len(exc) > 0:
			out := cloneDoc(d)
			for _, a := range exc {
				dropAttr(out, a)
			}
			return out
		}
		return d
	}, nil
}

func splitAttrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// attrPlace resolves a path to its container in d (the top level or an
// extension's object) and its name and sub-attribute.
func attrPlace(d doc, path string) (container doc, name, sub string, top bool) {
	p, err := filter.ParsePath(path)
	if err != nil {
		return nil, "", "", false
	}
	container, top = d, true
	if p.Attr.URN != "" && !strings.EqualFold(p.Attr.URN, userSchema) && !strings.EqualFold(p.Attr.URN, groupSchema) {
		k, v, ok := lookup(d, p.Attr.URN)
		if !ok {
			return nil, "", "", false
		}
		c, _ := v.(doc)
		container, top = c, false
		_ = k
	}
	return container, p.Attr.Name, p.Attr.Sub, top
}

func copyAttr(out, d doc, path string) {
	// An extension URN alone keeps the whole extension.
	if k, v, ok := lookup(d, path); ok {
		out[k] = v
		return
	}
	c, name, sub, _ := attrPlace(d, path)
	if c == nil {
		return
	}
	k, v, ok := lookup(c, name)
	if !ok {
		return
	}
	dst := out
	if p, _ := filter.ParsePath(path); p.Attr.URN != "" && !strings.EqualFold(p.Attr.URN, userSchema) && !strings.EqualFold(p.Attr.URN, groupSchema) {
		ek, _, _ := lookup(d, p.Attr.URN)
		if _, exists := out[ek].(doc); !exists {
			out[ek] = doc{}
		}
		dst = out[ek].(doc)
	}
	if sub == "" {
		dst[k] = v
		return
	}
	switch x := v.(type) {
	case doc:
		if sk, sv, ok := lookup(x, sub); ok {
			if _, exists := dst[k].(doc); !exists {
				dst[k] = doc{}
			}
			dst[k].(doc)[sk] = sv
		}
	case []any:
		var list []any
		for _, e := range x {
			if m, ok := e.(doc); ok {
				if sk, sv, ok := lookup(m, sub); ok {
					list = append(list, doc{sk: sv})
				}
			}
		}
		dst[k] = list
	}
}

func dropAttr(d doc, path string) {
	if k, _, ok := lookup(d, path); ok && k != "id" && k != "schemas" && k != "meta" {
		delete(d, k)
		return
	}
	c, name, sub, top := attrPlace(d, path)
	if c == nil {
		return
	}
	k, v, ok := lookup(c, name)
	if !ok || (top && (k == "id" || k == "schemas" || k == "meta")) {
		return
	}
	if sub == "" {
		delete(c, k)
		return
	}
	switch x := v.(type) {
	case doc:
		if sk, _, ok := lookup(x, sub); ok {
			delete(x, sk)
		}
	case []any:
		for _, e := range x {
			if m, ok := e.(doc); ok {
				if sk, _, ok := lookup(m, sub); ok {
					delete(m, sk)
				}
			}
		}
	}
}

func cloneDoc(d doc) doc {
	out := doc{}
	for k, v := range d {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case doc:
		return cloneDoc(x)
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = cloneValue(e)
		}
		return l
	}
	return v
}
