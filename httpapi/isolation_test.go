package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"

	"allot/store"
	"allot/store/sqlstore"
)

// isoCase is one request made with tenant A's credentials that names tenant
// B's objects. Path and Body may hold placeholders ({bUser}, {bGroup}, …, see
// isoFixture.vars) that are filled in with B's ids; the same request is also
// made with ids that exist nowhere, and both must answer alike.
type isoCase struct {
	Method, Path string
	Body         string // JSON with placeholders; "" for none
	Want         isoWant
	// Check, when set, looks at the answer further.
	Check func(t *testing.T, f *isoFixture, r *response)
}

type isoWant int

const (
	want404   isoWant = iota // 404 Request_ResourceNotFound from the route itself
	wantEmpty                // 200 with an empty value list
	wantLike                 // whatever an id that exists nowhere gets (a 4xx)
	wantOK                   // 2xx, with nothing of B in it
)

// isolationCases must exercise every route of the server: the test fails
// when a route has no case here, so a new route cannot skip isolation.
// Cases run in order; those that change tenant A come last.
var isolationCases = []isoCase{
	// Public routes: no tenant in the request.
	{Method: "GET", Path: "/healthz", Want: wantOK},
	{Method: "GET", Path: "/readyz", Want: wantOK},
	{Method: "POST", Path: "/allot/v1/signout", Want: wantOK},
	{Method: "GET", Path: "/allot/v1/sso/login", Want: wantLike},
	{Method: "GET", Path: "/allot/v1/sso/callback?state=x&code=y", Want: wantLike},

	// Users.
	{Method: "GET", Path: "/v1.0/users?$filter=id%20eq%20'{bUser}'", Want: wantEmpty},
	{Method: "GET", Path: "/v1.0/users?$filter=userPrincipalName%20eq%20'{bUPN}'", Want: wantEmpty},
	{Method: "GET", Path: "/v1.0/users?$filter=startswith(userPrincipalName,'fabrikam-')", Want: wantEmpty},
	{Method: "GET", Path: "/v1.0/users?$filter=proxyAddresses/any(p:p%20eq%20'{bProxy}')", Want: wantEmpty},
	{Method: "GET", Path: "/v1.0/users?$filter=assignedLicenses/any(x:x/skuId%20eq%20{bSku})", Want: wantEmpty},
	{Method: "GET", Path: "/v1.0/users?$top=999&$count=true", Want: wantOK},
	{Method: "GET", Path: "/v1.0/users/delta?$select=id,userPrincipalName,displayName", Want: wantOK},
	{Method: "GET", Path: "/v1.0/users/delta()", Want: wantOK},
	{Method: "GET", Path: "/v1.0/groups/delta", Want: wantOK},
	{Method: "GET", Path: "/v1.0/groups/delta()?$select=id,displayName,members", Want: wantOK},
	// Change notifications and alert rules: B's objects are not A's to watch.
	{Method: "GET", Path: "/v1.0/subscriptions", Want: wantOK},
	{Method: "GET", Path: "/v1.0/subscriptions/{bUser}", Want: want404},
	{Method: "PATCH", Path: "/v1.0/subscriptions/{bUser}", Body: `{"expirationDateTime":"2030-01-01T00:00:00Z"}`, Want: want404},
	{Method: "DELETE", Path: "/v1.0/subscriptions/{bUser}", Want: want404},
	{Method: "POST", Path: "/v1.0/subscriptions", Body: `{"changeType":"updated","notificationUrl":"http://127.0.0.1:1/hook","resource":"users/{bUser}","expirationDateTime":"2030-01-01T00:00:00Z"}`, Want: wantLike},
	{Method: "GET", Path: "/allot/v1/alertRules", Want: wantOK},
	{Method: "POST", Path: "/allot/v1/alertRules", Body: `{"displayName":"x","product":"{bSku}","metric":"waitingList","threshold":0,"emails":["a@b.com"]}`, Want: wantLike},
	{Method: "DELETE", Path: "/allot/v1/alertRules/{bUser}", Want: want404},
	{Method: "GET", Path: "/allot/v1/webhookEndpoints", Want: wantOK},
	{Method: "GET", Path: "/allot/v1/webhookEndpoints/{bWebhook}", Want: want404},
	{Method: "GET", Path: "/allot/v1/webhookEndpoints/{bWebhook}/deliveries", Want: want404},
	{Method: "POST", Path: "/allot/v1/webhookEndpoints/{bWebhook}/test", Want: want404},
	{Method: "POST", Path: "/allot/v1/webhookEndpoints", Body: `{"url":"https://hooks.example.com/allot","id":"{bWebhook}"}`, Want: wantLike},
	{Method: "DELETE", Path: "/allot/v1/webhookEndpoints/{bWebhook}", Want: want404},
	{Method: "GET", Path: "/v1.0/users/$count?$filter=userPrincipalName%20eq%20'{bUPN}'", Want: wantLike},
	{Method: "GET", Path: "/v1.0/groups/$count?$filter=id%20eq%20'{bGroup}'", Want: wantLike},
	{Method: "GET", Path: "/v1.0/users/{bUser}", Want: want404},
	{Method: "GET", Path: "/v1.0/users/{bUPN}", Want: want404},
	{Method: "GET", Path: "/v1.0/users/{bUser}?$select=id", Want: want404},
	{Method: "PATCH", Path: "/v1.0/users/{bUser}", Body: `{"displayName":"taken over","usageLocation":"FR"}`, Want: want404},
	{Method: "PATCH", Path: "/v1.0/users/{bUPN}", Body: `{"accountEnabled":false}`, Want: want404},
	{Method: "DELETE", Path: "/v1.0/users/{bUser}", Want: want404},
	{Method: "GET", Path: "/v1.0/users/{bUser}/memberOf", Want: want404},
	{Method: "GET", Path: "/v1.0/users/{bUser}/manager", Want: want404},
	{Method: "GET", Path: "/v1.0/users/{bUser}/manager/$ref", Want: want404},
	{Method: "GET", Path: "/v1.0/users/{bUser}/directReports", Want: want404},
	{Method: "PUT", Path: "/v1.0/users/{bUser}/manager/$ref", Body: `{"@odata.id":"https://graph.microsoft.com/v1.0/users/{bUser2}"}`, Want: want404},
	{Method: "PUT", Path: "/v1.0/users/{aUser}/manager/$ref", Body: `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/{bUser}"}`, Want: want404},
	{Method: "DELETE", Path: "/v1.0/users/{bUser}/manager/$ref", Want: want404},
	{Method: "POST", Path: "/v1.0/users/{bUser}/assignLicense", Body: `{"addLicenses":[{"skuId":"{aSku}","disabledPlans":[]}],"removeLicenses":[]}`, Want: want404},
	{Method: "POST", Path: "/v1.0/users/{bUser}/assignLicense", Body: `{"addLicenses":[],"removeLicenses":["{bHeldSku}"]}`, Want: want404},
	{Method: "POST", Path: "/v1.0/users/{aUser}/assignLicense", Body: `{"addLicenses":[{"skuId":"{bSku}","disabledPlans":[]}],"removeLicenses":[]}`, Want: wantLike},
	{Method: "POST", Path: "/v1.0/users/{aUser}/assignLicense", Body: `{"addLicenses":[],"removeLicenses":["{bSku}"]}`, Want: wantLike},
	{Method: "POST", Path: "/v1.0/users/{aUser}/assignLicense", Body: `{"addLicenses":[{"skuId":"{aSku}","disabledPlans":["{bPlan}"]}],"removeLicenses":[]}`, Want: wantLike},
	{Method: "GET", Path: "/v1.0/users/{bUser}/licenseDetails", Want: want404},
	{Method: "GET", Path: "/v1.0/directory/deletedItems/microsoft.graph.user?$filter=id%20eq%20'{bDeleted}'", Want: wantEmpty},
	{Method: "GET", Path: "/v1.0/directory/deletedItems/microsoft.graph.user?$count=true", Want: wantOK},
	{Method: "GET", Path: "/v1.0/directory/deletedItems/{bDeleted}", Want: want404},
	{Method: "POST", Path: "/v1.0/directory/deletedItems/{bDeleted}/restore", Want: want404},
	{Method: "POST", Path: "/v1.0/directory/deletedItems/{bDeleted}/microsoft.graph.restore", Body: `{"newUserPrincipalName":"taken@contoso.com"}`, Want: want404},
	{Method: "DELETE", Path: "/v1.0/directory/deletedItems/{bDeleted}", Want: want404},
	{Method: "GET", Path: "/v1.0/users/{bUser}/licenseDetails/x", Want: want404},
	{Method: "GET", Path: "/v1.0/users/{bUser}/transitiveMemberOf", Want: want404},
	{Method: "GET", Path: "/v1.0/groups/{bGroup}/transitiveMemberOf", Want: want404},
	{Method: "GET", Path: "/v1.0/directoryObjects/{bUser}", Want: want404},
	{Method: "GET", Path: "/v1.0/directoryObjects/{bGroup}", Want: want404},
	{Method: "POST", Path: "/v1.0/directoryObjects/getByIds", Body: `{"ids":["{bUser}","{bGroup}"]}`, Want: wantEmpty},
	{Method: "POST", Path: "/v1.0/$batch", Body: `{"requests":[{"id":"1","method":"GET","url":"/users?$filter=id eq '{bUser}'"},{"id":"2","method":"GET","url":"/groups?$filter=id eq '{bGroup}'"}]}`, Want: wantOK},
	{Method: "POST", Path: "/v1.0/users/{bUser}/reprocessLicenseAssignment", Want: want404},

	// Groups and members.
	{Method: "GET", Path: "/v1.0/groups?$filter=id%20eq%20'{bGroup}'", Want: wantEmpty},
	{Method: "GET", Path: "/v1.0/groups?$filter=displayName%20eq%20'{bGroupName}'", Want: wantEmpty},
	{Method: "GET", Path: "/v1.0/groups?$filter=assignedLicenses/any(x:x/skuId%20eq%20{bSku})", Want: wantEmpty},
	{Method: "GET", Path: "/v1.0/groups?$top=999", Want: wantOK},
	{Method: "GET", Path: "/v1.0/groups/{bGroup}", Want: want404},
	{Method: "GET", Path: "/allot/v1/groups/{bGroup}/licensingMode", Want: want404},
	{Method: "PATCH", Path: "/allot/v1/groups/{bGroup}/licensingMode", Body: `{"mode":"bestEffort"}`, Want: want404},
	{Method: "GET", Path: "/allot/v1/groups/{bGroup}/licenseFallbacks/{aSku}", Want: want404},
	{Method: "PUT", Path: "/allot/v1/groups/{bGroup}/licenseFallbacks/{aSku}", Body: `{"fallbackSkuIds":[]}`, Want: want404},
	{Method: "PUT", Path: "/allot/v1/groups/{aGroup}/licenseFallbacks/{aSku}", Body: `{"fallbackSkuIds":["{bSku}"]}`, Want: wantLike},
	{Method: "GET", Path: "/allot/v1/groups/{bGroup}/waitingRoomPriority", Want: want404},
	{Method: "PATCH", Path: "/allot/v1/groups/{bGroup}/waitingRoomPriority", Body: `{"vip":true}`, Want: want404},
	{Method: "GET", Path: "/allot/v1/subscribedSkus/{bSku}/waitingRoom", Want: want404},
	{Method: "GET", Path: "/allot/v1/subscribedSkus/{bTenant}_{aSku}/waitingRoom", Want: want404},
	{Method: "POST", Path: "/allot/v1/subscribedSkus/{aSku}/waitingRoom/{bUser}/moveUp", Body: `{"position":1,"reason":"x"}`, Want: want404},
	{Method: "POST", Path: "/allot/v1/subscribedSkus/{bSku}/waitingRoom/{aUser}/moveUp", Body: `{"position":1,"reason":"x"}`, Want: want404},
	{Method: "PATCH", Path: "/v1.0/groups/{bGroup}", Body: `{"displayName":"taken over"}`, Want: want404},
	{Method: "DELETE", Path: "/v1.0/groups/{bGroup}", Want: want404},
	{Method: "DELETE", Path: "/v1.0/groups/{bChild}", Want: want404},
	{Method: "GET", Path: "/v1.0/groups/{bGroup}/members", Want: want404},
	{Method: "GET", Path: "/v1.0/groups/{bGroup}/transitiveMembers", Want: want404},
	{Method: "POST", Path: "/v1.0/groups/{bGroup}/members/$ref", Body: `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/{aUser}"}`, Want: want404},
	{Method: "POST", Path: "/v1.0/groups/{aGroup}/members/$ref", Body: `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/{bUser}"}`, Want: want404},
	{Method: "POST", Path: "/v1.0/groups/{aGroup}/members/$ref", Body: `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/{bGroup}"}`, Want: want404},
	{Method: "POST", Path: "/v1.0/groups/{bGroup}/members/$ref", Body: `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/{bUser2}"}`, Want: want404},
	{Method: "DELETE", Path: "/v1.0/groups/{bGroup}/members/{bUser}/$ref", Want: want404},
	{Method: "DELETE", Path: "/v1.0/groups/{aGroup}/members/{bUser}/$ref", Want: want404},
	{Method: "DELETE", Path: "/v1.0/groups/{bGroup}/members/{aUser}/$ref", Want: want404},
	{Method: "GET", Path: "/v1.0/groups/{bChild}/memberOf", Want: want404},
	{Method: "POST", Path: "/v1.0/groups/{bGroup}/assignLicense", Body: `{"addLicenses":[{"skuId":"{aSku}","disabledPlans":[]}],"removeLicenses":[]}`, Want: want404},
	{Method: "POST", Path: "/v1.0/groups/{bChild}/assignLicense", Body: `{"addLicenses":[],"removeLicenses":["{bHeldSku}"]}`, Want: want404},
	{Method: "POST", Path: "/v1.0/groups/{aGroup}/assignLicense", Body: `{"addLicenses":[{"skuId":"{bSku}","disabledPlans":[]}],"removeLicenses":[]}`, Want: wantLike},
	{Method: "GET", Path: "/v1.0/groups/{bChild}/membersWithLicenseErrors", Want: want404},
	{Method: "POST", Path: "/v1.0/groups/{bChild}/reprocessLicenseAssignment", Want: want404},

	// Products, organization, audit.
	{Method: "GET", Path: "/v1.0/subscribedSkus", Want: wantOK},
	{Method: "GET", Path: "/v1.0/subscribedSkus/{bSku}", Want: want404},
	{Method: "GET", Path: "/v1.0/subscribedSkus/{bTenant}_{bSku}", Want: want404},
	{Method: "GET", Path: "/v1.0/subscribedSkus/{bTenant}_{bHeldSku}", Want: want404},
	{Method: "GET", Path: "/v1.0/subscribedSkus/{bSkuPart}", Want: want404},
	{Method: "GET", Path: "/v1.0/subscribedSkus/{bTenant}_{aSku}", Want: want404}, // B's subscribedSku id of a product A has too
	{Method: "GET", Path: "/v1.0/organization", Want: wantOK},
	{Method: "GET", Path: "/v1.0/auditLogs/directoryAudits?$top=999", Want: wantOK},
	{Method: "GET", Path: "/v1.0/auditLogs/directoryAudits?$filter=targetResources/any(t:t/id%20eq%20'{bUser}')", Want: wantEmpty},
	{Method: "GET", Path: "/v1.0/auditLogs/directoryAudits?$filter=targetResources/any(t:t/id%20eq%20'{bUPN}')", Want: wantEmpty},

	// Roles and API clients.
	{Method: "GET", Path: "/v1.0/roleManagement/directory/roleDefinitions", Want: wantOK},
	{Method: "GET", Path: "/v1.0/directoryRoles", Want: wantOK},
	{Method: "GET", Path: "/v1.0/directoryRoles/" + store.RoleIDLicenseAdmin, Want: wantOK},
	{Method: "GET", Path: "/v1.0/directoryRoles/" + store.RoleIDGlobalAdmin + "/members", Want: wantOK},
	{Method: "GET", Path: "/v1.0/roleManagement/directory/roleDefinitions/" + store.RoleIDLicenseAdmin, Want: wantOK},
	{Method: "GET", Path: "/v1.0/roleManagement/directory/roleAssignments", Want: wantOK},
	{Method: "GET", Path: "/v1.0/roleManagement/directory/roleAssignments?$filter=principalId%20eq%20'{bUser}'", Want: wantEmpty},
	{Method: "GET", Path: "/v1.0/roleManagement/directory/roleAssignments/{bRoleAssignment}", Want: want404},
	{Method: "DELETE", Path: "/v1.0/roleManagement/directory/roleAssignments/{bRoleAssignment}", Want: want404},
	{Method: "POST", Path: "/v1.0/roleManagement/directory/roleAssignments", Body: `{"principalId":"{bUser}","roleDefinitionId":"` + store.RoleIDGlobalAdmin + `","directoryScopeId":"/"}`, Want: wantLike},
	{Method: "POST", Path: "/v1.0/roleManagement/directory/roleAssignments", Body: `{"principalId":"{bClient}","roleDefinitionId":"` + store.RoleIDLicenseAdmin + `","directoryScopeId":"/"}`, Want: wantLike},
	{Method: "GET", Path: "/allot/v1/apiClients", Want: wantOK},
	{Method: "GET", Path: "/allot/v1/apiClients/{bClient}", Want: want404},
	{Method: "DELETE", Path: "/allot/v1/apiClients/{bClient}", Want: want404},

	// Admin API.
	{Method: "GET", Path: "/allot/v1/catalog", Want: wantOK},
	{Method: "GET", Path: "/allot/v1/me", Want: wantOK},
	// The caller's own second factor: nothing of another tenant to name.
	{Method: "POST", Path: "/allot/v1/me/totp", Want: wantLike},
	{Method: "POST", Path: "/allot/v1/me/totp/confirm", Body: `{"code":"000000"}`, Want: wantLike},
	{Method: "DELETE", Path: "/allot/v1/me/totp", Body: `{"code":"000000"}`, Want: wantLike},
	{Method: "GET", Path: "/allot/v1/groups/{bGroup}/licenseSummary", Want: want404},
	{Method: "PATCH", Path: "/allot/v1/subscribedSkus/{bSku}", Body: `{"enabledUnits":1}`, Want: want404},
	{Method: "PATCH", Path: "/allot/v1/subscribedSkus/{bTenant}_{bHeldSku}", Body: `{"enabledUnits":0}`, Want: want404},
	{Method: "PATCH", Path: "/allot/v1/subscribedSkus/{bSkuPart}", Body: `{"enabledUnits":0}`, Want: want404},
	{Method: "PATCH", Path: "/allot/v1/subscribedSkus/{bTenant}_{aSku}", Body: `{"enabledUnits":0}`, Want: want404},
	{Method: "GET", Path: "/allot/v1/subscribedSkus/{bSku}/assignmentPolicy", Want: wantLike},
	{Method: "POST", Path: "/allot/v1/subscribedSkus/{bSku}/moveDirectAssignments", Body: `{"groupId":"{aGroup}","preview":true}`, Want: wantLike},
	{Method: "PUT", Path: "/allot/v1/subscribedSkus/{bSku}/price", Body: `{"currency":"USD","unitPrice":1,"term":"monthly"}`, Want: wantLike},
	{Method: "DELETE", Path: "/allot/v1/subscribedSkus/{bSku}/price", Want: wantLike},
	{Method: "GET", Path: "/allot/v1/reports/seatHistory?skuId={bSku}", Want: wantLike},
	{Method: "GET", Path: "/allot/v1/reports/licenseAssignments", Want: wantOK},
	{Method: "GET", Path: "/allot/v1/reports/licenseAssignments?skuId={bSku}", Want: wantLike},
	{Method: "GET", Path: "/allot/v1/reports/unusedSeats", Want: wantOK},
	{Method: "GET", Path: "/allot/v1/reports/utilization", Want: wantOK},
	{Method: "GET", Path: "/allot/v1/reports/cost", Want: wantOK},
	{Method: "POST", Path: "/allot/v1/reports/exports", Body: `{"report":"licenseAssignments","format":"csv"}`, Want: wantOK},
	{Method: "GET", Path: "/allot/v1/reports/exports/{bExport}", Want: want404},
	{Method: "GET", Path: "/allot/v1/reports/exports/{bExport}/content", Want: want404},
	{Method: "GET", Path: "/allot/v1/reclamationRules", Want: wantOK},
	{Method: "POST", Path: "/allot/v1/reclamationRules", Body: `{"displayName":"x","skuId":"{bSku}","disabledFor":"P14D","notice":"P7D"}`, Want: wantLike},
	{Method: "POST", Path: "/allot/v1/reclamationRules/{bUser}/run", Body: `{"preview":true}`, Want: wantLike},
	{Method: "GET", Path: "/allot/v1/licensePools", Want: wantOK},
	{Method: "GET", Path: "/beta/admin/cloudLicensing/allotments", Want: wantOK},
	{Method: "GET", Path: "/beta/admin/cloudLicensing/allotments/{bUser}", Want: want404},
	{Method: "GET", Path: "/beta/admin/cloudLicensing/allotments/{bUser}/assignments", Want: want404},
	{Method: "GET", Path: "/beta/admin/cloudLicensing/allotments/{bUser}/waitingMembers", Want: want404},
	{Method: "GET", Path: "/beta/users/{bUser}/cloudLicensing/usageRights", Want: want404},
	{Method: "GET", Path: "/beta/me/cloudLicensing/usageRights", Want: wantLike},
	{Method: "GET", Path: "/allot/v1/licensePools/{bUser}", Want: want404},
	{Method: "GET", Path: "/allot/v1/licensePools/{bUser}/waitingMembers", Want: want404},
	{Method: "PATCH", Path: "/allot/v1/licensePools/{bUser}", Body: `{"allottedUnits":1}`, Want: want404},
	{Method: "DELETE", Path: "/allot/v1/licensePools/{bUser}", Want: want404},
	{Method: "POST", Path: "/allot/v1/licensePools/{bUser}/assignments", Body: `{"userId":"{bUser}"}`, Want: want404},
	{Method: "DELETE", Path: "/allot/v1/licensePools/{bUser}/assignments/{bUser}", Want: want404},
	{Method: "POST", Path: "/allot/v1/licensePools", Body: `{"skuId":"{bSku}","allottedUnits":1,"department":"Sales"}`, Want: wantLike},
	{Method: "POST", Path: "/allot/v1/licensePools", Body: `{"skuId":"SPE_E5","allottedUnits":1,"groupId":"{bGroup}"}`, Want: wantLike},
	{Method: "GET", Path: "/allot/v1/reclamationRuns", Want: wantOK},
	{Method: "GET", Path: "/allot/v1/reclamationNotices", Want: wantEmpty},
	{Method: "POST", Path: "/allot/v1/reclamationRules/{bUser}/keep", Body: `{"userId":"{bUser}"}`, Want: wantLike},
	{Method: "POST", Path: "/allot/v1/activityReports", Body: `{"value":[{"userId":"{bUser}","skuId":"{bSku}","lastActivityDate":"2026-09-01"}]}`, Want: wantOK,
		Check: func(t *testing.T, f *isoFixture, r *response) {
			if m := r.object(t); m["imported"] != float64(0) || m["failed"] != float64(1) {
				t.Errorf("a report naming tenant B's user and product: %s", r)
			}
		}},
	{Method: "POST", Path: "/allot/v1/users/resolve", Body: `{"addresses":["{bUPN}","{bProxy}","ceo@fabrikam.com"]}`, Want: wantOK,
		Check: func(t *testing.T, f *isoFixture, r *response) {
			for _, it := range r.values(t) {
				if it["id"] != nil {
					t.Errorf("B's address resolved in A: %v", it)
				}
			}
		}},
	{Method: "POST", Path: "/allot/v1/licenses/assign", Body: `{"skuId":"{aSku}","userIds":["{bUser}","{bUPN}","{bProxy}"]}`, Want: wantOK,
		Check: func(t *testing.T, f *isoFixture, r *response) {
			for _, it := range r.values(t) {
				if it["result"] != sqlstore.BulkNotFound {
					t.Errorf("bulk assign of B's user in A: %v", it)
				}
			}
		}},
	{Method: "POST", Path: "/allot/v1/licenses/assign", Body: `{"skuId":"{bSku}","userIds":["{aUser}"]}`, Want: wantLike},
	{Method: "POST", Path: "/allot/v1/licenses/assign", Body: `{"skuPartNumber":"{bSkuPart}","userIds":["{aUser}"]}`, Want: wantLike},
	{Method: "POST", Path: "/allot/v1/licenses/assign", Body: `{"skuId":"{bTenant}_{aSku}","userIds":["{aUser}"],"dryRun":true}`, Want: wantLike},
	{Method: "POST", Path: "/allot/v1/preview", Body: `{"action":"userAssignLicense","userId":"{bUser}","addLicenses":[{"skuId":"{aSku}","disabledPlans":[]}]}`, Want: want404},
	{Method: "POST", Path: "/allot/v1/preview", Body: `{"action":"groupAssignLicense","groupId":"{bGroup}","addLicenses":[{"skuId":"{aSku}","disabledPlans":[]}]}`, Want: want404},
	{Method: "POST", Path: "/allot/v1/preview", Body: `{"action":"addMember","groupId":"{aGroup}","memberId":"{bUser}"}`, Want: want404},
	{Method: "POST", Path: "/allot/v1/preview", Body: `{"action":"removeMember","groupId":"{bGroup}","memberId":"{bUser}"}`, Want: want404},
	{Method: "POST", Path: "/allot/v1/preview", Body: `{"action":"setSeats","skuId":"{bSku}","enabledUnits":0}`, Want: want404},

	// Changes to tenant A that name what B has: B's names are not taken in A.
	// (A failed sign-in is audited in the tenant signed in to.)
	{Method: "POST", Path: "/allot/v1/signin", Body: `{"tenantId":"{aTenant}","userName":"{bUPN}","password":"{bPassword}"}`, Want: wantLike,
		Check: func(t *testing.T, f *isoFixture, r *response) {
			if r.Status != 401 {
				t.Errorf("B's user signing in to tenant A: %s", r)
			}
		}},
	{Method: "POST", Path: "/v1.0/users", Body: `{"userPrincipalName":"{bUPN}","displayName":"same UPN as B","proxyAddresses":["{bProxy}"]}`, Want: wantOK},
	{Method: "POST", Path: "/v1.0/groups", Body: `{"displayName":"{bGroupName}","mailEnabled":false,"securityEnabled":true,"mailNickname":"x"}`, Want: wantOK},
	{Method: "POST", Path: "/allot/v1/apiClients", Body: `{"displayName":"{bClientName}","scopes":["User.Read.All"]}`, Want: wantOK},
	{Method: "POST", Path: "/allot/v1/subscribedSkus", Body: `{"skuId":"{bSku}","skuPartNumber":"{bSkuPart}","displayName":"same as B","enabledUnits":1,"servicePlans":[{"servicePlanName":"P"}]}`, Want: wantOK},
}

