package odata

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

const sku = "6fd2c87f-b296-42f0-b197-1e91e994b900"

func str(s string) Value  { return Value{Kind: KindString, Str: s} }
func guid(s string) Value { return Value{Kind: KindGUID, Str: s} }
func boolean(b bool) Value {
	return Value{Kind: KindBool, Bool: b}
}
func integer(n int64) Value { return Value{Kind: KindInt, Int: n} }
func eq(f string, v Value) *Compare {
	return &Compare{Field: f, Value: v}
}
func and(l, r Expr) *And { return &And{Left: l, Right: r} }

func TestParseFilterValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Expr
	}{
		{"string equality", "displayName eq 'Adele'", eq("displayName", str("Adele"))},
		{"doubled quote in string", "displayName eq 'it''s'", eq("displayName", str("it's"))},
		{"only a doubled quote", "displayName eq ''''", eq("displayName", str("'"))},
		{"empty string", "mail eq ''", eq("mail", str(""))},
		{"string with spaces and keywords", "displayName eq ' a and b or c '", eq("displayName", str(" a and b or c "))},
		{"non-ASCII string", "displayName eq 'Zoë 漢字'", eq("displayName", str("Zoë 漢字"))},
		{"GUID literal", "id eq " + sku, eq("id", guid(sku))},
		{"upper-case GUID is lower-cased", "id eq " + strings.ToUpper(sku), eq("id", guid(sku))},
		{"GUID starting with a digit", "id eq 00000000-0000-0000-0000-000000000000", eq("id", guid("00000000-0000-0000-0000-000000000000"))},
		{"quoted GUID stays a string", "id eq '" + sku + "'", eq("id", str(sku))},
		{"bool true", "accountEnabled eq true", eq("accountEnabled", boolean(true))},
		{"bool false", "accountEnabled eq false", eq("accountEnabled", boolean(false))},
		{"bool is case-insensitive", "accountEnabled eq TRUE", eq("accountEnabled", boolean(true))},
		{"hasMembersWithLicenseErrors", "hasMembersWithLicenseErrors eq true", eq("hasMembersWithLicenseErrors", boolean(true))},
		{"null", "mail eq null", eq("mail", Value{Kind: KindNull})},
		{"integer", "seats eq 25", eq("seats", integer(25))},
		{"negative integer", "delta eq -3", eq("delta", integer(-3))},
		{"min int64", "n eq -9223372036854775808", eq("n", integer(-9223372036854775808))},
		{"field case kept as written", "DisplayName eq 'x'", eq("DisplayName", str("x"))},
		{"eq is case-insensitive", "displayName EQ 'x'", eq("displayName", str("x"))},
		{"property path", "onPremisesExtensionAttributes/extensionAttribute1 eq 'x'", eq("onPremisesExtensionAttributes/extensionAttribute1", str("x"))},
		{"flexible whitespace", "  \tdisplayName   eq\n'x'  ", eq("displayName", str("x"))},
		{"startswith", "startswith(displayName,'Ad')", &StartsWith{Field: "displayName", Prefix: "Ad"}},
		{"startsWith camel case with spaces", "startsWith( displayName , 'Ad' )", &StartsWith{Field: "displayName", Prefix: "Ad"}},
		{"startswith with doubled quote", "startswith(surname,'O''Br')", &StartsWith{Field: "surname", Prefix: "O'Br"}},
		{"any over license skuId", "assignedLicenses/any(x:x/skuId eq " + sku + ")", &Any{Collection: "assignedLicenses", Body: eq("skuId", guid(sku))}},
		{"any with spaces and other variable", "assignedLicenses/any( l : l/skuId eq " + sku + " )", &Any{Collection: "assignedLicenses", Body: eq("skuId", guid(sku))}},
		{"any over primitive collection", "proxyAddresses/any(p:p eq 'smtp:a@b.com')", &Any{Collection: "proxyAddresses", Body: eq("", str("smtp:a@b.com"))}},
		{"any is case-insensitive", "proxyAddresses/ANY(p:p eq 'x')", &Any{Collection: "proxyAddresses", Body: eq("", str("x"))}},
		{"and of eq and startswith", "accountEnabled eq true and startswith(userPrincipalName,'a')",
			and(eq("accountEnabled", boolean(true)), &StartsWith{Field: "userPrincipalName", Prefix: "a"})},
		{"and chain is left-associative", "a eq 1 and b eq 2 and c eq 3",
			and(and(eq("a", integer(1)), eq("b", integer(2))), eq("c", integer(3)))},
		{"parentheses group to the right", "a eq 1 and (b eq 2 and c eq 3)",
			and(eq("a", integer(1)), and(eq("b", integer(2)), eq("c", integer(3))))},
		{"nested parentheses", "((accountEnabled eq true)) and ((startswith(displayName,'A') and (mail eq null)))",
			and(eq("accountEnabled", boolean(true)), and(&StartsWith{Field: "displayName", Prefix: "A"}, eq("mail", Value{Kind: KindNull})))},
		{"and with any", "accountEnabled eq true and assignedLicenses/any(x:x/skuId eq " + sku + ")",
			and(eq("accountEnabled", boolean(true)), &Any{Collection: "assignedLicenses", Body: eq("skuId", guid(sku))})},
		{"parenthesised any without spaces", "(assignedLicenses/any(x:x/skuId eq " + sku + "))and(id eq 'q')",
			and(&Any{Collection: "assignedLicenses", Body: eq("skuId", guid(sku))}, eq("id", str("q")))},
		{"ne", "accountEnabled ne true", &Compare{Field: "accountEnabled", Op: OpNe, Value: boolean(true)}},
		{"ge on a date and time", "createdDateTime ge 2024-05-01T10:00:00Z",
			&Compare{Field: "createdDateTime", Op: OpGe, Value: Value{Kind: KindDateTime, Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}}},
		{"date with offset is turned to UTC", "activityDateTime le 2024-05-01T10:00:00+02:00",
			&Compare{Field: "activityDateTime", Op: OpLe, Value: Value{Kind: KindDateTime, Time: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)}}},
		{"date only", "createdDateTime lt 2024-05-01",
			&Compare{Field: "createdDateTime", Op: OpLt, Value: Value{Kind: KindDateTime, Time: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)}}},
		{"or binds looser than and", "a eq 1 or b eq 2 and c eq 3",
			&Or{Left: eq("a", integer(1)), Right: and(eq("b", integer(2)), eq("c", integer(3)))}},
		{"not with parentheses", "NOT(companyName eq 'Microsoft')", &Not{X: eq("companyName", str("Microsoft"))}},
		{"not without parentheses", "not startsWith(displayName,'Conf')", &Not{X: &StartsWith{Field: "displayName", Prefix: "Conf"}}},
		{"not binds tighter than and", "not a eq 1 and b eq 2", and(&Not{X: eq("a", integer(1))}, eq("b", integer(2)))},
		{"property named not", "not eq 1", eq("not", integer(1))},
		{"in", "userPrincipalName in ('a@x.com','b@x.com')", &In{Field: "userPrincipalName", Values: []Value{str("a@x.com"), str("b@x.com")}}},
		{"endswith", "endsWith(mail,'@contoso.com')", &EndsWith{Field: "mail", Suffix: "@contoso.com"}},
		{"count in filter", "assignedLicenses/$count eq 0", &Count{Collection: "assignedLicenses", N: 0}},
		{"count ne", "assignedLicenses/$count ne 0", &Count{Collection: "assignedLicenses", Op: OpNe}},
		{"all", "assignedLicenses/all(l:l/skuId ne " + sku + ")", &Any{Collection: "assignedLicenses", All: true, Body: &Compare{Field: "skuId", Op: OpNe, Value: guid(sku)}}},
		{"function inside any", "proxyAddresses/any(p:startswith(p,'smtp:'))", &Any{Collection: "proxyAddresses", Body: &StartsWith{Prefix: "smtp:"}}},
		{"endswith inside any with space", "proxyAddresses/any (p:endsWith(p, 'OnMicrosoft.com'))", &Any{Collection: "proxyAddresses", Body: &EndsWith{Suffix: "OnMicrosoft.com"}}},
		{"or inside any", "targetResources/any(t:t/id eq 'a' or t/id eq 'b')", &Any{Collection: "targetResources", Body: &Or{Left: eq("id", str("a")), Right: eq("id", str("b"))}}},
		{"not any", "not(assignedLicenses/any(x:x/skuId eq " + sku + "))", &Not{X: &Any{Collection: "assignedLicenses", Body: eq("skuId", guid(sku))}}},
		{"or of ands keeps its groups", "(a eq 1 or b eq 2) and (c eq 3 or d eq 4)",
			and(&Or{Left: eq("a", integer(1)), Right: eq("b", integer(2))}, &Or{Left: eq("c", integer(3)), Right: eq("d", integer(4))})},
		{"keyword-like field names", "and eq 1 and eq eq 2", and(eq("and", integer(1)), eq("eq", integer(2)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFilter(tt.in)
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseFilter(%q) = %s, want %s", tt.in, exprString(got), exprString(tt.want))
			}
			// The canonical form parses back to the same tree.
			again, err := ParseFilter(exprString(got))
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("reparse of %q = %v, %v", exprString(got), exprString(again), err)
			}
		})
	}
}

