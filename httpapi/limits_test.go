package httpapi

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"allot"
)

// lengthValue returns a valid value of n characters for a string property.
func lengthValue(property string, n int, seq int) string {
	switch property {
	case "userPrincipalName": // an alias of 64 and a domain that makes n
		alias := fmt.Sprintf("u%d", seq) + strings.Repeat("a", allot.UPNAliasMax)
		alias = alias[:allot.UPNAliasMax]
		return alias + "@" + strings.Repeat("d", n-len(alias)-5) + ".com"
	case "mail", "otherMails":
		return fmt.Sprintf("m%d", seq) + strings.Repeat("a", n-len(fmt.Sprint(seq))-7) + "@x.com"
	case "proxyAddresses":
		return fmt.Sprintf("smtp:p%d", seq) + strings.Repeat("a", n-len(fmt.Sprint(seq))-12) + "@x.com"
	}
	return strings.Repeat("é", n) // characters, not bytes, count
}

// stringProps lists the user properties whose limit the table test checks
// with a plain value (enums, dates and country codes have their own checks).
func stringProps() []string {
	var out []string
	for name, l := range allot.UserLimits {
		switch name {
		case "usageLocation", "ageGroup", "employeeHireDate":
			continue
		}
		if l.MaxItems == 0 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// TestUserPropertyLengths: every string property of a user is refused one
// character past its limit (400, nothing stored) and stored at its limit,
// on create and on update; string collections likewise in entry length and
// in number of entries.
func TestUserPropertyLengths(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		c := newHarness(t, open).A
		target := c.createUser("target@contoso.com", "US")
		seq := 0
		// value returns a fresh value of property whose (first) string has
		// n characters.
		value := func(property string, n int) any {
			seq++
			if allot.UserLimits[property].MaxItems > 0 {
				return []string{lengthValue(property, n, seq)}
			}
			return lengthValue(property, n, seq)
		}
		for _, property := range append(stringProps(), "businessPhones", "otherMails", "proxyAddresses") {
			lim := allot.UserLimits[property]
			t.Run(property, func(t *testing.T) {
				c := c.with(t)
				create := func(v any) map[string]any {
					b := map[string]any{"userPrincipalName": fmt.Sprintf("len%d@contoso.com", seq), "displayName": "Len", "accountEnabled": true}
					b[property] = v
					return b
				}
				before := c.snapshot()
				c.expectError(400, "Request_BadRequest", "POST", "/v1.0/users", create(value(property, lim.Max+1)))
				c.expectError(400, "Request_BadRequest", "PATCH", "/v1.0/users/"+target, map[string]any{property: value(property, lim.Max+1)})
				c.unchanged(before, property+" one past its limit")
				at := value(property, lim.Max)
				id := c.must(201, "POST", "/v1.0/users", create(at)).object(t)["id"].(string)
				if got := c.getJSON("/v1.0/users/" + id + "?$select=" + property)[property]; fmt.Sprint(got) != fmt.Sprint(at) {
					t.Errorf("created %s = %.80v, want %.80v", property, got, at)
				}
				if property == "userPrincipalName" {
					return
				}
				at = value(property, lim.Max)
				c.must(204, "PATCH", "/v1.0/users/"+target, map[string]any{property: at})
				if got := c.getJSON("/v1.0/users/" + target)[property]; fmt.Sprint(got) != fmt.Sprint(at) {
					t.Errorf("patched %s = %.80v, want %.80v", property, got, at)
				}
			})
		}
		for _, property := range []string{"businessPhones", "otherMails", "proxyAddresses"} {
			lim := allot.UserLimits[property]
			t.Run(property+" entry count", func(t *testing.T) {
				c := c.with(t)
				var full []string
				for i := 0; i < lim.MaxItems+1; i++ {
					seq++
					full = append(full, lengthValue(property, 30, seq))
				}
				before := c.snapshot()
				c.expectError(400, "Request_BadRequest", "POST", "/v1.0/users", map[string]any{"userPrincipalName": fmt.Sprintf("n%d@contoso.com", seq),
					"displayName": "N", "accountEnabled": true, property: full})
				c.expectError(400, "Request_BadRequest", "PATCH", "/v1.0/users/"+target, map[string]any{property: full})
				c.unchanged(before, property+" with too many entries")
				c.must(204, "PATCH", "/v1.0/users/"+target, map[string]any{property: full[:lim.MaxItems]})
				if got := c.getJSON("/v1.0/users/" + target)[property].([]any); len(got) != lim.MaxItems {
					t.Errorf("%s has %d entries, want %d", property, len(got), lim.MaxItems)
				}
			})
		}
		t.Run("userPrincipalName alias past 64", func(t *testing.T) {
			c := c.with(t)
			before := c.snapshot()
			upn := strings.Repeat("a", allot.UPNAliasMax+1) + "@contoso.com"
			c.expectError(400, "Request_BadRequest", "POST", "/v1.0/users", map[string]any{"userPrincipalName": upn, "displayName": "A", "accountEnabled": true})
			c.expectError(400, "Request_BadRequest", "PATCH", "/v1.0/users/"+target, map[string]any{"userPrincipalName": upn})
			c.unchanged(before, "a 65-character alias")
		})
	})
}

