package scim_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func TestCreatedUserIsTheGraphUser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		out := h.sc(201, "POST", "/Users", map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User", ent},
			"userName":   "Adele.Vance@contoso.com",
			"externalId": "adele",
			"name":       map[string]any{"givenName": "Adele", "familyName": "Vance"},
			"title":      "Engineer",
			"active":     true,
			"emails":     []any{map[string]any{"value": "adele@contoso.com", "type": "work", "primary": true}},
			ent: map[string]any{"department": "Sales", "employeeNumber": "E42", "costCenter": "CC1",
				"organization": "Contoso", "division": "West"},
		})
		id := out["id"].(string)
		meta := out["meta"].(map[string]any)
		if meta["resourceType"] != "User" || !strings.HasSuffix(meta["location"].(string), "/scim/v2/Users/"+id) || meta["version"] == "" {
			t.Errorf("meta %v", meta)
		}
		g := h.must(200, h.ga, "GET", "/v1.0/users/"+id+"?$select=id,userPrincipalName,displayName,givenName,surname,jobTitle,department,mail,accountEnabled,employeeId,companyName", nil)
		want := map[string]any{"userPrincipalName": "Adele.Vance@contoso.com", "displayName": "Adele Vance",
			"givenName": "Adele", "surname": "Vance", "jobTitle": "Engineer", "department": "Sales", "mail": "adele@contoso.com",
			"accountEnabled": true, "employeeId": "E42", "companyName": "Contoso"}
		for k, v := range want {
			if g[k] != v {
				t.Errorf("Graph %s = %v, want %v", k, g[k], v)
			}
		}
		got := h.sc(200, "GET", "/Users/"+id, nil)
		e := got[ent].(map[string]any)
		if got["externalId"] != "adele" || e["costCenter"] != "CC1" || e["division"] != "West" || e["department"] != "Sales" {
			t.Errorf("SCIM user %v", got)
		}
		// A second user with the same userName or externalId is a uniqueness conflict.
		h.scimError(409, "uniqueness", "POST", "/Users", map[string]any{"userName": "adele.vance@contoso.com"})
		h.scimError(409, "uniqueness", "POST", "/Users", map[string]any{"userName": "other@contoso.com", "externalId": "adele"})
	})
}

func TestFiltersSelectUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		a := h.createUser("alice@contoso.com", map[string]any{"externalId": "A1", "title": "Engineer",
			"emails": []any{map[string]any{"value": "alice@mail.contoso.com", "type": "work"}}, ent: map[string]any{"department": "Sales"}})
		b := h.createUser("bob@contoso.com", map[string]any{"externalId": "B2", "active": false, ent: map[string]any{"department": "Marketing"}})
		c := h.createUser("carol@fabrikam.com", map[string]any{"title": "Manager"})
		for _, tc := range []struct {
			filter string
			want   []string
		}{
			{`userName eq "ALICE@contoso.com"`, []string{a}},
			{`userName ne "alice@contoso.com"`, []string{b, c}},
			{`userName co "contoso"`, []string{a, b}},
			{`userName sw "car"`, []string{c}},
			{`userName ew "fabrikam.com"`, []string{c}},
			{`externalId pr`, []string{a, b}},
			{`title pr and not (title eq "Manager")`, []string{a}},
			{`externalId eq "a1"`, nil}, // externalId is caseExact
			{`active eq false`, []string{b}},
			{`userName gt "bob@contoso.com"`, []string{c}},
			{`userName ge "bob@contoso.com"`, []string{b, c}},
			{`userName lt "bob@contoso.com"`, []string{a}},
			{`userName le "bob@contoso.com"`, []string{a, b}},
			{`emails[type eq "work"].value eq "alice@mail.contoso.com"`, []string{a}},
			{`emails[type eq "work" and value co "mail."]`, []string{a}},
			{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Marketing"`, []string{b}},
			{`department eq "Sales" or title eq "Manager"`, []string{a, c}},
			{`(department eq "Sales" or department eq "Marketing") and active eq true`, []string{a}},
			{`name.givenName pr`, nil},
			{`meta.created gt "2000-01-01T00:00:00Z"`, []string{a, b, c}},
			{`userName eq "x\" or 1 eq 1 --"`, nil},
		} {
			got := ids(h.sc(200, "GET", "/Users?filter="+url.QueryEscape(tc.filter), nil))
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("filter %s: %v, want %v", tc.filter, got, want)
			}
		}
	})
}