func TestParseFilterInvalid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // substrings of the error message
	}{
		{"empty", "", []string{"$filter: the filter expression is empty"}},
		{"blank", "   ", []string{"empty"}},
		{"has is unsupported", "a has 'x'", []string{`the "has" operator at position 3 is not supported`}},
		{"contains is unsupported", "contains(displayName,'x')", []string{`"contains"`, "not supported"}},
		{"nested lambda", "a/any(x:x/b/any(y:y eq 1))", []string{"nested lambdas are not supported"}},
		{"count compared with a string", "assignedLicenses/$count eq 'a'", []string{"whole number"}},
		{"dollar segment as a field", "a/$count/b eq 1", []string{`after "a/$count" at position 9 but found "/"`}},
		{"dollar identifier alone", "$count eq 1", []string{"expected a property name"}},
		{"in without list", "id in 'a'", []string{`expected "(" after in`}},
		{"in list not closed", "id in ('a'", []string{"not closed"}},
		{"bad date", "createdDateTime ge 2020-13-01T00:00:00Z", []string{"not a valid literal"}},
		{"any without lambda", "assignedLicenses/any()", []string{"without a lambda"}},
		{"any with undeclared variable", "assignedLicenses/any(x:y/skuId eq " + sku + ")", []string{`unknown lambda variable "y"`}},
		{"any missing colon", "assignedLicenses/any(x x/skuId eq 1)", []string{"must be written as assignedLicenses/any(x:x/property eq value)"}},
		{"any not closed", "assignedLicenses/any(x:x/skuId eq 1", []string{"is not closed"}},
		{"unterminated string", "displayName eq 'Ad", []string{"string starting at position 16 is not closed"}},
		{"odd quote at end", "displayName eq 'it''", []string{"not closed"}},
		{"double-quoted string", `displayName eq "Ad"`, []string{"single quotes"}},
		{"unquoted string value", "displayName eq Adele", []string{`found "Adele"`, "quote string values"}},
		{"missing value", "displayName eq", []string{"expected a value but reached the end"}},
		{"missing operator", "displayName", []string{`expected an operator such as eq after "displayName"`}},
		{"value first", "'Adele' eq displayName", []string{"expected a property name at position 1"}},
		{"unbalanced open paren", "(a eq 1", []string{"parenthesis opened at position 1 is not closed"}},
		{"unbalanced close paren", "a eq 1)", []string{`unexpected ")" at position 7`}},
		{"empty parens", "()", []string{`unexpected ")"`}},
		{"dangling and", "a eq 1 and", []string{"unexpected end of the expression"}},
		{"two conditions without and", "a eq 1 b eq 2", []string{`unexpected "b" at position 8`}},
		{"decimal number", "a eq 1.5", []string{`"1.5" at position 6 is not a valid literal`}},
		{"integer overflow", "a eq 99999999999999999999", []string{"out of range"}},
		{"bad character", "a eq 1 && b eq 2", []string{`unexpected character '&' at position 8`}},
		{"non-ASCII field", "naïve eq 1", []string{`unexpected character 'ï' at position 3`}},
		{"startswith with number", "startswith(displayName,5)", []string{"startswith(property,'text')"}},
		{"startswith with one argument", "startswith(displayName)", []string{"startswith(property,'text')"}},
		{"startswith with value first", "startswith('Ad',displayName)", []string{"startswith(property,'text')"}},
		{"path ending in slash", "manager/ eq 1", []string{`unexpected space after "/" at position 8`}},
		{"space before slash", "manager /id eq 1", []string{`expected an operator such as eq after "manager" at position 9 but found "/"`}},
		{"space inside any path", "assignedLicenses/any(x:x/ skuId eq 1)", []string{"unexpected space after"}},
		{"function in path", "a/b(c) eq 1", []string{`the function "b"`}},
		{"too deep", strings.Repeat("(", 40) + "a eq 1" + strings.Repeat(")", 40), []string{"nested too deeply"}},
		{"too many ands", "a eq 1" + strings.Repeat(" and a eq 1", 100), []string{"too many conditions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFilter(tt.in)
			if err == nil {
				t.Fatalf("ParseFilter(%q) = %s, want an error", tt.in, exprString(got))
			}
			var oe *Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %T is not *odata.Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseFilter(%q) error %q does not contain %q", tt.in, err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "$filter: ") {
				t.Errorf("error %q does not start with $filter:", err)
			}
		})
	}
}

