package membershiprule

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// MaxLength is the longest rule accepted, in characters (Entra's limit).
const MaxLength = 3072

// maxDepth bounds the nesting of parentheses and -not, so that a hostile
// rule cannot exhaust the stack.
const maxDepth = 100

// SyntaxError is a rule that does not parse: where, and what was expected.
type SyntaxError struct {
	// Offset is the byte offset of the problem in the rule; Column the
	// same position in characters, counting from 1.
	Offset, Column int
	// Msg says what was expected or what is wrong.
	Msg string
}

// Error returns "at column N: msg".
func (e *SyntaxError) Error() string { return fmt.Sprintf("at column %d: %s", e.Column, e.Msg) }

type tokKind int

const (
	tEOF tokKind = iota
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
	tString
	tWord // user.department, true, false, null
	tOp   // -eq, -and, ...
)

type token struct {
	kind tokKind
	text string // the word, the operator (lower case, without '-') or the string's value
	raw  string // as written
	pos  int
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
	// inAny counts the -any/-all conditions being parsed.
	inAny int
}

// Parse parses a membership rule. A rule that does not parse gives a
// *SyntaxError with the position and what was expected.
func Parse(src string) (*Rule, error) {
	if n := utf8.RuneCountInString(src); n > MaxLength {
		return nil, &SyntaxError{Offset: 0, Column: 1, Msg: fmt.Sprintf("the rule has %d characters; the maximum is %d", n, MaxLength)}
	}
	p := &parser{src: src}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if p.peek().kind == tEOF {
		return nil, p.errAt(p.peek(), "expected a rule such as user.department -eq \"Sales\"")
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen {
			return nil, p.errAt(t, "unexpected ')' without a matching '('")
		}
		return nil, p.errAt(t, fmt.Sprintf("expected -and, -or or the end of the rule, found %s", describe(t)))
	}
	return &Rule{Root: root}, nil
}

func (p *parser) errAt(t token, msg string) error {
	return &SyntaxError{Offset: t.pos, Column: utf8.RuneCountInString(p.src[:t.pos]) + 1, Msg: msg}
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "the end of the rule"
	case tString:
		return fmt.Sprintf("the string %s", t.raw)
	}
	return fmt.Sprintf("'%s'", t.raw)
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) parseOr() (Node, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tOp && p.peek().text == "or" {
		p.next()
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &Or{L: l, R: r}
	}
	return l, nil
}

func (p *parser) parseAnd() (Node, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tOp && p.peek().text == "and" {
		p.next()
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		l = &And{L: l, R: r}
	}
	return l, nil
}

func (p *parser) parseUnary() (Node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errAt(p.peek(), fmt.Sprintf("the rule nests deeper than %d levels", maxDepth))
	}
	t := p.peek()
	switch {
	case t.kind == tOp && t.text == "not":
		p.next()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	case t.kind == tLParen:
		p.next()
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tRParen {
			return nil, p.errAt(c, fmt.Sprintf("expected ')' or -and/-or, found %s", describe(c)))
		}
		p.next()
		return x, nil
	case t.kind == tWord:
		return p.parseCmp()
	}
	return nil, p.errAt(t, fmt.Sprintf("expected a property such as user.department, '(' or -not, found %s", describe(t)))
}

// parseCmp parses a comparison: of user.<property> outside -any/-all, of
// assignedPlan.<property> inside.
func (p *parser) parseCmp() (Node, error) {
	t := p.next()
	obj, prop, ok := strings.Cut(t.text, ".")
	if !ok || prop == "" {
		return nil, p.errAt(t, fmt.Sprintf("expected a property such as user.department, found '%s'", t.raw))
	}
	inPlan := p.inAny > 0
	switch {
	case strings.EqualFold(obj, "user") && !inPlan:
		return p.parseUserCmp(t, prop)
	case strings.EqualFold(obj, "assignedPlan") && inPlan:
		name, ok := planProps[strings.ToLower(prop)]
		if !ok {
			return nil, p.errAt(t, fmt.Sprintf("unknown property '%s': an assigned plan has servicePlanId, capabilityStatus and service", prop))
		}
		return p.parseValueCmp("assignedPlan", name, kString)
	case inPlan:
		return nil, p.errAt(t, fmt.Sprintf("expected assignedPlan.<property> inside -any/-all, found '%s'", t.raw))
	}
	return nil, p.errAt(t, fmt.Sprintf("expected a property of user (user.<property>), found '%s'", t.raw))
}

func (p *parser) parseUserCmp(t token, prop string) (Node, error) {
	def, ok := userProps[strings.ToLower(prop)]
	if !ok {
		return nil, p.errAt(t, fmt.Sprintf("unknown user property '%s'; allot's rules read %s", prop, strings.Join(Properties(), ", ")))
	}
	if def.kind != kPlans {
		return p.parseValueCmp("user", def.name, def.kind)
	}
	op := p.next()
	if op.kind != tOp || (op.text != "any" && op.text != "all") {
		return nil, p.errAt(op, fmt.Sprintf("expected -any or -all after user.assignedPlans, found %s", describe(op)))
	}
	if l := p.peek(); l.kind != tLParen {
		return nil, p.errAt(l, fmt.Sprintf("expected '(' after -%s", op.text))
	}
	p.inAny++
	cond, err := p.parseUnary()
	p.inAny--
	if err != nil {
		return nil, err
	}
	return &Any{Prop: def.name, All: op.text == "all", Cond: cond}, nil
}

