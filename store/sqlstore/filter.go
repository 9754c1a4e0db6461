package sqlstore

import (
	"strings"

	"allot"
	"allot/odata"
	"allot/store"
)

type fieldKind int

const (
	fString fieldKind = iota
	fKey              // lower-cased key column: compare lower-cased
	fBool
	fGUID
	fErrorFlag
	fTime  // milliseconds since the epoch
	fExact // text compared as is (audit names and categories)
)

type field struct {
	col  string
	kind fieldKind
	name string // the Graph spelling, for error messages
}

// resource is what a filter runs over: its filterable fields, the lambdas
// and /$count collections it has, and its Graph type name.
type resource struct {
	name    string
	fields  map[string]field
	lambdas map[string]lambda
}

// lambda is a collection a lambda or /$count can range over: rows of from
// joined to the outer row by link, with fields of the element.
type lambda struct {
	from   string // FROM clause of the element rows
	link   string // condition tying an element to the outer row
	count  string // expression counted by /$count ("" when not countable)
	fields map[string]field
}

func fieldsOf(fs ...field) map[string]field {
	m := map[string]field{}
	for _, f := range fs {
		m[strings.ToLower(f.name)] = f
	}
	return m
}

var userResource = resource{
	name: "User",
	fields: fieldsOf(
		field{"u.guid", fGUID, "id"},
		field{"u.upn_key", fKey, "userPrincipalName"},
		field{"u.display_name", fString, "displayName"},
		field{"u.given_name", fString, "givenName"},
		field{"u.surname", fString, "surname"},
		field{"u.mail", fString, "mail"},
		field{"u.job_title", fString, "jobTitle"},
		field{"u.department", fString, "department"},
		field{"u.usage_location", fString, "usageLocation"},
		field{"u.account_enabled", fBool, "accountEnabled"},
		field{"u.created_at", fTime, "createdDateTime"},
	),
	lambdas: map[string]lambda{
		"assignedlicenses": {
			from:   "license_states ls JOIN products p ON p.id = ls.product_id",
			link:   "ls.user_id = u.id AND ls.state = 'Active'",
			count:  "DISTINCT ls.product_id",
			fields: fieldsOf(field{"p.sku_guid", fGUID, "skuId"}),
		},
		"proxyaddresses": {
			from:   "proxy_addresses pa",
			link:   "pa.user_id = u.id",
			count:  "*",
			fields: map[string]field{"": {"pa.addr_key", fKey, "proxyAddresses"}},
		},
	},
}

var groupResource = resource{
	name: "Group",
	fields: fieldsOf(
		field{"g.guid", fGUID, "id"},
		field{"g.display_name", fString, "displayName"},
		field{"g.description", fString, "description"},
		field{"g.mail_nickname", fString, "mailNickname"},
		field{"g.security_enabled", fBool, "securityEnabled"},
		field{"g.mail_enabled", fBool, "mailEnabled"},
		field{"g.error_count", fErrorFlag, "hasMembersWithLicenseErrors"},
	),
	lambdas: map[string]lambda{
		"assignedlicenses": {
			from:   "group_licenses gl JOIN products p ON p.id = gl.product_id",
			link:   "gl.group_id = g.id",
			count:  "*",
			fields: fieldsOf(field{"p.sku_guid", fGUID, "skuId"}),
		},
	},
}

// auditResource is the filterable part of a directoryAudit; targetResources
// is matched by the caller (bulk events list their users separately).
var auditResource = resource{
	name: "directoryAudit",
	fields: fieldsOf(
		field{"a.at", fTime, "activityDateTime"},
		field{"a.activity", fExact, "activityDisplayName"},
		field{"a.category", fExact, "category"},
		field{"a.result", fExact, "result"},
		field{"a.correlation_id", fExact, "correlationId"},
		field{"a.actor_kind = 'user' AND a.actor_id", fExact, "initiatedBy/user/id"},
		field{"a.actor_kind = 'user' AND a.actor_name", fExact, "initiatedBy/user/displayName"},
		field{"a.actor_kind <> 'user' AND a.actor_id", fExact, "initiatedBy/app/appId"},
		field{"a.actor_kind <> 'user' AND a.actor_name", fExact, "initiatedBy/app/displayName"},
	),
}

