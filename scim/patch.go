package scim

import (
	"encoding/json"
	"fmt"
	"strings"

	"allot/scim/filter"
)

// patchOp is one operation of a PatchOp request.
type patchOp struct {
	Op    string
	Path  string
	Value any
}

// readPatch reads a PatchOp body (RFC 7644 §3.5.2). Operation names are
// case-insensitive: Entra sends "Replace".
func readPatch(body doc) ([]patchOp, error) {
	r := newReader(body)
	if _, v, ok := lookup(body, "schemas"); ok {
		list, _ := v.([]any)
		found := false
		for _, s := range list {
			found = found || s == patchSchema
		}
		if !found {
			return nil, errf(400, typeInvalidSyntax, "A PATCH body's schemas must be [%q].", patchSchema)
		}
	}
	_, v, ok := lookup(body, "Operations")
	list, isList := v.([]any)
	if !ok || !isList || len(list) == 0 {
		return nil, errf(400, typeInvalidSyntax, `A PATCH body needs "Operations": [{"op": "add|replace|remove", "path": "...", "value": ...}].`)
	}
	out := make([]patchOp, 0, len(list))
	for i, e := range list {
		m, isObj := e.(doc)
		if !isObj {
			return nil, errf(400, typeInvalidSyntax, "Operations[%d] must be an object.", i)
		}
		or := r.child(m, fmt.Sprintf("Operations[%d]", i))
		op := patchOp{Op: strings.ToLower(or.str("op")), Path: or.str("path")}
		_, op.Value, _ = lookup(m, "value")
		if *r.errp != nil {
			return nil, errf(400, typeInvalidSyntax, "%s", (*r.errp).Error())
		}
		if op.Op != "add" && op.Op != "replace" && op.Op != "remove" {
			return nil, errf(400, typeInvalidSyntax, "Operations[%d].op must be add, replace or remove, not %q.", i, op.Op)
		}
		if op.Op != "remove" && op.Value == nil {
			return nil, errf(400, typeInvalidValue, "Operations[%d] (%s) needs a value.", i, op.Op)
		}
		out = append(out, op)
	}
	return out, nil
}

// readOnly are the attributes a PATCH may not set.
var readOnly = map[string]bool{"id": true, "meta": true, "schemas": true}

// applyPatch applies the operations to a copy of d, in order.
func applyPatch(d doc, ops []patchOp) (doc, error) {
	out := cloneDoc(d)
	for i, op := range ops {
		if err := applyOp(out, op.Op, op.Path, normalize(op.Value)); err != nil {
			if e, ok := err.(*Error); ok {
				e.Detail = fmt.Sprintf("Operations[%d]: %s", i, e.Detail)
			}
			return nil, err
		}
	}
	return out, nil
}

// normalize turns json.Number values into float64 and strings into
// themselves, so values compare alike.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case doc:
		out := doc{}
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

