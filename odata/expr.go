package odata

import (
	"fmt"
	"strings"
)

// Expr is a parsed $filter expression: one of *Compare, *In, *StartsWith,
// *EndsWith, *And, *Or, *Not, *Any or *Count. Each implementation has a
// String method that gives the expression back in canonical $filter syntax,
// which parses back to the same tree.
type Expr interface{ expr() }

// Op is a comparison operator. The zero Op is eq.
type Op int

// The comparison operators of $filter.
const (
	OpEq Op = iota
	OpNe
	OpGt
	OpGe
	OpLt
	OpLe
)

var opNames = [...]string{"eq", "ne", "gt", "ge", "lt", "le"}

// String returns the operator's keyword, such as "eq".
func (o Op) String() string {
	if o >= 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// opByName finds an operator by keyword, ignoring case.
func opByName(s string) (Op, bool) {
	for i, n := range opNames {
		if strings.EqualFold(s, n) {
			return Op(i), true
		}
	}
	return 0, false
}

// Compare is the condition `field op value`. Field is the property path as
// written, with segments joined by "/" (for example "displayName" or
// "initiatedBy/user/id"); callers compare it case-insensitively. Inside a
// lambda, Field is the path after the lambda variable, "" for the element
// itself.
type Compare struct {
	// Field is the property path on the left of the operator.
	Field string
	// Op is the operator; the zero value is eq.
	Op Op
	// Value is the literal on the right.
	Value Value
}

// In is the condition `field in (v1, v2, …)`.
type In struct {
	// Field is the property path, as in Compare.
	Field string
	// Values are the literals listed, at least one.
	Values []Value
}

// StartsWith is the condition `startswith(field,'prefix')`. The function name
// is matched case-insensitively, so Graph's startsWith spelling works too.
type StartsWith struct {
	// Field is the property path given as the first argument.
	Field string
	// Prefix is the unquoted string given as the second argument.
	Prefix string
}

// EndsWith is the condition `endswith(field,'suffix')`.
type EndsWith struct {
	// Field is the property path given as the first argument.
	Field string
	// Suffix is the unquoted string given as the second argument.
	Suffix string
}

// And is the condition `left and right`. A chain a and b and c is parsed left
// to right as And{And{a, b}, c}.
type And struct {
	// Left and Right are the two conditions that must both hold.
	Left, Right Expr
}

// Or is the condition `left or right`; and binds tighter than or.
type Or struct {
	// Left and Right are the two conditions of which one must hold.
	Left, Right Expr
}

// Not is the condition `not(x)`.
type Not struct {
	// X is the negated condition.
	X Expr
}

// Any is a lambda over a collection, such as
// `assignedLicenses/any(x:x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900)`:
// Collection "assignedLicenses" and Body Compare{Field: "skuId", …}. Fields in
// Body are relative to the lambda variable ("" is the element itself, as in
// `proxyAddresses/any(p:startswith(p,'smtp:'))`); the variable's name is not
// kept. All is set for the all operator.
type Any struct {
	// Collection is the path of the collection property, segments joined by "/".
	Collection string
	// All tells that every element must match (all) rather than one (any).
	All bool
	// Body is the condition on each element.
	Body Expr
}

// Count is the condition `collection/$count op n`, as in Microsoft's
// unlicensed-users query `assignedLicenses/$count eq 0`.
type Count struct {
	// Collection is the path of the counted collection.
	Collection string
	// Op is the comparison operator.
	Op Op
	// N is the whole number compared with.
	N int64
}

func (*Compare) expr()    {}
func (*In) expr()         {}
func (*StartsWith) expr() {}
func (*EndsWith) expr()   {}
func (*And) expr()        {}
func (*Or) expr()         {}
func (*Not) expr()        {}
func (*Any) expr()        {}
func (*Count) expr()      {}

// lambdaVar is the variable canonical strings give lambdas.
const lambdaVar = "x"

// elem prefixes a lambda-relative field with the lambda variable.
func elem(field string, inLambda bool) string {
	if !inLambda {
		return field
	}
	if field == "" {
		return lambdaVar
	}
	return lambdaVar + "/" + field
}

// String returns the condition in $filter syntax.
func (c *Compare) String() string { return c.str(false) }

func (c *Compare) str(l bool) string {
	return elem(c.Field, l) + " " + c.Op.String() + " " + c.Value.String()
}

// String returns the condition in $filter syntax.
func (c *In) String() string { return c.str(false) }

func (c *In) str(l bool) string {
	vs := make([]string, len(c.Values))
	for i, v := range c.Values {
		vs[i] = v.String()
	}
	return elem(c.Field, l) + " in (" + strings.Join(vs, ",") + ")"
}

// String returns the condition in $filter syntax.
func (s *StartsWith) String() string { return s.str(false) }

func (s *StartsWith) str(l bool) string {
	return "startswith(" + elem(s.Field, l) + "," + Value{Kind: KindString, Str: s.Prefix}.String() + ")"
}

// String returns the condition in $filter syntax.
func (s *EndsWith) String() string { return s.str(false) }

func (s *EndsWith) str(l bool) string {
	return "endswith(" + elem(s.Field, l) + "," + Value{Kind: KindString, Str: s.Suffix}.String() + ")"
}

// String returns the condition in $filter syntax, parenthesising nested
// conditions so that the text parses back to the same tree.
func (a *And) String() string { return a.str(false) }

func (a *And) str(l bool) string {
	return group(a.Left, l, false) + " and " + group(a.Right, l, true)
}

// String returns the condition in $filter syntax.
func (o *Or) String() string { return o.str(false) }

func (o *Or) str(l bool) string {
	left := render(o.Left, l)
	if _, ok := o.Right.(*Or); ok {
		return left + " or (" + render(o.Right, l) + ")"
	}
	return left + " or " + group(o.Right, l, false)
}

// group renders a child of and: or always needs parentheses, and an and
// on the right does too.
func group(e Expr, l, right bool) string {
	switch e.(type) {
	case *Or:
		return "(" + render(e, l) + ")"
	case *And:
		if right {
			return "(" + render(e, l) + ")"
		}
	}
	return render(e, l)
}

// String returns the condition in $filter syntax.
func (n *Not) String() string { return n.str(false) }

func (n *Not) str(l bool) string { return "not(" + render(n.X, l) + ")" }

// String returns the condition in $filter syntax, with x as the lambda variable.
func (a *Any) String() string {
	op := "any"
	if a.All {
		op = "all"
	}
	return a.Collection + "/" + op + "(" + lambdaVar + ":" + render(a.Body, true) + ")"
}

// String returns the condition in $filter syntax.
func (c *Count) String() string { return c.str(false) }

func (c *Count) str(l bool) string {
	return elem(c.Collection, l) + "/$count " + c.Op.String() + " " + fmt.Sprint(c.N)
}

// render formats an expression; inside a lambda, fields get the variable.
func render(e Expr, inLambda bool) string {
	type lambdaStringer interface{ str(bool) string }
	if s, ok := e.(lambdaStringer); ok {
		return s.str(inLambda)
	}
	return exprString(e)
}

// exprString formats any Expr, including nil.
func exprString(e Expr) string {
	if s, ok := e.(fmt.Stringer); ok && e != nil {
		return s.String()
	}
	return "<nil>"
}

// Search is one clause of $search, `"property:term"`: items whose property
// has a word starting with Term. ParseSearch joins clauses with *And and
// *Or; ParseFilter never produces a Search.
type Search struct {
	// Field is the property searched.
	Field string
	// Term is the text a word must start with.
	Term string
}

func (*Search) expr() {}

// String returns the clause in $search syntax.
func (s *Search) String() string { return `"` + s.Field + ":" + s.Term + `"` }