func init() {
	// hasWithLicenseErrors is an older spelling allot keeps accepting.
	groupResource.fields["haswithlicenseerrors"] = groupResource.fields["hasmemberswithlicenseerrors"]
}

func filterErr(format string, args ...any) error {
	return allot.Errorf(allot.EInvalid, "$filter: "+format, args...)
}

// unsupportedClause is Graph's answer for a property or operator it cannot
// filter with.
func unsupportedClause(prop, res string) error {
	return allot.Errorf(allot.EUnsupportedQuery, "Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", prop, res)
}

// compiler turns a parsed $filter into SQL over one resource: conditions
// with ? placeholders, every value bound, every column from the whitelist.
type compiler struct {
	res  resource
	args []any
}

// compileFilter turns a parsed $filter into a SQL condition over res.
func compileFilter(e odata.Expr, res resource) (string, []any, error) {
	if e == nil {
		return "", nil, nil
	}
	c := &compiler{res: res}
	sql, err := c.expr(e, res.fields)
	if err != nil {
		return "", nil, err
	}
	return sql, c.args, nil
}

func (c *compiler) bind(v any) string {
	c.args = append(c.args, v)
	return "?"
}

func (c *compiler) expr(e odata.Expr, fields map[string]field) (string, error) {
	switch x := e.(type) {
	case *odata.And:
		return c.binary(x.Left, x.Right, " AND ", fields)
	case *odata.Or:
		return c.binary(x.Left, x.Right, " OR ", fields)
	case *odata.Not:
		s, err := c.expr(x.X, fields)
		if err != nil {
			return "", err
		}
		return "NOT (" + s + ")", nil
	case *odata.Compare:
		f, err := c.field(x.Field, fields)
		if err != nil {
			return "", err
		}
		return c.compare(f, x.Op, x.Value)
	case *odata.In:
		f, err := c.field(x.Field, fields)
		if err != nil {
			return "", err
		}
		if f.kind == fGUID && !strings.Contains(f.col, " ") {
			return c.inGUIDs(f, x.Values)
		}
		parts := make([]string, len(x.Values))
		for i, v := range x.Values {
			if parts[i], err = c.compare(f, odata.OpEq, v); err != nil {
				return "", err
			}
		}
		return "(" + strings.Join(parts, " OR ") + ")", nil
	case *odata.StartsWith:
		return c.like(x.Field, fields, likeEscape(strings.ToLower(x.Prefix))+"%")
	case *odata.EndsWith:
		return c.like(x.Field, fields, "%"+likeEscape(strings.ToLower(x.Suffix)))
	case *odata.Any:
		return c.lambda(x)
	case *odata.Count:
		return c.count(x)
	case *odata.Search:
		return c.search(x)
	}
	return "", filterErr("unsupported expression.")
}

// inGUIDs compiles id in (…) as one IN list, which both engines look up in
// the GUID index (an or of equalities made SQLite scan the tenant's users
// beyond a few values).
func (c *compiler) inGUIDs(f field, vs []odata.Value) (string, error) {
	marks := make([]string, len(vs))
	for i, v := range vs {
		// The same checks and spelling as one equality.
		if _, err := c.compareCol(f, odata.OpEq, v); err != nil {
			return "", err
		}
		c.args = c.args[:len(c.args)-1]
		marks[i] = c.bind(strings.ToLower(v.Str))
	}
	return f.col + " IN (" + strings.Join(marks, ", ") + ")", nil
}

func (c *compiler) binary(l, r odata.Expr, op string, fields map[string]field) (string, error) {
	ls, err := c.expr(l, fields)
	if err != nil {
		return "", err
	}
	rs, err := c.expr(r, fields)
	if err != nil {
		return "", err
	}
	return "(" + ls + op + rs + ")", nil
}

func (c *compiler) field(name string, fields map[string]field) (field, error) {
	f, ok := fields[strings.ToLower(name)]
	if !ok {
		if name == "" {
			name = "the lambda element"
		}
		return field{}, unsupportedClause(name, c.res.name)
	}
	return f, nil
}

// guarded splits an audit column written as "condition AND column".
func guarded(col string) (guard, column string) {
	if i := strings.LastIndex(col, " AND "); i >= 0 {
		return col[:i+5], col[i+5:]
	}
	return "", col
}