func TestParseFilterLimits(t *testing.T) {
	ok := strings.Repeat("(", maxDepth) + "a eq 1" + strings.Repeat(")", maxDepth)
	if _, err := ParseFilter(ok); err != nil {
		t.Errorf("nesting of %d levels: %v", maxDepth, err)
	}
	if _, err := ParseFilter("a eq 1" + strings.Repeat(" and a eq 1", maxTerms-2)); err != nil {
		t.Errorf("%d conditions: %v", maxTerms-1, err)
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		want    Query
		wantErr string
	}{
		{name: "defaults", query: "", want: Query{Top: 100}},
		{name: "top", query: "$top=5", want: Query{Top: 5}},
		{name: "top without dollar", query: "top=7", want: Query{Top: 7}},
		{name: "option name case-insensitive", query: "$TOP=7", want: Query{Top: 7}},
		{name: "top capped silently", query: "$top=5000", want: Query{Top: 999}},
		{name: "huge top capped", query: "$top=99999999999999999999999", want: Query{Top: 999}},
		{name: "top zero", query: "$top=0", wantErr: `$top: "0" is not a valid page size`},
		{name: "top negative", query: "$top=-1", wantErr: "not a valid page size"},
		{name: "top non-numeric", query: "$top=ten", wantErr: `$top: "ten"`},
		{name: "top empty", query: "$top=", wantErr: "not a valid page size"},
		{name: "top decimal", query: "$top=1.5", wantErr: "not a valid page size"},
		{name: "select", query: "$select=id,displayName", want: Query{Top: 100, Select: []string{"id", "displayName"}}},
		{name: "select spaces and duplicates", query: "$select=" + url.QueryEscape(" id , displayName,ID "), want: Query{Top: 100, Select: []string{"id", "displayName"}}},
		{name: "select empty", query: "$select=", wantErr: "$select: the value is empty"},
		{name: "select empty item", query: "$select=id,,mail", wantErr: "empty property name"},
		{name: "select bad name", query: "$select=" + url.QueryEscape("id;drop"), wantErr: `"id;drop" is not a valid property name`},
		{name: "filter", query: "$filter=" + url.QueryEscape("accountEnabled eq true"), want: Query{Top: 100, Filter: eq("accountEnabled", boolean(true))}},
		{name: "filter without dollar", query: "filter=" + url.QueryEscape("startswith(displayName,'A')"), want: Query{Top: 100, Filter: &StartsWith{Field: "displayName", Prefix: "A"}}},
		{name: "filter error passes through", query: "$filter=" + url.QueryEscape("a eq 1 xor b eq 2"), wantErr: `$filter: unexpected "xor"`},
		{name: "count true", query: "$count=true", want: Query{Top: 100, Count: true}},
		{name: "count false", query: "$count=false", want: Query{Top: 100}},
		{name: "count invalid", query: "$count=yes", wantErr: "$count: \"yes\" is not valid; it must be true or false"},
		{name: "skiptoken", query: "$skiptoken=abc", want: Query{Top: 100, SkipToken: "abc"}},
		{name: "skiptoken empty", query: "$skiptoken=", wantErr: "$skiptoken: the value is empty"},
		{name: "search", query: "$search=" + url.QueryEscape(`"displayName:adele"`), want: Query{Top: 100, Search: `"displayName:adele"`}},
		{name: "orderby", query: "$orderby=" + url.QueryEscape("displayName  DESC, id"), want: Query{Top: 100, OrderBy: "displayName desc,id"}},
		{name: "orderby bad direction", query: "$orderby=" + url.QueryEscape("displayName up"), wantErr: `"up" is not a sort direction`},
		{name: "orderby empty", query: "$orderby=", wantErr: "$orderby: the value is empty"},
		{name: "expand unsupported", query: "$expand=memberOf", wantErr: "the query option $expand is not supported"},
		{name: "skip unsupported", query: "$skip=10", wantErr: "the query option $skip is not supported"},
		{name: "skip without dollar unsupported", query: "skip=10", wantErr: "the query option skip is not supported"},
		{name: "unknown dollar option", query: "$foo=1", wantErr: "the query option $foo is not supported"},
		{name: "other parameters ignored", query: "api-version=1&foo=bar", want: Query{Top: 100}},
		{name: "duplicate option", query: "$top=1&$top=2", wantErr: "$top: the query option is given more than once"},
		{name: "duplicate with and without dollar", query: "$top=1&top=2", wantErr: "given more than once"},
		{name: "everything", query: "$top=10&$select=id&$filter=" + url.QueryEscape("assignedLicenses/any(x:x/skuId eq "+sku+")") + "&$count=true&$skiptoken=t&$orderby=displayName",
			want: Query{Top: 10, Select: []string{"id"}, Filter: &Any{Collection: "assignedLicenses", Body: eq("skuId", guid(sku))}, Count: true, SkipToken: "t", OrderBy: "displayName"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseQuery(v, 100, 999)
			if tt.wantErr != "" {
				var oe *Error
				if err == nil || !errors.As(err, &oe) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseQuery(%q) error = %v, want *Error containing %q", tt.query, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseQuery(%q): %v", tt.query, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseQuery(%q) = %+v, want %+v", tt.query, got, tt.want)
			}
		})
	}
}

