package membershiprule

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseAcceptsEntraSyntax(t *testing.T) {
	for _, tc := range []struct {
		name, rule, canonical string
	}{
		{"equality with a string", `user.department -eq "Sales"`, `user.department -eq "Sales"`},
		{"operators and properties ignore case", `USER.Department -EQ "Sales"`, `user.department -eq "Sales"`},
		{"every comparison operator", `user.city -ne "a" -and user.city -startsWith "b" -and user.city -notStartsWith "c" -and user.city -contains "d" -and user.city -notContains "e"`,
			`user.city -ne "a" -and user.city -startsWith "b" -and user.city -notStartsWith "c" -and user.city -contains "d" -and user.city -notContains "e"`},
		{"match and notMatch", `user.mail -match "^a.*@contoso\.com$" -or user.mail -notmatch "x"`, `user.mail -match "^a.*@contoso\.com$" -or user.mail -notMatch "x"`},
		{"in and notIn with lists", `user.country -in ["US","CA"] -and user.city -notIn []`, `user.country -in ["US", "CA"] -and user.city -notIn []`},
		{"booleans", `user.accountEnabled -eq true -and user.accountEnabled -ne FALSE`, `user.accountEnabled -eq true -and user.accountEnabled -ne false`},
		{"null", `user.employeeId -eq null -or user.jobTitle -ne null`, `user.employeeId -eq null -or user.jobTitle -ne null`},
		{"and binds tighter than or", `user.city -eq "a" -or user.city -eq "b" -and user.city -eq "c"`, `user.city -eq "a" -or user.city -eq "b" -and user.city -eq "c"`},
		{"parentheses group", `(user.city -eq "a" -or user.city -eq "b") -and user.city -eq "c"`, `(user.city -eq "a" -or user.city -eq "b") -and user.city -eq "c"`},
		{"not of a parenthesized rule", `-not (user.city -eq "a" -or user.city -eq "b")`, `-not (user.city -eq "a" -or user.city -eq "b")`},
		{"not of a comparison", `-not user.city -eq "a"`, `-not user.city -eq "a"`},
		{"backtick escapes a quote", "user.jobTitle -eq \"a`\"b\"", "user.jobTitle -eq \"a`\"b\""},
		{"assignedPlans any", `user.assignedPlans -any (assignedPlan.servicePlanId -eq "efb87545-963c-4e0d-99df-69c6916d9eb0" -and assignedPlan.capabilityStatus -eq "Enabled")`,
			`user.assignedPlans -any (assignedPlan.servicePlanId -eq "efb87545-963c-4e0d-99df-69c6916d9eb0" -and assignedPlan.capabilityStatus -eq "Enabled")`},
		{"assignedPlans all", `user.assignedPlans -all (assignedPlan.capabilityStatus -eq "Enabled")`, `user.assignedPlans -all (assignedPlan.capabilityStatus -eq "Enabled")`},
		{"whitespace and newlines", "  user.usageLocation\n -eq\t\"US\" ", `user.usageLocation -eq "US"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(tc.rule)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.rule, err)
			}
			if got := r.String(); got != tc.canonical {
				t.Fatalf("String() = %q, want %q", got, tc.canonical)
			}
		})
	}
}

func TestParseRefusesWithPositionAndExpectation(t *testing.T) {
	for _, tc := range []struct {
		name, rule, want string
	}{
		{"empty rule", ``, `at column 1: expected a rule`},
		{"missing value", `user.department -eq`, `at column 20: expected a value after -eq`},
		{"missing value before and", `user.department -eq -and user.city -eq "x"`, `at column 21: expected a value after -eq`},
		{"unknown operator", `user.department -equals "x"`, `at column 17: unknown operator '-equals'`},
		{"unknown property", `user.shoeSize -eq "x"`, `at column 1: unknown user property 'shoeSize'`},
		{"not a user property", `device.displayName -eq "x"`, `at column 1: expected a property of user`},
		{"unclosed string", `user.city -eq "Lagos`, `at column 15: the string that starts here has no closing '"'`},
		{"unclosed parenthesis", `(user.city -eq "a"`, `at column 19: expected ')'`},
		{"stray closing parenthesis", `user.city -eq "a")`, `at column 18: unexpected ')'`},
		{"two comparisons without and", `user.city -eq "a" user.city -eq "b"`, `at column 19: expected -and, -or or the end of the rule`},
		{"list with -eq", `user.city -eq ["a"]`, `at column 15: a list needs -in or -notIn`},
		{"-in without list", `user.city -in "a"`, `at column 15: expected a list`},
		{"list without comma", `user.city -in ["a" "b"]`, `at column 20: expected ',' or ']'`},
		{"unquoted string", `user.city -eq Lagos`, `at column 15: expected a value after -eq`},
		{"boolean on text", `user.city -eq true`, `at column 15: expected a string in double quotes`},
		{"string on boolean", `user.accountEnabled -eq "true"`, `at column 25: expected true, false or null`},
		{"null with contains", `user.city -contains null`, `at column 21: null can only be compared with -eq or -ne`},
		{"bad regular expression", `user.city -match "(a"`, "at column 18: invalid regular expression after -match: missing closing ): `(a`"},
		{"too complex a regular expression", `user.city -match "a{1000}b{1000}"`, "at column 18: the regular expression after -match is too complex"},
		{"assignedPlans without any", `user.assignedPlans -eq "x"`, `at column 20: expected -any or -all`},
		{"user property inside any", `user.assignedPlans -any (user.city -eq "x")`, `at column 26: expected assignedPlan.<property>`},
		{"unknown plan property", `user.assignedPlans -any (assignedPlan.sku -eq "x")`, `at column 26: unknown property 'sku'`},
		{"plan property outside any", `assignedPlan.service -eq "x"`, `at column 1: expected a property of user`},
		{"unexpected character", `user.city -eq "a" && user.city -eq "b"`, `at column 19: unexpected character '&'`},
		{"column counts characters", `user.city -eq "é" -and`, `at column 23: expected a property`},
		{"too deep", strings.Repeat("(", 200) + `user.city -eq "a"` + strings.Repeat(")", 200), `nests deeper than 100`},
		{"too long", `user.city -eq "` + strings.Repeat("a", 3100) + `"`, `the maximum is 3072`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.rule)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, want a *SyntaxError", tc.rule, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%q) = %q, want it to contain %q", tc.rule, err, tc.want)
			}
		})
	}
}