// TestGroupPropertyLengths: displayName, description and mailNickname of a
// group are refused one past their limit and stored at it, on create and on
// PATCH alike (PATCH used to skip the checks).
func TestGroupPropertyLengths(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		c := newHarness(t, open).A
		g := c.createGroup("Target")
		for property, lim := range allot.GroupLimits {
			t.Run(property, func(t *testing.T) {
				c := c.with(t)
				body := func(v string) map[string]any {
					b := map[string]any{"displayName": "G", "mailEnabled": false, "securityEnabled": true, "mailNickname": "g"}
					b[property] = v
					return b
				}
				over, at := strings.Repeat("é", lim.Max+1), strings.Repeat("é", lim.Max)
				before := c.snapshot()
				c.expectError(400, "Request_BadRequest", "POST", "/v1.0/groups", body(over))
				c.expectError(400, "Request_BadRequest", "PATCH", "/v1.0/groups/"+g, map[string]any{property: over})
				c.unchanged(before, property+" one past its limit")
				id := c.must(201, "POST", "/v1.0/groups", body(at)).object(t)["id"].(string)
				if got := c.getJSON("/v1.0/groups/" + id)[property]; got != at {
					t.Errorf("created %s has %d characters", property, len([]rune(fmt.Sprint(got))))
				}
				c.must(204, "PATCH", "/v1.0/groups/"+g, map[string]any{property: at})
				if got := c.getJSON("/v1.0/groups/" + g)[property]; got != at {
					t.Errorf("patched %s has %d characters", property, len([]rune(fmt.Sprint(got))))
				}
			})
		}
		t.Run("empty displayName on PATCH", func(t *testing.T) {
			c.with(t).expectError(400, "Request_BadRequest", "PATCH", "/v1.0/groups/"+g, map[string]any{"displayName": "  "})
		})
	})
}

// TestUserProfileProperties: the ordinary profile properties are stored on
// create, returned by GET and the list, selectable with $select, changed by
// PATCH (and audited), cleared with ""; ageGroup and employeeHireDate are
// put in Graph's form and bad values refused; $select of a property allot
// does not have is a 400.
func TestUserProfileProperties(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		c := newHarness(t, open).A
		props := map[string]any{"mobilePhone": "+1 425 555 0100", "officeLocation": "18/2111", "city": "Redmond", "country": "United States",
			"companyName": "Contoso", "employeeId": "E1234", "streetAddress": "1 Microsoft Way", "postalCode": "98052", "state": "WA",
			"preferredLanguage": "en-US", "employeeType": "Employee", "employeeHireDate": "2024-01-31T09:00:00+01:00", "ageGroup": "adult",
			"faxNumber": "+1 425 555 0199", "onPremisesImmutableId": "aGVsbG8=", "mailNickname": "adele",
			"businessPhones": []string{"+1 425 555 0109"}, "otherMails": []string{"adele@fabrikam.com", "av@example.com"}}
		body := map[string]any{"userPrincipalName": "adele@contoso.com", "displayName": "Adele Vance", "accountEnabled": true}
		for k, v := range props {
			body[k] = v
		}
		id := c.must(201, "POST", "/v1.0/users", body).object(t)["id"].(string)
		want := map[string]any{}
		for k, v := range props {
			want[k] = v
		}
		want["ageGroup"], want["employeeHireDate"] = "Adult", "2024-01-31T08:00:00Z"
		got := c.getJSON("/v1.0/users/" + id)
		for k, v := range want {
			if fmt.Sprint(got[k]) != fmt.Sprint(v) {
				t.Errorf("GET %s = %v, want %v", k, got[k], v)
			}
		}
		listed := c.listAll("/v1.0/users?$select=id,city,employeeId,otherMails")
		if len(listed) != 1 || listed[0]["city"] != "Redmond" || listed[0]["employeeId"] != "E1234" || len(listed[0]) != 5 || listed[0]["displayName"] != nil {
			t.Errorf("$select on the list: %v", listed)
		}
		sel := c.getJSON("/v1.0/users/" + id + "?$select=officeLocation,ageGroup")
		if sel["officeLocation"] != "18/2111" || sel["ageGroup"] != "Adult" || sel["displayName"] != nil {
			t.Errorf("$select on GET: %v", sel)
		}
		c.must(204, "PATCH", "/v1.0/users/"+id, map[string]any{"city": "Seattle", "mobilePhone": "", "otherMails": []string{}})
		got = c.getJSON("/v1.0/users/" + id)
		if got["city"] != "Seattle" || got["mobilePhone"] != nil || len(got["otherMails"].([]any)) != 0 || got["state"] != "WA" {
			t.Errorf("after PATCH: city %v mobilePhone %v otherMails %v state %v", got["city"], got["mobilePhone"], got["otherMails"], got["state"])
		}
		audit := c.getJSON("/v1.0/auditLogs/directoryAudits?$top=1")["value"].([]any)[0]
		if !strings.Contains(fmt.Sprint(audit), "Seattle") {
			t.Errorf("the PATCH is not audited with its change: %v", audit)
		}
		before := c.snapshot()
		for _, bad := range []map[string]any{{"ageGroup": "teen"}, {"employeeHireDate": "yesterday"},
			{"onPremisesImmutableId": "a_b"}, {"otherMails": []string{"not-an-address"}}, {"city": 5}} {
			c.expectError(400, "Request_BadRequest", "PATCH", "/v1.0/users/"+id, bad)
		}
		c.unchanged(before, "refused profile values")
		for _, path := range []string{"/v1.0/users/" + id + "?$select=aboutMe", "/v1.0/users?$select=id,birthday",
			"/v1.0/groups?$select=city", "/v1.0/users/" + id + "/memberOf?$select=employeeId"} {
			e := c.expectError(400, "Request_BadRequest", "GET", path, nil)
			if !strings.Contains(e.Message, "Could not find a property named") {
				t.Errorf("%s: %s", path, e.Message)
			}
		}
		g := c.createGroup("Sales")
		c.addMember(g, id)
		if m := c.listAll("/v1.0/groups/" + g + "/members?$select=id,city,description"); len(m) != 1 || m[0]["city"] != "Seattle" {
			t.Errorf("$select of user and group properties on members: %v", m)
		}
	})
}
