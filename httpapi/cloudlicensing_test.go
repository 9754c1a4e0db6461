package httpapi

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// clField is one property of a cloudLicensing resource as Microsoft's beta
// documentation defines it: its type, the values of an enum (a multivalued
// one is a comma-separated list), the element type of a collection.
type clField struct {
	kind     string // String, Int32, Guid, Date, DateTimeOffset, enum, collection
	enum     []string
	elem     string // a collection's element: Guid or a resource of clShapes
	nullable bool   // allot sends null (the documentation does not say it is never null)
}

var (
	assigneeTypes      = []string{"none", "user", "group", "device", "unknownFutureValue"}
	subscriptionStates = []string{"active", "warning", "suspended", "lockedOut", "deleted", "unknownFutureValue"}
	subscriptionTags   = []string{"none", "trial", "unknownFutureValue"}
)

// clShapes is transcribed from Microsoft Graph's beta documentation of
// the microsoft.graph.cloudLicensing namespace (pages dated 2024-10-17 and
// 2025-07-18):
//   - https://learn.microsoft.com/en-us/graph/api/resources/cloudlicensing-allotment?view=graph-rest-beta
//   - https://learn.microsoft.com/en-us/graph/api/resources/cloudlicensing-service?view=graph-rest-beta
//   - https://learn.microsoft.com/en-us/graph/api/resources/cloudlicensing-subscription?view=graph-rest-beta
//   - https://learn.microsoft.com/en-us/graph/api/resources/cloudlicensing-assignment?view=graph-rest-beta
//   - https://learn.microsoft.com/en-us/graph/api/resources/cloudlicensing-waitingmember?view=graph-rest-beta
//   - https://learn.microsoft.com/en-us/graph/api/resources/cloudlicensing-usageright?view=graph-rest-beta
//
// Properties only: relationships (allotment, assignedTo, assignments,
// waitingMembers) come with $expand, which allot does not serve.
var clShapes = map[string]map[string]clField{
	"allotment": {
		"allottedUnits": {kind: "Int32"},
		"assignableTo":  {kind: "enum", enum: assigneeTypes},
		"consumedUnits": {kind: "Int32"},
		"id":            {kind: "String"},
		"services":      {kind: "collection", elem: "service"},
		"skuId":         {kind: "Guid"},
		"skuPartNumber": {kind: "String"},
		"subscriptions": {kind: "collection", elem: "subscription"},
	},
	"service": {
		"assignableTo": {kind: "enum", enum: assigneeTypes},
		"planId":       {kind: "Guid"},
		"planName":     {kind: "String"},
	},
	"subscription": {
		"nextLifecycleDate": {kind: "Date", nullable: true},
		"startDate":         {kind: "Date"},
		"state":             {kind: "enum", enum: subscriptionStates},
		"subscriptionId":    {kind: "String"},
		"tags":              {kind: "enum", enum: subscriptionTags},
	},
	"assignment": {
		"disabledServicePlanIds": {kind: "collection", elem: "Guid"},
		"id":                     {kind: "String"},
	},
	"waitingMember": {
		"id":                   {kind: "String"},
		"waitingSinceDateTime": {kind: "DateTimeOffset"},
	},
	"usageRight": {
		"id":            {kind: "String"},
		"services":      {kind: "collection", elem: "service"},
		"skuId":         {kind: "Guid"},
		"skuPartNumber": {kind: "String"},
	},
}

var clGuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// checkShape checks that obj is a cloudLicensing resource of type typ:
// its @odata.type, every documented property present, nothing else, each
// of the documented type.
func checkShape(t *testing.T, typ string, obj map[string]any) {
	t.Helper()
	shape := clShapes[typ]
	if got := obj["@odata.type"]; got != "#microsoft.graph.cloudLicensing."+typ {
		t.Errorf("%s: @odata.type %v", typ, got)
	}
	for k, v := range obj {
		if k == "@odata.type" || k == "@odata.context" {
			continue
		}
		f, ok := shape[k]
		if !ok {
			t.Errorf("%s: property %q is not in Microsoft's documentation of the type", typ, k)
			continue
		}
		checkValue(t, typ+"."+k, f, v)
	}
	for k := range shape {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s: documented property %q is missing", typ, k)
		}
	}
}