func TestPagingSortingAndProjection(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		var all []string
		for _, n := range []string{"d", "b", "e", "a", "c"} {
			h.createUser(n+"@contoso.com", nil)
			all = append(all, n+"@contoso.com")
		}
		names := func(m map[string]any) []string {
			var out []string
			for _, r := range resources(m) {
				out = append(out, r["userName"].(string))
			}
			return out
		}
		m := h.sc(200, "GET", "/Users?sortBy=userName&startIndex=2&count=2", nil)
		if got := names(m); !slices.Equal(got, []string{"b@contoso.com", "c@contoso.com"}) || m["totalResults"] != 5.0 ||
			m["startIndex"] != 2.0 || m["itemsPerPage"] != 2.0 {
			t.Errorf("page: %v %v", got, m)
		}
		if got := names(h.sc(200, "GET", "/Users?sortBy=userName&sortOrder=descending&count=1", nil)); !slices.Equal(got, []string{"e@contoso.com"}) {
			t.Errorf("descending: %v", got)
		}
		// A first page says the total of all pages, full or not.
		for c, n := range map[string]int{"2": 2, "5": 5, "6": 5} {
			if m := h.sc(200, "GET", "/Users?count="+c, nil); m["totalResults"] != 5.0 || len(resources(m)) != n {
				t.Errorf("count=%s: totalResults %v, %d resources", c, m["totalResults"], len(resources(m)))
			}
		}
		if m := h.sc(200, "GET", "/Users?count=0", nil); m["totalResults"] != 5.0 || len(resources(m)) != 0 {
			t.Errorf("count=0: %v", m)
		}
		if m := h.sc(200, "GET", "/Users?startIndex=9", nil); m["totalResults"] != 5.0 || len(resources(m)) != 0 {
			t.Errorf("past the end: %v", m)
		}
		r := resources(h.sc(200, "GET", "/Users?attributes=userName&count=1", nil))[0]
		if _, ok := r["active"]; ok || r["userName"] == nil || r["id"] == nil {
			t.Errorf("attributes=userName: %v", r)
		}
		r = resources(h.sc(200, "GET", "/Users?excludedAttributes=active,meta&count=1", nil))[0]
		if _, ok := r["active"]; ok || r["userName"] == nil || r["meta"] == nil {
			t.Errorf("excludedAttributes=active,meta: %v (meta always stays)", r)
		}
	})
}