func TestParseQueryDefaultTop(t *testing.T) {
	if q, err := ParseQuery(url.Values{}, 2000, 999); err != nil || q.Top != 999 {
		t.Errorf("default above max: got %d, %v; want 999", q.Top, err)
	}
	if q, err := ParseQuery(url.Values{"$top": {"5000"}}, 100, 0); err != nil || q.Top != 5000 {
		t.Errorf("no cap: got %d, %v; want 5000", q.Top, err)
	}
}

func TestSkipTokenRoundTrip(t *testing.T) {
	cases := [][]string{
		{},
		{""},
		{"Adele Vance", sku},
		{"it's", "a,b", "ü漢字", "\x00\xff", strings.Repeat("x", 1000)},
	}
	for _, keys := range cases {
		tok := EncodeSkipToken(keys...)
		if url.QueryEscape(tok) != tok {
			t.Errorf("token %q is not URL-safe", tok)
		}
		got, err := DecodeSkipToken(tok)
		if err != nil {
			t.Fatalf("DecodeSkipToken(EncodeSkipToken(%q)): %v", keys, err)
		}
		if len(got) != len(keys) || (len(keys) > 0 && !reflect.DeepEqual(got, keys)) {
			t.Errorf("round trip of %q gave %q", keys, got)
		}
	}
}