var sqlOps = map[odata.Op]string{odata.OpEq: "=", odata.OpNe: "<>", odata.OpGt: ">", odata.OpGe: ">=", odata.OpLt: "<", odata.OpLe: "<="}

// compare compiles `field op value`; null compares with the empty text that
// allot stores for an unset property.
func (c *compiler) compare(f field, op odata.Op, v odata.Value) (string, error) {
	s, err := c.compareCol(f, op, v)
	if err == nil && strings.Contains(f.col, " AND ") {
		s = "(" + s + ")"
	}
	return s, err
}

func (c *compiler) compareCol(f field, op odata.Op, v odata.Value) (string, error) {
	guard, col := guarded(f.col)
	sqlOp := sqlOps[op]
	eqOnly := func() error {
		if op != odata.OpEq && op != odata.OpNe {
			return unsupportedClause(f.name, c.res.name)
		}
		return nil
	}
	switch f.kind {
	case fBool, fErrorFlag:
		if err := eqOnly(); err != nil {
			return "", err
		}
		if v.Kind != odata.KindBool {
			return "", filterErr("'%s' is a boolean; compare it with true or false.", f.name)
		}
		if f.kind == fErrorFlag {
			if v.Bool == (op == odata.OpEq) {
				return col + " > 0", nil
			}
			return col + " = 0", nil
		}
		return col + " " + sqlOp + " " + c.bind(b2i(v.Bool)), nil
	case fTime:
		if v.Kind != odata.KindDateTime {
			return "", filterErr("'%s' is a date and time; compare it with an unquoted value such as 2024-05-01T00:00:00Z.", f.name)
		}
		return col + " " + sqlOp + " " + c.bind(v.Time.UnixMilli()), nil
	case fGUID:
		if err := eqOnly(); err != nil {
			return "", err
		}
		if v.Kind != odata.KindGUID && (v.Kind != odata.KindString || f.name == "skuId") {
			return "", filterErr("'%s' is compared with an unquoted GUID, as in skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900.", f.name)
		}
		return col + " " + sqlOp + " " + c.bind(strings.ToLower(v.Str)), nil
	}
	if v.Kind == odata.KindNull {
		if err := eqOnly(); err != nil {
			return "", err
		}
		return guard + col + " " + sqlOp + " ''", nil
	}
	if v.Kind != odata.KindString && v.Kind != odata.KindGUID {
		return "", filterErr("'%s' is a string; quote the value: %s eq 'text'.", f.name, f.name)
	}
	switch f.kind {
	case fKey:
		return col + " " + sqlOp + " " + c.bind(allot.NormalizeKey(v.Str)), nil
	case fExact:
		if err := eqOnly(); err != nil {
			return "", err
		}
		return guard + col + " " + sqlOp + " " + c.bind(v.Str), nil
	}
	return "LOWER(" + col + ") " + sqlOp + " " + c.bind(strings.ToLower(v.Str)), nil
}

func (c *compiler) like(name string, fields map[string]field, pattern string) (string, error) {
	f, err := c.field(name, fields)
	if err != nil {
		return "", err
	}
	guard, col := guarded(f.col)
	if f.kind != fString && f.kind != fKey && f.kind != fExact {
		return "", filterErr("startswith() and endswith() work on text properties, not on '%s'.", f.name)
	}
	return "(" + guard + "LOWER(" + col + ") LIKE " + c.bind(pattern) + " ESCAPE '\\')", nil
}

// lambda compiles any() as EXISTS over the collection and all() as NOT
// EXISTS of an element that fails the condition.
func (c *compiler) lambda(x *odata.Any) (string, error) {
	l, ok := c.res.lambdas[strings.ToLower(x.Collection)]
	if !ok {
		return "", unsupportedClause(x.Collection, c.res.name)
	}
	body, err := c.expr(x.Body, l.fields)
	if err != nil {
		return "", err
	}
	if x.All {
		return "NOT EXISTS (SELECT 1 FROM " + l.from + " WHERE " + l.link + " AND NOT (" + body + "))", nil
	}
	return "EXISTS (SELECT 1 FROM " + l.from + " WHERE " + l.link + " AND " + body + ")", nil
}