func TestBadInputGetsSCIMErrors(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		id := h.createUser("adele@contoso.com", nil)
		for _, tc := range []struct {
			status      int
			scimType    string
			method, url string
			body        any
		}{
			{400, "invalidFilter", "GET", "/Users?filter=" + url.QueryEscape(`userName eq`), nil},
			{400, "invalidFilter", "GET", "/Users?filter=" + url.QueryEscape(`userName zz "x"`), nil},
			{400, "invalidFilter", "GET", "/Users?filter=" + url.QueryEscape(`(userName eq "x"`), nil},
			{403, "sensitive", "GET", "/Users?filter=" + url.QueryEscape(`password eq "x"`), nil},
			{400, "invalidFilter", "GET", "/Users?filter=" + url.QueryEscape(`active eq "yes"`), nil},
			{400, "invalidFilter", "GET", "/Users?filter=" + url.QueryEscape(`userName eq unquoted`), nil},
			{400, "invalidValue", "GET", "/Users?sortBy=password", nil},
			{400, "invalidValue", "GET", "/Users?startIndex=one", nil},
			{400, "invalidValue", "GET", "/Users?sortOrder=up", nil},
			{400, "invalidSyntax", "POST", "/Users", `{"userName": `},
			{400, "invalidSyntax", "POST", "/Users", `[1]`},
			{400, "invalidValue", "POST", "/Users", map[string]any{"displayName": "no userName"}},
			{400, "invalidValue", "POST", "/Users", map[string]any{"userName": "not-an-address"}},
			{400, "invalidValue", "POST", "/Users", map[string]any{"userName": "x@contoso.com", "active": "maybe"}},
			{400, "invalidValue", "POST", "/Users", map[string]any{"userName": "x@contoso.com", "name": "Adele"}},
			{400, "mutability", "PUT", "/Users/" + id, map[string]any{"id": "00000000-0000-0000-0000-000000000000", "userName": "adele@contoso.com"}},
			{400, "invalidSyntax", "PATCH", "/Users/" + id, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}}},
			{400, "invalidSyntax", "PATCH", "/Users/" + id, patch(map[string]any{"op": "move", "path": "title", "value": "x"})},
			{400, "invalidPath", "PATCH", "/Users/" + id, patch(map[string]any{"op": "replace", "path": "emails[type eq", "value": "x"})},
			{400, "invalidPath", "PATCH", "/Users/" + id, patch(map[string]any{"op": "replace", "path": "urn:example:nope:title", "value": "x"})},
			{400, "noTarget", "PATCH", "/Users/" + id, patch(map[string]any{"op": "remove"})},
			{400, "mutability", "PATCH", "/Users/" + id, patch(map[string]any{"op": "replace", "path": "id", "value": "x"})},
			{400, "invalidValue", "PATCH", "/Users/" + id, patch(map[string]any{"op": "replace", "path": "userName", "value": ""})},
			{404, "", "GET", "/Users/00000000-0000-0000-0000-000000000000", nil},
			{404, "", "GET", "/Users/adele@contoso.com", nil},
			{404, "", "GET", "/Nope", nil},
			{501, "", "POST", "/Bulk", map[string]any{}},
			{412, "invalidVers", "PUT", "/Users/" + id, map[string]any{"userName": "adele@contoso.com"}},
		} {
			var headers []string
			if tc.status == 412 {
				headers = []string{"If-Match", `W/"stale"`}
			}
			before := h.sc(200, "GET", "/Users/"+id, nil)
			h.scimError(tc.status, tc.scimType, tc.method, tc.url, tc.body, headers...)
			after := h.sc(200, "GET", "/Users/"+id, nil)
			if before["meta"].(map[string]any)["version"] != after["meta"].(map[string]any)["version"] {
				t.Errorf("%s %s changed the user", tc.method, tc.url)
			}
		}
		if n := h.sc(200, "GET", "/Users", nil)["totalResults"]; n != 1.0 {
			t.Errorf("refused requests created users: %v", n)
		}
		// Wrong media type.
		st, m, _ := h.do(h.scim, "POST", "/scim/v2/Users", nil, "Content-Type", "text/plain")
		if st != 415 || m["status"] != "415" {
			t.Errorf("text/plain: %d %v", st, m)
		}
	})
}

func patch(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": list}
}

func TestETagsGuardChanges(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		id := h.createUser("adele@contoso.com", nil)
		st, u, hd := h.do(h.scim, "GET", "/scim/v2/Users/"+id, nil)
		v := u["meta"].(map[string]any)["version"].(string)
		if st != 200 || hd.Get("ETag") != v || !strings.HasPrefix(v, `W/"`) {
			t.Fatalf("ETag %q, version %q", hd.Get("ETag"), v)
		}
		out := h.sc(200, "PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "path": "title", "value": "Lead"}), "If-Match", v)
		v2 := out["meta"].(map[string]any)["version"].(string)
		if v2 == v {
			t.Error("the version did not change")
		}
		h.scimError(412, "invalidVers", "PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "path": "title", "value": "Old"}), "If-Match", v)
		// A change through Graph changes the version too.
		h.must(204, h.ga, "PATCH", "/v1.0/users/"+id, map[string]any{"jobTitle": "Boss"})
		h.scimError(412, "invalidVers", "DELETE", "/Users/"+id, nil, "If-Match", v2)
		h.sc(200, "GET", "/Users/"+id, nil)
	})
}