func TestSkipTokenTamperDetection(t *testing.T) {
	tok := EncodeSkipToken("Adele Vance", sku)
	bad := []string{
		"",
		"!!!!",
		"not a token",
		tok + "A",
		tok[:len(tok)-1],
		tok[1:],
		tok + "=",
		tok[:10] + "\n" + tok[10:],
		EncodeSkipToken("x")[:4],
	}
	// Every single-character change is detected.
	for i := range tok {
		for _, c := range []byte{'A', 'z', '0', '_'} {
			if tok[i] != c {
				bad = append(bad, tok[:i]+string(c)+tok[i+1:])
			}
		}
	}
	for _, b := range bad {
		keys, err := DecodeSkipToken(b)
		var oe *Error
		if err == nil || !errors.As(err, &oe) {
			t.Errorf("DecodeSkipToken(%q) = %q, %v; want *Error", b, keys, err)
			continue
		}
		if !strings.Contains(err.Error(), "$skiptoken: the skip token is not valid") {
			t.Errorf("unexpected message %q", err)
		}
	}
}

func TestValueString(t *testing.T) {
	tests := []struct {
		v    Value
		want string
	}{
		{str("it's"), "'it''s'"},
		{guid(sku), sku},
		{boolean(true), "true"},
		{integer(-4), "-4"},
		{Value{Kind: KindNull}, "null"},
		{Value{}, "<invalid value>"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"displayName eq 'it''s'",
		"accountEnabled eq true and startswith(userPrincipalName,'a')",
		"assignedLicenses/any(x:x/skuId eq " + sku + ")",
		"proxyAddresses/any(p:p eq 'smtp:a@b.com')",
		"((a eq 1) and (b/c eq null))",
		"hasMembersWithLicenseErrors eq true",
		"a eq -5 or b ne 2",
		"not(a in (1,'b',null)) and endswith(mail,'@x.com')",
		"assignedLicenses/$count eq 0 or x/any(y:not(y/z ge 2024-01-01T00:00:00.5Z))",
		"targetResources/all(t:startswith(t/userPrincipalName,'a') or t eq true)",
		"(a eq 1 or b eq 2) and not (c eq 3)",
		"naïve eq 'ü'",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseFilter(s)
		if (e == nil) == (err == nil) {
			t.Fatalf("ParseFilter(%q) = %v, %v; want exactly one of an Expr and an error", s, e, err)
		}
		if err != nil {
			var oe *Error
			if !errors.As(err, &oe) || oe.Message == "" {
				t.Fatalf("ParseFilter(%q) error %#v is not a non-empty *Error", s, err)
			}
			return
		}
		canon := exprString(e)
		again, err := ParseFilter(canon)
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("ParseFilter(%q) = %s, which reparses to %s, %v", s, canon, exprString(again), err)
		}
	})
}

