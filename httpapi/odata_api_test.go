package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// getAdvanced GETs path with ConsistencyLevel: eventual when eventual is set.
func (c *client) getAdvanced(path string, eventual bool) *response {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.h.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if eventual {
		req.Header.Set("ConsistencyLevel", "eventual")
	}
	res, err := c.h.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	r := &response{Method: "GET", Path: path, Status: res.StatusCode, Header: res.Header, Body: data}
	if r.Status >= 500 {
		c.t.Errorf("server error: %s", r)
	}
	return r
}

// listAdvanced follows @odata.nextLink with the same header and returns the
// values of key (such as userPrincipalName) in the order answered.
func (c *client) listAdvanced(path string, eventual bool, key string) ([]string, *response) {
	c.t.Helper()
	var out []string
	for pages := 0; path != ""; pages++ {
		if pages > 50 {
			c.t.Fatalf("paging loop at %s", path)
		}
		r := c.getAdvanced(path, eventual)
		if r.Status != 200 {
			return nil, r
		}
		var page struct {
			Value []map[string]any `json:"value"`
			Next  string           `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			c.t.Fatalf("decode %s: %v", r, err)
		}
		for _, v := range page.Value {
			s, _ := v[key].(string)
			out = append(out, s)
		}
		path = ""
		if page.Next != "" {
			path = c.h.relative(page.Next)
		}
	}
	return out, nil
}

// q builds a query string from name/value pairs.
func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "?" + v.Encode()
}

// odataCase is one request of the OData scenario tables: either the items
// it answers (by key, in order when ordered) or Graph's error.
type odataCase struct {
	name     string
	path     string
	eventual bool
	want     []string // nil with code set: an error is expected
	ordered  bool
	code     string // Graph error code of the 400
	msg      string // part of the error message
}

func runODataCases(t *testing.T, c *client, key string, cases []odataCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := c.with(t)
			got, r := c.listAdvanced(tc.path, tc.eventual, key)
			if tc.code != "" {
				if r == nil || r.Status != 400 {
					t.Fatalf("want 400 %s, got %v (%v)", tc.code, got, r)
				}
				e := r.graphError(t)
				if e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
					t.Fatalf("want %s %q, got %s", tc.code, tc.msg, r)
				}
				return
			}
			if r != nil {
				t.Fatalf("want %v: %s", tc.want, r)
			}
			if !tc.ordered {
				got, tc.want = sortedStrings(got), sortedStrings(tc.want)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func sortedStrings(s []string) []string {
	out := append([]string{}, s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

const (
	adele  = "adele@contoso.com"
	alex   = "alex@contoso.com"
	bianca = "bianca@fabrikam.com"
	carl   = "carl@contoso.com"
)

// seedODataUsers creates four users: Adele (Sales, SPE_E5), Alex (IT,
// SPE_E3), Bianca (no department, disabled, unlicensed) and carl (Sales,
// unlicensed, lower-case name).
func seedODataUsers(c *client) {
	c.t.Helper()
	for _, u := range []map[string]any{
		{"userPrincipalName": adele, "displayName": "Adele Vance", "department": "Sales", "accountEnabled": true, "usageLocation": "US"},
		{"userPrincipalName": alex, "displayName": "Alex Wilber", "department": "IT", "accountEnabled": true, "usageLocation": "US"},
		{"userPrincipalName": bianca, "displayName": "Bianca Pisani", "accountEnabled": false},
		{"userPrincipalName": carl, "displayName": "carl Zed", "department": "Sales", "accountEnabled": true},
	} {
		id := c.must(201, "POST", "/v1.0/users", u).object(c.t)["id"].(string)
		switch u["userPrincipalName"] {
		case adele:
			c.must(200, "POST", "/v1.0/users/"+id+"/assignLicense", assignBody([]string{c.sku("SPE_E5")}, nil))
		case alex:
			c.must(200, "POST", "/v1.0/users/"+id+"/assignLicense", assignBody([]string{c.sku("SPE_E3")}, nil))
		}
	}
}

func TestODataUserQueries(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		before := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
		seedODataUsers(c)
		e5, e3 := c.sku("SPE_E5"), c.sku("SPE_E3")
		const unsupported, bad = "Request_UnsupportedQuery", "Request_BadRequest"
		const aq = "required parameters might be missing"
		f := func(filter string, more ...string) string {
			return "/v1.0/users" + q(append([]string{"$filter", filter}, more...)...)
		}
		adv := func(filter string, more ...string) string {
			return f(filter, append([]string{"$count", "true"}, more...)...)
		}
		runODataCases(t, c, "userPrincipalName", []odataCase{
			{name: "eq works by default", path: f("department eq 'Sales'"), want: []string{adele, carl}},
			{name: "eq ignores case", path: f("department eq 'sales'"), want: []string{adele, carl}},
			{name: "or", path: f("department eq 'Sales' or department eq 'IT'"), want: []string{adele, alex, carl}},
			{name: "and binds tighter than or", path: f("department eq 'IT' or department eq 'Sales' and accountEnabled eq false"), want: []string{alex}},
			{name: "in", path: f("userPrincipalName in ('ADELE@contoso.com','bianca@fabrikam.com')"), want: []string{adele, bianca}},
			{name: "startsWith", path: f("startsWith(displayName,'al')"), want: []string{alex}},
			{name: "null comparison", path: f("department eq null"), want: []string{bianca}},
			{name: "dates ge", path: f("createdDateTime ge " + before), want: []string{adele, alex, bianca, carl}},
			{name: "dates lt", path: f("createdDateTime lt 2001-01-01T00:00:00Z"), want: nil},
			{name: "any over licenses", path: f("assignedLicenses/any(x:x/skuId eq " + e5 + ")"), want: []string{adele}},
			{name: "any with in", path: f("assignedLicenses/any(x:x/skuId in (" + e5 + "," + e3 + "))"), want: []string{adele, alex}},
			{name: "all over licenses holds for the unlicensed", path: f("assignedLicenses/all(x:x/skuId eq " + e5 + ")"), want: []string{adele, bianca, carl}},
			{name: "filter keeps paging", path: f("department eq 'Sales'", "$top", "1"), want: []string{adele, carl}},
			{name: "ne needs advanced query", path: f("accountEnabled ne true"), code: unsupported, msg: "Operator 'ne' is not supported because the " + aq},
			{name: "ne with ConsistencyLevel but no count", path: f("accountEnabled ne true"), eventual: true, code: unsupported, msg: aq},
			{name: "ne in advanced query", path: adv("accountEnabled ne true"), eventual: true, want: []string{bianca}},
			{name: "not needs advanced query", path: f("not(department eq 'Sales')"), code: unsupported, msg: "Operator 'not'"},
			{name: "not in advanced query", path: adv("not(department eq 'Sales')"), eventual: true, want: []string{alex, bianca}},
			{name: "ne null and not", path: adv("department ne null and NOT(department eq 'IT')"), eventual: true, want: []string{adele, carl}},
			{name: "endsWith needs advanced query", path: f("endsWith(userPrincipalName,'@fabrikam.com')"), code: unsupported, msg: "Operator 'endsWith'"},
			{name: "endsWith in advanced query", path: adv("endsWith(userPrincipalName,'@fabrikam.com')"), eventual: true, want: []string{bianca}},
			{name: "unlicensed users need advanced query", path: f("assignedLicenses/$count eq 0"), code: unsupported, msg: "Operator '$count'"},
			{name: "unlicensed users", path: adv("assignedLicenses/$count eq 0"), eventual: true, want: []string{bianca, carl}},
			{name: "licensed users", path: adv("assignedLicenses/$count ne 0"), eventual: true, want: []string{adele, alex}},
			{name: "not any over licenses", path: adv("not(assignedLicenses/any(x:x/skuId eq " + e5 + "))"), eventual: true, want: []string{alex, bianca, carl}},
			{name: "unknown property", path: f("officeLocation eq 'x'"), code: unsupported, msg: "Unsupported or invalid query filter clause specified for property 'officeLocation' of resource 'User'."},
			{name: "ge on a GUID", path: f("id ge " + e5), code: unsupported, msg: "property 'id'"},
			{name: "unknown lambda collection", path: f("imAddresses/any(x:x eq 'a')"), code: unsupported, msg: "'imAddresses'"},
			{name: "date compared with a string", path: f("createdDateTime ge 'yesterday'"), code: bad, msg: "date and time"},
			{name: "syntax error", path: f("department eq"), code: bad, msg: "$filter: expected a value"},

			{name: "orderby displayName", path: "/v1.0/users?$orderby=displayName", ordered: true, want: []string{adele, alex, bianca, carl}},
			{name: "orderby displayName desc pages", path: "/v1.0/users?$orderby=displayName%20desc&$top=1", ordered: true, want: []string{carl, bianca, alex, adele}},
			{name: "orderby userPrincipalName pages", path: "/v1.0/users?$orderby=userPrincipalName&$top=3", ordered: true, want: []string{adele, alex, bianca, carl}},
			{name: "orderby an unsortable property", path: "/v1.0/users?$orderby=jobTitle", code: unsupported, msg: "Sorting not supported for current query."},
			{name: "orderby two properties", path: "/v1.0/users?$orderby=displayName,userPrincipalName", code: unsupported, msg: "Sorting not supported"},
			{name: "orderby with filter needs advanced query", path: f("department eq 'Sales'", "$orderby", "displayName desc"), code: unsupported, msg: "Sorting not supported"},
			{name: "orderby with filter in advanced query pages", path: adv("accountEnabled eq true", "$orderby", "displayName desc", "$top", "2"), eventual: true, ordered: true, want: []string{carl, alex, adele}},

			{name: "search needs ConsistencyLevel", path: "/v1.0/users?$search=%22displayName:wil%22", code: unsupported, msg: "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"},
			{name: "search a word prefix", path: "/v1.0/users?$search=%22displayName:wil%22", eventual: true, want: []string{alex}},
			{name: "search a later word", path: "/v1.0/users?$search=%22displayName:zed%22", eventual: true, want: []string{carl}},
			{name: "search matches word starts only", path: "/v1.0/users?$search=%22displayName:ilb%22", eventual: true, want: nil},
			{name: "search OR", path: "/v1.0/users?$search=" + url.QueryEscape(`"displayName:adele" OR "displayName:bianca"`), eventual: true, want: []string{adele, bianca}},
			{name: "search with filter and orderby", path: "/v1.0/users?$count=true&$search=%22displayName:a%22&$filter=accountEnabled%20eq%20true&$orderby=displayName", eventual: true, ordered: true, want: []string{adele, alex}},
			{name: "search without quotes", path: "/v1.0/users?$search=displayName:adele", eventual: true, code: bad, msg: "double quotes"},
			{name: "search an unsearchable property", path: "/v1.0/users?$search=%22accountEnabled:true%22", eventual: true, code: bad, msg: "cannot be searched"},

			{name: "expand of directReports is refused with a true message", path: "/v1.0/users?$expand=directReports", code: bad, msg: "it expands memberOf and manager"},
			{name: "expand of two relationships", path: "/v1.0/users?$expand=memberOf,manager", code: bad, msg: "one relationship at a time"},
			{name: "expand with nested options", path: "/v1.0/users?$expand=memberOf($select=id)", code: bad, msg: "without nested options"},
			{name: "expand in an advanced query", path: adv("accountEnabled eq true", "$expand", "memberOf"), eventual: true, code: unsupported, msg: "advanced queries"},
		})

		t.Run("count segment", func(t *testing.T) {
			c := c.with(t)
			b := h.newTenant("Fabrikam", "EUR", "DE", nil).with(t)
			b.createUser("other@fabrikam.com", "")
			if r := b.getAdvanced("/v1.0/users/$count", true); string(r.Body) != "1" {
				t.Fatalf("tenant B counts %s", r)
			}
			r := c.getAdvanced("/v1.0/users/$count", true)
			if r.Status != 200 || string(r.Body) != "4" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
				t.Fatalf("want 200 text/plain 4: %s (%s)", r, r.Header.Get("Content-Type"))
			}
			if r := c.getAdvanced("/v1.0/users/$count"+q("$filter", "assignedLicenses/$count eq 0"), true); string(r.Body) != "2" {
				t.Fatalf("unlicensed count: %s", r)
			}
			r = c.getAdvanced("/v1.0/users/$count", false)
			if e := r.graphError(t); r.Status != 400 || e.Code != "Request_BadRequest" || e.Message != "$count is not currently supported." {
				t.Fatalf("want Graph's 400: %s", r)
			}
		})
		t.Run("count option", func(t *testing.T) {
			r := c.with(t).getAdvanced(adv("department eq 'Sales'"), true)
			if n := r.object(t)["@odata.count"]; n != float64(2) {
				t.Fatalf("@odata.count = %v: %s", n, r)
			}
		})
	})
}

func TestODataGroupQueries(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		sales, it := c.createGroup("Sales"), c.createGroup("IT Staff")
		c.createGroup("all Staff")
		c.createGroup("Dup")
		c.createGroup("Dup")
		c.must(202, "POST", "/v1.0/groups/"+sales+"/assignLicense", assignBody([]string{c.sku("SPE_E3")}, nil))
		_ = it
		e3 := c.sku("SPE_E3")
		const unsupported = "Request_UnsupportedQuery"
		runODataCases(t, c, "displayName", []odataCase{
			{name: "or", path: "/v1.0/groups" + q("$filter", "displayName eq 'Sales' or startswith(displayName,'IT')"), want: []string{"Sales", "IT Staff"}},
			{name: "any over licenses", path: "/v1.0/groups" + q("$filter", "assignedLicenses/any(x:x/skuId eq "+e3+")"), want: []string{"Sales"}},
			{name: "groups without licenses", path: "/v1.0/groups" + q("$filter", "assignedLicenses/$count eq 0", "$count", "true"), eventual: true, want: []string{"IT Staff", "all Staff", "Dup", "Dup"}},
			{name: "endsWith in advanced query", path: "/v1.0/groups" + q("$filter", "endswith(displayName,'staff')", "$count", "true"), eventual: true, want: []string{"IT Staff", "all Staff"}},
			{name: "orderby displayName pages", path: "/v1.0/groups?$orderby=displayName&$top=1", ordered: true, want: []string{"Dup", "Dup", "IT Staff", "Sales", "all Staff"}},
			{name: "orderby desc pages through equal names", path: "/v1.0/groups?$orderby=displayName%20desc&$top=1", ordered: true, want: []string{"all Staff", "Sales", "IT Staff", "Dup", "Dup"}},
			{name: "orderby userPrincipalName is not a group property", path: "/v1.0/groups?$orderby=userPrincipalName", code: unsupported, msg: "Sorting not supported"},
			{name: "createdDateTime is not filterable on groups", path: "/v1.0/groups" + q("$filter", "createdDateTime ge 2021-11-01", "$count", "true"), eventual: true, code: unsupported,
				msg: "Unsupported or invalid query filter clause specified for property 'createdDateTime' of resource 'Group'."},
			{name: "search", path: "/v1.0/groups?$search=%22displayName:staff%22", eventual: true, want: []string{"IT Staff", "all Staff"}},
		})
		r := c.getAdvanced("/v1.0/groups/$count", true)
		if r.Status != 200 || string(r.Body) != "5" {
			t.Fatalf("groups/$count: %s", r)
		}
	})
}

func TestODataAuditQueries(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		before := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
		seedODataUsers(c)
		count := func(filter string, more ...string) int {
			vals, r := c.listAdvanced("/v1.0/auditLogs/directoryAudits"+q(append([]string{"$filter", filter}, more...)...), false, "activityDisplayName")
			if r != nil {
				t.Fatalf("%s", r)
			}
			return len(vals)
		}
		all := count("activityDateTime ge " + before)
		if all < 6 {
			t.Fatalf("the last minute has %d events, want the 4 creations and 2 license changes", all)
		}
		if n := count("activityDateTime ge 2100-01-01T00:00:00Z"); n != 0 {
			t.Errorf("future events: %d", n)
		}
		if n := count("activityDateTime ge "+before+" and activityDisplayName eq 'Add user'", "$top", "1"); n != 4 {
			t.Errorf("Add user in the last minute (paged one by one): %d, want 4", n)
		}
		if n := count("category eq 'UserManagement' or category eq 'DoesNotExist'"); n == 0 {
			t.Errorf("no UserManagement events")
		}
		if n := count("initiatedBy/user/id eq '00000000-0000-0000-0000-000000000000'"); n != 0 {
			t.Errorf("events by nobody: %d", n)
		}
		if n := count("initiatedBy/app/displayName ne null"); n == 0 {
			t.Errorf("no events by the app token")
		}
		if n := count("targetResources/any(t:t/id eq '" + adele + "') and activityDateTime le 2100-01-01"); n == 0 {
			t.Errorf("no events about %s", adele)
		}
		if n := count("activityDateTime ge "+before, "$orderby", "activityDateTime desc"); n != all {
			t.Errorf("orderby desc: %d, want %d", n, all)
		}
		for _, tc := range []struct{ path, code, msg string }{
			{"?$orderby=activityDateTime%20asc", "Request_UnsupportedQuery", "activityDateTime desc only"},
			{"?$filter=" + url.QueryEscape("loggedByService eq 'Core Directory'"), "Request_UnsupportedQuery", "property 'loggedByService' of resource 'directoryAudit'"},
			{"?$filter=" + url.QueryEscape("activityDateTime ge 'today'"), "Request_BadRequest", "date and time"},
			{"?$filter=" + url.QueryEscape("targetResources/any(t:t/type eq 'User')"), "Request_UnsupportedQuery", "targetResources"},
		} {
			c.expectError(400, tc.code, "GET", "/v1.0/auditLogs/directoryAudits"+tc.path, nil)
			r := c.do("GET", "/v1.0/auditLogs/directoryAudits"+tc.path, nil)
			if e := r.graphError(t); !strings.Contains(e.Message, tc.msg) {
				t.Errorf("%s: message %q lacks %q", tc.path, e.Message, tc.msg)
			}
		}
	})
}

func TestODataMemberQueries(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		seedODataUsers(c)
		team, nested := c.createGroup("Team"), c.createGroup("Alpha Staff")
		for _, u := range c.listAll("/v1.0/users") {
			if u["userPrincipalName"] != carl {
				c.addMember(team, u["id"].(string))
			}
		}
		c.addMember(team, nested)
		m := func(filter string, more ...string) string {
			return "/v1.0/groups/" + team + "/members" + q(append([]string{"$filter", filter, "$count", "true"}, more...)...)
		}
		runODataCases(t, c, "displayName", []odataCase{
			{name: "startsWith over users and groups", path: m("startswith(displayName,'A')", "$top", "1"), eventual: true, ordered: true, want: []string{"Adele Vance", "Alex Wilber", "Alpha Staff"}},
			{name: "a user property leaves groups out", path: m("accountEnabled eq true"), eventual: true, want: []string{"Adele Vance", "Alex Wilber"}},
			{name: "a group property leaves users out", path: m("securityEnabled eq true"), eventual: true, want: []string{"Alpha Staff"}},
			{name: "licensed members", path: m("assignedLicenses/$count ne 0"), eventual: true, want: []string{"Adele Vance", "Alex Wilber"}},
			{name: "filter needs advanced query", path: m("startswith(displayName,'A')"), code: "Request_UnsupportedQuery", msg: "Operator '$filter'"},
			{name: "unknown property", path: m("officeLocation eq 'x'"), eventual: true, code: "Request_UnsupportedQuery", msg: "officeLocation"},
		})
	})
}

func TestODataExpand(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		seedODataUsers(c)
		users := map[string]string{}
		for _, u := range c.listAll("/v1.0/users") {
			users[u["userPrincipalName"].(string)] = u["id"].(string)
		}
		big, small, parent := c.createGroup("Big"), c.createGroup("Small"), c.createGroup("Parent")
		var many []string
		for i := 0; i < 25; i++ {
			id := c.createUser("m"+string(rune('a'+i))+"@contoso.com", "")
			many = append(many, id)
			c.addMember(big, id)
		}
		c.addMember(small, users[adele])
		c.addMember(big, users[adele])
		c.addMember(parent, small)
		names := func(v any) []string {
			var out []string
			for _, x := range v.([]any) {
				out = append(out, x.(map[string]any)["displayName"].(string))
			}
			return out
		}
		// memberOf of users, paged, with $select: the expanded groups come along.
		byUPN := map[string][]string{}
		path := "/v1.0/users?$expand=memberOf&$select=userPrincipalName&$top=2"
		for path != "" {
			r := c.must(200, "GET", path, nil)
			var page struct {
				Value []map[string]any `json:"value"`
				Next  string           `json:"@odata.nextLink"`
			}
			json.Unmarshal(r.Body, &page)
			for _, u := range page.Value {
				byUPN[u["userPrincipalName"].(string)] = sortedStrings(names(u["memberOf"]))
			}
			path = ""
			if page.Next != "" {
				path = h.relative(page.Next)
			}
		}
		if got := strings.Join(byUPN[adele], ","); got != "Big,Small" {
			t.Errorf("adele memberOf = %q, want Big,Small", got)
		}
		if got := byUPN[alex]; len(got) != 0 {
			t.Errorf("alex memberOf = %v, want none", got)
		}
		// members of groups: at most 20, in membership order; groups as members.
		r := c.must(200, "GET", "/v1.0/groups?$expand=members", nil)
		for _, g := range r.values(t) {
			ms := names(g["members"])
			switch g["displayName"] {
			case "Big":
				if len(ms) != 20 || ms[0] != "ma" || ms[19] != "mt" {
					t.Errorf("Big members = %v, want the first 20 added", ms)
				}
			case "Parent":
				if strings.Join(ms, ",") != "Small" {
					t.Errorf("Parent members = %v", ms)
				}
			}
		}
		// memberOf of groups.
		r = c.must(200, "GET", "/v1.0/groups?$expand=memberOf&$filter=displayName%20eq%20'Small'", nil)
		if v := r.values(t); len(v) != 1 || strings.Join(names(v[0]["memberOf"]), ",") != "Parent" {
			t.Errorf("Small memberOf: %s", r)
		}
		_ = many
	})
}
