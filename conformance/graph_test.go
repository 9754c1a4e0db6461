package conformance

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	abs "github.com/microsoft/kiota-abstractions-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// describe returns err with the Graph error inside it spelt out.
func describe(err error) string {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) && oe.GetErrorEscaped() != nil {
		me := oe.GetErrorEscaped()
		return fmt.Sprintf("HTTP %d %s: %s", oe.ResponseStatusCode, deref(me.GetCode()), deref(me.GetMessage()))
	}
	return fmt.Sprint(err)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %s", what, describe(err))
		}
		return v
	}
}

// skuID returns the skuId of the demo tenant's product part.
func (g *graph) skuID(t *testing.T, part string) uuid.UUID {
	t.Helper()
	skus := must[models.SubscribedSkuCollectionResponseable](t, "subscribedSkus")(g.SubscribedSkus().Get(ctx(t), nil))
	for _, s := range skus.GetValue() {
		if deref(s.GetSkuPartNumber()) == part {
			return *s.GetSkuId()
		}
	}
	t.Fatalf("no subscribedSku %s", part)
	return uuid.Nil
}

// newUser creates a user with the SDK; usageLocation "" leaves it unset.
func (g *graph) newUser(t *testing.T, name, usageLocation string) models.Userable {
	t.Helper()
	u := models.NewUser()
	u.SetAccountEnabled(ptr(true))
	u.SetDisplayName(ptr(name))
	u.SetMailNickname(ptr(name))
	u.SetUserPrincipalName(ptr(name + "@contoso.com"))
	pp := models.NewPasswordProfile()
	pp.SetPassword(ptr("Conformance-Passw0rd-" + name))
	pp.SetForceChangePasswordNextSignIn(ptr(false))
	u.SetPasswordProfile(pp)
	if usageLocation != "" {
		u.SetUsageLocation(ptr(usageLocation))
	}
	return must[models.Userable](t, "create user "+name)(g.Users().Post(ctx(t), u, nil))
}

func assigned(sku uuid.UUID, disabled ...uuid.UUID) models.AssignedLicenseable {
	a := models.NewAssignedLicense()
	a.SetSkuId(ptr(sku))
	a.SetDisabledPlans(disabled)
	return a
}

func (g *graph) assignUser(t *testing.T, userID string, add ...models.AssignedLicenseable) (models.Userable, error) {
	body := users.NewItemAssignLicensePostRequestBody()
	body.SetAddLicenses(add)
	body.SetRemoveLicenses([]uuid.UUID{})
	return g.Users().ByUserId(userID).AssignLicense().Post(ctx(t), body, nil)
}

func TestSubscribedSkus(t *testing.T) {
	g := newGraph(t)
	skus := must[models.SubscribedSkuCollectionResponseable](t, "subscribedSkus")(g.SubscribedSkus().Get(ctx(t), nil))
	var e3 models.SubscribedSkuable
	for _, s := range skus.GetValue() {
		if deref(s.GetSkuPartNumber()) == "SPE_E3" {
			e3 = s
		}
	}
	if e3 == nil {
		t.Fatalf("no SPE_E3 among %d subscribedSkus", len(skus.GetValue()))
	}
	if e3.GetSkuId().String() != "05e9a617-0261-4cee-bb44-138d3ef5d965" || deref(e3.GetPrepaidUnits().GetEnabled()) != 200 ||
		len(e3.GetServicePlans()) == 0 || e3.GetServicePlans()[0].GetServicePlanId() == nil || deref(e3.GetCapabilityStatus()) != "Enabled" {
		t.Fatalf("SPE_E3: skuId %v, enabled %d, %d service plans, capabilityStatus %q", e3.GetSkuId(),
			deref(e3.GetPrepaidUnits().GetEnabled()), len(e3.GetServicePlans()), deref(e3.GetCapabilityStatus()))
	}
}

