package httpapi

import (
	"fmt"
	"strings"
	"testing"
)

func bindRefs(ids ...string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "https://graph.microsoft.com/v1.0/directoryObjects/" + id
	}
	return out
}

func TestLicenseDetailsByGraphID(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		u := c.createUser("adele@contoso.com", "US")
		e5 := c.sku("SPE_E5")
		c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e5}, nil))
		list := c.must(200, "GET", "/v1.0/users/"+u+"/licenseDetails", nil).values(t)
		if len(list) != 1 {
			t.Fatalf("licenseDetails: %d entries, want 1", len(list))
		}
		org := c.must(200, "GET", "/v1.0/organization", nil).values(t)[0]["id"].(string)
		want := licenseDetailID(org, e5)
		if list[0]["id"] != want || len(want) != 43 {
			t.Fatalf("licenseDetails id %v, want Graph's base64url of tenant and skuId %q", list[0]["id"], want)
		}
		one := c.must(200, "GET", "/v1.0/users/"+u+"/licenseDetails/"+want, nil).object(t)
		if one["skuId"] != e5 || one["skuPartNumber"] != "SPE_E5" || one["id"] != want {
			t.Fatalf("licenseDetails by id: %v", one)
		}
		c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/users/"+u+"/licenseDetails/"+licenseDetailID(org, c.sku("SPE_E3")), nil)
	})
}

// Graph's example id decodes to its tenant's and its product's GUIDs.
func TestLicenseDetailIDMatchesGraphExample(t *testing.T) {
	got := licenseDetailID("dcd219dd-bc68-4b9b-bf0b-4a33a796be35", "c7df2760-2c81-4ef7-b578-5b5392b571df")
	if got != "3RnS3Gi8m0u_C0ozp5a-NWAn38eBLPdOtXhbU5K1cd8" {
		t.Fatalf("licenseDetailID = %s", got)
	}
}

func TestMembersODataBind(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		var users []string
		for i := range 21 {
			users = append(users, c.createUser(fmt.Sprintf("u%d@contoso.com", i), "US"))
		}
		g := c.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Bound", "mailEnabled": false, "mailNickname": "bound",
			"securityEnabled": true, "members@odata.bind": bindRefs(users[:20]...)}).object(t)["id"].(string)
		if n := len(c.listAll("/v1.0/groups/" + g + "/members")); n != 20 {
			t.Fatalf("created with 20 bound members, has %d", n)
		}
		before := c.snapshot()
		e := c.expectError(400, "Request_BadRequest", "POST", "/v1.0/groups", map[string]any{"displayName": "Too many",
			"members@odata.bind": bindRefs(users...)})
		if !strings.Contains(e.Message, "more than 20 link changes") {
			t.Fatalf("21 bound members: %q", e.Message)
		}
		// One unknown member: no group is created.
		c.expectError(404, "Request_ResourceNotFound", "POST", "/v1.0/groups", map[string]any{"displayName": "Half",
			"members@odata.bind": bindRefs(users[0], "00000000-0000-0000-0000-000000000001")})
		c.unchanged(before, "refused members@odata.bind")
		g2 := c.createGroup("Patched")
		c.must(204, "PATCH", "/v1.0/groups/"+g2, map[string]any{"members@odata.bind": bindRefs(users[20], g)})
		if n := len(c.listAll("/v1.0/groups/" + g2 + "/members")); n != 2 {
			t.Fatalf("PATCH bound 2 members, group has %d", n)
		}
		c.expectError(400, "Request_BadRequest", "PATCH", "/v1.0/groups/"+g2, map[string]any{"members@odata.bind": bindRefs(users...)})
	})
}