func applyOp(d doc, op, path string, value any) error {
	if path == "" {
		if op == "remove" {
			return errf(400, typeNoTarget, "remove needs a path naming what to remove.")
		}
		m, ok := value.(doc)
		if !ok {
			return errf(400, typeInvalidValue, "%s without a path needs an object value of attributes.", op)
		}
		for k, v := range m {
			// Okta renames a group with {"id": its id, "displayName": ...}.
			if strings.EqualFold(k, "schemas") || (strings.EqualFold(k, "id") && strings.EqualFold(fmt.Sprint(v), fmt.Sprint(d["id"]))) {
				continue
			}
			if _, isExt := v.(doc); isExt && strings.HasPrefix(strings.ToLower(k), "urn:") && isSchema(k) {
				for sk, sv := range v.(doc) {
					if err := applyOp(d, op, k+":"+sk, sv); err != nil {
						return err
					}
				}
				continue
			}
			// Entra sends {"name.givenName": "x"} and enterprise URN keys.
			if err := applyOp(d, op, k, v); err != nil {
				return err
			}
		}
		return nil
	}
	p, err := filter.ParsePath(path)
	if err != nil {
		return errf(400, typeInvalidPath, "path %q: %v.", path, err)
	}
	if p.Filter != nil {
		if err := checkFilter(p.Filter); err != nil {
			return err
		}
	}
	c, err := container(d, p.Attr.URN, op != "remove")
	if err != nil || c == nil {
		return err
	}
	if readOnly[strings.ToLower(p.Attr.Name)] && p.Attr.URN == "" {
		return errf(400, typeMutability, "%s is read-only.", p.Attr.Name)
	}
	if p.Filter != nil {
		return applyFiltered(c, op, p, value)
	}
	k, cur, exists := lookup(c, p.Attr.Name)
	if !exists {
		k = p.Attr.Name
	}
	if p.Attr.Sub != "" {
		obj, _ := cur.(doc)
		if exists && obj == nil && cur != nil {
			return errf(400, typeInvalidPath, "%s has no sub-attributes.", p.Attr.Name)
		}
		if op == "remove" {
			if obj != nil {
				if sk, _, ok := lookup(obj, p.Attr.Sub); ok {
					delete(obj, sk)
				}
			}
			return nil
		}
		if obj == nil {
			obj = doc{}
			c[k] = obj
		}
		sk, _, ok := lookup(obj, p.Attr.Sub)
		if !ok {
			sk = p.Attr.Sub
		}
		obj[sk] = value
		return nil
	}
	switch op {
	case "remove":
		if list, isList := cur.([]any); isList && value != nil {
			c[k] = removeValues(list, value)
			return nil
		}
		delete(c, k)
	case "add":
		c[k] = addValue(cur, value)
	case "replace":
		if o, isObj := cur.(doc); isObj {
			if v, ok := value.(doc); ok {
				for vk, vv := range v {
					o[vk] = vv
				}
				return nil
			}
		}
		c[k] = value
	}
	return nil
}

// isSchema tells whether urn is a schema this server knows.
func isSchema(urn string) bool {
	for _, s := range []string{userSchema, groupSchema, enterpriseSchema} {
		if strings.EqualFold(urn, s) {
			return true
		}
	}
	return false
}

// container returns the object that holds attributes of the schema urn.
func container(d doc, urn string, create bool) (doc, error) {
	if urn == "" || strings.EqualFold(urn, userSchema) || strings.EqualFold(urn, groupSchema) {
		return d, nil
	}
	if !isSchema(urn) {
		return nil, errf(400, typeInvalidPath, "Unknown schema %q; this server knows %s, %s and %s.", urn, userSchema, enterpriseSchema, groupSchema)
	}
	k, v, ok := lookup(d, urn)
	if !ok {
		if !create {
			return nil, nil
		}
		k, v = enterpriseSchema, doc{}
		d[k] = v
	}
	m, _ := v.(doc)
	return m, nil
}

// addValue adds to a multi-valued attribute (values already there are
// not repeated), merges into a complex one, or sets a simple one.
func addValue(cur, value any) any {
	list, isList := cur.([]any)
	if isList || (cur == nil && isSlice(value)) {
		in, ok := value.([]any)
		if !ok {
			in = []any{value}
		}
		for _, v := range in {
			if !containsValue(list, v) {
				list = append(list, v)
			}
		}
		return list
	}
	if o, isObj := cur.(doc); isObj {
		if v, ok := value.(doc); ok {
			for k, e := range v {
				o[k] = e
			}
			return o
		}
	}
	return value
}

func isSlice(v any) bool { _, ok := v.([]any); return ok }