// isoFixture holds the two tenants and B's ids.
type isoFixture struct {
	h     *harness
	a, b  *client
	vars  map[string]string // placeholder → B's value (or A's, for {a…})
	bSecs []string          // strings of B that must never appear in A's answers
}

// fill replaces placeholders with B's ids; with unknown, B's ids are replaced
// by ids that exist nowhere instead.
func (f *isoFixture) fill(s string, unknown map[string]string) string {
	for k, v := range f.vars {
		if u, ok := unknown[k]; ok {
			v = u
		}
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// fillPath is fill for a URL path and query: spaces are escaped.
func (f *isoFixture) fillPath(s string, unknown map[string]string) string {
	return strings.ReplaceAll(f.fill(s, unknown), " ", "%20")
}

// TestTenantIsolation calls every route with tenant A's token against tenant
// B's ids (in paths, bodies and $filter): each answers 404 (an empty list for
// lists) exactly as an id that exists nowhere does, A never sees anything of
// B, and B's state does not change.
func TestTenantIsolation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		f := newIsoFixture(t, h)

		// Every route has a case.
		covered := map[string]bool{}
		for _, c := range isolationCases {
			req := httptest.NewRequest(c.Method, f.fillPath(c.Path, nil), nil)
			_, pattern := h.server.mux.Handler(req)
			if _, ok := h.server.Routes()[pattern]; !ok {
				t.Errorf("isolation case %s %s reaches no registered route (pattern %q)", c.Method, c.Path, pattern)
			}
			covered[pattern] = true
		}
		var missing []string
		for p := range h.server.Routes() {
			if !covered[p] {
				missing = append(missing, p)
			}
		}
		sort.Strings(missing)
		for _, p := range missing {
			t.Errorf("route %s has no tenant-isolation case: add one to isolationCases", p)
		}

		bBefore := f.b.snapshot()
		unknown := map[string]string{}
		for k, v := range f.vars {
			if !strings.HasPrefix(k, "b") {
				continue
			}
			switch {
			case strings.Contains(v, "@"):
				unknown[k] = "nobody-" + uuid.NewString()[:8] + "@nowhere.example"
			case k == "bTenant" || uuid.Validate(v) == nil:
				unknown[k] = uuid.NewString()
			default:
				unknown[k] = strings.ToUpper("NOWHERE_" + uuid.NewString()[:8])
			}
		}
		for i, c := range isolationCases {
			name := fmt.Sprintf("%02d %s %s", i, c.Method, c.Path)
			t.Run(name, func(t *testing.T) {
				a := f.a.with(t)
				path, body := f.fillPath(c.Path, nil), f.fill(c.Body, nil)
				var rb any
				if c.Body != "" {
					rb = body
				}
				r := a.do(c.Method, path, rb)
				// The same request with ids that exist nowhere.
				upath, ubody := f.fillPath(c.Path, unknown), f.fill(c.Body, unknown)
				var urb any
				if c.Body != "" {
					urb = ubody
				}
				u := a.do(c.Method, upath, urb)
				if r.Status != u.Status {
					t.Errorf("B's ids answer %d, ids that exist nowhere %d:\n  %s\n  %s", r.Status, u.Status, r, u)
				}
				if r.Status >= 400 {
					e, ue := r.graphError(t), u.graphError(t)
					msg := e.Message
					for k, v := range unknown {
						msg = strings.ReplaceAll(msg, f.vars[k], v)
					}
					if e.Code != ue.Code || msg != ue.Message {
						t.Errorf("B's ids answer differently from ids that exist nowhere:\n  %s\n  %s", r, u)
					}
				}
				switch c.Want {
				case want404:
					if r.Status != 404 || r.graphError(t).Code != "Request_ResourceNotFound" {
						t.Errorf("want 404: %s", r)
					} else if strings.Contains(string(r.Body), "Resource not found for the segment") {
						t.Errorf("the route does not exist (catch-all 404): %s", r)
					}
				case wantEmpty:
					if r.Status != 200 {
						t.Fatalf("want 200 with an empty list: %s", r)
					}
					if v := r.values(t); len(v) != 0 {
						t.Errorf("want an empty list, got %d items: %s", len(v), r)
					}
				case wantLike:
					if r.Status < 400 || r.Status >= 500 {
						t.Errorf("want a 4xx: %s", r)
					}
				case wantOK:
					if r.Status < 200 || r.Status > 299 {
						t.Errorf("want 2xx: %s", r)
					}
				}
				// Nothing of B in A's answer, except what the request itself said.
				for _, s := range f.bSecs {
					if strings.Contains(string(r.Body), s) && !strings.Contains(path+body, s) {
						t.Errorf("A's answer contains B's %q: %s", s, r)
					}
				}
				if c.Check != nil {
					c.Check(t, f, r)
				}
			})
		}
		f.b.unchanged(bBefore, "tenant A's requests")
	})
}

