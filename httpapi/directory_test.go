package httpapi

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// ids returns the "id" of each item.
func ids(items []map[string]any) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it["id"].(string)
	}
	return out
}

// noDuplicates fails if a list has an id twice.
func noDuplicates(t *testing.T, what string, list []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, id := range list {
		if seen[id] {
			t.Errorf("%s lists %s twice", what, id)
		}
		seen[id] = true
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

// TestUsers: create, read by id and by userPrincipalName, update, delete;
// userPrincipalName and proxyAddresses unique case-insensitively.
func TestUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A

		created := c.must(201, "POST", "/v1.0/users", map[string]any{"userPrincipalName": "Megan.Bowen@contoso.com", "displayName": "Megan Bowen",
			"givenName": "Megan", "surname": "Bowen", "department": "Marketing", "usageLocation": "us", "accountEnabled": true,
			"proxyAddresses": []string{"SMTP:Megan.Bowen@contoso.com", "smtp:mb@contoso.com"}}).object(t)
		megan := created["id"].(string)
		if len(megan) != 36 || created["usageLocation"] != "US" || created["userPrincipalName"] != "Megan.Bowen@contoso.com" ||
			created["createdDateTime"] == nil || created["accountEnabled"] != true || len(created["proxyAddresses"].([]any)) != 2 {
			t.Errorf("created user: %v", created)
		}
		if fmt.Sprint(created["assignedLicenses"]) != "[]" || fmt.Sprint(created["licenseAssignmentStates"]) != "[]" {
			t.Errorf("a new user has licenses: %v", created)
		}

		t.Run("read by id and by userPrincipalName in any case", func(t *testing.T) {
			c := c.with(t)
			for _, ref := range []string{megan, strings.ToUpper(megan), "Megan.Bowen@contoso.com", "MEGAN.BOWEN@CONTOSO.COM", "megan.bowen@contoso.com"} {
				if got := c.getJSON("/v1.0/users/" + ref); got["id"] != megan {
					t.Errorf("GET /users/%s gave %v", ref, got["id"])
				}
			}
			got := c.getJSON("/v1.0/users/" + megan + "?$select=displayName,department")
			delete(got, "@odata.context")
			delete(got, "@odata.type")
			if len(got) != 2 || got["displayName"] != "Megan Bowen" || got["department"] != "Marketing" {
				t.Errorf("$select=displayName,department gave %v", got)
			}
			found := c.getJSON("/v1.0/users?$filter=userPrincipalName%20eq%20'MEGAN.bowen@CONTOSO.com'")["value"].([]any)
			if len(found) != 1 {
				t.Errorf("$filter userPrincipalName eq (other case) found %d", len(found))
			}
			found = c.getJSON("/v1.0/users?$filter=proxyAddresses/any(p:p%20eq%20'SMTP:MB@contoso.com')")["value"].([]any)
			if len(found) != 1 {
				t.Errorf("$filter proxyAddresses/any (other case) found %d", len(found))
			}
		})

		t.Run("userPrincipalName is unique in any case", func(t *testing.T) {
			c := c.with(t)
			e := c.expectError(400, "Request_BadRequest", "POST", "/v1.0/users", map[string]any{"userPrincipalName": "MEGAN.BOWEN@Contoso.COM", "displayName": "Copy"})
			if !strings.Contains(e.Message, "userPrincipalName") {
				t.Errorf("message %q", e.Message)
			}
			alex := c.createUser("alex@contoso.com", "US")
			c.expectError(400, "Request_BadRequest", "PATCH", "/v1.0/users/"+alex, map[string]any{"userPrincipalName": "megan.bowen@contoso.COM"})
			if got := c.getJSON("/v1.0/users/" + alex)["userPrincipalName"]; got != "alex@contoso.com" {
				t.Errorf("refused rename changed the UPN to %v", got)
			}
			// A user may change the case of its own name.
			c.must(204, "PATCH", "/v1.0/users/"+alex, map[string]any{"userPrincipalName": "Alex@Contoso.com"})
			if got := c.getJSON("/v1.0/users/alex@contoso.com")["userPrincipalName"]; got != "Alex@Contoso.com" {
				t.Errorf("UPN after case change %v", got)
			}
		})

		t.Run("proxyAddresses are unique in any case", func(t *testing.T) {
			c := c.with(t)
			e := c.expectError(400, "Request_BadRequest", "POST", "/v1.0/users", map[string]any{"userPrincipalName": "other@contoso.com",
				"displayName": "Other", "proxyAddresses": []string{"smtp:MB@CONTOSO.COM"}})
			if !strings.Contains(e.Message, "MB@CONTOSO.COM") {
				t.Errorf("message %q should name the address", e.Message)
			}
			other := c.createUser("other@contoso.com", "US")
			c.expectError(400, "Request_BadRequest", "PATCH", "/v1.0/users/"+other, map[string]any{"proxyAddresses": []string{"smtp:other@contoso.com", "smtp:Mb@Contoso.com"}})
			if got := c.getJSON("/v1.0/users/" + other)["proxyAddresses"].([]any); len(got) != 0 {
				t.Errorf("a refused update left proxyAddresses %v", got)
			}
			// The same list twice in one user is refused too.
			c.expectError(400, "Request_BadRequest", "PATCH", "/v1.0/users/"+other, map[string]any{"proxyAddresses": []string{"smtp:x@contoso.com", "SMTP:X@contoso.com"}})
			// A user may keep its own addresses when it sets them again.
			c.must(204, "PATCH", "/v1.0/users/"+megan, map[string]any{"proxyAddresses": []string{"smtp:MB@contoso.com"}})
			// An address given up is free for another user.
			c.must(204, "PATCH", "/v1.0/users/"+other, map[string]any{"proxyAddresses": []string{"smtp:megan.bowen@contoso.com"}})
			if got := c.getJSON("/v1.0/users/" + other)["proxyAddresses"].([]any); len(got) != 1 {
				t.Errorf("proxyAddresses %v", got)
			}
		})

		t.Run("update", func(t *testing.T) {
			c := c.with(t)
			c.must(204, "PATCH", "/v1.0/users/"+megan, map[string]any{"displayName": "Megan B.", "jobTitle": "Marketing Manager", "accountEnabled": false})
			got := c.getJSON("/v1.0/users/" + megan)
			if got["displayName"] != "Megan B." || got["jobTitle"] != "Marketing Manager" || got["accountEnabled"] != false || got["department"] != "Marketing" {
				t.Errorf("after update: %v", got)
			}
		})

		t.Run("delete gives back seats and memberships", func(t *testing.T) {
			c := c.with(t)
			e3 := c.sku("SPE_E3")
			d := c.createUser("leaver@contoso.com", "US")
			c.must(200, "POST", "/v1.0/users/"+d+"/assignLicense", assignBody([]string{e3}, nil))
			g := c.createGroup("Leavers")
			c.addMember(g, d)
			n0, _ := c.consumed(e3)
			c.must(204, "DELETE", "/v1.0/users/"+d, nil)
			c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/users/"+d, nil)
			c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/users/leaver@contoso.com", nil)
			c.expectError(404, "Request_ResourceNotFound", "DELETE", "/v1.0/users/"+d, nil)
			if n, _ := c.consumed(e3); n != n0-1 {
				t.Errorf("E3 consumedUnits %d after deleting a holder, want %d", n, n0-1)
			}
			if m := c.listAll("/v1.0/groups/" + g + "/members"); len(m) != 0 {
				t.Errorf("deleted user still a member: %v", ids(m))
			}
			// The name is free again.
			c.createUser("LEAVER@contoso.com", "US")
		})
	})
}

