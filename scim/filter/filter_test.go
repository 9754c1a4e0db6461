package filter

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseReadsPrecedenceAndPaths(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`a eq "x" or b eq "y" and c eq "z"`, `(a eq "x" or (b eq "y" and c eq "z"))`},
		{`not (a pr) and b pr`, `(not(a pr) and b pr)`},
		{`(a pr or b pr) and c pr`, `((a pr or b pr) and c pr)`},
		{`A EQ "x" AND b Pr`, `(A eq "x" and b pr)`},
		{`name.givenName sw "J"`, `name.givenName sw "J"`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "S"`, `{urn:ietf:params:scim:schemas:extension:enterprise:2.0:User}department eq "S"`},
		{`emails[type eq "work"].value eq "a@b"`, `emails[(type eq "work" and value eq "a@b")]`},
		{`n eq 1.5`, `n eq 1.5`},
		{`n eq null`, `n eq null`},
	} {
		e, err := Parse(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got := show(e); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseErrorsSayWhereAndWhat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		pos  int
		want string
	}{
		{`userName eq`, 11, "expected a value"},
		{`userName zz "a"`, 9, "expected an operator"},
		{`(a pr`, 5, "expected ')'"},
		{`a pr)`, 4, "expected 'and', 'or' or the end"},
		{`a eq 'x'`, 5, "quote strings with"},
		{`a eq "x`, 5, "no closing"},
		{`not a pr`, 4, "expected '(' after 'not'"},
		{`emails[type eq "w"`, 18, "expected ']'"},
		{`1a eq "x"`, 0, "not an attribute path"},
		{``, 0, "expected an attribute name"},
	} {
		_, err := Parse(tc.in)
		e, ok := err.(*Error)
		if !ok || e.Pos != tc.pos || !strings.Contains(e.Msg, tc.want) {
			t.Errorf("%q: %v, want position %d and %q", tc.in, err, tc.pos, tc.want)
		}
	}
}

func TestParsePathReadsPatchPaths(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`title`, `title`},
		{`name.familyName`, `name.familyName`},
		{`emails[type eq "work"].value`, `emails.value[type eq "work"]`},
		{`members[value eq "2819c223"]`, `members[value eq "2819c223"]`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`, `{urn:ietf:params:scim:schemas:extension:enterprise:2.0:User}manager`},
	} {
		p, err := ParsePath(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		got := showAttr(p.Attr)
		if p.Filter != nil {
			got += "[" + show(p.Filter) + "]"
		}
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{`emails[type eq`, `a b`, `emails[type eq "w"]x`, ``} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func showAttr(a Attr) string {
	s := a.String()
	if a.URN != "" {
		s = "{" + a.URN + "}" + s
	}
	return s
}

func show(e Expr) string {
	switch x := e.(type) {
	case *Logical:
		return "(" + show(x.L) + " " + x.Op + " " + show(x.R) + ")"
	case *Not:
		return "not(" + show(x.X) + ")"
	case *ValuePath:
		return showAttr(x.Attr) + "[" + show(x.Filter) + "]"
	case *Compare:
		s := showAttr(x.Attr) + " " + x.Op
		switch x.Value.Kind {
		case KindString:
			s += ` "` + x.Value.Str + `"`
		case KindNumber:
			s += " " + strings.TrimRight(strings.TrimRight(strconvF(x.Value.Num), "0"), ".")
		case KindNull:
			s += " null"
		case KindBool:
			if x.Value.Bool {
				s += " true"
			} else {
				s += " false"
			}
		}
		return s
	}
	return "?"
}

func strconvF(f float64) string { return strconv.FormatFloat(f, 'f', 6, 64) }