func checkValue(t *testing.T, name string, f clField, v any) {
	t.Helper()
	if v == nil {
		if !f.nullable {
			t.Errorf("%s is null", name)
		}
		return
	}
	s, isString := v.(string)
	switch f.kind {
	case "String":
		if !isString {
			t.Errorf("%s: %v is not a String", name, v)
		}
	case "Int32":
		n, ok := v.(float64)
		if !ok || n != float64(int32(n)) {
			t.Errorf("%s: %v is not an Int32", name, v)
		}
	case "Guid":
		if !isString || !clGuidRE.MatchString(s) {
			t.Errorf("%s: %v is not a Guid", name, v)
		}
	case "Date":
		if _, err := time.Parse("2006-01-02", s); !isString || err != nil {
			t.Errorf("%s: %v is not a Date", name, v)
		}
	case "DateTimeOffset":
		if _, err := time.Parse(time.RFC3339Nano, s); !isString || err != nil || !strings.HasSuffix(s, "Z") {
			t.Errorf("%s: %v is not a UTC DateTimeOffset", name, v)
		}
	case "enum":
		for _, part := range strings.Split(s, ",") {
			if !isString || !slices.Contains(f.enum, part) {
				t.Errorf("%s: %v is not one of %v", name, v, f.enum)
			}
		}
	case "collection":
		items, ok := v.([]any)
		if !ok {
			t.Errorf("%s: %v is not a collection", name, v)
			return
		}
		for _, it := range items {
			if f.elem == "Guid" {
				checkValue(t, name+"[]", clField{kind: "Guid"}, it)
			} else if m, ok := it.(map[string]any); ok {
				checkShape(t, f.elem, m)
			} else {
				t.Errorf("%s: element %v is not an object", name, it)
			}
		}
	}
}

func TestCloudLicensing_BetaShapesAreMicrosoftsDocumentedOnes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e5 := c.sku("SPE_E5")
		pool := c.must(201, "POST", "/allot/v1/licensePools", map[string]any{"skuId": "SPE_E5", "allottedUnits": 1, "department": "Sales"}).object(t)
		id := pool["id"].(string)
		g := c.createGroup("Sales E5")
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{e5}, nil))
		sales := c.staff(g, "seller", "Sales", 2)
		h.drain()
		// The pool grows to 3 (the waiting seller gets a seat), a third
		// Sales user gets a direct assignment that disables a plan, and the
		// pool shrinks to 2: nobody loses anything, a new member waits.
		c.must(200, "PATCH", "/allot/v1/licensePools/"+id, map[string]any{"allottedUnits": 3})
		h.drain()
		direct := c.createUser("direct@contoso.com", "US")
		c.must(204, "PATCH", "/v1.0/users/"+direct, map[string]any{"department": "Sales"})
		plans := c.getJSON("/v1.0/subscribedSkus/SPE_E5")["servicePlans"].([]any)
		off := plans[len(plans)-1].(map[string]any)["servicePlanId"].(string)
		c.must(200, "POST", "/v1.0/users/"+direct+"/assignLicense", map[string]any{"addLicenses": []map[string]any{{"skuId": e5, "disabledPlans": []string{off}}}, "removeLicenses": []string{}})
		c.must(200, "PATCH", "/allot/v1/licensePools/"+id, map[string]any{"allottedUnits": 2})
		waiter := c.createUser("waiter@contoso.com", "US")
		c.must(204, "PATCH", "/v1.0/users/"+waiter, map[string]any{"department": "Sales"})
		c.addMember(g, waiter)
		h.drain()

		list := c.listAll("/beta/admin/cloudLicensing/allotments")
		if len(list) != 1 {
			t.Fatalf("%d allotments, want 1", len(list))
		}
		checkShape(t, "allotment", list[0])
		one := c.getJSON("/beta/admin/cloudLicensing/allotments/" + id)
		checkShape(t, "allotment", one)
		if one["id"] != id || one["skuId"] != e5 || one["allottedUnits"] != float64(2) || one["consumedUnits"] != float64(2) {
			t.Errorf("allotment %v: want id %s, skuId %s, 2 allotted and consumed", one, id, e5)
		}
		as := c.listAll("/beta/admin/cloudLicensing/allotments/" + id + "/assignments")
		sawDisabled := false
		for _, a := range as {
			checkShape(t, "assignment", a)
			sawDisabled = sawDisabled || len(a["disabledServicePlanIds"].([]any)) > 0
		}
		if len(as) != 2 || !sawDisabled {
			t.Errorf("assignments %v: want the group's and the direct one with a disabled plan", as)
		}
		ws := c.listAll("/beta/admin/cloudLicensing/allotments/" + id + "/waitingMembers")
		if len(ws) != 1 {
			t.Fatalf("%d waiting members, want 1 (the pool is full): %v", len(ws), ws)
		}
		checkShape(t, "waitingMember", ws[0])
		rights := c.listAll("/beta/users/" + direct + "/cloudLicensing/usageRights")
		if len(rights) != 1 {
			t.Fatalf("usage rights %v, want one for E5", rights)
		}
		checkShape(t, "usageRight", rights[0])
		for _, sv := range rights[0]["services"].([]any) {
			if sv.(map[string]any)["planId"] == off {
				t.Errorf("usage right lists the disabled plan %s", off)
			}
		}
		checkShape(t, "usageRight", c.listAll("/beta/users/" + sales[0] + "/cloudLicensing/usageRights")[0])
		// Bad references answer in Graph's envelope.
		c.expectError(404, "", "GET", "/beta/admin/cloudLicensing/allotments/00000000-0000-0000-0000-000000000000", nil)
		c.expectError(404, "", "GET", "/beta/admin/cloudLicensing/allotments/nope/waitingMembers", nil)
		c.expectError(400, "invalid", "GET", "/beta/me/cloudLicensing/usageRights", nil) // an API client has no /me
	})
}