// TestGroupsAndMembers: groups CRUD, members $ref with users and groups,
// transitiveMembers through nested groups, memberOf.
func TestGroupsAndMembers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		g := c.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Sales", "description": "All sales staff",
			"mailEnabled": false, "securityEnabled": true, "mailNickname": "sales"}).object(t)
		sales := g["id"].(string)
		if g["securityEnabled"] != true || g["mailEnabled"] != false || g["displayName"] != "Sales" ||
			g["licenseProcessingState"].(map[string]any)["state"] != "ProcessingComplete" {
			t.Errorf("created group: %v", g)
		}
		c.must(204, "PATCH", "/v1.0/groups/"+sales, map[string]any{"displayName": "Sales EMEA", "description": "EMEA sales"})
		if got := c.getJSON("/v1.0/groups/" + sales); got["displayName"] != "Sales EMEA" || got["description"] != "EMEA sales" {
			t.Errorf("after update: %v", got)
		}

		u1, u2, u3 := c.createUser("u1@contoso.com", "US"), c.createUser("u2@contoso.com", "US"), c.createUser("u3@contoso.com", "US")
		inner := c.createGroup("Sales leads")
		deep := c.createGroup("Sales interns")
		c.addMember(sales, u1)
		c.addMember(sales, inner)
		c.addMember(sales, u3)
		c.addMember(inner, u2)
		c.addMember(inner, u1) // also a direct member of sales
		c.addMember(inner, deep)
		u4 := c.createUser("u4@contoso.com", "US")
		c.addMember(deep, u4)

		t.Run("members in the order they were added", func(t *testing.T) {
			c := c.with(t)
			m := c.listAll("/v1.0/groups/" + sales + "/members")
			if got := ids(m); !slices.Equal(got, []string{u1, inner, u3}) {
				t.Errorf("members %v, want [u1 inner u3]", got)
			}
			types := []string{}
			for _, it := range m {
				types = append(types, it["@odata.type"].(string))
			}
			if !slices.Equal(types, []string{"#microsoft.graph.user", "#microsoft.graph.group", "#microsoft.graph.user"}) {
				t.Errorf("member types %v", types)
			}
			// Paged one at a time.
			if got := ids(c.listAll("/v1.0/groups/" + sales + "/members?$top=1")); !slices.Equal(got, []string{u1, inner, u3}) {
				t.Errorf("members paged by 1: %v", got)
			}
		})

		t.Run("transitiveMembers through nested groups", func(t *testing.T) {
			c := c.with(t)
			want := []string{u1, inner, u2, deep, u4, u3}
			if got := ids(c.listAll("/v1.0/groups/" + sales + "/transitiveMembers")); !slices.Equal(got, want) {
				t.Errorf("transitiveMembers %v, want %v (u1 once, nested members where their group was added)", got, want)
			}
			for _, top := range []int{1, 2, 4} {
				got := ids(c.listAll(fmt.Sprintf("/v1.0/groups/%s/transitiveMembers?$top=%d", sales, top)))
				if !slices.Equal(got, want) {
					t.Errorf("transitiveMembers with $top=%d: %v", top, got)
				}
			}
			sel := c.getJSON("/v1.0/groups/" + sales + "/transitiveMembers?$select=id")["value"].([]any)
			for _, it := range sel {
				for k := range it.(map[string]any) {
					if k != "id" && !strings.HasPrefix(k, "@odata.") {
						t.Errorf("$select=id returned %s", k)
					}
				}
			}
		})

		t.Run("memberOf", func(t *testing.T) {
			c := c.with(t)
			if got := ids(c.listAll("/v1.0/users/" + u1 + "/memberOf")); !sameSet(got, []string{sales, inner}) {
				t.Errorf("u1 memberOf %v", got)
			}
			if got := ids(c.listAll("/v1.0/users/" + u4 + "/memberOf")); !slices.Equal(got, []string{deep}) {
				t.Errorf("u4 memberOf %v (direct groups only)", got)
			}
			if got := ids(c.listAll("/v1.0/groups/" + deep + "/memberOf")); !slices.Equal(got, []string{inner}) {
				t.Errorf("interns memberOf %v", got)
			}
			if got := c.listAll("/v1.0/groups/" + sales + "/memberOf"); len(got) != 0 {
				t.Errorf("sales memberOf %v", ids(got))
			}
		})

		t.Run("remove members", func(t *testing.T) {
			c := c.with(t)
			c.must(204, "DELETE", "/v1.0/groups/"+inner+"/members/"+deep+"/$ref", nil)
			c.must(204, "DELETE", "/v1.0/groups/"+sales+"/members/"+u1+"/$ref", nil)
			if got := ids(c.listAll("/v1.0/groups/" + sales + "/transitiveMembers")); !slices.Equal(got, []string{inner, u2, u1, u3}) {
				t.Errorf("transitiveMembers after removals %v", got)
			}
			c.expectError(404, "Request_ResourceNotFound", "DELETE", "/v1.0/groups/"+sales+"/members/"+u1+"/$ref", nil)
			// The other $ref forms Graph clients send.
			c.must(204, "POST", "/v1.0/groups/"+sales+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + u4})
			c.must(204, "POST", "/v1.0/groups/"+sales+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects('" + deep + "')"})
			if got := ids(c.listAll("/v1.0/groups/" + sales + "/members")); !slices.Equal(got, []string{inner, u3, u4, deep}) {
				t.Errorf("members %v", got)
			}
		})

		t.Run("delete", func(t *testing.T) {
			c := c.with(t)
			tmp := c.createGroup("Temporary")
			c.addMember(tmp, u2)
			c.addMember(sales, tmp)
			c.must(204, "DELETE", "/v1.0/groups/"+tmp, nil)
			c.expectError(404, "Request_ResourceNotFound", "GET", "/v1.0/groups/"+tmp, nil)
			if slices.Contains(ids(c.listAll("/v1.0/groups/"+sales+"/members")), tmp) {
				t.Error("a deleted group is still a member")
			}
			if got := ids(c.listAll("/v1.0/users/" + u2 + "/memberOf")); slices.Contains(got, tmp) {
				t.Errorf("u2 memberOf %v still has the deleted group", got)
			}
			// A group that assigns licenses cannot be deleted.
			c.must(202, "POST", "/v1.0/groups/"+inner+"/assignLicense", assignBody([]string{c.sku("SPE_E3")}, nil))
			e := c.expectError(400, "groupAssignsLicenses", "DELETE", "/v1.0/groups/"+inner, nil)
			if !strings.Contains(e.Message, "removeLicenses") {
				t.Errorf("message %q should say how to remove the licenses", e.Message)
			}
		})
	})
}

