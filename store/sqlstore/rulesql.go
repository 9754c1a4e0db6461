package sqlstore

import (
	"strings"

	"allot/membershiprule"
)

// A full evaluation of a rule over a large tenant reads every user. When the
// rule compares only properties that are columns of users, with ASCII
// literals and without patterns or assigned plans, the database can decide
// it instead: for a value made of ASCII characters, SQL's LOWER, = and
// instr give exactly what membershiprule.Eval gives (it lower-cases
// Unicode; on ASCII the two agree). Users with a non-ASCII value in one of
// the columns the rule reads are still evaluated by membershiprule.Eval.

// ruleSQL is a rule translated to a condition over a users row.
type ruleSQL struct {
	cond string
	args []any
	// cols are the columns the rule reads; a row whose value of one of them
	// is not ASCII is decided by membershiprule.Eval instead.
	cols []string
}

// sqlColumn is the users column of each text property the translation
// handles.
var sqlColumn = map[string]string{"userPrincipalName": "upn", "displayName": "display_name", "givenName": "given_name",
	"surname": "surname", "mail": "mail", "jobTitle": "job_title", "department": "department", "usageLocation": "usage_location"}

// translateRule translates r for the engine, or answers false when some
// part of it needs membershiprule.Eval (a property kept in the profile, a
// pattern, assigned plans, a non-ASCII literal).
func translateRule(r *membershiprule.Rule, engine Engine) (*ruleSQL, bool) {
	tr := &ruleTranslator{engine: engine, seen: map[string]bool{}}
	cond, ok := tr.node(r.Root)
	if !ok {
		return nil, false
	}
	return &ruleSQL{cond: cond, args: tr.args, cols: tr.cols}, true
}

// ruleTranslator builds a condition and its arguments in order.
type ruleTranslator struct {
	engine Engine
	args   []any
	cols   []string
	seen   map[string]bool
}

func (tr *ruleTranslator) node(n membershiprule.Node) (string, bool) {
	switch n := n.(type) {
	case *membershiprule.And:
		return tr.pair(n.L, n.R, " AND ")
	case *membershiprule.Or:
		return tr.pair(n.L, n.R, " OR ")
	case *membershiprule.Not:
		x, ok := tr.node(n.X)
		return "NOT (" + x + ")", ok
	case *membershiprule.Cmp:
		return tr.cmp(n)
	}
	return "", false
}

func (tr *ruleTranslator) pair(l, r membershiprule.Node, op string) (string, bool) {
	a, ok := tr.node(l)
	if !ok {
		return "", false
	}
	b, ok := tr.node(r)
	return "(" + a + ")" + op + "(" + b + ")", ok
}

// cmp translates one comparison as membershiprule's compare decides it.
func (tr *ruleTranslator) cmp(c *membershiprule.Cmp) (string, bool) {
	if c.Object != "user" {
		return "", false
	}
	if c.Prop == "accountEnabled" {
		if c.Value.Kind != membershiprule.VBool || (c.Op != membershiprule.OpEq && c.Op != membershiprule.OpNe) {
			return "", false
		}
		want := c.Value.Bool == (c.Op == membershiprule.OpEq)
		tr.args = append(tr.args, b2i(want))
		return "account_enabled = ?", true
	}
	col, ok := sqlColumn[c.Prop]
	if !ok {
		return "", false
	}
	if !tr.seen[col] {
		tr.seen[col] = true
		tr.cols = append(tr.cols, col)
	}
	if c.Value.Kind == membershiprule.VNull {
		if c.Op == membershiprule.OpEq {
			return col + " = ''", true
		}
		return col + " <> ''", true
	}
	lower := "LOWER(" + col + ")"
	if c.Value.Kind == membershiprule.VList {
		for _, s := range c.Value.List {
			if !isASCII(s) {
				return "", false
			}
			tr.args = append(tr.args, strings.ToLower(s))
		}
		in := lower + " IN (" + placeholders(len(c.Value.List)) + ")"
		switch {
		case len(c.Value.List) == 0 && c.Op == membershiprule.OpIn:
			return "1 = 0", true
		case len(c.Value.List) == 0:
			return "1 = 1", true
		case c.Op == membershiprule.OpIn:
			return in, true
		case c.Op == membershiprule.OpNotIn:
			return "NOT (" + in + ")", true
		}
		return "", false
	}
	if c.Value.Kind != membershiprule.VString || !isASCII(c.Value.Str) {
		return "", false
	}
	tr.args = append(tr.args, strings.ToLower(c.Value.Str))
	pos := "instr(" + lower + ", ?)"
	if tr.engine == Postgres {
		pos = "strpos(" + lower + ", ?)"
	}
	switch c.Op {
	case membershiprule.OpEq:
		return lower + " = ?", true
	case membershiprule.OpNe:
		return lower + " <> ?", true
	case membershiprule.OpStartsWith:
		return pos + " = 1", true
	case membershiprule.OpNotStartsWith:
		return pos + " <> 1", true
	case membershiprule.OpContains:
		return pos + " > 0", true
	case membershiprule.OpNotContains:
		return pos + " = 0", true
	}
	return "", false
}

// nonASCII is a condition true when a column the rule reads holds a
// character outside ASCII (more bytes than characters).
func (q *ruleSQL) nonASCII() string {
	if len(q.cols) == 0 {
		return "1 = 0"
	}
	parts := make([]string, len(q.cols))
	for i, col := range q.cols {
		parts[i] = "length(" + col + ") <> octet_length(" + col + ")"
	}
	return strings.Join(parts, " OR ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