func TestCreateAndUpdateUserWithTheFullPropertySet(t *testing.T) {
	g := newGraph(t)
	name := uniq(t, "full")
	u := models.NewUser()
	u.SetAccountEnabled(ptr(true))
	u.SetDisplayName(ptr("Full Set"))
	u.SetMailNickname(ptr(name))
	u.SetUserPrincipalName(ptr(name + "@contoso.com"))
	pp := models.NewPasswordProfile()
	pp.SetPassword(ptr("Conformance-Passw0rd-1"))
	u.SetPasswordProfile(pp)
	u.SetGivenName(ptr("Full"))
	u.SetSurname(ptr("Set"))
	u.SetJobTitle(ptr("Engineer"))
	u.SetDepartment(ptr("R&D"))
	u.SetMobilePhone(ptr("+1 425 555 0100"))
	u.SetOfficeLocation(ptr("18/2111"))
	u.SetStreetAddress(ptr("1 Microsoft Way"))
	u.SetCity(ptr("Redmond"))
	u.SetState(ptr("WA"))
	u.SetPostalCode(ptr("98052"))
	u.SetCountry(ptr("United States"))
	u.SetCompanyName(ptr("Contoso"))
	u.SetEmployeeId(ptr("E-1001"))
	u.SetEmployeeType(ptr("Employee"))
	u.SetPreferredLanguage(ptr("en-US"))
	u.SetFaxNumber(ptr("+1 425 555 0199"))
	u.SetBusinessPhones([]string{"+1 425 555 0101"})
	u.SetOtherMails([]string{name + "@fabrikam.com"})
	u.SetUsageLocation(ptr("US"))
	created := must[models.Userable](t, "create")(g.Users().Post(ctx(t), u, nil))
	id := deref(created.GetId())

	patch := models.NewUser()
	patch.SetCity(ptr("Seattle"))
	patch.SetOfficeLocation(ptr("19/3000"))
	patch.SetBusinessPhones([]string{"+1 206 555 0102"})
	patch.SetOtherMails([]string{name + "@contoso.net", name + "@fabrikam.com"})
	patch.SetUsageLocation(ptr("CA"))
	must[models.Userable](t, "update")(g.Users().ByUserId(id).Patch(ctx(t), patch, nil))

	sel := []string{"id", "displayName", "givenName", "surname", "jobTitle", "department", "mobilePhone", "officeLocation",
		"streetAddress", "city", "state", "postalCode", "country", "companyName", "employeeId", "employeeType",
		"preferredLanguage", "faxNumber", "businessPhones", "otherMails", "usageLocation"}
	got := must[models.Userable](t, "get")(g.Users().ByUserId(id).Get(ctx(t), &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: sel}}))
	checks := map[string][2]string{
		"givenName": {deref(got.GetGivenName()), "Full"}, "jobTitle": {deref(got.GetJobTitle()), "Engineer"},
		"department": {deref(got.GetDepartment()), "R&D"}, "mobilePhone": {deref(got.GetMobilePhone()), "+1 425 555 0100"},
		"officeLocation": {deref(got.GetOfficeLocation()), "19/3000"}, "streetAddress": {deref(got.GetStreetAddress()), "1 Microsoft Way"},
		"city": {deref(got.GetCity()), "Seattle"}, "state": {deref(got.GetState()), "WA"}, "postalCode": {deref(got.GetPostalCode()), "98052"},
		"country": {deref(got.GetCountry()), "United States"}, "companyName": {deref(got.GetCompanyName()), "Contoso"},
		"employeeId": {deref(got.GetEmployeeId()), "E-1001"}, "employeeType": {deref(got.GetEmployeeType()), "Employee"},
		"preferredLanguage": {deref(got.GetPreferredLanguage()), "en-US"}, "faxNumber": {deref(got.GetFaxNumber()), "+1 425 555 0199"},
		"usageLocation":  {deref(got.GetUsageLocation()), "CA"},
		"businessPhones": {strings.Join(got.GetBusinessPhones(), ","), "+1 206 555 0102"},
		"otherMails":     {strings.Join(got.GetOtherMails(), ","), name + "@contoso.net," + name + "@fabrikam.com"},
	}
	for prop, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", prop, c[0], c[1])
		}
	}
}

