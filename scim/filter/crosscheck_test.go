package filter_test

// Cross-check against an independent SCIM filter parser
// (github.com/scim2/filter-parser/v2, used only in this test): on a
// table of filters and on generated ones, both accept the same filters
// and read them the same way.

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"regexp"
	"strconv"
	"strings"
	"testing"

	ref "github.com/scim2/filter-parser/v2"

	"allot/scim/filter"
)

func canonOurs(e filter.Expr) string {
	switch x := e.(type) {
	case *filter.Logical:
		return "(" + canonOurs(x.L) + " " + x.Op + " " + canonOurs(x.R) + ")"
	case *filter.Not:
		return "not(" + canonOurs(x.X) + ")"
	case *filter.ValuePath:
		return attrOurs(x.Attr) + "[" + canonOurs(x.Filter) + "]"
	case *filter.Compare:
		s := attrOurs(x.Attr) + " " + x.Op
		if x.Op == "pr" {
			return s
		}
		switch x.Value.Kind {
		case filter.KindString:
			return s + " " + strconv.Quote(x.Value.Str)
		case filter.KindBool:
			return s + " " + strconv.FormatBool(x.Value.Bool)
		case filter.KindNull:
			return s + " null"
		}
		return s + " " + strconv.FormatFloat(x.Value.Num, 'g', -1, 64)
	}
	return "?"
}

func attrOurs(a filter.Attr) string {
	s := a.Name
	if a.URN != "" {
		s = a.URN + ":" + s
	}
	if a.Sub != "" {
		s += "." + a.Sub
	}
	return s
}

func canonRef(e ref.Expression) string {
	switch x := e.(type) {
	case *ref.LogicalExpression:
		return "(" + canonRef(x.Left) + " " + strings.ToLower(string(x.Operator)) + " " + canonRef(x.Right) + ")"
	case *ref.NotExpression:
		return "not(" + canonRef(x.Expression) + ")"
	case *ref.ValuePath:
		return x.AttributePath.String() + "[" + canonRef(x.ValueFilter) + "]"
	case *ref.AttributeExpression:
		s := x.AttributePath.String() + " " + strings.ToLower(string(x.Operator))
		switch v := x.CompareValue.(type) {
		case nil:
			if strings.EqualFold(string(x.Operator), "pr") {
				return s
			}
			return s + " null"
		case string:
			// The reference parser keeps a string's escapes; decode them.
			var dec string
			if err := json.Unmarshal([]byte(`"`+v+`"`), &dec); err != nil {
				return s + " !" + v
			}
			return s + " " + strconv.Quote(dec)
		case bool:
			return s + " " + strconv.FormatBool(v)
		case int:
			return s + " " + strconv.Itoa(v)
		case float64:
			return s + " " + strconv.FormatFloat(v, 'g', -1, 64)
		default:
			return s + fmt.Sprintf(" %v", v)
		}
	}
	return "?"
}

// gluedKeyword matches "and" or "or" run into the attribute before or
// after it inside [ ] (emails[type eq "work"and value pr], "work"
// anduserName): the reference parser accepts that, RFC 7644's grammar
// (SP "and" SP) and allot do not.
var gluedKeyword = regexp.MustCompile(`\[[^\]]*("(and|or) |\b(and|or)[A-Za-z])`)

func check(t *testing.T, f string) {
	t.Helper()
	ours, oerr := filter.Parse(f)
	theirs, rerr := ref.ParseFilter([]byte(f))
	if oerr != nil && rerr == nil && gluedKeyword.MatchString(f) {
		return // a known leniency of the reference parser, below
	}
	if (oerr == nil) != (rerr == nil) {
		t.Errorf("%q: allot says %v, the reference parser says %v", f, oerr, rerr)
		return
	}
	if oerr == nil {
		if a, b := canonOurs(ours), canonRef(theirs); a != b {
			t.Errorf("%q: allot reads %s, the reference parser %s", f, a, b)
		}
	}
}

func TestFiltersParseAsAnIndependentParserParsesThem(t *testing.T) {
	for _, f := range []string{
		`userName eq "bjensen"`,
		`name.familyName co "O'Malley"`,
		`userName sw "J"`,
		`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`,
		`title pr`,
		`meta.lastModified gt "2011-05-13T04:42:34Z"`,
		`meta.lastModified ge "2011-05-13T04:42:34Z"`,
		`meta.lastModified lt "2011-05-13T04:42:34Z"`,
		`meta.lastModified le "2011-05-13T04:42:34Z"`,
		`title pr and userType eq "Employee"`,
		`title pr or userType eq "Intern"`,
		`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`,
		`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
		`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
		`userType eq "Employee" and (emails.type eq "work")`,
		`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
		`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales"`,
		`active eq true`, `active eq false`, `manager eq null`,
		`a eq "x" or b eq "y" and c eq "z"`,
		`a eq "\"quoted\" \\ back"`,
		`userName eq "unicode é"`,
		// Refused by both.
		`userName eq`, `userName`, `userName xx "a"`, `(userName eq "a"`, `userName eq "a")`,
		`userName eq 'single'`, `eq "a"`, `userName eq "a" and`, `not userName eq "a"`,
		`emails[type eq "work"`, `userName eq "a" "b"`, ``,
	} {
		check(t, f)
	}
}

// TestGeneratedFiltersParseAsAnIndependentParserParsesThem builds random
// filters from the grammar and checks that both parsers read each the same.
func TestGeneratedFiltersParseAsAnIndependentParserParsesThem(t *testing.T) {
	rnd := rand.New(rand.NewSource(7))
	attrs := []string{"userName", "name.givenName", "emails.value", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "active", "x-y_z"}
	vals := []string{`"a b"`, `"A\"q"`, `true`, `false`, `null`, `""`}
	ops := []string{"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}
	var gen func(depth int) string
	gen = func(depth int) string {
		k := rnd.Intn(7)
		if depth > 3 {
			k = rnd.Intn(2)
		}
		switch k {
		case 0:
			return attrs[rnd.Intn(len(attrs))] + " pr"
		case 1, 2:
			return attrs[rnd.Intn(len(attrs))] + " " + ops[rnd.Intn(len(ops))] + " " + vals[rnd.Intn(len(vals))]
		case 3:
			return gen(depth+1) + " and " + gen(depth+1)
		case 4:
			return gen(depth+1) + " or " + gen(depth+1)
		case 5:
			return "not (" + gen(depth+1) + ")"
		}
		return "emails[type eq \"work\" and " + gen(depth+4) + "]"
	}
	for i := 0; i < 500; i++ {
		f := gen(0)
		check(t, f)
		// And a damaged copy: both must still agree on accepting it.
		if len(f) > 2 {
			j := rnd.Intn(len(f))
			check(t, f[:j]+f[j+1:])
		}
	}
}
