package odata

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// supported is appended to errors about constructs allot does not implement.
const supported = "allot supports eq, startswith(), and, and any()"

// maxDepth is the deepest parenthesis nesting ParseFilter accepts.
const maxDepth = 32

// maxTerms is the largest number of conditions joined by and that ParseFilter
// accepts.
const maxTerms = 100

// Expr is a parsed $filter expression: one of *Compare, *StartsWith, *And or
// *Any. Each implementation has a String method that gives the expression back
// in canonical $filter syntax.
type Expr interface{ expr() }

// Compare is the condition `field eq value`. Field is the property path as
// written, with segments joined by "/" (for example "displayName" or
// "onPremisesExtensionAttributes/extensionAttribute1"); callers compare it
// case-insensitively. Only eq is supported; ne, gt and the other operators
// give an error naming what is supported.
type Compare struct {
	// Field is the property path on the left of eq.
	Field string
	// Value is the literal on the right of eq.
	Value Value
}

// StartsWith is the condition `startswith(field,'prefix')`. The function name
// is matched case-insensitively, so Graph's startsWith spelling works too.
type StartsWith struct {
	// Field is the property path given as the first argument.
	Field string
	// Prefix is the unquoted string given as the second argument.
	Prefix string
}

// And is the condition `left and right`. A chain a and b and c is parsed left
// to right as And{And{a, b}, c}.
type And struct {
	// Left and Right are the two conditions that must both hold.
	Left, Right Expr
}

// Any is a lambda over a collection, such as
// `assignedLicenses/any(x:x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900)`,
// which gives Collection "assignedLicenses", Field "skuId" (the path after the
// lambda variable) and the compared Value. A lambda over a collection of
// primitives, such as `proxyAddresses/any(p:p eq 'smtp:a@b.com')`, has an
// empty Field. The lambda variable's name is not kept.
type Any struct {
	// Collection is the path of the collection property, segments joined by "/".
	Collection string
	// Field is the path compared within each element, or "" for the element itself.
	Field string
	// Value is the literal each element's Field is compared with.
	Value Value
}

func (*Compare) expr()    {}
func (*StartsWith) expr() {}
func (*And) expr()        {}
func (*Any) expr()        {}

// String returns the condition in $filter syntax.
func (c *Compare) String() string { return c.Field + " eq " + c.Value.String() }

// String returns the condition in $filter syntax.
func (s *StartsWith) String() string {
	return "startswith(" + s.Field + "," + Value{Kind: KindString, Str: s.Prefix}.String() + ")"
}

// String returns the condition in $filter syntax, parenthesising a nested And
// on the right so that the text parses back to the same tree.
func (a *And) String() string {
	right := exprString(a.Right)
	if _, ok := a.Right.(*And); ok {
		right = "(" + right + ")"
	}
	return exprString(a.Left) + " and " + right
}

// String returns the condition in $filter syntax, with x as the lambda variable.
func (a *Any) String() string {
	elem := "x"
	if a.Field != "" {
		elem += "/" + a.Field
	}
	return a.Collection + "/any(x:" + elem + " eq " + a.Value.String() + ")"
}

// exprString formats any Expr, including nil.
func exprString(e Expr) string {
	if s, ok := e.(fmt.Stringer); ok && e != nil {
		return s.String()
	}
	return "<nil>"
}

// ParseFilter parses a $filter string into an Expr. It accepts
// `field eq value`, `startswith(field,'prefix')`, `collection/any(x:x/field eq
// value)`, conditions joined by `and`, and parentheses for grouping, with
// flexible whitespace. Keywords and function names are matched
// case-insensitively; field names are kept as written and callers compare them
// case-insensitively. Anything else, such as `or`, `not`, `ne` or `endswith()`,
// gives an *Error saying that only eq, startswith, and and any() are supported.
// Positions in error messages count characters from 1.
func ParseFilter(s string) (Expr, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errorf("$filter: the filter expression is empty; %s, as in displayName eq 'Adele'", supported)
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{src: s, toks: toks}
	e, err := p.parseAnd(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen {
			return nil, p.errf("unexpected \")\" at position %d; it closes a parenthesis that was never opened", p.pos(t))
		}
		return nil, p.unexpected(t, `"and" or the end of the expression`)
	}
	return e, nil
}