func TestAssignLicenseWithDisabledPlans(t *testing.T) {
	g := newGraph(t)
	e5 := g.skuID(t, "SPE_E5")
	var plan uuid.UUID
	for _, s := range must[models.SubscribedSkuCollectionResponseable](t, "skus")(g.SubscribedSkus().Get(ctx(t), nil)).GetValue() {
		if *s.GetSkuId() == e5 {
			plan = *s.GetServicePlans()[0].GetServicePlanId()
		}
	}
	u := g.newUser(t, uniq(t, "disabled"), "US")
	got := must[models.Userable](t, "assignLicense")(g.assignUser(t, *u.GetId(), assigned(e5, plan)))
	al := got.GetAssignedLicenses()
	if len(al) != 1 || *al[0].GetSkuId() != e5 || !slices.Contains(al[0].GetDisabledPlans(), plan) {
		t.Fatalf("assignedLicenses after assignLicense: %d entries", len(al))
	}
	details := must[models.LicenseDetailsCollectionResponseable](t, "licenseDetails")(g.Users().ByUserId(*u.GetId()).LicenseDetails().Get(ctx(t), nil))
	for _, d := range details.GetValue() {
		for _, sp := range d.GetServicePlans() {
			if *sp.GetServicePlanId() == plan && deref(sp.GetProvisioningStatus()) != "Disabled" {
				t.Errorf("disabled plan %s has provisioningStatus %q", plan, deref(sp.GetProvisioningStatus()))
			}
		}
	}
}

func TestLicenseDetailsListAndByID(t *testing.T) {
	g := newGraph(t)
	e3 := g.skuID(t, "SPE_E3")
	u := g.newUser(t, uniq(t, "details"), "US")
	must[models.Userable](t, "assignLicense")(g.assignUser(t, *u.GetId(), assigned(e3)))
	list := must[models.LicenseDetailsCollectionResponseable](t, "list")(g.Users().ByUserId(*u.GetId()).LicenseDetails().Get(ctx(t), nil))
	if len(list.GetValue()) != 1 || *list.GetValue()[0].GetSkuId() != e3 || deref(list.GetValue()[0].GetSkuPartNumber()) != "SPE_E3" {
		t.Fatalf("licenseDetails: %d entries", len(list.GetValue()))
	}
	id := deref(list.GetValue()[0].GetId())
	one := must[models.LicenseDetailsable](t, "by id")(g.Users().ByUserId(*u.GetId()).LicenseDetails().ByLicenseDetailsId(id).Get(ctx(t), nil))
	if deref(one.GetId()) != id || *one.GetSkuId() != e3 || len(one.GetServicePlans()) == 0 {
		t.Fatalf("licenseDetails %s: %v %v", id, one.GetId(), one.GetSkuId())
	}
}

// newGroup creates a security group with members bound on create.
func (g *graph) newGroup(t *testing.T, name string, memberIDs ...string) models.Groupable {
	t.Helper()
	gr := models.NewGroup()
	gr.SetDisplayName(ptr(name))
	gr.SetMailEnabled(ptr(false))
	gr.SetMailNickname(ptr(name))
	gr.SetSecurityEnabled(ptr(true))
	if len(memberIDs) > 0 {
		refs := make([]string, len(memberIDs))
		for i, id := range memberIDs {
			refs[i] = "https://graph.microsoft.com/v1.0/directoryObjects/" + id
		}
		gr.SetAdditionalData(map[string]any{"members@odata.bind": refs})
	}
	return must[models.Groupable](t, "create group "+name)(g.Groups().Post(ctx(t), gr, nil))
}

func (g *graph) memberIDs(t *testing.T, groupID string) []string {
	t.Helper()
	res := must[models.DirectoryObjectCollectionResponseable](t, "members")(g.Groups().ByGroupId(groupID).Members().Get(ctx(t), nil))
	var ids []string
	for _, m := range res.GetValue() {
		ids = append(ids, deref(m.GetId()))
	}
	slices.Sort(ids)
	return ids
}

func TestGroupCreateWithMembersODataBind(t *testing.T) {
	g := newGraph(t)
	var ids []string
	for i := range 3 {
		ids = append(ids, *g.newUser(t, uniq(t, fmt.Sprintf("bind%d-", i)), "US").GetId())
	}
	gr := g.newGroup(t, uniq(t, "bound"), ids...)
	slices.Sort(ids)
	if got := g.memberIDs(t, *gr.GetId()); !slices.Equal(got, ids) {
		t.Fatalf("members %v, want %v", got, ids)
	}
}