// TestListsPagingFilterSelect: $top, @odata.nextLink keyset paging across
// pages (no duplicates, no gaps, even while rows are added and removed),
// $count, $select, and $filter with eq, startswith, and, assignedLicenses/any.
func TestListsPagingFilterSelect(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e3, e5 := c.sku("SPE_E3"), c.sku("SPE_E5")
		var all []string
		depts := []string{"Sales", "Marketing", "Finance"}
		for i := 0; i < 23; i++ {
			loc := "US"
			if i%5 == 4 {
				loc = "GB"
			}
			id := c.must(201, "POST", "/v1.0/users", map[string]any{"userPrincipalName": fmt.Sprintf("page%02d@contoso.com", i),
				"displayName": fmt.Sprintf("Page User %02d", i), "department": depts[i%3], "usageLocation": loc, "accountEnabled": i%7 != 0}).object(t)["id"].(string)
			all = append(all, id)
			if i%4 == 0 {
				c.must(200, "POST", "/v1.0/users/"+id+"/assignLicense", assignBody([]string{e3}, nil))
			}
		}
		other := c.createUser("zed@contoso.com", "US")
		c.must(200, "POST", "/v1.0/users/"+other+"/assignLicense", assignBody([]string{e5}, nil))
		all = append(all, other)

		t.Run("keyset paging", func(t *testing.T) {
			c := c.with(t)
			for _, top := range []int{1, 5, 7, 23, 24, 100} {
				got := ids(c.listAll(fmt.Sprintf("/v1.0/users?$top=%d", top)))
				noDuplicates(t, "users", got)
				if !slices.Equal(got, all) {
					t.Errorf("$top=%d: %d users, want all %d in creation order", top, len(got), len(all))
				}
			}
			first := c.getJSON("/v1.0/users?$top=5&$count=true&$select=id,userPrincipalName")
			if first["@odata.count"].(float64) != float64(len(all)) {
				t.Errorf("@odata.count %v, want %d", first["@odata.count"], len(all))
			}
			for _, it := range first["value"].([]any) {
				for k := range it.(map[string]any) {
					if k != "id" && k != "userPrincipalName" && !strings.HasPrefix(k, "@odata.") {
						t.Errorf("$select=id,userPrincipalName returned %s", k)
					}
				}
			}
			next, _ := first["@odata.nextLink"].(string)
			for _, opt := range []string{"$top=5", "$count=true", "$select=id"} {
				if u := strings.ReplaceAll(strings.ReplaceAll(next, "%24", "$"), "%2C", ","); !strings.Contains(u, opt) {
					t.Errorf("nextLink %s does not keep %s", next, opt)
				}
			}
			second := c.getJSON(h.relative(next))
			if second["@odata.count"].(float64) != float64(len(all)) || len(second["value"].([]any)) != 5 {
				t.Errorf("second page: count %v, %d items", second["@odata.count"], len(second["value"].([]any)))
			}
		})

		t.Run("paging while rows change has no duplicates or gaps", func(t *testing.T) {
			c := c.with(t)
			page := c.getJSON("/v1.0/users?$top=6")
			var got []string
			for _, it := range page["value"].([]any) {
				got = append(got, it.(map[string]any)["id"].(string))
			}
			// Between pages: a user is added, and one already seen is deleted.
			added := c.createUser("late@contoso.com", "US")
			c.must(204, "DELETE", "/v1.0/users/"+got[0], nil)
			rest := ids(c.listAll(h.relative(page["@odata.nextLink"].(string))))
			got = append(got, rest...)
			noDuplicates(t, "users", got)
			want := append(slices.Clone(all), added)
			if !slices.Equal(got, want) {
				t.Errorf("paging while rows change: got %d ids, want %d (every row that existed throughout, once)", len(got), len(want))
			}
			all = append(all[1:], added)
		})

		t.Run("filters", func(t *testing.T) {
			c := c.with(t)
			count := func(q string) int {
				return int(c.getJSON("/v1.0/users?$count=true&$top=2&" + q)["@odata.count"].(float64))
			}
			listed := func(q string) []string { return ids(c.listAll("/v1.0/users?$top=3&" + q)) }
			for _, tc := range []struct {
				filter string
				want   int
			}{
				{"displayName%20eq%20'Page%20User%2003'", 1},
				{"displayName%20eq%20'page%20user%2003'", 1},
				{"department%20eq%20'Sales'", 7}, // 3,6,…,21: one was deleted above (index 0)
				{"usageLocation%20eq%20'GB'", 4},
				{"accountEnabled%20eq%20false", 3}, // 7, 14, 21 (0 was deleted)
				{"startswith(userPrincipalName,'page1')", 10},
				{"startswith(displayName,'PAGE%20USER%202')", 3},
				{"startswith(userPrincipalName,'page')%20and%20department%20eq%20'Finance'", 7},
				{"department%20eq%20'Sales'%20and%20usageLocation%20eq%20'GB'%20and%20accountEnabled%20eq%20true", 1}, // 9
				{"assignedLicenses/any(x:x/skuId%20eq%20" + e3 + ")", 5},                                              // 4,8,12,16,20 (0 was deleted)
				{"assignedLicenses/any(x:x/skuId%20eq%20" + e5 + ")", 1},
				{"assignedLicenses/any(x:x/skuId%20eq%20" + e3 + ")%20and%20usageLocation%20eq%20'GB'", 1}, // 4
				{"assignedLicenses/any(x:x/skuId%20eq%20" + e3 + ")%20and%20startswith(displayName,'Page%20User%201')", 2},
				{"startswith(displayName,'%25')", 0},
				{"startswith(displayName,'Page_User')", 0},
				{"id%20eq%20'" + other + "'", 1},
			} {
				n := count("$filter=" + tc.filter)
				l := listed("$filter=" + tc.filter)
				noDuplicates(t, tc.filter, l)
				if n != tc.want || len(l) != tc.want {
					t.Errorf("$filter=%s: @odata.count %d, %d listed; want %d", tc.filter, n, len(l), tc.want)
				}
			}
			// Groups filter too.
			ga, gb := c.createGroup("Filter Alpha"), c.createGroup("Filter Beta")
			c.must(202, "POST", "/v1.0/groups/"+gb+"/assignLicense", assignBody([]string{e5}, nil))
			if got := ids(c.listAll("/v1.0/groups?$filter=startswith(displayName,'filter')")); !slices.Equal(got, []string{ga, gb}) {
				t.Errorf("groups startswith: %v", got)
			}
			if got := ids(c.listAll("/v1.0/groups?$filter=assignedLicenses/any(x:x/skuId%20eq%20" + e5 + ")")); !slices.Equal(got, []string{gb}) {
				t.Errorf("groups assignedLicenses/any: %v", got)
			}
			if got := ids(c.listAll("/v1.0/groups?$filter=displayName%20eq%20'Filter%20Alpha'%20and%20securityEnabled%20eq%20true")); !slices.Equal(got, []string{ga}) {
				t.Errorf("groups eq and: %v", got)
			}
		})

		t.Run("groups paging", func(t *testing.T) {
			c := c.with(t)
			var want []string
			for i := 0; i < 11; i++ {
				want = append(want, c.createGroup(fmt.Sprintf("Paged group %02d", i)))
			}
			got := ids(c.listAll("/v1.0/groups?$top=4&$filter=startswith(displayName,'Paged')"))
			noDuplicates(t, "groups", got)
			if !slices.Equal(got, want) {
				t.Errorf("paged groups %d, want %d", len(got), len(want))
			}
		})

		t.Run("$top is capped", func(t *testing.T) {
			c := c.with(t)
			if n := len(c.getJSON("/v1.0/users?$top=100000")["value"].([]any)); n != len(all) {
				t.Errorf("$top=100000 returned %d users", n)
			}
		})
	})
}

