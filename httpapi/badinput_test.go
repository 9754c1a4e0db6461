package httpapi

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// badCase is one bad request: it must answer status (and code, when set)
// with a Graph error envelope whose message contains every string of
// contains, and change nothing.
type badCase struct {
	name         string
	method, path string
	body         any // string: sent as is
	status       int
	code         string
	contains     []string
}

// oversize returns a JSON object of more than 1 MiB.
func oversize() string {
	return `{"displayName":"` + strings.Repeat("a", 1<<20+1) + `"}`
}

// TestBadInput: bad input of any kind gets a clear 4xx with a Graph error
// envelope, never a 5xx, and changes nothing.
func TestBadInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e3 := c.sku("SPE_E3")
		u := c.createUser("adele@contoso.com", "US")
		c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{e3}, nil))
		u2 := c.createUser("alex@contoso.com", "US")
		c.must(204, "PATCH", "/v1.0/users/"+u2, map[string]any{"proxyAddresses": []string{"smtp:alex@contoso.com"}})
		outer, inner := c.createGroup("Outer"), c.createGroup("Inner")
		c.addMember(outer, inner)
		c.addMember(inner, u)
		// A skiptoken of the groups list, to be refused on the users list.
		c.createGroup("Third")
		groupsNext := c.getJSON("/v1.0/groups?$top=1")["@odata.nextLink"].(string)
		nl, _ := url.Parse(groupsNext)
		groupsToken := nl.Query().Get("$skiptoken")
		unknown := "00000000-0000-4000-8000-00000000beef"
		userPath, groupPath := "/v1.0/users/"+u, "/v1.0/groups/"+outer
		ref := func(id string) string {
			return `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/` + id + `"}`
		}

		const bad, notFound, tooLarge = "Request_BadRequest", "Request_ResourceNotFound", "Request_EntityTooLarge"
		cases := []badCase{
			// Bodies that are not a JSON object.
			{"malformed JSON", "POST", "/v1.0/users", `{"userPrincipalName": "x@contoso.com",`, 400, bad, []string{"JSON"}},
			{"empty body", "POST", "/v1.0/users", ``, 400, bad, []string{"empty"}},
			{"blank body", "POST", "/v1.0/users", "  \n\t ", 400, bad, []string{"empty"}},
			{"no body at all", "POST", "/v1.0/users", nil, 400, bad, nil},
			{"JSON null", "POST", "/v1.0/users", `null`, 400, bad, nil},
			{"JSON array", "POST", "/v1.0/users", `[{"userPrincipalName":"x@contoso.com","displayName":"x"}]`, 400, bad, []string{"JSON object"}},
			{"JSON string", "POST", "/v1.0/users", `"x@contoso.com"`, 400, bad, []string{"JSON object"}},
			{"two objects", "POST", "/v1.0/users", `{"userPrincipalName":"x@contoso.com","displayName":"x"}{}`, 400, bad, nil},
			{"trailing garbage", "POST", "/v1.0/users", `{"userPrincipalName":"x@contoso.com","displayName":"x"} yes`, 400, bad, nil},
			{"not JSON at all", "POST", "/v1.0/users", `userPrincipalName=x@contoso.com&displayName=x`, 400, bad, nil},

			// Wrong JSON types.
			{"accountEnabled as a string", "POST", "/v1.0/users", `{"userPrincipalName":"x@contoso.com","displayName":"x","accountEnabled":"yes"}`, 400, bad, []string{"accountEnabled"}},
			{"displayName as a number", "POST", "/v1.0/users", `{"userPrincipalName":"x@contoso.com","displayName":5}`, 400, bad, []string{"displayName"}},
			{"proxyAddresses as a string", "POST", "/v1.0/users", `{"userPrincipalName":"x@contoso.com","displayName":"x","proxyAddresses":"smtp:x@contoso.com"}`, 400, bad, []string{"proxyAddresses"}},
			{"proxyAddresses of numbers", "POST", "/v1.0/users", `{"userPrincipalName":"x@contoso.com","displayName":"x","proxyAddresses":[1,2]}`, 400, bad, []string{"proxyAddresses"}},
			{"usageLocation as a bool", "PATCH", userPath, `{"usageLocation":true}`, 400, bad, []string{"usageLocation"}},
			{"addLicenses as an object", "POST", userPath + "/assignLicense", `{"addLicenses":{"skuId":"` + e3 + `"},"removeLicenses":[]}`, 400, bad, []string{"addLicenses"}},
			{"skuId as a number", "POST", userPath + "/assignLicense", `{"addLicenses":[{"skuId":5,"disabledPlans":[]}],"removeLicenses":[]}`, 400, bad, []string{"skuId"}},
			{"enabledUnits as a string", "POST", "/allot/v1/subscribedSkus", `{"skuPartNumber":"SPE_E5_X","enabledUnits":"ten"}`, 400, bad, []string{"enabledUnits"}},
			{"enabledUnits fractional", "PATCH", "/allot/v1/subscribedSkus/" + e3, `{"enabledUnits":2.5}`, 400, bad, []string{"enabledUnits"}},
			{"enabledUnits huge", "PATCH", "/allot/v1/subscribedSkus/" + e3, `{"enabledUnits":1e300}`, 400, bad, []string{"enabledUnits"}},
			{"group displayName as an array", "POST", "/v1.0/groups", `{"displayName":["x"]}`, 400, bad, []string{"displayName"}},

			// Unknown and read-only properties.
			{"unknown property", "POST", "/v1.0/users", `{"userPrincipalName":"x@contoso.com","displayName":"x","favoriteColor":"blue"}`, 400, bad, []string{"favoriteColor"}},
			{"unknown nested property", "POST", userPath + "/assignLicense", `{"addLicenses":[{"skuId":"` + e3 + `","disabledPlans":[],"seats":2}],"removeLicenses":[]}`, 400, bad, []string{"seats"}},
			{"unknown property in assignLicense", "POST", userPath + "/assignLicense", `{"addLicenses":[],"removeLicenses":["` + e3 + `"],"force":true}`, 400, bad, []string{"force"}},
			{"user id on create", "POST", "/v1.0/users", `{"id":"` + unknown + `","userPrincipalName":"x@contoso.com","displayName":"x"}`, 400, bad, []string{"id", "read-only"}},
			{"user createdDateTime", "POST", "/v1.0/users", `{"userPrincipalName":"x@contoso.com","displayName":"x","createdDateTime":"2020-01-01T00:00:00Z"}`, 400, bad, []string{"createdDateTime", "read-only"}},
			{"user assignedLicenses on create", "POST", "/v1.0/users", `{"userPrincipalName":"x@contoso.com","displayName":"x","assignedLicenses":[{"skuId":"` + e3 + `"}]}`, 400, bad, []string{"assignedLicenses", "read-only"}},
			{"user id on update", "PATCH", userPath, `{"id":"` + unknown + `"}`, 400, bad, []string{"id", "read-only"}},
			{"user assignedLicenses on update", "PATCH", userPath, `{"assignedLicenses":[]}`, 400, bad, []string{"assignedLicenses", "read-only"}},
			{"user assignedPlans on update", "PATCH", userPath, `{"assignedPlans":[]}`, 400, bad, []string{"assignedPlans", "read-only"}},
			{"user licenseAssignmentStates on update", "PATCH", userPath, `{"licenseAssignmentStates":[]}`, 400, bad, []string{"licenseAssignmentStates", "read-only"}},
			{"user createdDateTime on update", "PATCH", userPath, `{"displayName":"new","createdDateTime":"2020-01-01T00:00:00Z"}`, 400, bad, []string{"createdDateTime", "read-only"}},
			{"group id on create", "POST", "/v1.0/groups", `{"id":"` + unknown + `","displayName":"x"}`, 400, bad, []string{"id", "read-only"}},
			{"group createdDateTime on update", "PATCH", groupPath, `{"createdDateTime":"2020-01-01T00:00:00Z"}`, 400, bad, []string{"createdDateTime", "read-only"}},
			{"group assignedLicenses on update", "PATCH", groupPath, `{"assignedLicenses":[]}`, 400, bad, []string{"assignedLicenses", "read-only"}},
			{"group licenseProcessingState", "PATCH", groupPath, `{"licenseProcessingState":{"state":"ProcessingComplete"}}`, 400, bad, []string{"licenseProcessingState"}},
			{"product consumedUnits on create", "POST", "/allot/v1/subscribedSkus", `{"skuPartNumber":"SPE_E5","enabledUnits":5,"consumedUnits":0}`, 400, bad, []string{"consumedUnits", "read-only"}},
			{"product consumedUnits on update", "PATCH", "/allot/v1/subscribedSkus/" + e3, `{"consumedUnits":0}`, 400, bad, []string{"consumedUnits", "read-only"}},
			{"product id on update", "PATCH", "/allot/v1/subscribedSkus/" + e3, `{"id":"x","enabledUnits":5}`, 400, bad, []string{"id", "read-only"}},
			{"product prepaidUnits on update", "PATCH", "/allot/v1/subscribedSkus/" + e3, `{"prepaidUnits":{"enabled":5}}`, 400, bad, []string{"prepaidUnits"}},

			// Oversize bodies.
			{"oversize user", "POST", "/v1.0/users", oversize(), 413, tooLarge, nil},
			{"oversize user update", "PATCH", userPath, oversize(), 413, tooLarge, nil},
			{"oversize group", "POST", "/v1.0/groups", oversize(), 413, tooLarge, nil},
			{"oversize group update", "PATCH", groupPath, oversize(), 413, tooLarge, nil},
			{"oversize assignLicense", "POST", userPath + "/assignLicense", oversize(), 413, tooLarge, nil},
			{"oversize group assignLicense", "POST", groupPath + "/assignLicense", oversize(), 413, tooLarge, nil},
			{"oversize $ref", "POST", groupPath + "/members/$ref", oversize(), 413, tooLarge, nil},
			{"oversize product", "POST", "/allot/v1/subscribedSkus", oversize(), 413, tooLarge, nil},
			{"oversize seats", "PATCH", "/allot/v1/subscribedSkus/" + e3, oversize(), 413, tooLarge, nil},
			{"oversize sign-in", "POST", "/allot/v1/signin", oversize(), 413, tooLarge, nil},

			// Values that break rules.
			{"missing userPrincipalName", "POST", "/v1.0/users", `{"displayName":"x"}`, 400, bad, []string{"userPrincipalName"}},
			{"userPrincipalName without @", "POST", "/v1.0/users", `{"userPrincipalName":"adele","displayName":"x"}`, 400, bad, []string{"userPrincipalName"}},
			{"missing displayName", "POST", "/v1.0/users", `{"userPrincipalName":"x@contoso.com"}`, 400, bad, []string{"displayName"}},
			{"usageLocation of three letters", "POST", "/v1.0/users", `{"userPrincipalName":"x@contoso.com","displayName":"x","usageLocation":"USA"}`, 400, bad, []string{"usageLocation"}},
			{"proxy address without @", "POST", "/v1.0/users", `{"userPrincipalName":"x@contoso.com","displayName":"x","proxyAddresses":["smtp:x"]}`, 400, bad, []string{"smtp:x"}},
			{"duplicate UPN, other case", "POST", "/v1.0/users", `{"userPrincipalName":"ADELE@Contoso.com","displayName":"x"}`, 400, bad, []string{"userPrincipalName"}},
			{"duplicate proxy address, other case", "POST", "/v1.0/users", `{"userPrincipalName":"x@contoso.com","displayName":"x","proxyAddresses":["SMTP:Alex@CONTOSO.com"]}`, 400, bad, []string{"proxy address"}},
			{"good change with a bad usageLocation", "PATCH", userPath, `{"displayName":"Renamed","usageLocation":"U1"}`, 400, bad, []string{"usageLocation"}},
			{"good change with a taken proxy address", "PATCH", userPath, `{"displayName":"Renamed","proxyAddresses":["smtp:adele@contoso.com","smtp:ALEX@contoso.com"]}`, 400, bad, []string{"proxy address"}},
			{"good change with a taken UPN", "PATCH", userPath, `{"displayName":"Renamed","userPrincipalName":"Alex@Contoso.com"}`, 400, bad, []string{"userPrincipalName"}},
			{"empty displayName", "PATCH", userPath, `{"displayName":""}`, 400, bad, []string{"displayName"}},
			{"group without displayName", "POST", "/v1.0/groups", `{"mailEnabled":false,"securityEnabled":true}`, 400, bad, []string{"displayName"}},
			{"mail-enabled group", "POST", "/v1.0/groups", `{"displayName":"x","mailEnabled":true,"securityEnabled":true}`, 400, bad, []string{"mailEnabled"}},
			{"Microsoft 365 group", "POST", "/v1.0/groups", `{"displayName":"x","groupTypes":["Unified"]}`, 400, bad, []string{"groupTypes"}},
			{"group securityEnabled change", "PATCH", groupPath, `{"displayName":"Renamed","securityEnabled":false}`, 400, bad, []string{"securityEnabled"}},
			{"too many licenses in one call", "POST", userPath + "/assignLicense", tooManyLicenses(), 400, bad, []string{"100"}},
			{"addLicenses entry without skuId", "POST", userPath + "/assignLicense", `{"addLicenses":[{"disabledPlans":[]}],"removeLicenses":[]}`, 400, bad, []string{"skuId"}},
			{"product without enabledUnits", "POST", "/allot/v1/subscribedSkus", `{"skuPartNumber":"SPE_E5"}`, 400, bad, []string{"enabledUnits"}},
			{"product not in the catalog", "POST", "/allot/v1/subscribedSkus", `{"skuPartNumber":"NOT_A_PRODUCT","enabledUnits":5}`, 400, bad, []string{"NOT_A_PRODUCT", "catalog"}},
			{"product already there", "POST", "/allot/v1/subscribedSkus", `{"skuPartNumber":"SPE_E3","enabledUnits":5}`, 400, bad, []string{"SPE_E3"}},
			{"negative seats on create", "POST", "/allot/v1/subscribedSkus", `{"skuPartNumber":"SPE_E5_X","displayName":"x","enabledUnits":-1,"servicePlans":[{"servicePlanName":"P"}]}`, 400, bad, []string{"enabledUnits"}},
			{"negative seats", "PATCH", "/allot/v1/subscribedSkus/" + e3, `{"enabledUnits":-5}`, 400, bad, []string{"enabledUnits"}},
			{"no seats in the update", "PATCH", "/allot/v1/subscribedSkus/" + e3, `{}`, 400, bad, []string{"enabledUnits"}},
			{"custom product without plans", "POST", "/allot/v1/subscribedSkus", `{"skuPartNumber":"CUSTOM_X","displayName":"x","enabledUnits":1,"servicePlans":[]}`, 400, bad, []string{"service plan"}},
			{"custom product with a bad plan id", "POST", "/allot/v1/subscribedSkus", `{"skuPartNumber":"CUSTOM_X","displayName":"x","enabledUnits":1,"servicePlans":[{"servicePlanId":"nope","servicePlanName":"P"}]}`, 400, bad, []string{"nope"}},
			{"custom product with a bad skuId", "POST", "/allot/v1/subscribedSkus", `{"skuId":"nope","skuPartNumber":"CUSTOM_X","displayName":"x","enabledUnits":1,"servicePlans":[{"servicePlanName":"P"}]}`, 400, bad, []string{"nope"}},
			{"custom product with an unknown geo", "POST", "/allot/v1/subscribedSkus", `{"skuPartNumber":"CUSTOM_X","displayName":"x","enabledUnits":1,"servicePlans":[{"servicePlanName":"P"}],"availableDataLocations":["MARS"]}`, 400, bad, []string{"MARS"}},
			{"custom product with a bad country", "POST", "/allot/v1/subscribedSkus", `{"skuPartNumber":"CUSTOM_X","displayName":"x","enabledUnits":1,"servicePlans":[{"servicePlanName":"P"}],"allowedUsageLocations":["United States"]}`, 400, bad, []string{"United States"}},

			// Bad GUIDs and unknown objects.
			{"unknown user", "GET", "/v1.0/users/" + unknown, nil, 404, notFound, []string{unknown}},
			{"malformed user id", "GET", "/v1.0/users/not-a-guid", nil, 404, notFound, []string{"not-a-guid"}},
			{"unknown UPN", "GET", "/v1.0/users/nobody@contoso.com", nil, 404, notFound, nil},
			{"update unknown user", "PATCH", "/v1.0/users/" + unknown, `{"displayName":"x"}`, 404, notFound, nil},
			{"delete unknown user", "DELETE", "/v1.0/users/" + unknown, nil, 404, notFound, nil},
			{"licenseDetails of unknown user", "GET", "/v1.0/users/" + unknown + "/licenseDetails", nil, 404, notFound, nil},
			{"memberOf of unknown object", "GET", "/v1.0/users/" + unknown + "/memberOf", nil, 404, notFound, nil},
			{"unknown group", "GET", "/v1.0/groups/" + unknown, nil, 404, notFound, []string{unknown}},
			{"malformed group id", "GET", "/v1.0/groups/{" + outer + "}", nil, 404, notFound, nil},
			{"delete unknown group", "DELETE", "/v1.0/groups/" + unknown, nil, 404, notFound, nil},
			{"members of unknown group", "GET", "/v1.0/groups/" + unknown + "/members", nil, 404, notFound, nil},
			{"transitiveMembers of unknown group", "GET", "/v1.0/groups/" + unknown + "/transitiveMembers", nil, 404, notFound, nil},
			{"assign to unknown group", "POST", "/v1.0/groups/" + unknown + "/assignLicense", assignBody([]string{e3}, nil), 404, notFound, nil},
			{"group assign of unknown sku", "POST", groupPath + "/assignLicense", assignBody([]string{unknown}, nil), 400, bad, []string{unknown}},
			{"group assign of malformed sku", "POST", groupPath + "/assignLicense", assignBody([]string{"E3"}, nil), 400, bad, []string{"E3"}},
			{"unknown sku", "GET", "/v1.0/subscribedSkus/" + unknown, nil, 404, notFound, nil},
			{"seats of unknown sku", "PATCH", "/allot/v1/subscribedSkus/" + unknown, `{"enabledUnits":5}`, 404, notFound, nil},
			{"license summary of unknown group", "GET", "/allot/v1/groups/" + unknown + "/licenseSummary", nil, 404, notFound, nil},

			// Membership references.
			{"$ref without @odata.id", "POST", groupPath + "/members/$ref", `{}`, 400, bad, []string{"@odata.id"}},
			{"$ref with a number", "POST", groupPath + "/members/$ref", `{"@odata.id":5}`, 400, bad, []string{"@odata.id"}},
			{"$ref empty", "POST", groupPath + "/members/$ref", `{"@odata.id":""}`, 400, bad, []string{"@odata.id"}},
			{"$ref malformed JSON", "POST", groupPath + "/members/$ref", `{"@odata.id":`, 400, bad, nil},
			{"$ref empty body", "POST", groupPath + "/members/$ref", ``, 400, bad, nil},
			{"$ref with a bad GUID", "POST", groupPath + "/members/$ref", ref("not-a-guid"), 400, bad, []string{"not-a-guid"}},
			{"$ref to an unknown object", "POST", groupPath + "/members/$ref", ref(unknown), 404, notFound, []string{unknown}},
			{"$ref to an unknown group", "POST", "/v1.0/groups/" + unknown + "/members/$ref", ref(u2), 404, notFound, nil},
			{"$ref member already there", "POST", "/v1.0/groups/" + inner + "/members/$ref", ref(u), 400, bad, []string{"already exist"}},
			{"membership cycle", "POST", "/v1.0/groups/" + inner + "/members/$ref", ref(outer), 400, "membershipCycle", []string{"Outer", "Inner"}},
			{"group in itself", "POST", groupPath + "/members/$ref", ref(outer), 400, "membershipCycle", nil},
			{"remove a non-member", "DELETE", groupPath + "/members/" + u2 + "/$ref", nil, 404, notFound, nil},
			{"remove an unknown member", "DELETE", groupPath + "/members/" + unknown + "/$ref", nil, 404, notFound, nil},
			{"remove a malformed member id", "DELETE", groupPath + "/members/nope/$ref", nil, 400, bad, []string{"nope"}},

			// Query options.
			{"$top=0", "GET", "/v1.0/users?$top=0", nil, 400, bad, []string{"$top"}},
			{"$top=-1", "GET", "/v1.0/users?$top=-1", nil, 400, bad, []string{"$top"}},
			{"$top=abc", "GET", "/v1.0/users?$top=abc", nil, 400, bad, []string{"$top"}},
			{"$top=1.5", "GET", "/v1.0/groups?$top=1.5", nil, 400, bad, []string{"$top"}},
			{"$top empty", "GET", "/v1.0/users?$top=", nil, 400, bad, []string{"$top"}},
			{"$top twice", "GET", "/v1.0/users?$top=1&$top=2", nil, 400, bad, []string{"$top"}},
			{"$top on members", "GET", groupPath + "/members?$top=x", nil, 400, bad, []string{"$top"}},
			{"$top on audit", "GET", "/v1.0/auditLogs/directoryAudits?$top=0", nil, 400, bad, []string{"$top"}},
			{"$count=maybe", "GET", "/v1.0/users?$count=maybe", nil, 400, bad, []string{"$count"}},
			{"$select empty", "GET", "/v1.0/users?$select=", nil, 400, bad, []string{"$select"}},
			{"$select bad name", "GET", "/v1.0/users?$select=id,%27x", nil, 400, bad, []string{"$select"}},
			{"$expand", "GET", "/v1.0/users?$expand=directReports", nil, 400, bad, []string{"$expand"}},
			{"$skip", "GET", "/v1.0/users?$skip=10", nil, 400, bad, []string{"$skip"}},
			{"$search without ConsistencyLevel", "GET", "/v1.0/users?$search=%22displayName:adele%22", nil, 400, "Request_UnsupportedQuery", []string{"$search"}},
			{"$orderby of an unsortable property", "GET", "/v1.0/users?$orderby=jobTitle%20desc", nil, 400, "Request_UnsupportedQuery", []string{"Sorting"}},
			{"$orderby bad direction", "GET", "/v1.0/users?$orderby=displayName%20up", nil, 400, bad, []string{"$orderby"}},
			{"$orderby on groups", "GET", "/v1.0/groups?$orderby=description", nil, 400, "Request_UnsupportedQuery", []string{"Sorting"}},
			{"$orderby on members", "GET", groupPath + "/members?$orderby=displayName", nil, 400, bad, []string{"$orderby"}},
			{"$filter on memberOf", "GET", userPath + "/memberOf?$filter=displayName%20eq%20'x'", nil, 400, bad, []string{"$filter"}},
			{"$count on memberOf", "GET", "/v1.0/groups/" + inner + "/memberOf?$count=true", nil, 400, bad, []string{"$count"}},
			{"$filter on subscribedSkus", "GET", "/v1.0/subscribedSkus?$filter=skuPartNumber%20eq%20'SPE_E5'", nil, 400, bad, []string{"$filter"}},
			{"$skiptoken on subscribedSkus", "GET", "/v1.0/subscribedSkus?$skiptoken=" + groupsToken, nil, 400, bad, []string{"$skiptoken"}},
			{"$filter on licenseDetails", "GET", userPath + "/licenseDetails?$filter=skuPartNumber%20eq%20'SPE_E3'", nil, 400, bad, []string{"$filter"}},
			{"$top=0 on licenseDetails", "GET", userPath + "/licenseDetails?$top=0", nil, 400, bad, []string{"$top"}},
			{"$filter on organization", "GET", "/v1.0/organization?$filter=displayName%20eq%20'x'", nil, 400, bad, []string{"$filter"}},
			{"$search on audit", "GET", "/v1.0/auditLogs/directoryAudits?$search=x", nil, 400, bad, []string{"$search"}},
			{"$filter empty", "GET", "/v1.0/users?$filter=", nil, 400, bad, []string{"$filter"}},
			{"$filter incomplete", "GET", "/v1.0/users?$filter=displayName%20eq", nil, 400, bad, []string{"$filter"}},
			{"$filter unknown property", "GET", "/v1.0/users?$filter=favoriteColor%20eq%20'blue'", nil, 400, "Request_UnsupportedQuery", []string{"favoriteColor"}},
			{"$filter ne without ConsistencyLevel", "GET", "/v1.0/users?$filter=displayName%20ne%20'x'", nil, 400, "Request_UnsupportedQuery", []string{"'ne'"}},
			{"$filter xor", "GET", "/v1.0/users?$filter=displayName%20eq%20'x'%20xor%20displayName%20eq%20'y'", nil, 400, bad, nil},
			{"$filter string compared with a number", "GET", "/v1.0/users?$filter=displayName%20eq%205", nil, 400, bad, []string{"displayName"}},
			{"$filter bool compared with a string", "GET", "/v1.0/users?$filter=accountEnabled%20eq%20'yes'", nil, 400, bad, []string{"accountEnabled"}},
			{"$filter unbalanced", "GET", "/v1.0/users?$filter=(displayName%20eq%20'x'", nil, 400, bad, nil},
			{"$filter unterminated string", "GET", "/v1.0/users?$filter=displayName%20eq%20'x", nil, 400, bad, nil},
			{"$filter startswith on a bool", "GET", "/v1.0/users?$filter=startswith(accountEnabled,'t')", nil, 400, bad, []string{"startswith"}},
			{"$filter any with a quoted GUID", "GET", "/v1.0/users?$filter=assignedLicenses/any(x:x/skuId%20eq%20'" + e3 + "')", nil, 400, bad, []string{"GUID"}},
			{"$filter any with a bad GUID", "GET", "/v1.0/users?$filter=assignedLicenses/any(x:x/skuId%20eq%20nope)", nil, 400, bad, nil},
			{"$filter on groups", "GET", "/v1.0/groups?$filter=owner%20eq%20'x'", nil, 400, "Request_UnsupportedQuery", []string{"owner"}},
			{"$filter on members", "GET", groupPath + "/members?$filter=displayName%20eq%20'x'", nil, 400, "Request_UnsupportedQuery", []string{"$filter"}},
			{"$filter on audit", "GET", "/v1.0/auditLogs/directoryAudits?$filter=loggedByService%20eq%20'x'", nil, 400, "Request_UnsupportedQuery", []string{"loggedByService"}},
			{"$filter on audit target compared with a number", "GET", "/v1.0/auditLogs/directoryAudits?$filter=targetResources/any(t:t/id%20eq%205)", nil, 400, "Request_UnsupportedQuery", nil},
			{"$filter deeply nested", "GET", "/v1.0/users?$filter=" + strings.Repeat("(", 200) + "displayName%20eq%20'x'" + strings.Repeat(")", 200), nil, 400, bad, nil},
			{"$skiptoken garbage", "GET", "/v1.0/users?$skiptoken=garbage", nil, 400, bad, []string{"skiptoken"}},
			{"$skiptoken empty", "GET", "/v1.0/users?$skiptoken=", nil, 400, bad, []string{"skiptoken"}},
			{"$skiptoken edited", "GET", "/v1.0/groups?$top=1&$skiptoken=" + editToken(groupsToken), nil, 400, bad, []string{"skiptoken"}},
			{"$skiptoken of another list", "GET", "/v1.0/users?$top=1&$skiptoken=" + groupsToken, nil, 400, bad, []string{"skiptoken"}},
			{"$skiptoken on audit", "GET", "/v1.0/auditLogs/directoryAudits?$skiptoken=" + groupsToken, nil, 400, bad, []string{"skiptoken"}},
			{"$skiptoken on members", "GET", groupPath + "/members?$skiptoken=" + groupsToken, nil, 400, bad, []string{"skiptoken"}},

			// Credentials.
			{"no token", "GET", "/v1.0/users", nil, 401, "InvalidAuthenticationToken", nil},
			{"unknown token", "GET", "/v1.0/users", nil, 401, "InvalidAuthenticationToken", nil},
		}
		for _, bc := range cases {
			t.Run(bc.name, func(t *testing.T) {
				cl := c.with(t)
				switch bc.name {
				case "no token":
					cl.Token = ""
				case "unknown token":
					cl.Token = "allot_" + strings.Repeat("z", 40)
				}
				before := c.with(t).snapshot()
				e := cl.expectError(bc.status, bc.code, bc.method, bc.path, bc.body)
				for _, s := range bc.contains {
					if !strings.Contains(strings.ToLower(e.Message), strings.ToLower(s)) {
						t.Errorf("message %q does not mention %q", e.Message, s)
					}
				}
				c.with(t).unchanged(before, bc.name)
			})
		}
	})
}