// assignGroup gives the group a product and waits until Graph's
// licenseProcessingState says ProcessingComplete.
func (g *graph) assignGroup(t *testing.T, groupID string, sku uuid.UUID) {
	t.Helper()
	body := groups.NewItemAssignLicensePostRequestBody()
	body.SetAddLicenses([]models.AssignedLicenseable{assigned(sku)})
	body.SetRemoveLicenses([]uuid.UUID{})
	must[models.Groupable](t, "group assignLicense")(g.Groups().ByGroupId(groupID).AssignLicense().Post(ctx(t), body, nil))
	deadline := time.Now().Add(60 * time.Second)
	for {
		gr := must[models.Groupable](t, "get group")(g.Groups().ByGroupId(groupID).Get(ctx(t), &groups.GroupItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Select: []string{"id", "licenseProcessingState", "assignedLicenses"}}}))
		st := ""
		if ps := gr.GetLicenseProcessingState(); ps != nil {
			st = deref(ps.GetState())
		}
		if st == "ProcessingComplete" {
			if len(gr.GetAssignedLicenses()) != 1 || *gr.GetAssignedLicenses()[0].GetSkuId() != sku {
				t.Fatalf("group assignedLicenses: %d", len(gr.GetAssignedLicenses()))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("licenseProcessingState still %q after 60 s", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (g *graph) userSkus(t *testing.T, id string) []uuid.UUID {
	t.Helper()
	u := must[models.Userable](t, "get user")(g.Users().ByUserId(id).Get(ctx(t), &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "assignedLicenses"}}}))
	var out []uuid.UUID
	for _, a := range u.GetAssignedLicenses() {
		out = append(out, *a.GetSkuId())
	}
	return out
}

func TestGroupAssignLicenseUntilProcessingComplete(t *testing.T) {
	g := newGraph(t)
	e3 := g.skuID(t, "SPE_E3")
	a, b := g.newUser(t, uniq(t, "gla"), "US"), g.newUser(t, uniq(t, "glb"), "US")
	gr := g.newGroup(t, uniq(t, "licensed"), *a.GetId(), *b.GetId())
	g.assignGroup(t, *gr.GetId(), e3)
	for _, u := range []models.Userable{a, b} {
		if !slices.Contains(g.userSkus(t, *u.GetId()), e3) {
			t.Errorf("member %s has no SPE_E3 after ProcessingComplete", deref(u.GetUserPrincipalName()))
		}
	}
}

// TestMembersWithLicenseErrors: a group gives Workplace Analytics Insights,
// which needs Microsoft 365 E3 or E5 first; the member without either is
// the one member with a license error.
func TestMembersWithLicenseErrors(t *testing.T) {
	g := newGraph(t)
	e3, insights := g.skuID(t, "SPE_E3"), g.skuID(t, "WORKPLACE_ANALYTICS_INSIGHTS")
	ok, bad := g.newUser(t, uniq(t, "mwe-ok"), "US"), g.newUser(t, uniq(t, "mwe-noe3"), "US")
	must[models.Userable](t, "assignLicense")(g.assignUser(t, *ok.GetId(), assigned(e3)))
	gr := g.newGroup(t, uniq(t, "errors"), *ok.GetId(), *bad.GetId())
	g.assignGroup(t, *gr.GetId(), insights)
	res := must[models.DirectoryObjectCollectionResponseable](t, "membersWithLicenseErrors")(
		g.Groups().ByGroupId(*gr.GetId()).MembersWithLicenseErrors().Get(ctx(t), nil))
	var ids []string
	for _, m := range res.GetValue() {
		ids = append(ids, deref(m.GetId()))
	}
	if !slices.Equal(ids, []string{*bad.GetId()}) {
		t.Fatalf("membersWithLicenseErrors %v, want only the member without E3 %s", ids, *bad.GetId())
	}
	if slices.Contains(g.userSkus(t, *bad.GetId()), insights) || !slices.Contains(g.userSkus(t, *ok.GetId()), insights) {
		t.Fatalf("Insights: the member with E3 should hold it, the other not")
	}
}