// TestAuditLog: every change is in the audit log, newest first, with actor,
// target and old and new values; filterable by activityDisplayName and
// target; paged.
func TestAuditLog(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		u := c.createUser("audited@contoso.com", "US")
		c.must(204, "PATCH", "/v1.0/users/"+u, map[string]any{"displayName": "Audited User", "usageLocation": "GB"})
		g := c.createGroup("Audited group")
		c.addMember(g, u)
		r := c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{c.sku("SPE_E3")}, nil))
		requestID := r.Header.Get("request-id")
		c.must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+u+"/$ref", nil)

		all := c.listAll("/v1.0/auditLogs/directoryAudits?$top=4")
		noDuplicates(t, "audit events", ids(all))
		if len(all) < 6+len(defaultProducts) {
			t.Fatalf("%d audit events, want at least %d", len(all), 6+len(defaultProducts))
		}
		for i := 1; i < len(all); i++ {
			if all[i-1]["activityDateTime"].(string) < all[i]["activityDateTime"].(string) {
				t.Errorf("audit not newest first at %d: %v then %v", i, all[i-1]["activityDateTime"], all[i]["activityDateTime"])
			}
		}
		if got := all[0]["activityDisplayName"]; got != "Remove member from group" {
			t.Errorf("newest event %v, want the member removal", got)
		}
		if got := ids(c.listAll("/v1.0/auditLogs/directoryAudits?$top=999")); !slices.Equal(got, ids(all)) {
			t.Errorf("paging by 4 and one page of 999 list different events:\n%v\n%v", got, ids(all))
		}

		byUser := c.listAll("/v1.0/auditLogs/directoryAudits?$filter=targetResources/any(t:t/id%20eq%20'" + u + "')")
		var acts []string
		for _, e := range byUser {
			acts = append(acts, e["activityDisplayName"].(string))
			tr := e["targetResources"].([]any)[0].(map[string]any)
			if tr["id"] != u {
				t.Errorf("target filter returned an event of %v", tr["id"])
			}
		}
		if want := []string{"Change user license", "Update user", "Add user"}; !slices.Equal(acts, want) {
			t.Errorf("the user's events %v, want %v", acts, want)
		}
		update := byUser[1]
		mods := map[string][2]any{}
		for _, m := range update["targetResources"].([]any)[0].(map[string]any)["modifiedProperties"].([]any) {
			m := m.(map[string]any)
			mods[m["displayName"].(string)] = [2]any{m["oldValue"], m["newValue"]}
		}
		if mods["displayName"] != [2]any{"audited", "Audited User"} || mods["usageLocation"] != [2]any{"US", "GB"} {
			t.Errorf("Update user modifiedProperties %v", mods)
		}
		if app, _ := update["initiatedBy"].(map[string]any)["app"].(map[string]any); app == nil || app["displayName"] == "" {
			t.Errorf("initiatedBy %v should name the API client", update["initiatedBy"])
		}
		if lic := byUser[0]; lic["correlationId"] != requestID {
			t.Errorf("license change correlationId %v, want the request's request-id %s", lic["correlationId"], requestID)
		}

		adds := c.listAll("/v1.0/auditLogs/directoryAudits?$top=2&$filter=activityDisplayName%20eq%20'Add%20member%20to%20group'")
		if len(adds) != 1 || adds[0]["targetResources"].([]any)[0].(map[string]any)["id"] != g {
			t.Errorf("activity filter: %v", adds)
		}
		both := c.listAll("/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName%20eq%20'Add%20user'%20and%20targetResources/any(t:t/id%20eq%20'" + u + "')")
		if len(both) != 1 {
			t.Errorf("activity and target filter: %d events", len(both))
		}
		// A refused change is not audited as a change.
		before := len(c.listAll("/v1.0/auditLogs/directoryAudits?$top=999"))
		c.expectError(400, "", "PATCH", "/v1.0/users/"+u, map[string]any{"usageLocation": "USA"})
		if after := len(c.listAll("/v1.0/auditLogs/directoryAudits?$top=999")); after != before {
			t.Errorf("a refused change added %d audit events", after-before)
		}
	})
}