// TestOddInputNever5xx sends input that engines treat differently (U+0000,
// invalid UTF-8, huge numbers): whatever the answer, it is never a 5xx, and a
// refusal changes nothing.
func TestOddInputNever5xx(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		u := c.createUser("adele@contoso.com", "US")
		g := c.createGroup("Group")
		for i, rq := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/v1.0/users", `{"userPrincipalName":"nul@contoso.com","displayName":"a\u0000b"}`},
			{"POST", "/v1.0/users", `{"userPrincipalName":"nul\u0000@contoso.com","displayName":"ab"}`},
			{"POST", "/v1.0/users", `{"userPrincipalName":"nul2@contoso.com","displayName":"ab","proxyAddresses":["smtp:a\u0000@b.com"]}`},
			{"POST", "/v1.0/users", "{\"userPrincipalName\":\"bad\xff@contoso.com\",\"displayName\":\"x\xfe\"}"},
			{"PATCH", "/v1.0/users/" + u, `{"department":"\u0000"}`},
			{"POST", "/v1.0/groups", `{"displayName":"x\u0000y"}`},
			{"PATCH", "/v1.0/groups/" + g, `{"description":"x\u0000y"}`},
			{"POST", "/allot/v1/subscribedSkus", `{"skuPartNumber":"X\u0000Y","displayName":"x","enabledUnits":1,"servicePlans":[{"servicePlanName":"P\u0000"}]}`},
			{"POST", "/v1.0/groups/" + g + "/members/$ref", `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/a\u0000b"}`},
			{"POST", "/v1.0/users/" + u + "/assignLicense", `{"addLicenses":[{"skuId":"\u0000","disabledPlans":[]}],"removeLicenses":[]}`},
			{"POST", "/allot/v1/signin", `{"userName":"a\u0000@contoso.com","password":"x\u0000"}`},
			{"GET", "/v1.0/users/a%00b", nil},
			{"GET", "/v1.0/users/a%00b@contoso.com", nil},
			{"GET", "/v1.0/groups/a%00b", nil},
			{"GET", "/v1.0/subscribedSkus/a%00b", nil},
			{"DELETE", "/v1.0/groups/" + g + "/members/a%00b/$ref", nil},
			{"GET", "/v1.0/users?$filter=displayName%20eq%20'a%00b'", nil},
			{"GET", "/v1.0/users?$filter=startswith(displayName,'%00')", nil},
			{"GET", "/v1.0/users?$filter=proxyAddresses/any(p:p%20eq%20'%00')", nil},
			{"GET", "/v1.0/groups?$filter=displayName%20eq%20'%ff%fe'", nil},
			{"GET", "/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName%20eq%20'a%00'", nil},
			{"GET", "/v1.0/auditLogs/directoryAudits?$filter=targetResources/any(t:t/id%20eq%20'%00')", nil},
			{"GET", "/v1.0/users?$top=99999999999999999999999", nil},
			{"GET", "/v1.0/users?$filter=displayName%20eq%20'" + strings.Repeat("x", 100000) + "'", nil},
			{"GET", "/v1.0/users/" + strings.Repeat("x", 100000), nil},
			{"PATCH", "/allot/v1/subscribedSkus/SPE_E3", `{"enabledUnits":99999999999999999999}`},
			{"POST", "/v1.0/users", `{"userPrincipalName":"` + strings.Repeat("x", 500) + `@contoso.com","displayName":"` + strings.Repeat("y", 5000) + `"}`},
		} {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				c := c.with(t)
				before := c.snapshot()
				r := c.do(rq.method, rq.path, rq.body) // a 5xx fails the test
				if r.Status >= 400 {
					r.graphError(t)
					if rq.path != "/allot/v1/signin" { // a failed sign-in is audited
						c.unchanged(before, fmt.Sprint(rq.method, " ", rq.path))
					}
				}
			})
		}
	})
}

// tooManyLicenses is an assignLicense body with 101 entries.
func tooManyLicenses() string {
	var parts []string
	for i := 0; i < 101; i++ {
		parts = append(parts, fmt.Sprintf(`"00000000-0000-4000-8000-%012d"`, i))
	}
	return `{"addLicenses":[],"removeLicenses":[` + strings.Join(parts, ",") + `]}`
}

// editToken changes one character of a skip token.
func editToken(tok string) string {
	b := []byte(tok)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
