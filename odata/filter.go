package odata

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// supported is appended to errors about constructs allot does not implement.
const supported = "allot supports eq, ne, gt, ge, lt, le, in, not, and, or, startswith(), endswith(), any(), all() and /$count"

// maxDepth is the deepest nesting (parentheses, not, lambdas) ParseFilter accepts.
const maxDepth = 32

// maxTerms is the largest number of conditions joined by and or or, and of
// values in in lists, that ParseFilter accepts.
const maxTerms = 100

// ParseFilter parses a $filter string into an Expr. It accepts comparisons
// (`field eq value`, with ne, gt, ge, lt and le), `field in (v1,v2)`,
// `startswith(field,'prefix')`, `endswith(field,'suffix')`, lambdas
// `collection/any(x:condition)` and `collection/all(x:condition)`,
// `collection/$count eq 0`, conditions joined by and and or, not, and
// parentheses, with flexible whitespace. Keywords and function names are
// matched case-insensitively; field names are kept as written and callers
// compare them case-insensitively. Anything else gives an *Error saying what
// is wrong. Positions in error messages count characters from 1.
func ParseFilter(s string) (Expr, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errorf("$filter: the filter expression is empty; %s, as in displayName eq 'Adele'", supported)
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{src: s, toks: toks}
	e, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen {
			return nil, p.errf("unexpected \")\" at position %d; it closes a parenthesis that was never opened", p.pos(t))
		}
		return nil, p.unexpected(t, `"and", "or" or the end of the expression`)
	}
	return e, nil
}

// dateTimeLayouts are the forms of an unquoted date and time literal.
var dateTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"}