var opByLower = func() map[string]Op {
	m := map[string]Op{}
	for i, n := range opNames {
		m[strings.ToLower(n[1:])] = Op(i)
	}
	return m
}()

func (p *parser) parseValueCmp(obj, prop string, kind propKind) (Node, error) {
	ot := p.next()
	op, ok := opByLower[ot.text]
	if ot.kind != tOp || !ok {
		return nil, p.errAt(ot, fmt.Sprintf("expected an operator such as -eq after %s.%s, found %s", obj, prop, describe(ot)))
	}
	opName := op.String()
	vt := p.peek()
	c := &Cmp{Object: obj, Prop: prop, Op: op}
	switch {
	case op == OpIn || op == OpNotIn:
		if vt.kind != tLBrack {
			return nil, p.errAt(vt, fmt.Sprintf("expected a list such as [\"a\", \"b\"] after %s", opName))
		}
		if kind != kString {
			return nil, p.errAt(ot, fmt.Sprintf("%s compares text; %s.%s is true or false", opName, obj, prop))
		}
		list, err := p.parseList(opName)
		if err != nil {
			return nil, err
		}
		c.Value = Value{Kind: VList, List: list}
		return c, nil
	case vt.kind == tLBrack:
		return nil, p.errAt(vt, fmt.Sprintf("a list needs -in or -notIn, not %s", opName))
	case vt.kind == tString:
		if kind == kBool {
			return nil, p.errAt(vt, fmt.Sprintf("expected true, false or null after %s: %s.%s is true or false", opName, obj, prop))
		}
		p.next()
		c.Value = Value{Kind: VString, Str: vt.text}
	case vt.kind == tWord && (strings.EqualFold(vt.text, "true") || strings.EqualFold(vt.text, "false")):
		if kind != kBool {
			return nil, p.errAt(vt, fmt.Sprintf("expected a string in double quotes after %s: %s.%s is text", opName, obj, prop))
		}
		p.next()
		c.Value = Value{Kind: VBool, Bool: strings.EqualFold(vt.text, "true")}
	case vt.kind == tWord && strings.EqualFold(vt.text, "null"):
		p.next()
		c.Value = Value{Kind: VNull}
	default:
		return nil, p.errAt(vt, fmt.Sprintf("expected a value after %s", opName))
	}
	return c, p.checkOperand(c, ot, vt)
}

// checkOperand refuses an operator its value does not suit and compiles
// -match patterns.
func (p *parser) checkOperand(c *Cmp, ot, vt token) error {
	if c.Value.Kind == VNull && c.Op != OpEq && c.Op != OpNe {
		return p.errAt(vt, fmt.Sprintf("null can only be compared with -eq or -ne, not %s", c.Op))
	}
	if c.Value.Kind == VBool && c.Op != OpEq && c.Op != OpNe {
		return p.errAt(ot, fmt.Sprintf("true and false can only be compared with -eq or -ne, not %s", c.Op))
	}
	if c.Op == OpMatch || c.Op == OpNotMatch {
		if c.Value.Kind != VString {
			return p.errAt(vt, fmt.Sprintf("expected a regular expression in double quotes after %s", c.Op))
		}
		// The pattern is checked as written, so that an error quotes it;
		// it then matches ignoring case, as Entra's -match does.
		_, err := regexp.Compile(c.Value.Str)
		if err != nil {
			return p.errAt(vt, fmt.Sprintf("invalid regular expression after %s: %s", c.Op, strings.TrimPrefix(err.Error(), "error parsing regexp: ")))
		}
		if n := progSize(c.Value.Str); n > maxPattern {
			return p.errAt(vt, fmt.Sprintf("the regular expression after %s is too complex (%d instructions; the maximum is %d)", c.Op, n, maxPattern))
		}
		if c.re, err = regexp.Compile("(?i)" + c.Value.Str); err != nil {
			return p.errAt(vt, fmt.Sprintf("invalid regular expression after %s: %s", c.Op, strings.TrimPrefix(err.Error(), "error parsing regexp: ")))
		}
	}
	return nil
}

func (p *parser) parseList(opName string) ([]string, error) {
	p.next() // [
	list := []string{}
	for {
		t := p.next()
		switch {
		case t.kind == tRBrack && len(list) == 0:
			return list, nil
		case t.kind != tString:
			return nil, p.errAt(t, fmt.Sprintf("expected a string in double quotes in the list after %s, found %s", opName, describe(t)))
		}
		list = append(list, t.text)
		switch s := p.next(); s.kind {
		case tRBrack:
			return list, nil
		case tComma:
		default:
			return nil, p.errAt(s, fmt.Sprintf("expected ',' or ']' in the list after %s, found %s", opName, describe(s)))
		}
	}
}

// maxPattern bounds a -match pattern's compiled size: matching costs the
// pattern's size times the value's length, for every user a rule reads.
const maxPattern = 2000

// progSize is the number of instructions of a compiled pattern that
// regexp.Compile accepted.
func progSize(pattern string) int {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0
	}
	return len(prog.Inst)
}
