package scim_test

// The request sequences identity providers send, as their documentation
// records them: Microsoft Entra ID ("Tutorial: Develop and plan
// provisioning for a SCIM endpoint in Microsoft Entra ID", the request
// examples of its user and group operations) and Okta ("Okta and SCIM
// Version 2.0"). Only the user names are addresses here: allot's
// userName is the userPrincipalName.

import (
	"net/url"
	"slices"
	"testing"
)

func TestEntraProvisioningSequence(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		// Query by userName before create: no match yet.
		q := "/Users?filter=" + url.QueryEscape(`userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com"`)
		if m := h.sc(200, "GET", q, nil); m["totalResults"] != 0.0 || len(m["Resources"].([]any)) != 0 {
			t.Fatalf("empty query %v", m)
		}
		u := h.sc(201, "POST", "/Users", map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
			"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
			"userName":   "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com",
			"active":     true,
			"emails":     []any{map[string]any{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}},
			"meta":       map[string]any{"resourceType": "User"},
			"name":       map[string]any{"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
			"roles":      []any{},
		})
		id := u["id"].(string)
		if m := h.sc(200, "GET", q, nil); !slices.Equal(ids(m), []string{id}) {
			t.Fatalf("query after create %v", m)
		}
		// Update a multi-valued and a single-valued attribute, capitalised ops.
		u = h.sc(200, "PATCH", "/Users/"+id, patch(
			map[string]any{"op": "Replace", "path": `emails[type eq "work"].value`, "value": "updatedEmail@microsoft.com"},
			map[string]any{"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}))
		g := h.must(200, h.ga, "GET", "/v1.0/users/"+id, nil)
		if g["mail"] != "updatedEmail@microsoft.com" || g["surname"] != "updatedFamilyName" {
			t.Fatalf("Graph after PATCH %v", g)
		}
		// Adding a work email to a user that has none creates it.
		noMail := h.createUser("nomail@testuser.com", nil)
		h.sc(200, "PATCH", "/Users/"+noMail, patch(map[string]any{"op": "Add", "path": `emails[type eq "work"].value`, "value": "nomail@microsoft.com"}))
		if g := h.must(200, h.ga, "GET", "/v1.0/users/"+noMail, nil); g["mail"] != "nomail@microsoft.com" {
			t.Fatalf("Add of a work email: %v", g["mail"])
		}
		h.sc(200, "PATCH", "/Users/"+id, patch(map[string]any{"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}))
		// Enterprise attributes by URN path, booleans as strings.
		h.sc(200, "PATCH", "/Users/"+id, patch(
			map[string]any{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"},
			map[string]any{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "1234"},
			map[string]any{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": noMail},
			map[string]any{"op": "Replace", "path": "active", "value": "False"}))
		g = h.must(200, h.ga, "GET", "/v1.0/users/"+id+"?$select=userPrincipalName,department,employeeId,accountEnabled", nil)
		if g["userPrincipalName"] != "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com" || g["department"] != "Sales" ||
			g["employeeId"] != "1234" || g["accountEnabled"] != false {
			t.Fatalf("Graph after enterprise PATCH %v", g)
		}
		if m := h.sc(200, "GET", "/Users/"+id, nil)[ent].(map[string]any); m["manager"].(map[string]any)["value"] != noMail {
			t.Errorf("manager %v", m)
		}
		// A path-less replace of active, as a boolean string too.
		h.sc(200, "PATCH", "/Users/"+id, patch(map[string]any{"op": "Replace", "value": map[string]any{"active": "True", "name.givenName": "G2"}}))
		if g := h.must(200, h.ga, "GET", "/v1.0/users/"+id, nil); g["accountEnabled"] != true || g["givenName"] != "G2" {
			t.Errorf("after path-less replace %v", g)
		}
		// Groups: create, query by displayName without members, rename, members in batches.
		grp := h.sc(201, "POST", "/Groups", map[string]any{"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName",
			"meta": map[string]any{"resourceType": "Group"}, "members": []any{},
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}})
		gid := grp["id"].(string)
		m := h.sc(200, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "displayName"`), nil)
		if !slices.Equal(ids(m), []string{gid}) || resources(m)[0]["members"] != nil {
			t.Fatalf("group query %v", m)
		}
		h.sc(200, "PATCH", "/Groups/"+gid, patch(map[string]any{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}))
		other := h.createUser("second@testuser.com", nil)
		h.sc(200, "PATCH", "/Groups/"+gid, patch(map[string]any{"op": "Add", "path": "members",
			"value": []any{map[string]any{"$ref": nil, "value": id}, map[string]any{"$ref": nil, "value": other}}}))
		h.sc(200, "PATCH", "/Groups/"+gid, patch(map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"$ref": nil, "value": id}}}))
		if got := h.graphMembers(gid); !slices.Equal(got, []string{other}) {
			t.Fatalf("members %v", got)
		}
		h.sc(204, "DELETE", "/Groups/"+gid, nil)
		h.sc(204, "DELETE", "/Users/"+id, nil)
		h.must(404, h.ga, "GET", "/v1.0/users/"+id, nil)
	})
}

func TestOktaProvisioningSequence(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *harness) {
		q := "/Users?filter=" + url.QueryEscape(`userName eq "test.user@okta.local"`) + "&startIndex=1&count=100"
		if m := h.sc(200, "GET", q, nil); m["totalResults"] != 0.0 {
			t.Fatalf("query %v", m)
		}
		body := map[string]any{
			"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName":    "test.user@okta.local",
			"name":        map[string]any{"givenName": "Test", "familyName": "User"},
			"emails":      []any{map[string]any{"primary": true, "value": "test.user@okta.local", "type": "work"}},
			"displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
			"groups": []any{}, "password": "1mz050nq", "active": true,
		}
		u := h.sc(201, "POST", "/Users", body)
		id := u["id"].(string)
		if _, ok := u["password"]; ok {
			t.Error("the answer shows the password")
		}
		u = h.sc(200, "GET", "/Users/"+id, nil)
		// PUT of the whole user, deactivating it, then reactivating it.
		u["active"] = false
		u["name"] = map[string]any{"givenName": "Another", "familyName": "User"}
		u = h.sc(200, "PUT", "/Users/"+id, u)
		g := h.must(200, h.ga, "GET", "/v1.0/users/"+id, nil)
		if g["accountEnabled"] != false || g["givenName"] != "Another" || u["active"] != false {
			t.Fatalf("after PUT %v", g)
		}
		h.sc(200, "PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "value": map[string]any{"active": true}}))
		if g := h.must(200, h.ga, "GET", "/v1.0/users/"+id, nil); g["accountEnabled"] != true {
			t.Fatalf("after reactivation %v", g)
		}
		// A PUT without title clears it: PUT replaces the whole user.
		h.sc(200, "PATCH", "/Users/"+id, patch(map[string]any{"op": "add", "path": "title", "value": "Engineer"}))
		u = h.sc(200, "GET", "/Users/"+id, nil)
		delete(u, "title")
		h.sc(200, "PUT", "/Users/"+id, u)
		if g := h.must(200, h.ga, "GET", "/v1.0/users/"+id, nil); g["jobTitle"] != nil {
			t.Errorf("PUT without title kept it: %v", g["jobTitle"])
		}
		// Groups: create, rename with {"id", "displayName"}, add and remove members.
		gid := h.sc(201, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
			"displayName": "Test SCIMv2", "members": []any{}})["id"].(string)
		h.sc(200, "PATCH", "/Groups/"+gid, patch(map[string]any{"op": "replace", "value": map[string]any{"id": gid, "displayName": "Test SCIMv2 renamed"}}))
		h.sc(200, "PATCH", "/Groups/"+gid, patch(map[string]any{"op": "add", "path": "members",
			"value": []any{map[string]any{"value": id, "display": "test.user@okta.local"}}}))
		if got := h.graphMembers(gid); !slices.Equal(got, []string{id}) {
			t.Fatalf("members %v", got)
		}
		h.sc(200, "PATCH", "/Groups/"+gid, patch(map[string]any{"op": "remove", "path": `members[value eq "` + id + `"]`}))
		if got := h.graphMembers(gid); len(got) != 0 {
			t.Fatalf("members after remove %v", got)
		}
		if g := h.must(200, h.ga, "GET", "/v1.0/groups/"+gid, nil); g["displayName"] != "Test SCIMv2 renamed" {
			t.Errorf("group %v", g)
		}
	})
}