// newIsoFixture builds tenant B with one of everything, and A's own objects.
func newIsoFixture(t *testing.T, h *harness) *isoFixture {
	t.Helper()
	a := h.A
	b := h.newTenant("Fabrikam", "NAM", "US", map[string]int{"SPE_E3": 10, "SPE_E5": 10, "ENTERPRISEPREMIUM": 5})
	f := &isoFixture{h: h, a: a, b: b, vars: map[string]string{}}
	v := f.vars
	v["aTenant"], v["bTenant"] = a.Tenant.GUID, b.Tenant.GUID
	v["aUser"] = a.createUser("adele@contoso.com", "US")
	v["aGroup"] = a.createGroup("Contoso staff")
	v["aSku"] = a.sku("SPE_E5")

	// B: a custom product A does not have, users with licenses, a proxy
	// address and a password, a nested group that assigns a license, a role
	// assignment and an API client.
	v["bSkuPart"] = "FABRIKAM_ONLY"
	custom := b.must(201, "POST", "/allot/v1/subscribedSkus", map[string]any{"skuPartNumber": v["bSkuPart"], "displayName": "Fabrikam only",
		"enabledUnits": 5, "servicePlans": []map[string]any{{"servicePlanName": "FABRIKAM_PLAN"}}}).object(t)
	v["bSku"] = custom["skuId"].(string)
	v["bPlan"] = custom["servicePlans"].([]any)[0].(map[string]any)["servicePlanId"].(string)
	v["bHeldSku"] = b.sku("ENTERPRISEPREMIUM") // a catalog product A does not subscribe to
	v["bUPN"] = "fabrikam-ceo@fabrikam.com"
	v["bProxy"] = "smtp:ceo@fabrikam.com"
	v["bPassword"] = "Fabrikam-Secret-Passw0rd!"
	v["bUser"] = b.must(201, "POST", "/v1.0/users", map[string]any{"userPrincipalName": v["bUPN"], "displayName": "Fabrikam CEO",
		"usageLocation": "US", "proxyAddresses": []string{v["bProxy"]}, "passwordProfile": map[string]any{"password": v["bPassword"]}}).object(t)["id"].(string)
	v["bUser2"] = b.createUser("fabrikam-cfo@fabrikam.com", "US")
	b.must(200, "POST", "/v1.0/users/"+v["bUser"]+"/assignLicense", assignBody([]string{b.sku("SPE_E5"), v["bSku"], v["bHeldSku"]}, nil))
	v["bGroupName"] = "Fabrikam executives"
	v["bGroup"] = b.createGroup(v["bGroupName"])
	v["bChild"] = b.createGroup("Fabrikam board")
	b.addMember(v["bGroup"], v["bUser"])
	b.addMember(v["bGroup"], v["bChild"])
	b.addMember(v["bChild"], v["bUser2"])
	b.must(202, "POST", "/v1.0/groups/"+v["bChild"]+"/assignLicense", assignBody([]string{v["bHeldSku"]}, nil))
	h.drain()
	v["bRoleAssignment"] = b.must(201, "POST", "/v1.0/roleManagement/directory/roleAssignments", map[string]any{
		"principalId": v["bUser2"], "roleDefinitionId": store.RoleIDLicenseAdmin, "directoryScopeId": "/"}).object(t)["id"].(string)
	v["bClientName"] = "Fabrikam HR sync"
	v["bClient"] = b.must(201, "POST", "/allot/v1/apiClients", map[string]any{"displayName": v["bClientName"],
		"scopes": []string{"User.ReadWrite.All"}}).object(t)["id"].(string)
	hook := b.must(201, "POST", "/allot/v1/webhookEndpoints", map[string]any{"url": "https://hooks.fabrikam.example/allot"}).object(t)
	v["bWebhook"], v["bWebhookSecret"] = hook["id"].(string), hook["secret"].(string)
	b.must(202, "POST", "/allot/v1/webhookEndpoints/"+v["bWebhook"]+"/test", nil)
	v["bExport"] = b.must(202, "POST", "/allot/v1/reports/exports", map[string]any{"report": "licenseAssignments", "format": "csv"}).object(t)["id"].(string)
	v["bDeleted"] = b.createUser("fabrikam-gone@fabrikam.com", "US") // in B's deleted items
	b.must(204, "DELETE", "/v1.0/users/"+v["bDeleted"], nil)
	// B's credentials work in B (so that refusing them in A means something).
	b.must(200, "POST", "/allot/v1/signin", map[string]any{"tenantId": v["bTenant"], "userName": v["bUPN"], "password": v["bPassword"]})

	f.bSecs = []string{v["bTenant"], v["bUser"], v["bUser2"], v["bGroup"], v["bChild"], v["bSku"], v["bPlan"], v["bUPN"],
		"fabrikam-cfo@fabrikam.com", v["bProxy"], v["bGroupName"], "Fabrikam board", v["bSkuPart"], v["bRoleAssignment"],
		v["bClient"], v["bClientName"], "Fabrikam", v["bDeleted"], "fabrikam-gone@fabrikam.com",
		v["bWebhook"], v["bWebhookSecret"], "hooks.fabrikam.example", v["bExport"]}
	return f
}

var _ = http.MethodGet
