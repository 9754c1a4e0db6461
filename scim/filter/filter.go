// Package filter parses SCIM 2.0 filters and attribute paths (RFC 7644
// §3.4.2.2 and §3.5.2): the syntax only. What an attribute means, and how a
// filter becomes a query, is the business of whoever reads the tree.
package filter

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Expr is a parsed filter: *Compare, *Logical, *Not or *ValuePath.
type Expr interface{ expr() }

// Attr is an attribute path: an optional schema URN, an attribute name and
// an optional sub-attribute ("name.givenName").
type Attr struct {
	URN  string
	Name string
	Sub  string
}

// String returns the path as written, without the URN.
func (a Attr) String() string {
	if a.Sub != "" {
		return a.Name + "." + a.Sub
	}
	return a.Name
}

// Compare is "attr op value", or "attr pr" (Op "pr", no value). Op is lower case.
type Compare struct {
	Attr  Attr
	Op    string
	Value Value
}

// Logical is "L and R" or "L or R".
type Logical struct {
	Op   string // "and" or "or"
	L, R Expr
}

// Not is "not (X)".
type Not struct{ X Expr }

// ValuePath is "attr[filter]": the filter's attributes are sub-attributes
// of one value of the multi-valued attribute.
type ValuePath struct {
	Attr   Attr
	Filter Expr
}

func (*Compare) expr()   {}
func (*Logical) expr()   {}
func (*Not) expr()       {}
func (*ValuePath) expr() {}

// Value kinds.
const (
	KindString = "string"
	KindBool   = "boolean"
	KindNumber = "number"
	KindNull   = "null"
)

// Value is a comparison value.
type Value struct {
	Kind string
	Str  string
	Bool bool
	Num  float64
}

// Error is a syntax error at a byte position of the input.
type Error struct {
	Pos int
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("at position %d: %s", e.Pos, e.Msg) }

// Operators are the comparison operators, "pr" aside.
var Operators = []string{"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}

// Parse parses a filter.
func Parse(s string) (Expr, error) {
	p := &parser{s: s}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.s) {
		return nil, p.errf("expected 'and', 'or' or the end of the filter, found %q", p.rest())
	}
	return e, nil
}

// Path is a PATCH path: attr, attr[filter] or attr[filter].sub.
type Path struct {
	Attr   Attr
	Filter Expr // nil without [ ]
}

// ParsePath parses a PATCH operation's path.
func ParsePath(s string) (*Path, error) {
	p := &parser{s: strings.TrimSpace(s)}
	a, err := p.attr()
	if err != nil {
		return nil, err
	}
	out := &Path{Attr: a}
	if p.peek() == '[' {
		if out.Filter, err = p.bracket(); err != nil {
			return nil, err
		}
		if p.peek() == '.' {
			p.i++
			sub, err := p.name()
			if err != nil {
				return nil, err
			}
			out.Attr.Sub = sub
		}
	}
	if p.i < len(p.s) {
		return nil, p.errf("unexpected %q after the attribute path", p.rest())
	}
	return out, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) errf(format string, args ...any) error {
	return &Error{Pos: p.i, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) rest() string {
	r := p.s[p.i:]
	if len(r) > 20 {
		r = r[:20] + "…"
	}
	return r
}

func (p *parser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// keyword consumes the word w (case-insensitive) when it comes next,
// followed by a space, a parenthesis or the end.
func (p *parser) keyword(w string) bool {
	p.space()
	end := p.i + len(w)
	if end > len(p.s) || !strings.EqualFold(p.s[p.i:end], w) {
		return false
	}
	if end < len(p.s) && !strings.ContainsRune(" \t()[]", rune(p.s[end])) {
		return false
	}
	p.i = end
	return true
}

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &Logical{Op: "or", L: l, R: r}
	}
	return l, nil
}

func (p *parser) and() (Expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &Logical{Op: "and", L: l, R: r}
	}
	return l, nil
}

func (p *parser) unary() (Expr, error) {
	p.space()
	if p.keyword("not") {
		p.space()
		if p.peek() != '(' {
			return nil, p.errf("expected '(' after 'not'")
		}
		x, err := p.group()
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	}
	if p.peek() == '(' {
		return p.group()
	}
	return p.attrExp()
}

func (p *parser) group() (Expr, error) {
	p.i++ // (
	x, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.peek() != ')' {
		return nil, p.errf("expected ')'")
	}
	p.i++
	return x, nil
}

func (p *parser) bracket() (Expr, error) {
	p.i++ // [
	x, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.peek() != ']' {
		return nil, p.errf("expected ']'")
	}
	p.i++
	return x, nil
}