func valueKey(v any) string {
	if m, ok := v.(doc); ok {
		if _, x, ok := lookup(m, "value"); ok {
			return strings.ToLower(fmt.Sprint(x))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func containsValue(list []any, v any) bool {
	for _, e := range list {
		if valueKey(e) == valueKey(v) {
			return true
		}
	}
	return false
}

// removeValues removes the listed values (Entra removes members with
// {"op":"Remove","path":"members","value":[{"value":"id"}]}).
func removeValues(list []any, value any) []any {
	in, ok := value.([]any)
	if !ok {
		in = []any{value}
	}
	var out []any
	for _, e := range list {
		if !containsValue(in, e) {
			out = append(out, e)
		}
	}
	return out
}

// applyFiltered applies an operation to the values of a multi-valued
// attribute that match the path's filter. With no match, add and replace
// create the value the filter describes (emails[type eq "work"].value).
func applyFiltered(c doc, op string, p *filter.Path, value any) error {
	k, cur, exists := lookup(c, p.Attr.Name)
	if !exists {
		k = p.Attr.Name
	}
	list, isList := cur.([]any)
	if exists && cur != nil && !isList {
		return errf(400, typeInvalidPath, "%s is not multi-valued; a [filter] only applies to multi-valued attributes.", p.Attr.Name)
	}
	var kept []any
	matched := 0
	for _, e := range list {
		m, _ := e.(doc)
		if m == nil || !matches(m, p.Filter) {
			kept = append(kept, e)
			continue
		}
		matched++
		switch {
		case op == "remove" && p.Attr.Sub == "":
			continue
		case op == "remove":
			if sk, _, ok := lookup(m, p.Attr.Sub); ok {
				delete(m, sk)
			}
		case p.Attr.Sub != "":
			sk, _, ok := lookup(m, p.Attr.Sub)
			if !ok {
				sk = p.Attr.Sub
			}
			m[sk] = value
		default:
			if v, ok := value.(doc); ok {
				for vk, vv := range v {
					m[vk] = vv
				}
			}
		}
		kept = append(kept, m)
	}
	if matched == 0 && op != "remove" {
		m := seed(p.Filter)
		if p.Attr.Sub != "" {
			m[p.Attr.Sub] = value
		} else if v, ok := value.(doc); ok {
			for vk, vv := range v {
				m[vk] = vv
			}
		}
		kept = append(kept, m)
	}
	c[k] = kept
	return nil
}

// seed is the value a filter of eq comparisons describes.
func seed(e filter.Expr) doc {
	out := doc{}
	var walk func(e filter.Expr)
	walk = func(e filter.Expr) {
		switch x := e.(type) {
		case *filter.Logical:
			if x.Op == "and" {
				walk(x.L)
				walk(x.R)
			}
		case *filter.Compare:
			if x.Op == "eq" {
				out[x.Attr.Name] = literal(x.Value)
			}
		}
	}
	walk(e)
	return out
}

func literal(v filter.Value) any {
	switch v.Kind {
	case filter.KindString:
		return v.Str
	case filter.KindBool:
		return v.Bool
	case filter.KindNumber:
		return v.Num
	}
	return nil
}

// matches evaluates a value filter on one value of a multi-valued attribute.
func matches(m doc, e filter.Expr) bool {
	switch x := e.(type) {
	case *filter.Logical:
		if x.Op == "and" {
			return matches(m, x.L) && matches(m, x.R)
		}
		return matches(m, x.L) || matches(m, x.R)
	case *filter.Not:
		return !matches(m, x.X)
	case *filter.Compare:
		_, v, ok := lookup(m, x.Attr.Name)
		if x.Op == "pr" {
			return ok && v != nil && v != ""
		}
		return compareValue(v, x.Op, x.Value)
	}
	return false
}

func compareValue(v any, op string, want filter.Value) bool {
	switch want.Kind {
	case filter.KindNull:
		return (op == "eq") == (v == nil)
	case filter.KindBool:
		b, ok := v.(bool)
		return ok && (op == "eq") == (b == want.Bool)
	case filter.KindNumber:
		f, ok := v.(float64)
		if !ok {
			return false
		}
		switch op {
		case "eq":
			return f == want.Num
		case "ne":
			return f != want.Num
		case "gt":
			return f > want.Num
		case "ge":
			return f >= want.Num
		case "lt":
			return f < want.Num
		case "le":
			return f <= want.Num
		}
		return false
	}
	s, ok := v.(string)
	if !ok {
		return op == "ne"
	}
	a, b := strings.ToLower(s), strings.ToLower(want.Str)
	switch op {
	case "eq":
		return a == b
	case "ne":
		return a != b
	case "co":
		return strings.Contains(a, b)
	case "sw":
		return strings.HasPrefix(a, b)
	case "ew":
		return strings.HasSuffix(a, b)
	case "gt":
		return a > b
	case "ge":
		return a >= b
	case "lt":
		return a < b
	case "le":
		return a <= b
	}
	return false
}