func TestEvalFollowsEntraSemantics(t *testing.T) {
	u := User{Text: map[string]string{"department": "Sales", "city": "Lagos", "mail": "Ann@Contoso.com", "country": "NG"}, AccountEnabled: true,
		AssignedPlans: []Plan{{ServicePlanID: "p1", CapabilityStatus: "Enabled"}, {ServicePlanID: "p2", CapabilityStatus: "Suspended"}}}
	for _, tc := range []struct {
		rule string
		want bool
	}{
		{`user.department -eq "sales"`, true},
		{`user.department -ne "SALES"`, false},
		{`user.city -startsWith "lag"`, true},
		{`user.city -notStartsWith "lag"`, false},
		{`user.mail -contains "@contoso"`, true},
		{`user.mail -notContains "@contoso"`, true == false},
		{`user.mail -match "^ann@"`, true},
		{`user.mail -notMatch "fabrikam"`, true},
		{`user.country -in ["us", "ng"]`, true},
		{`user.country -notIn ["us", "ng"]`, false},
		{`user.accountEnabled -eq true`, true},
		{`user.accountEnabled -eq false`, false},
		{`user.jobTitle -eq null`, true},
		{`user.jobTitle -ne null`, false},
		{`user.department -eq null`, false},
		{`user.jobTitle -ne "Boss"`, true},
		{`-not (user.department -eq "Sales")`, false},
		{`user.department -eq "Sales" -and user.city -eq "Abuja"`, false},
		{`user.department -eq "Sales" -or user.city -eq "Abuja"`, true},
		{`user.assignedPlans -any (assignedPlan.servicePlanId -eq "p1" -and assignedPlan.capabilityStatus -eq "Enabled")`, true},
		{`user.assignedPlans -any (assignedPlan.servicePlanId -eq "p2" -and assignedPlan.capabilityStatus -eq "Enabled")`, false},
		{`user.assignedPlans -all (assignedPlan.capabilityStatus -eq "Enabled")`, false},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			r, err := Parse(tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			if got := Eval(r, u); got != tc.want {
				t.Fatalf("Eval = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadsListsEachPropertyOnce(t *testing.T) {
	r, err := Parse(`user.department -eq "a" -or (user.city -eq "b" -and user.department -ne "c") -or user.assignedPlans -any (assignedPlan.service -eq "x") -or user.accountEnabled -eq true`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Reads(r), []string{"accountEnabled", "assignedPlans", "city", "department"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Reads = %v, want %v", got, want)
	}
}

// equal compares two trees, ignoring compiled patterns.
func equal(a, b Node) bool {
	switch a := a.(type) {
	case *And:
		b, ok := b.(*And)
		return ok && equal(a.L, b.L) && equal(a.R, b.R)
	case *Or:
		b, ok := b.(*Or)
		return ok && equal(a.L, b.L) && equal(a.R, b.R)
	case *Not:
		b, ok := b.(*Not)
		return ok && equal(a.X, b.X)
	case *Any:
		b, ok := b.(*Any)
		return ok && a.Prop == b.Prop && a.All == b.All && equal(a.Cond, b.Cond)
	case *Cmp:
		b, ok := b.(*Cmp)
		return ok && a.Object == b.Object && a.Prop == b.Prop && a.Op == b.Op && reflect.DeepEqual(a.Value, b.Value)
	}
	return false
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`user.department -eq "Sales"`,
		`(user.city -eq "a" -or -not user.city -in ["b","c"]) -and user.accountEnabled -eq true`,
		"user.jobTitle -match \"^a`\"b.*\" -and user.employeeId -ne null",
		`user.assignedPlans -any (assignedPlan.servicePlanId -eq "x" -and assignedPlan.capabilityStatus -eq "Enabled")`,
		`-not -not (user.mail -startsWith "a")`,
		`user.city -eq "a" -and (user.city -eq "b" -and user.city -eq "c") -or (user.city -eq "d" -or user.city -eq "e")`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		r, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(src) {
				t.Fatalf("Parse(%q): %v is not a positioned SyntaxError", src, err)
			}
			return
		}
		s := r.String()
		r2, err := Parse(s)
		if err != nil {
			t.Fatalf("String() of %q = %q does not parse: %v", src, s, err)
		}
		if !equal(r.Root, r2.Root) {
			t.Fatalf("%q reparses to a different rule: %q vs %q", src, s, r2.String())
		}
		Eval(r, User{Text: map[string]string{"city": src}})
	})
}