// parseDateTime parses a date and time literal into UTC.
func parseDateTime(s string) (time.Time, bool) {
	for _, l := range dateTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// dateTimeAt returns the length of the date and time literal starting at
// s[i] (YYYY-MM-DD, optionally followed by a time and zone), or 0.
func dateTimeAt(s string, i int) int {
	if len(s)-i < 10 || !isDigit(s[i]) || s[i+4] != '-' || s[i+7] != '-' {
		return 0
	}
	j := i
	for j < len(s) && (isDigit(s[j]) || strings.IndexByte("-:.+TZtz", s[j]) >= 0) {
		j++
	}
	if j < len(s) && isIdent(s[j]) {
		return 0
	}
	if _, ok := parseDateTime(s[i:j]); !ok {
		return 0
	}
	return j - i
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
	tDateTime
)

// token is one lexical token of a $filter expression.
type token struct {
	kind tokKind
	text string // the source text; for a GUID, lower-cased
	off  int    // byte offset in the source
	str  string // the unquoted text of a string literal
	n    int64  // the value of an integer literal
	t    time.Time
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
		case dateTimeAt(s, i) > 0:
			n := dateTimeAt(s, i)
			t, _ := parseDateTime(s[i : i+n])
			toks = append(toks, token{kind: tDateTime, text: s[i : i+n], off: i, t: t})
			i += n
		case c == '$' && i+1 < len(s) && isLetter(s[i+1]):
			j := i + 1
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			toks = append(toks, token{kind: tIdent, text: s[start:j], off: start})
			i = j
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
				return nil, errorf("$filter: %q at position %d is not a valid literal; allot accepts quoted strings, whole numbers, true, false, null, GUIDs and dates such as 2024-05-01T00:00:00Z", s[start:k], runePos(s, start))
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
	src    string
	toks   []token
	i      int
	terms  int    // and/or operators and in values seen so far
	lambda string // the variable of the lambda being parsed, or ""
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

// unsupportedOps are OData operators allot does not implement.
var unsupportedOps = map[string]bool{
	"has": true, "add": true, "sub": true, "mul": true, "div": true, "divby": true, "mod": true,
}

// unexpected reports token t where something else was expected.
func (p *parser) unexpected(t token, expected string) *Error {
	switch {
	case t.kind == tIdent && unsupportedOps[strings.ToLower(t.text)]:
		return p.errf("the %q operator at position %d is not supported; %s", t.text, p.pos(t), supported)
	case t.kind == tEOF:
		return p.errf("unexpected end of the expression; expected %s", expected)
	}
	return p.errf("unexpected %s at position %d; expected %s", describe(t), p.pos(t), expected)
}

// countTerm counts one more and/or/in value against maxTerms.
func (p *parser) countTerm() error {
	p.terms++
	if p.terms >= maxTerms {
		return p.errf("the filter has too many conditions; at most %d are allowed", maxTerms)
	}
	return nil
}

// parseOr parses conditions joined by or.
func (p *parser) parseOr(depth int) (Expr, error) {
	left, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.peek().keyword("or") {
		p.next()
		if err := p.countTerm(); err != nil {
			return nil, err
		}
		right, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		left = &Or{Left: left, Right: right}
	}
	return left, nil
}

// parseAnd parses conditions joined by and.
func (p *parser) parseAnd(depth int) (Expr, error) {
	left, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	for p.peek().keyword("and") {
		p.next()
		if err := p.countTerm(); err != nil {
			return nil, err
		}
		right, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		left = &And{Left: left, Right: right}
	}
	return left, nil
}

// parseUnary parses `not condition` or a primary condition.
func (p *parser) parseUnary(depth int) (Expr, error) {
	t := p.peek()
	// not is the operator unless it is a property compared with something.
	if t.keyword("not") && !p.isOperatorAt(1) {
		if depth >= maxDepth {
			return nil, p.errf("the filter is nested too deeply; at most %d levels are allowed", maxDepth)
		}
		p.next()
		x, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	}
	return p.parsePrimary(depth)
}

// isOperatorAt reports whether the token n ahead is a comparison operator or in.
func (p *parser) isOperatorAt(n int) bool {
	t := p.peekAt(n)
	if t.kind != tIdent {
		return false
	}
	_, ok := opByName(t.text)
	return ok || t.keyword("in")
}

// parsePrimary parses a parenthesised condition, a function call, a lambda,
// a /$count comparison or a comparison.
func (p *parser) parsePrimary(depth int) (Expr, error) {
	t := p.peek()
	switch {
	case t.kind == tLParen:
		if depth >= maxDepth {
			return nil, p.errf("the filter is nested too deeply; at most %d levels are allowed", maxDepth)
		}
		p.next()
		e, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			if c.kind == tEOF {
				return nil, p.errf("the parenthesis opened at position %d is not closed", p.pos(t))
			}
			return nil, p.unexpected(c, `")"`)
		}
		return e, nil
	case t.kind == tIdent && p.peekAt(1).kind == tLParen:
		return p.parseFunc()
	case t.kind == tIdent && !strings.HasPrefix(t.text, "$"):
		return p.parseCondition(depth)
	}
	if t.kind != tEOF && t.kind != tRParen {
		return nil, p.errf("expected a property name at position %d but found %s; write conditions as property eq value", p.pos(t), describe(t))
	}
	return nil, p.unexpected(t, "a condition such as displayName eq 'Adele'")
}

// parseFunc parses startswith(field,'s') or endswith(field,'s').
func (p *parser) parseFunc() (Expr, error) {
	name := p.next()
	var ends bool
	switch {
	case name.keyword("startswith"):
	case name.keyword("endswith"):
		ends = true
	default:
		return nil, p.errf("the function %q at position %d is not supported; %s", name.text, p.pos(name), supported)
	}
	p.next() // (
	usage := func() *Error {
		return p.errf("%s() at position %d must be written as %s(property,'text'), as in %s(displayName,'Ad')", name.text, p.pos(name), strings.ToLower(name.text), strings.ToLower(name.text))
	}
	if p.peek().kind != tIdent {
		return nil, usage()
	}
	field, err := p.parseField()
	if err != nil {
		return nil, err
	}
	if p.next().kind != tComma {
		return nil, usage()
	}
	arg := p.next()
	if arg.kind != tString || p.next().kind != tRParen {
		return nil, usage()
	}
	if ends {
		return &EndsWith{Field: field, Suffix: arg.str}, nil
	}
	return &StartsWith{Field: field, Prefix: arg.str}, nil
}

// parseSegments reads ident("/"ident)* and stops before a segment followed by
// "(" (a lambda operator) or at $count; the first ident is current.
func (p *parser) parseSegments() ([]token, error) {
	prev := p.next()
	segs := []token{prev}
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
		segs = append(segs, seg)
		if p.peek().kind == tLParen || strings.HasPrefix(seg.text, "$") {
			break
		}
	}
	return segs, nil
}

// fieldOf turns path segments into a field, relative to the lambda variable
// inside a lambda.
func (p *parser) fieldOf(segs []token) (string, error) {
	names := make([]string, len(segs))
	for i, s := range segs {
		if strings.HasPrefix(s.text, "$") {
			return "", p.errf("%q at position %d is only allowed as collection/$count eq n", s.text, p.pos(s))
		}
		names[i] = s.text
	}
	if p.lambda == "" {
		return strings.Join(names, "/"), nil
	}
	if names[0] != p.lambda {
		return "", p.errf("unknown lambda variable %q at position %d; the lambda declares %q", names[0], p.pos(segs[0]), p.lambda)
	}
	return strings.Join(names[1:], "/"), nil
}

// parseField parses a property path used as a function argument.
func (p *parser) parseField() (string, error) {
	segs, err := p.parseSegments()
	if err != nil {
		return "", err
	}
	if p.peek().kind == tLParen {
		last := segs[len(segs)-1]
		return "", p.errf("%q at position %d is not allowed here; %s", last.text+"()", p.pos(last), supported)
	}
	return p.fieldOf(segs)
}

