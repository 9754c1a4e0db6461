package odata

import "strings"

// maxSearchClauses bounds the clauses of one $search.
const maxSearchClauses = 10

// ParseSearch parses a $search value as Graph accepts it on directory
// objects: clauses `"property:term"`, each in double quotes, joined by AND or
// OR (AND binds tighter), as in `"displayName:adele" OR "mail:adele"`. The
// result is a tree of *Search, *And and *Or.
func ParseSearch(s string) (Expr, error) {
	rest := strings.TrimSpace(s)
	var ors []Expr
	var and Expr
	for n := 0; ; n++ {
		if n == maxSearchClauses {
			return nil, errorf("$search: at most %d clauses are allowed", maxSearchClauses)
		}
		clause, after, err := searchClause(rest)
		if err != nil {
			return nil, err
		}
		if and == nil {
			and = clause
		} else {
			and = &And{Left: and, Right: clause}
		}
		rest = strings.TrimSpace(after)
		if rest == "" {
			break
		}
		word, tail, _ := strings.Cut(rest, " ")
		switch word {
		case "AND":
		case "OR":
			ors = append(ors, and)
			and = nil
		default:
			return nil, errorf(`$search: expected AND or OR between clauses but found %q; write "displayName:adele" OR "mail:adele"`, word)
		}
		rest = strings.TrimSpace(tail)
	}
	e := and
	for i := len(ors) - 1; i >= 0; i-- {
		e = &Or{Left: ors[i], Right: e}
	}
	return e, nil
}

// searchClause reads one `"property:term"` at the start of s.
func searchClause(s string) (*Search, string, error) {
	usage := errorf(`$search: %q is not valid; give "property:term" in double quotes, as in $search="displayName:adele"`, s)
	if !strings.HasPrefix(s, `"`) {
		return nil, "", usage
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return nil, "", usage
	}
	body := s[1 : end+1]
	prop, term, ok := strings.Cut(body, ":")
	prop, term = strings.TrimSpace(prop), strings.TrimSpace(term)
	if !ok || !validPath(prop) || term == "" {
		return nil, "", usage
	}
	return &Search{Field: prop, Term: term}, s[end+2:], nil
}
