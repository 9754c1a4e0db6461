package membershiprule

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// lex splits the rule into tokens. Strings are in double quotes; a
// backtick escapes a double quote or a backtick inside one, as in Entra.
func (p *parser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(' || c == ')' || c == '[' || c == ']' || c == ',':
			p.toks = append(p.toks, token{kind: punct[c], raw: s[i : i+1], pos: i})
			i++
		case c == '"':
			t, n, err := p.lexString(i)
			if err != nil {
				return err
			}
			p.toks = append(p.toks, t)
			i = n
		case c == '-':
			j := i + 1
			for j < len(s) && isLetter(s[j]) {
				j++
			}
			if j == i+1 {
				return p.errAt(token{pos: i}, "expected an operator such as -eq after '-'")
			}
			name := strings.ToLower(s[i+1 : j])
			if _, ok := opByLower[name]; !ok && !logical[name] {
				return p.errAt(token{pos: i}, fmt.Sprintf("unknown operator '%s'", s[i:j]))
			}
			p.toks = append(p.toks, token{kind: tOp, text: name, raw: s[i:j], pos: i})
			i = j
		case isWordStart(c):
			j := i + 1
			for j < len(s) && (isWordStart(s[j]) || s[j] == '.' || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			p.toks = append(p.toks, token{kind: tWord, text: s[i:j], raw: s[i:j], pos: i})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return p.errAt(token{pos: i}, fmt.Sprintf("unexpected character %q", r))
		}
	}
	p.toks = append(p.toks, token{kind: tEOF, pos: len(s)})
	return nil
}

var punct = map[byte]tokKind{'(': tLParen, ')': tRParen, '[': tLBrack, ']': tRBrack, ',': tComma}

// logical are the operators that combine conditions.
var logical = map[string]bool{"and": true, "or": true, "not": true, "any": true, "all": true}

func (p *parser) lexString(start int) (token, int, error) {
	s := p.src
	var b strings.Builder
	for i := start + 1; i < len(s); i++ {
		switch s[i] {
		case '`':
			if i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '`') {
				b.WriteByte(s[i+1])
				i++
				continue
			}
			b.WriteByte('`')
		case '"':
			return token{kind: tString, text: b.String(), raw: s[start : i+1], pos: start}, i + 1, nil
		default:
			b.WriteByte(s[i])
		}
	}
	return token{}, 0, p.errAt(token{pos: start}, "the string that starts here has no closing '\"'")
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func isWordStart(c byte) bool { return isLetter(c) || c == '_' }