func TestPagingWithThePageIterator(t *testing.T) {
	g := newGraph(t)
	first := must[models.UserCollectionResponseable](t, "users")(g.Users().Get(ctx(t), &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Top: ptr(int32(40)), Select: []string{"id", "userPrincipalName"}}}))
	if len(first.GetValue()) != 40 || first.GetOdataNextLink() == nil {
		t.Fatalf("first page: %d users, nextLink %v", len(first.GetValue()), first.GetOdataNextLink())
	}
	it := must[*msgraphgocore.PageIterator[models.Userable]](t, "page iterator")(
		msgraphgocore.NewPageIterator[models.Userable](first, g.adapter, models.CreateUserCollectionResponseFromDiscriminatorValue))
	seen := map[string]bool{}
	if err := it.Iterate(ctx(t), func(u models.Userable) bool {
		if seen[deref(u.GetId())] {
			t.Fatalf("user %s came twice", deref(u.GetId()))
		}
		seen[deref(u.GetId())] = true
		return true
	}); err != nil {
		t.Fatalf("iterate: %s", describe(err))
	}
	if len(seen) < 250 {
		t.Fatalf("the page iterator saw %d users; the demo tenant has about 250", len(seen))
	}
}

func TestBatchOf20WithDependsOn(t *testing.T) {
	g := newGraph(t)
	batch := msgraphgocore.NewBatchRequest(g.adapter)
	var items []msgraphgocore.BatchItem
	prefix := uniq(t, "batch")
	for i := range 10 {
		u := models.NewUser()
		u.SetAccountEnabled(ptr(true))
		u.SetDisplayName(ptr(fmt.Sprintf("Batch %d", i)))
		u.SetMailNickname(ptr(fmt.Sprintf("%s-%d", prefix, i)))
		u.SetUserPrincipalName(ptr(fmt.Sprintf("%s-%d@contoso.com", prefix, i)))
		pp := models.NewPasswordProfile()
		pp.SetPassword(ptr("Conformance-Passw0rd-b"))
		u.SetPasswordProfile(pp)
		post := must[*abs.RequestInformation](t, "post info")(g.Users().ToPostRequestInformation(ctx(t), u, nil))
		create := must[msgraphgocore.BatchItem](t, "add")(batch.AddBatchRequestStep(*post))
		get := must[*abs.RequestInformation](t, "get info")(g.Users().ByUserId(fmt.Sprintf("%s-%d@contoso.com", prefix, i)).ToGetRequestInformation(ctx(t), nil))
		read := must[msgraphgocore.BatchItem](t, "add")(batch.AddBatchRequestStep(*get))
		read.DependsOnItem(create)
		items = append(items, create, read)
	}
	if len(batch.GetRequests()) != 20 {
		t.Fatalf("%d batch steps", len(batch.GetRequests()))
	}
	resp := must[msgraphgocore.BatchResponse](t, "$batch")(batch.Send(ctx(t), g.adapter))
	if len(resp.GetFailedResponses()) != 0 {
		t.Fatalf("failed steps: %v", resp.GetFailedResponses())
	}
	for i, it := range items {
		want := int32(201)
		if i%2 == 1 {
			want = 200
		}
		if st := resp.GetStatusCodes()[*it.GetId()]; st != want {
			t.Errorf("step %d: status %d, want %d", i, st, want)
		}
		u, err := msgraphgocore.GetBatchResponseById[models.Userable](resp, *it.GetId(), models.CreateUserFromDiscriminatorValue)
		if err != nil || !strings.HasPrefix(deref(u.GetUserPrincipalName()), prefix) {
			t.Errorf("step %d: %v %s", i, u, describe(err))
		}
	}
}

