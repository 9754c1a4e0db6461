package sqlstore

import (
	"slices"
	"strings"

	"allot"
	"allot/scim/filter"
)

// scimCol is a SCIM attribute a filter or sortBy may name: its SQL
// expression and whether it compares case-sensitively (caseExact).
type scimCol struct {
	expr      string
	caseExact bool
	boolean   bool
	time      bool
	// eq, when set, is an indexed condition for "eq" with a non-empty value.
	eq func(v string) (string, []any)
}

// scimUserCols are the User attributes a filter may name, by lower-cased
// path (sub-attribute with a dot), with or without a schema URN.
var scimUserCols = map[string]scimCol{
	"id": {expr: "u.guid"},
	"username": {expr: "u.upn", eq: func(v string) (string, []any) {
		return "u.upn_key = ?", []any{allot.NormalizeKey(v)}
	}},
	"externalid": {expr: "COALESCE(sa.external_id, '')", caseExact: true, eq: func(v string) (string, []any) {
		return "sa.external_id = ?", []any{v}
	}},
	"displayname":     {expr: "u.display_name"},
	"name.givenname":  {expr: "u.given_name"},
	"name.familyname": {expr: "u.surname"},
	"title":           {expr: "u.job_title"},
	"active":          {expr: "u.account_enabled", boolean: true},
	"emails.value":    {expr: "u.mail"},
	"emails":          {expr: "u.mail"},
	"department":      {expr: "u.department"},
	"costcenter":      {expr: "COALESCE(sa.cost_center, '')"},
	"division":        {expr: "COALESCE(sa.division, '')"},
	"manager.value":   {expr: scimManagerExpr},
	"manager":         {expr: scimManagerExpr},
	"meta.created":    {expr: "u.created_at", time: true},
}

// scimGroupCols are the Group attributes a filter may name.
var scimGroupCols = map[string]scimCol{
	"id":           {expr: "g.guid"},
	"displayname":  {expr: "g.display_name"},
	"externalid":   {expr: "COALESCE(sa.external_id, '')", caseExact: true},
	"meta.created": {expr: "g.created_at", time: true},
}

// scimUserColumn returns the column of a User attribute path.
func scimColumn(cols map[string]scimCol, a filter.Attr) (scimCol, bool) {
	c, ok := cols[strings.ToLower(a.String())]
	return c, ok
}

func scimFilterErr(format string, args ...any) error {
	return allot.Errorf(allot.EInvalid, "filter: "+format, args...)
}

// compileSCIM turns a SCIM filter into a SQL condition over cols, with its
// values as bound parameters. members (groups only) is the EXISTS
// condition for "members.value eq".
func compileSCIM(e filter.Expr, cols map[string]scimCol, groups bool) (string, []any, error) {
	switch x := e.(type) {
	case *filter.Logical:
		l, la, err := compileSCIM(x.L, cols, groups)
		if err != nil {
			return "", nil, err
		}
		r, ra, err := compileSCIM(x.R, cols, groups)
		if err != nil {
			return "", nil, err
		}
		return "(" + l + " " + strings.ToUpper(x.Op) + " " + r + ")", append(la, ra...), nil
	case *filter.Not:
		c, a, err := compileSCIM(x.X, cols, groups)
		if err != nil {
			return "", nil, err
		}
		return "NOT (" + c + ")", a, nil
	case *filter.ValuePath:
		return compileValuePath(x, cols, groups)
	case *filter.Compare:
		if groups && strings.EqualFold(x.Attr.String(), "members.value") || groups && strings.EqualFold(x.Attr.String(), "members") {
			return compileMembers(x)
		}
		c, ok := scimColumn(cols, x.Attr)
		if !ok {
			return "", nil, scimFilterErr("'%s' cannot be filtered on; filterable attributes: %s.", x.Attr, scimColNames(cols))
		}
		return compileCompare(c, x)
	}
	return "", nil, scimFilterErr("unsupported expression.")
}

// compileValuePath handles emails[type eq "work" ...]: allot keeps one
// email, the work one, so a filter on type can only be "work".
func compileValuePath(x *filter.ValuePath, cols map[string]scimCol, groups bool) (string, []any, error) {
	if groups && strings.EqualFold(x.Attr.Name, "members") {
		if c, ok := x.Filter.(*filter.Compare); ok && strings.EqualFold(c.Attr.Name, "value") {
			return compileMembers(c)
		}
		return "", nil, scimFilterErr("members[...] can only be filtered on value: members[value eq \"id\"].")
	}
	if !strings.EqualFold(x.Attr.Name, "emails") {
		return "", nil, scimFilterErr("'%s[...]' cannot be filtered on; value filters work on emails.", x.Attr.Name)
	}
	var walk func(e filter.Expr) (string, []any, error)
	walk = func(e filter.Expr) (string, []any, error) {
		switch y := e.(type) {
		case *filter.Logical:
			l, la, err := walk(y.L)
			if err != nil {
				return "", nil, err
			}
			r, ra, err := walk(y.R)
			if err != nil {
				return "", nil, err
			}
			return "(" + l + " " + strings.ToUpper(y.Op) + " " + r + ")", append(la, ra...), nil
		case *filter.Not:
			c, a, err := walk(y.X)
			if err != nil {
				return "", nil, err
			}
			return "NOT (" + c + ")", a, nil
		case *filter.Compare:
			switch strings.ToLower(y.Attr.Name) {
			case "value":
				return compileCompare(cols["emails.value"], y)
			case "type":
				// The one email allot keeps is of type work.
				return compileCompare(scimCol{expr: "CASE WHEN u.mail <> '' THEN 'work' ELSE '' END"}, y)
			case "primary":
				return compileCompare(scimCol{expr: "CASE WHEN u.mail <> '' THEN 1 ELSE 0 END", boolean: true}, y)
			}
			return "", nil, scimFilterErr("emails[...] can be filtered on value, type and primary, not '%s'.", y.Attr)
		}
		return "", nil, scimFilterErr("unsupported expression in emails[...].")
	}
	return walk(x.Filter)
}