// parseCondition parses `path op value`, `path in (…)`, `path/$count op n`
// or `path/any(x:…)`; the first ident is current.
func (p *parser) parseCondition(depth int) (Expr, error) {
	segs, err := p.parseSegments()
	if err != nil {
		return nil, err
	}
	last := segs[len(segs)-1]
	if p.peek().kind == tLParen && len(segs) > 1 {
		if last.keyword("any") || last.keyword("all") {
			coll, err := p.fieldOf(segs[:len(segs)-1])
			if err != nil {
				return nil, err
			}
			return p.parseLambda(coll, last, depth)
		}
		return nil, p.errf("the function %q at position %d is not supported; %s", last.text, p.pos(last), supported)
	}
	if strings.EqualFold(last.text, "$count") && len(segs) > 1 {
		return p.parseCount(segs)
	}
	field, err := p.fieldOf(segs)
	if err != nil {
		return nil, err
	}
	what := strings.Join(tokTexts(segs), "/")
	op := p.peek()
	if op.keyword("in") {
		p.next()
		vals, err := p.parseList()
		if err != nil {
			return nil, err
		}
		return &In{Field: field, Values: vals}, nil
	}
	o, err := p.parseOp(what)
	if err != nil {
		return nil, err
	}
	v, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	return &Compare{Field: field, Op: o, Value: v}, nil
}

func tokTexts(ts []token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.text
	}
	return out
}

// parseOp parses a comparison operator after the property path what.
func (p *parser) parseOp(what string) (Op, error) {
	op := p.peek()
	if op.kind == tIdent {
		if o, ok := opByName(op.text); ok {
			p.next()
			return o, nil
		}
		if unsupportedOps[strings.ToLower(op.text)] {
			return 0, p.unexpected(op, "")
		}
	}
	if op.kind == tEOF {
		return 0, p.errf("expected an operator such as eq after %q but reached the end of the expression", what)
	}
	return 0, p.errf("expected an operator such as eq after %q at position %d but found %s; %s", what, p.pos(op), describe(op), supported)
}

// parseCount parses `path/$count op n`; the segments are read.
func (p *parser) parseCount(segs []token) (Expr, error) {
	coll, err := p.fieldOf(segs[:len(segs)-1])
	if err != nil {
		return nil, err
	}
	o, err := p.parseOp(strings.Join(tokTexts(segs), "/"))
	if err != nil {
		return nil, err
	}
	t := p.next()
	if t.kind != tInt {
		return nil, p.errf("/$count at position %d is compared with a whole number, as in assignedLicenses/$count eq 0", p.pos(segs[len(segs)-1]))
	}
	return &Count{Collection: coll, Op: o, N: t.n}, nil
}

// parseList parses `(v1, v2, …)` after in.
func (p *parser) parseList() ([]Value, error) {
	open := p.next()
	if open.kind != tLParen {
		return nil, p.errf("expected \"(\" after in at position %d; write in ('a','b')", p.pos(open))
	}
	var vals []Value
	for {
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		if err := p.countTerm(); err != nil {
			return nil, err
		}
		vals = append(vals, v)
		switch c := p.next(); c.kind {
		case tComma:
			continue
		case tRParen:
			return vals, nil
		case tEOF:
			return nil, p.errf("the list opened at position %d is not closed", p.pos(open))
		default:
			return nil, p.unexpected(c, `"," or ")"`)
		}
	}
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
	case tDateTime:
		return Value{Kind: KindDateTime, Time: t.t}, nil
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

// parseLambda parses the lambda after collection/any or /all; "(" is current.
func (p *parser) parseLambda(collection string, opTok token, depth int) (Expr, error) {
	p.next() // (
	if p.lambda != "" {
		return nil, p.errf("%s() at position %d is inside another lambda; nested lambdas are not supported", opTok.text, p.pos(opTok))
	}
	if depth >= maxDepth {
		return nil, p.errf("the filter is nested too deeply; at most %d levels are allowed", maxDepth)
	}
	if p.peek().kind == tRParen {
		return nil, p.errf("%s() without a lambda expression at position %d is not supported; write %s/%s(x:x/property eq value)", opTok.text, p.pos(opTok), collection, strings.ToLower(opTok.text))
	}
	v := p.next()
	if v.kind != tIdent || strings.HasPrefix(v.text, "$") || p.next().kind != tColon {
		return nil, p.errf("%s() at position %d must be written as %s/%s(x:x/property eq value) or %s/%s(x:x eq value)", opTok.text, p.pos(opTok),
			collection, strings.ToLower(opTok.text), collection, strings.ToLower(opTok.text))
	}
	p.lambda = v.text
	body, err := p.parseOr(depth + 1)
	p.lambda = ""
	if err != nil {
		return nil, err
	}
	switch c := p.peek(); {
	case c.kind == tRParen:
		p.next()
	case c.kind == tEOF:
		return nil, p.errf("the parenthesis of %s() at position %d is not closed", opTok.text, p.pos(opTok))
	default:
		return nil, p.unexpected(c, `")"`)
	}
	return &Any{Collection: collection, All: opTok.keyword("all"), Body: body}, nil
}