func TestUnlicensedUsersFilter(t *testing.T) {
	g := newGraph(t)
	name := uniq(t, "unlicensed")
	u := g.newUser(t, name, "US")
	h := abs.NewRequestHeaders()
	h.Add("ConsistencyLevel", "eventual")
	res := must[models.UserCollectionResponseable](t, "unlicensed users")(g.Users().Get(ctx(t), &users.UsersRequestBuilderGetRequestConfiguration{
		Headers: h,
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: ptr("assignedLicenses/$count eq 0"), Count: ptr(true),
			Select: []string{"id", "displayName", "assignedLicenses"}, Top: ptr(int32(999))}}))
	if res.GetOdataCount() == nil || *res.GetOdataCount() < int64(len(res.GetValue())) || len(res.GetValue()) == 0 {
		t.Fatalf("@odata.count %v for %d users", res.GetOdataCount(), len(res.GetValue()))
	}
	found := false
	for _, v := range res.GetValue() {
		if len(v.GetAssignedLicenses()) != 0 {
			t.Errorf("licensed user %s in the unlicensed list", deref(v.GetId()))
		}
		found = found || deref(v.GetId()) == *u.GetId()
	}
	if !found && *res.GetOdataCount() <= 999 {
		t.Errorf("the new unlicensed user %s is not in the list", name)
	}
}

func TestAuditEventsOfTheLastHour(t *testing.T) {
	g := newGraph(t)
	since := time.Now().UTC().Add(-time.Hour)
	u := g.newUser(t, uniq(t, "audited"), "US")
	must[models.Userable](t, "assignLicense")(g.assignUser(t, *u.GetId(), assigned(g.skuID(t, "SPE_E3"))))
	res := must[models.DirectoryAuditCollectionResponseable](t, "directoryAudits")(g.AuditLogs().DirectoryAudits().Get(ctx(t),
		&auditlogs.DirectoryAuditsRequestBuilderGetRequestConfiguration{QueryParameters: &auditlogs.DirectoryAuditsRequestBuilderGetQueryParameters{
			Filter: ptr("activityDateTime ge " + since.Format("2006-01-02T15:04:05Z")), Top: ptr(int32(999))}}))
	if len(res.GetValue()) == 0 {
		t.Fatal("no audit events in the last hour")
	}
	mine := false
	for _, a := range res.GetValue() {
		if a.GetActivityDateTime() == nil || a.GetActivityDateTime().Before(since) {
			t.Errorf("event %s at %v is older than an hour", deref(a.GetId()), a.GetActivityDateTime())
		}
		for _, tr := range a.GetTargetResources() {
			mine = mine || deref(tr.GetId()) == *u.GetId()
		}
	}
	if !mine {
		t.Errorf("no audit event targets the user created and licensed just now")
	}
}

func TestErrorIsAnODataErrorWithGraphsCode(t *testing.T) {
	g := newGraph(t)
	u := g.newUser(t, uniq(t, "nowhere"), "")
	_, err := g.assignUser(t, *u.GetId(), assigned(g.skuID(t, "SPE_E3")))
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) || oe.GetErrorEscaped() == nil {
		t.Fatalf("assignLicense without usageLocation: %T %v, want *odataerrors.ODataError", err, err)
	}
	me := oe.GetErrorEscaped()
	if oe.ResponseStatusCode != 400 || deref(me.GetCode()) != "Request_BadRequest" ||
		deref(me.GetMessage()) != "License assignment cannot be done for user with invalid usage location." {
		t.Errorf("top-level error: %d %s %q", oe.ResponseStatusCode, deref(me.GetCode()), deref(me.GetMessage()))
	}
	if d := me.GetDetails(); len(d) == 0 || deref(d[0].GetCode()) != "usageLocationMissing" || deref(d[0].GetMessage()) == "" {
		t.Errorf("details: %d entries, want allot's usageLocationMissing first", len(d))
	}
	if in := me.GetInnerError(); in == nil || deref(in.GetRequestId()) == "" || deref(in.GetClientRequestId()) == "" || in.GetDate() == nil {
		t.Errorf("innerError incomplete: %v", in)
	}

	const missing = "00000000-0000-4000-8000-00000000abcd"
	_, err = g.Users().ByUserId(missing).Get(ctx(t), nil)
	if !errors.As(err, &oe) || oe.ResponseStatusCode != 404 || deref(oe.GetErrorEscaped().GetCode()) != "Request_ResourceNotFound" ||
		!strings.HasPrefix(deref(oe.GetErrorEscaped().GetMessage()), "Resource '"+missing+"' does not exist") {
		t.Errorf("unknown user: %s", describe(err))
	}
}