func compileMembers(c *filter.Compare) (string, []any, error) {
	if c.Op != "eq" || c.Value.Kind != filter.KindString {
		return "", nil, scimFilterErr("members can only be compared with eq and a quoted user id: members[value eq \"id\"].")
	}
	return `EXISTS (SELECT 1 FROM memberships m JOIN users mu ON mu.id = m.member_id
		WHERE m.group_id = g.id AND m.member_type = 0 AND mu.guid = ?)`, []any{strings.ToLower(c.Value.Str)}, nil
}

// compileCompare compiles one comparison of a column.
func compileCompare(c scimCol, x *filter.Compare) (string, []any, error) {
	if x.Op == "pr" {
		if c.boolean || c.time {
			return "1 = 1", nil, nil
		}
		return c.expr + " <> ''", nil, nil
	}
	if c.boolean {
		if x.Value.Kind != filter.KindBool || (x.Op != "eq" && x.Op != "ne") {
			return "", nil, scimFilterErr("'%s' is a boolean: compare it with eq or ne and true or false.", x.Attr)
		}
		op := "="
		if x.Op == "ne" {
			op = "<>"
		}
		return c.expr + " " + op + " ?", []any{b2i(x.Value.Bool)}, nil
	}
	if c.time {
		return compileTime(c, x)
	}
	if x.Value.Kind == filter.KindNull {
		switch x.Op {
		case "eq":
			return c.expr + " = ''", nil, nil
		case "ne":
			return c.expr + " <> ''", nil, nil
		}
		return "", nil, scimFilterErr("null can only be compared with eq or ne.")
	}
	if x.Value.Kind != filter.KindString {
		return "", nil, scimFilterErr("'%s' is a string: quote the value, %s %s \"text\".", x.Attr, x.Attr, x.Op)
	}
	col, v := c.expr, x.Value.Str
	if x.Op == "eq" && c.eq != nil && v != "" {
		// userName eq "…" before every create: the index, not a scan.
		q, a := c.eq(v)
		return q, a, nil
	}
	if !c.caseExact {
		col, v = "LOWER("+col+")", strings.ToLower(v)
	}
	switch x.Op {
	case "eq":
		return col + " = ?", []any{v}, nil
	case "ne":
		return col + " <> ?", []any{v}, nil
	case "co":
		return col + ` LIKE ? ESCAPE '\'`, []any{"%" + likePrefix(v)}, nil
	case "sw":
		return col + ` LIKE ? ESCAPE '\'`, []any{likePrefix(v)}, nil
	case "ew":
		return col + ` LIKE ? ESCAPE '\'`, []any{"%" + strings.TrimSuffix(likePrefix(v), "%")}, nil
	}
	return col + " " + map[string]string{"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[x.Op] + " ?", []any{v}, nil
}

// compileTime compares a Unix-millisecond column with an RFC 3339 time.
func compileTime(c scimCol, x *filter.Compare) (string, []any, error) {
	ops := map[string]string{"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
	op, ok := ops[x.Op]
	if !ok || x.Value.Kind != filter.KindString {
		return "", nil, scimFilterErr("'%s' is a dateTime: compare it with eq, ne, gt, ge, lt or le and a quoted time such as \"2026-01-31T00:00:00Z\".", x.Attr)
	}
	t, err := parseSCIMTime(x.Value.Str)
	if err != nil {
		return "", nil, scimFilterErr("'%s' is not a dateTime such as \"2026-01-31T00:00:00Z\".", x.Value.Str)
	}
	return c.expr + " " + op + " ?", []any{t.UnixMilli()}, nil
}

// scimOrder returns the ORDER BY expression of sortBy ("" for the default).
func scimOrder(cols map[string]scimCol, sortBy string) (string, error) {
	if sortBy == "" {
		return "", nil
	}
	a, err := filter.ParsePath(sortBy)
	if err != nil || a.Filter != nil {
		return "", allot.Errorf(allot.EInvalid, "sortBy: '%s' is not an attribute path.", sortBy)
	}
	c, ok := scimColumn(cols, a.Attr)
	if !ok {
		return "", allot.Errorf(allot.EInvalid, "sortBy: '%s' cannot be sorted on; sortable attributes: %s.", sortBy, scimColNames(cols))
	}
	if c.boolean || c.time || c.caseExact {
		return c.expr, nil
	}
	return "LOWER(" + c.expr + ")", nil
}

func scimColNames(cols map[string]scimCol) string {
	names := make([]string, 0, len(cols))
	for k := range cols {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