// tokKind is the kind of a lexical token.
type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tInt
	tGUID
	tLParen
	tRParen
	tComma
	tColon
	tSlash
)

// token is one lexical token of a $filter expression.
type token struct {
	kind tokKind
	text string // the source text; for a GUID, lower-cased
	off  int    // byte offset in the source
	str  string // the unquoted text of a string literal
	n    int64  // the value of an integer literal
}

// keyword reports whether t is the identifier kw, ignoring case.
func (t token) keyword(kw string) bool {
	return t.kind == tIdent && strings.EqualFold(t.text, kw)
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isHex(c byte) bool    { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
func isIdent(c byte) bool  { return isLetter(c) || isDigit(c) }
func isSpace(c byte) bool  { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// runePos turns a byte offset into a 1-based character position.
func runePos(s string, off int) int {
	if off > len(s) {
		off = len(s)
	}
	return utf8.RuneCountInString(s[:off]) + 1
}

// guidAt reports whether an unquoted GUID (8-4-4-4-12 hex digits) starts at
// s[i] and is not immediately followed by more literal characters.
func guidAt(s string, i int) bool {
	const n = 36
	if len(s)-i < n {
		return false
	}
	for k := 0; k < n; k++ {
		c := s[i+k]
		switch k {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	if j := i + n; j < len(s) && (isIdent(s[j]) || s[j] == '-' || s[j] == '.') {
		return false
	}
	return true
}

// lex splits a $filter expression into tokens, ending with a tEOF token.
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return append(toks, token{kind: tEOF, off: len(s)}), nil
		}
		c := s[i]
		start := i
		switch {
		case c == '(' || c == ')' || c == ',' || c == ':' || c == '/':
			kind := tSlash
			switch c {
			case '(':
				kind = tLParen
			case ')':
				kind = tRParen
			case ',':
				kind = tComma
			case ':':
				kind = tColon
			}
			toks = append(toks, token{kind: kind, text: s[i : i+1], off: i})
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				k := strings.IndexByte(s[j:], '\'')
				if k < 0 {
					return nil, errorf("$filter: the string starting at position %d is not closed; end it with ' and write a quote inside a string as ''", runePos(s, start))
				}
				b.WriteString(s[j : j+k])
				j += k + 1
				if j < len(s) && s[j] == '\'' {
					b.WriteByte('\'')
					j++
					continue
				}
				break
			}
			toks = append(toks, token{kind: tString, text: s[start:j], off: start, str: b.String()})
			i = j
		case c == '"':
			return nil, errorf("$filter: unexpected '\"' at position %d; enclose strings in single quotes, as in displayName eq 'Adele'", runePos(s, start))
		case guidAt(s, i):
			toks = append(toks, token{kind: tGUID, text: strings.ToLower(s[i : i+36]), off: i})
			i += 36
		case isDigit(c) || c == '-' && i+1 < len(s) && isDigit(s[i+1]):
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j < len(s) && (isIdent(s[j]) || s[j] == '-' || s[j] == '.' || s[j] == ':') {
				k := j
				for k < len(s) && (isIdent(s[k]) || s[k] == '-' || s[k] == '.' || s[k] == ':') {
					k++
				}
				return nil, errorf("$filter: %q at position %d is not a valid literal; allot accepts quoted strings, whole numbers, true, false, null and GUIDs", s[start:k], runePos(s, start))
			}
			n, err := strconv.ParseInt(s[start:j], 10, 64)
			if err != nil {
				if errors.Is(err, strconv.ErrRange) {
					return nil, errorf("$filter: the number %s at position %d is out of range", s[start:j], runePos(s, start))
				}
				return nil, errorf("$filter: %q at position %d is not a valid number", s[start:j], runePos(s, start))
			}
			toks = append(toks, token{kind: tInt, text: s[start:j], off: start, n: n})
			i = j
		case isLetter(c):
			j := i + 1
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			toks = append(toks, token{kind: tIdent, text: s[start:j], off: start})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, errorf("$filter: unexpected character %q at position %d; %s", r, runePos(s, start), supported)
		}
	}
}

// parser is a recursive-descent parser over the tokens of one expression.
type parser struct {
	src  string
	toks []token
	i    int
	ands int // and operators seen so far, across all nesting levels
}

// peek returns the current token without consuming it.
func (p *parser) peek() token { return p.peekAt(0) }

// peekAt returns the token n places ahead, or the final tEOF token.
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

// next consumes and returns the current token; at the end it keeps returning tEOF.
func (p *parser) next() token {
	t := p.peek()
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

// pos returns the 1-based character position of t.
func (p *parser) pos(t token) int { return runePos(p.src, t.off) }

// errf builds an *Error prefixed with "$filter: ".
func (p *parser) errf(format string, args ...any) *Error {
	return errorf("$filter: "+format, args...)
}

// adjacent reports whether b follows a with no space in between, as the parts
// of a property path must.
func adjacent(a, b token) bool { return a.off+len(a.text) == b.off }

// describe names a token for an error message.
func describe(t token) string {
	if t.kind == tEOF {
		return "the end of the expression"
	}
	return strconv.Quote(t.text)
}

// unsupportedOps are OData comparison operators allot does not implement.
var unsupportedOps = map[string]bool{
	"ne": true, "gt": true, "ge": true, "lt": true, "le": true, "has": true, "in": true,
	"add": true, "sub": true, "mul": true, "div": true, "divby": true, "mod": true,
}

// unexpected reports token t where something else was expected.
func (p *parser) unexpected(t token, expected string) *Error {
	switch {
	case t.keyword("or") || t.keyword("not"):
		return p.errf("unexpected %q at position %d; %s", t.text, p.pos(t), supported)
	case t.kind == tIdent && unsupportedOps[strings.ToLower(t.text)]:
		return p.errf("the %q operator at position %d is not supported; %s", t.text, p.pos(t), supported)
	case t.kind == tEOF:
		return p.errf("unexpected end of the expression; expected %s", expected)
	}
	return p.errf("unexpected %s at position %d; expected %s", describe(t), p.pos(t), expected)
}

// parseAnd parses conditions joined by and, stopping before any other token.
func (p *parser) parseAnd(depth int) (Expr, error) {
	left, err := p.parsePrimary(depth)
	if err != nil {
		return nil, err
	}
	for p.peek().keyword("and") {
		p.next()
		p.ands++
		if p.ands >= maxTerms {
			return nil, p.errf("the filter has too many conditions joined by and; at most %d are allowed", maxTerms)
		}
		right, err := p.parsePrimary(depth)
		if err != nil {
			return nil, err
		}
		left = &And{Left: left, Right: right}
	}
	return left, nil
}

// parsePrimary parses one condition or a parenthesised group.
func (p *parser) parsePrimary(depth int) (Expr, error) {
	t := p.peek()
	switch t.kind {
	case tLParen:
		if depth >= maxDepth {
			return nil, p.errf("parentheses are nested too deeply at position %d; at most %d levels are allowed", p.pos(t), maxDepth)
		}
		p.next()
		e, err := p.parseAnd(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tRParen {
			if c.kind == tEOF {
				return nil, p.errf("the parenthesis opened at position %d is not closed", p.pos(t))
			}
			return nil, p.unexpected(c, `"and" or ")"`)
		}
		p.next()
		return e, nil
	case tIdent:
		if t.keyword("not") {
			return nil, p.unexpected(t, "")
		}
		if p.peekAt(1).kind == tLParen {
			if t.keyword("startswith") {
				return p.parseStartsWith()
			}
			return nil, p.errf("the function %q at position %d is not supported; %s", t.text, p.pos(t), supported)
		}
		return p.parseCompareOrAny()
	case tEOF:
		return nil, p.errf("unexpected end of the expression; expected a condition such as displayName eq 'Adele'")
	case tString, tInt, tGUID:
		return nil, p.errf("expected a property name at position %d but found the value %s; put the property on the left, as in displayName eq 'Adele'", p.pos(t), t.text)
	}
	return nil, p.unexpected(t, "a condition such as displayName eq 'Adele'")
}

// parseStartsWith parses startswith(field,'prefix'); the name is current.
func (p *parser) parseStartsWith() (Expr, error) {
	name := p.next()
	p.next() // (
	usage := func() *Error {
		return p.errf("%s() at position %d must be written as startswith(property,'prefix'), as in startswith(displayName,'Ad')", name.text, p.pos(name))
	}
	if p.peek().kind != tIdent {
		return nil, usage()
	}
	field, err := p.parsePath()
	if err != nil {
		return nil, err
	}
	if p.next().kind != tComma {
		return nil, usage()
	}
	arg := p.next()
	if arg.kind != tString {
		return nil, usage()
	}
	if p.next().kind != tRParen {
		return nil, usage()
	}
	return &StartsWith{Field: field, Prefix: arg.str}, nil
}

// parsePath parses a property path ident("/"ident)*; the first ident is current.
func (p *parser) parsePath() (string, error) {
	prev := p.next()
	segs := []string{prev.text}
	for p.peek().kind == tSlash && adjacent(prev, p.peek()) {
		slash := p.next()
		seg := p.peek()
		if seg.kind == tIdent && !adjacent(slash, seg) {
			return "", p.errf("unexpected space after \"/\" at position %d; a property path has no spaces, as in assignedLicenses/any(x:x/skuId eq value)", p.pos(slash))
		}
		if seg.kind != tIdent {
			return "", p.errf("expected a property name after \"/\" at position %d but found %s", p.pos(slash), describe(seg))
		}
		if p.peekAt(1).kind == tLParen {
			return "", p.errf("%q at position %d is not allowed here; %s", seg.text+"()", p.pos(seg), supported)
		}
		prev = p.next()
		segs = append(segs, prev.text)
	}
	return strings.Join(segs, "/"), nil
}

// parseCompareOrAny parses `path eq value` or `path/any(x:x/field eq value)`.
func (p *parser) parseCompareOrAny() (Expr, error) {
	prev := p.next()
	segs := []string{prev.text}
	for p.peek().kind == tSlash && adjacent(prev, p.peek()) {
		slash := p.next()
		seg := p.peek()
		if seg.kind == tIdent && !adjacent(slash, seg) {
			return nil, p.errf("unexpected space after \"/\" at position %d; a property path has no spaces, as in assignedLicenses/any(x:x/skuId eq value)", p.pos(slash))
		}
		if seg.kind != tIdent {
			return nil, p.errf("expected a property name after \"/\" at position %d but found %s", p.pos(slash), describe(seg))
		}
		prev = p.next()
		if p.peek().kind == tLParen {
			switch {
			case seg.keyword("any"):
				return p.parseAny(strings.Join(segs, "/"), seg)
			case seg.keyword("all"):
				return nil, p.errf("the all() operator at position %d is not supported; %s", p.pos(seg), supported)
			}
			return nil, p.errf("the function %q at position %d is not supported; %s", seg.text, p.pos(seg), supported)
		}
		segs = append(segs, seg.text)
	}
	field := strings.Join(segs, "/")
	v, err := p.parseEqValue(field)
	if err != nil {
		return nil, err
	}
	return &Compare{Field: field, Value: v}, nil
}

// parseEqValue parses `eq value` after the property path what.
func (p *parser) parseEqValue(what string) (Value, error) {
	op := p.peek()
	switch {
	case op.keyword("eq"):
		p.next()
		return p.parseValue()
	case op.kind == tIdent && unsupportedOps[strings.ToLower(op.text)]:
		return Value{}, p.unexpected(op, "")
	case op.kind == tEOF:
		return Value{}, p.errf("expected eq after %q but reached the end of the expression", what)
	}
	return Value{}, p.errf("expected eq after %q at position %d but found %s; %s", what, p.pos(op), describe(op), supported)
}

// parseValue parses a literal.
func (p *parser) parseValue() (Value, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return Value{Kind: KindString, Str: t.str}, nil
	case tInt:
		return Value{Kind: KindInt, Int: t.n}, nil
	case tGUID:
		return Value{Kind: KindGUID, Str: t.text}, nil
	case tIdent:
		switch {
		case t.keyword("true"):
			return Value{Kind: KindBool, Bool: true}, nil
		case t.keyword("false"):
			return Value{Kind: KindBool}, nil
		case t.keyword("null"):
			return Value{Kind: KindNull}, nil
		}
		return Value{}, p.errf("expected a value at position %d but found %q; quote string values, as in '%s'", p.pos(t), t.text, t.text)
	case tEOF:
		return Value{}, p.errf("expected a value but reached the end of the expression")
	}
	return Value{}, p.errf("expected a value at position %d but found %s", p.pos(t), describe(t))
}

// parseAny parses the lambda after collection/any; the "(" is current.
func (p *parser) parseAny(collection string, anyTok token) (Expr, error) {
	p.next() // (
	usage := func() *Error {
		return p.errf("%s() at position %d must be written as %s/any(x:x/property eq value) or %s/any(x:x eq value)", anyTok.text, p.pos(anyTok), collection, collection)
	}
	if p.peek().kind == tRParen {
		return nil, p.errf("%s() without a lambda expression at position %d is not supported; write %s/any(x:x/property eq value)", anyTok.text, p.pos(anyTok), collection)
	}
	v := p.next()
	if v.kind != tIdent || p.next().kind != tColon {
		return nil, usage()
	}
	ref := p.peek()
	if ref.kind != tIdent {
		return nil, usage()
	}
	if p.peekAt(1).kind == tLParen {
		return nil, p.errf("%q at position %d is not supported inside any(); only a single eq comparison is, as in %s/any(x:x/property eq value)", ref.text+"()", p.pos(ref), collection)
	}
	if ref.text != v.text {
		return nil, p.errf("unknown lambda variable %q at position %d; the lambda declares %q", ref.text, p.pos(ref), v.text)
	}
	p.next()
	field := ""
	if p.peek().kind == tSlash && adjacent(ref, p.peek()) {
		slash := p.next()
		if p.peek().kind != tIdent || !adjacent(slash, p.peek()) {
			return nil, usage()
		}
		f, err := p.parsePath()
		if err != nil {
			return nil, err
		}
		field = f
	}
	what := v.text
	if field != "" {
		what += "/" + field
	}
	val, err := p.parseEqValue(what)
	if err != nil {
		return nil, err
	}
	switch c := p.peek(); {
	case c.kind == tRParen:
		p.next()
	case c.kind == tEOF:
		return nil, p.errf("the parenthesis of %s() at position %d is not closed", anyTok.text, p.pos(anyTok))
	case c.keyword("and") || c.keyword("or"):
		return nil, p.errf("unexpected %q at position %d; any() supports a single eq comparison", c.text, p.pos(c))
	default:
		return nil, p.unexpected(c, `")"`)
	}
	return &Any{Collection: collection, Field: field, Value: val}, nil
}