func FuzzDecodeSkipToken(f *testing.F) {
	f.Add(EncodeSkipToken("a", "b"))
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, tok string) {
		keys, err := DecodeSkipToken(tok)
		if err != nil {
			return
		}
		if again := EncodeSkipToken(keys...); again != tok {
			t.Fatalf("DecodeSkipToken(%q) = %q, which encodes to %q", tok, keys, again)
		}
	})
}

func TestParseSearch(t *testing.T) {
	dn := func(term string) *Search { return &Search{Field: "displayName", Term: term} }
	for _, tt := range []struct {
		in   string
		want Expr
	}{
		{`"displayName:adele"`, dn("adele")},
		{` "displayName: Adele Vance " `, dn("Adele Vance")},
		{`"displayName:a" OR "mail:b"`, &Or{Left: dn("a"), Right: &Search{Field: "mail", Term: "b"}}},
		{`"displayName:a" AND "displayName:b" OR "displayName:c"`, &Or{Left: &And{Left: dn("a"), Right: dn("b")}, Right: dn("c")}},
	} {
		got, err := ParseSearch(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSearch(%q) = %s, %v; want %s", tt.in, exprString(got), err, exprString(tt.want))
		}
	}
	for _, in := range []string{`adele`, `"displayName"`, `"displayName:"`, `"displayName:a`, `"displayName:a" "mail:b"`, `"displayName:a" and "mail:b"`,
		`"a b:c"`, strings.Repeat(`"displayName:a" OR `, 10) + `"displayName:a"`} {
		if e, err := ParseSearch(in); err == nil {
			t.Errorf("ParseSearch(%q) = %s, want an error", in, exprString(e))
		} else if !strings.HasPrefix(err.Error(), "$search: ") {
			t.Errorf("ParseSearch(%q) error %q", in, err)
		}
	}
}

func FuzzParseSearch(f *testing.F) {
	f.Add(`"displayName:a" OR "mail:b" AND "x:y"`)
	f.Add(`"`)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseSearch(s)
		if (e == nil) == (err == nil) {
			t.Fatalf("ParseSearch(%q) = %v, %v", s, e, err)
		}
	})
}