func TestMemberOfPagedAndTransitive(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		u := c.createUser("adele@contoso.com", "US")
		parent := c.createGroup("Parent")
		var direct []string
		for i := range 3 {
			g := c.createGroup(fmt.Sprintf("Direct %d", i))
			c.addMember(g, u)
			direct = append(direct, g)
		}
		c.addMember(parent, direct[1])
		r := c.must(200, "GET", "/v1.0/users/"+u+"/memberOf?$top=2", nil).object(t)
		if len(r["value"].([]any)) != 2 || r["@odata.nextLink"] == nil {
			t.Fatalf("memberOf $top=2: %v", r)
		}
		ids := func(items []map[string]any) []string {
			var out []string
			for _, it := range items {
				out = append(out, it["id"].(string))
			}
			return out
		}
		if got := ids(c.listAll("/v1.0/users/" + u + "/memberOf?$top=1")); strings.Join(got, ",") != strings.Join(direct, ",") {
			t.Fatalf("memberOf paged: %v, want %v", got, direct)
		}
		got := ids(c.listAll("/v1.0/users/" + u + "/transitiveMemberOf?$top=1"))
		if want := append([]string{parent}, direct...); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("transitiveMemberOf: %v, want %v", got, want)
		}
		if got := ids(c.listAll("/v1.0/groups/" + direct[1] + "/transitiveMemberOf")); len(got) != 1 || got[0] != parent {
			t.Fatalf("group transitiveMemberOf: %v", got)
		}
	})
}

func TestDirectoryObjectsByID(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		u := c.createUser("adele@contoso.com", "US")
		g := c.createGroup("Sales")
		if o := c.getJSON("/v1.0/directoryObjects/" + u); o["@odata.type"] != "#microsoft.graph.user" || o["id"] != u {
			t.Fatalf("directoryObjects user: %v", o)
		}
		if o := c.getJSON("/v1.0/directoryObjects/" + g); o["@odata.type"] != "#microsoft.graph.group" {
			t.Fatalf("directoryObjects group: %v", o)
		}
		c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/directoryObjects/00000000-0000-0000-0000-000000000001", nil)
		vals := c.must(200, "POST", "/v1.0/directoryObjects/getByIds", map[string]any{"ids": []string{g, "nope", u}}).values(t)
		if len(vals) != 2 || vals[0]["id"] != g || vals[1]["id"] != u {
			t.Fatalf("getByIds: %v", vals)
		}
		vals = c.must(200, "POST", "/v1.0/directoryObjects/getByIds", map[string]any{"ids": []string{g, u}, "types": []string{"user"}}).values(t)
		if len(vals) != 1 || vals[0]["id"] != u {
			t.Fatalf("getByIds types=user: %v", vals)
		}
		c.expectError(400, "Request_BadRequest", "POST", "/v1.0/directoryObjects/getByIds", map[string]any{"ids": []string{}})
		c.expectError(400, "Request_BadRequest", "POST", "/v1.0/directoryObjects/getByIds", map[string]any{"ids": []string{u}, "types": []string{"device"}})
		// Another tenant's objects are not found.
		b := h.newTenant("Fabrikam", "EUR", "DE", nil)
		if vals := b.must(200, "POST", "/v1.0/directoryObjects/getByIds", map[string]any{"ids": []string{g, u}}).values(t); len(vals) != 0 {
			t.Fatalf("other tenant sees %v", vals)
		}
	})
}

func TestDirectoryRolesAndMembers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		u := c.createUser("adele@contoso.com", "US")
		const licenseAdmin = "4d6ac14f-3453-41d0-bef9-a3e0c569773a"
		c.must(201, "POST", "/v1.0/roleManagement/directory/roleAssignments",
			map[string]any{"principalId": u, "roleDefinitionId": licenseAdmin, "directoryScopeId": "/"})
		roles := c.must(200, "GET", "/v1.0/directoryRoles", nil).values(t)
		if len(roles) != len(roleDefs) {
			t.Fatalf("directoryRoles: %d, want %d", len(roles), len(roleDefs))
		}
		if r := c.getJSON("/v1.0/directoryRoles/" + licenseAdmin); r["roleTemplateId"] != licenseAdmin || r["displayName"] != "License Administrator" {
			t.Fatalf("directoryRole: %v", r)
		}
		ms := c.must(200, "GET", "/v1.0/directoryRoles/"+licenseAdmin+"/members", nil).values(t)
		if len(ms) != 1 || ms[0]["id"] != u {
			t.Fatalf("License Administrator members: %v", ms)
		}
		c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/directoryRoles/00000000-0000-0000-0000-000000000001/members", nil)
	})
}