func (c *compiler) count(x *odata.Count) (string, error) {
	l, ok := c.res.lambdas[strings.ToLower(x.Collection)]
	if !ok || l.count == "" {
		return "", unsupportedClause(x.Collection+"/$count", c.res.name)
	}
	return "(SELECT COUNT(" + l.count + ") FROM " + l.from + " WHERE " + l.link + ") " + sqlOps[x.Op] + " " + c.bind(x.N), nil
}

// search matches a word of the property that starts with the term, as
// Graph's tokenized $search does.
func (c *compiler) search(x *odata.Search) (string, error) {
	f, ok := c.res.fields[strings.ToLower(x.Field)]
	if !ok || (f.kind != fString && f.kind != fKey) {
		return "", allot.Errorf(allot.EInvalid, "$search: property '%s' cannot be searched; search displayName, mail, userPrincipalName, givenName, surname, jobTitle or description.", x.Field)
	}
	term := likeEscape(strings.ToLower(x.Term))
	return "(LOWER(" + f.col + ") LIKE " + c.bind(term+"%") + " ESCAPE '\\' OR LOWER(" + f.col + ") LIKE " + c.bind("% "+term+"%") + " ESCAPE '\\')", nil
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

func likePrefix(s string) string { return likeEscape(s) + "%" }

// sortCols are the columns $orderby may name, per resource.
var sortCols = map[string]map[string]string{
	"User":  {"displayName": "u.display_name", "userPrincipalName": "u.upn_key"},
	"Group": {"displayName": "g.display_name"},
}

// namesIDs tells whether a filter selects objects by id (id eq … or
// id in (…)), alone or as a term of an and.
func namesIDs(e odata.Expr) bool {
	switch x := e.(type) {
	case *odata.And:
		return namesIDs(x.Left) || namesIDs(x.Right)
	case *odata.Compare:
		return x.Field == "id" && x.Op == odata.OpEq
	case *odata.In:
		return x.Field == "id"
	}
	return false
}

// listWhere builds the WHERE of a list over res (alias a, table's tenant
// column tenant_id): the tenant, $filter, $search and the keyset cursor, and
// the ORDER BY. Sorted text compares by code point on both engines.
func (s *Store) listWhere(res resource, alias string, tenantID int64, o store.ListOptions) (where, page, order string, args, pageArgs []any, err error) {
	cond, cargs, err := compileFilter(o.Filter, res)
	if err != nil {
		return "", "", "", nil, nil, err
	}
	scond, sargs, err := compileFilter(o.Search, res)
	if err != nil {
		return "", "", "", nil, nil, err
	}
	where = alias + ".tenant_id = ?"
	if s.engine != Postgres && namesIDs(o.Filter) {
		// A filter naming objects by id: without statistics SQLite takes
		// the tenant's index for the cheaper one and reads every object of
		// the tenant; the unary + leaves it the GUID index.
		where = "+" + where
	}
	args = []any{tenantID}
	for _, c := range []struct {
		sql  string
		args []any
	}{{cond, cargs}, {scond, sargs}} {
		if c.sql != "" {
			where += " AND " + c.sql
			args = append(args, c.args...)
		}
	}
	id := alias + ".id"
	if o.OrderBy == "" {
		return where, where + " AND " + id + " > ?", " ORDER BY " + id, args, append(append([]any{}, args...), o.After), nil
	}
	col, ok := sortCols[res.name][o.OrderBy]
	if !ok {
		return "", "", "", nil, nil, allot.Errorf(allot.EUnsupportedQuery, "Sorting not supported for current query.")
	}
	if s.engine == Postgres {
		col += ` COLLATE "C"`
	}
	cmp, dir := " > ", ""
	if o.Desc {
		cmp, dir = " < ", " DESC"
	}
	page, pageArgs = where, append([]any{}, args...)
	if o.After != 0 {
		page += " AND (" + col + cmp + "? OR (" + col + " = ? AND " + id + cmp + "?))"
		pageArgs = append(pageArgs, o.AfterKey, o.AfterKey, o.After)
	}
	return where, page, " ORDER BY " + col + dir + ", " + id + dir, args, pageArgs, nil
}