func (p *parser) attrExp() (Expr, error) {
	p.space()
	a, err := p.attr()
	if err != nil {
		return nil, err
	}
	if p.peek() == '[' {
		f, err := p.bracket()
		if err != nil {
			return nil, err
		}
		vp := &ValuePath{Attr: a, Filter: f}
		if p.peek() != '.' {
			return vp, nil
		}
		// emails[type eq "work"].value eq "x": one value matching both.
		p.i++
		sub, err := p.name()
		if err != nil {
			return nil, err
		}
		c, err := p.comparison(Attr{Name: sub})
		if err != nil {
			return nil, err
		}
		vp.Filter = &Logical{Op: "and", L: f, R: c}
		return vp, nil
	}
	return p.comparison(a)
}

func (p *parser) comparison(a Attr) (Expr, error) {
	p.space()
	at := p.i
	op := strings.ToLower(p.word())
	if op == "pr" {
		return &Compare{Attr: a, Op: "pr"}, nil
	}
	known := false
	for _, o := range Operators {
		known = known || o == op
	}
	if !known {
		p.i = at
		return nil, p.errf("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after '%s'", a)
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	return &Compare{Attr: a, Op: op, Value: v}, nil
}

// word reads up to the next space, parenthesis or bracket.
func (p *parser) word() string {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(" \t()[]", rune(p.s[p.i])) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *parser) value() (Value, error) {
	p.space()
	if p.peek() == '"' {
		v, err := p.str()
		if err == nil && p.i < len(p.s) && !strings.ContainsRune(" \t)]", rune(p.s[p.i])) {
			return Value{}, p.errf("expected a space, ')' or ']' after the string")
		}
		return v, err
	}
	at := p.i
	w := p.word()
	switch strings.ToLower(w) {
	case "true", "false":
		return Value{Kind: KindBool, Bool: strings.EqualFold(w, "true")}, nil
	case "null":
		return Value{Kind: KindNull}, nil
	case "":
		return Value{}, p.errf("expected a value (a \"string\", a number, true, false or null)")
	}
	n, err := strconv.ParseFloat(w, 64)
	if err != nil {
		p.i = at
		return Value{}, p.errf("expected a value (a \"string\", a number, true, false or null), found %q; quote strings with \"", w)
	}
	return Value{Kind: KindNumber, Num: n}, nil
}

func (p *parser) str() (Value, error) {
	start := p.i
	p.i++
	for p.i < len(p.s) && p.s[p.i] != '"' {
		if p.s[p.i] == '\\' {
			p.i++
		}
		p.i++
	}
	if p.i >= len(p.s) {
		p.i = start
		return Value{}, p.errf("the string has no closing '\"'")
	}
	p.i++
	var v string
	if err := json.Unmarshal([]byte(p.s[start:p.i]), &v); err != nil {
		p.i = start
		return Value{}, p.errf("the string is not valid JSON: %v", err)
	}
	return Value{Kind: KindString, Str: v}, nil
}

// attr reads [URN ":"] name ["." sub].
func (p *parser) attr() (Attr, error) {
	start := p.i
	for p.i < len(p.s) && isPathChar(p.s[p.i]) {
		p.i++
	}
	raw := p.s[start:p.i]
	if raw == "" {
		return Attr{}, p.errf("expected an attribute name")
	}
	var a Attr
	// A schema URI prefix (any URI, in practice a URN) ends at the last colon.
	if k := strings.LastIndexByte(raw, ':'); k >= 0 {
		if k == 0 || !(raw[0]|0x20 >= 'a' && raw[0]|0x20 <= 'z') {
			p.i = start
			return Attr{}, p.errf("'%s' is not an attribute path: a schema prefix starts with a letter (urn:...)", raw)
		}
		a.URN, raw = raw[:k], raw[k+1:]
	}
	name, sub, dotted := strings.Cut(raw, ".")
	if !validName(name) || (dotted && !validName(sub)) {
		bad := p.s[start:p.i]
		p.i = start
		return Attr{}, p.errf("'%s' is not an attribute path (name or name.subAttribute)", bad)
	}
	a.Name, a.Sub = name, sub
	return a, nil
}

func (p *parser) name() (string, error) {
	start := p.i
	for p.i < len(p.s) && isNameChar(p.s[p.i]) {
		p.i++
	}
	if !validName(p.s[start:p.i]) {
		p.i = start
		return "", p.errf("expected a sub-attribute name")
	}
	return p.s[start:p.i], nil
}

func isNameChar(c byte) bool {
	return c == '-' || c == '_' || c == '$' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func isPathChar(c byte) bool { return isNameChar(c) || c == ':' || c == '.' }

// validName: ALPHA *(nameChar).
func validName(s string) bool {
	if s == "" || !(s[0]|0x20 >= 'a' && s[0]|0x20 <= 'z') && s[0] != '$' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}
