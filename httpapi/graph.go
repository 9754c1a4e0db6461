package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"allot"
	"allot/licensing"
	"allot/odata"
	"allot/store"
)

func (s *Server) graphRoutes() {
	s.handle("GET /v1.0/users", PermUsersRead, s.listUsers)
	s.handle("GET /v1.0/users/$count", PermUsersRead, s.countSegment("users"))
	s.handle("GET /v1.0/groups/$count", PermGroupsRead, s.countSegment("groups"))
	s.handle("POST /v1.0/users", PermUsersWrite, s.createUser)
	s.handle("GET /v1.0/users/{id}", PermUsersRead, s.getUser)
	s.handle("PATCH /v1.0/users/{id}", PermUsersWrite|PermUsageLocation, s.patchUser)
	s.handle("DELETE /v1.0/users/{id}", PermUsersWrite, s.deleteUser)
	s.handle("GET /v1.0/users/{id}/memberOf", PermUsersRead, s.memberOfPage(false))
	s.handle("POST /v1.0/users/{id}/assignLicense", PermLicensesWrite, s.assignUserLicense)
	s.handle("GET /v1.0/users/{id}/licenseDetails", PermUsersRead, s.licenseDetails)
	s.handle("POST /v1.0/users/{id}/reprocessLicenseAssignment", PermLicensesWrite, s.reprocessUser)
	s.directoryRoutes()
	s.managerRoutes()
	s.deletedItemsRoutes()

	s.handle("GET /v1.0/groups", PermGroupsRead, s.listGroups)
	s.handle("POST /v1.0/groups", PermGroupsWrite, s.createGroup)
	s.handle("GET /v1.0/groups/{id}", PermGroupsRead, s.getGroup)
	s.handle("PATCH /v1.0/groups/{id}", PermGroupsWrite, s.patchGroup)
	s.handle("DELETE /v1.0/groups/{id}", PermGroupsWrite, s.deleteGroup)
	s.handle("GET /v1.0/groups/{id}/members", PermGroupsRead, s.members(false))
	s.handle("GET /v1.0/groups/{id}/transitiveMembers", PermGroupsRead, s.members(true))
	s.handle("POST /v1.0/groups/{id}/members/$ref", PermGroupsWrite, s.addMember)
	s.handle("DELETE /v1.0/groups/{id}/members/{mid}/$ref", PermGroupsWrite, s.removeMember)
	s.handle("GET /v1.0/groups/{id}/memberOf", PermGroupsRead, s.memberOfPage(false))
	s.handle("POST /v1.0/groups/{id}/assignLicense", PermLicensesWrite, s.assignGroupLicense)
	s.handle("GET /v1.0/groups/{id}/membersWithLicenseErrors", PermGroupsRead, s.membersWithLicenseErrors)
	s.handle("POST /v1.0/groups/{id}/reprocessLicenseAssignment", PermLicensesWrite, s.reprocessGroup)

	s.handle("GET /v1.0/subscribedSkus", PermProductsRead, s.listSkus)
	s.handle("GET /v1.0/subscribedSkus/{id}", PermProductsRead, s.getSku)
	s.handle("GET /v1.0/organization", PermTenantRead, s.organization)
	s.handle("GET /v1.0/auditLogs/directoryAudits", PermAuditRead, s.listAudits)
}

// ---- users ----

type userBody struct {
	AccountEnabled    *bool           `json:"accountEnabled"`
	DisplayName       *string         `json:"displayName"`
	GivenName         *string         `json:"givenName"`
	Surname           *string         `json:"surname"`
	Mail              *string         `json:"mail"`
	MailNickname      *string         `json:"mailNickname"`
	JobTitle          *string         `json:"jobTitle"`
	Department        *string         `json:"department"`
	UsageLocation     *string         `json:"usageLocation"`
	UserPrincipalName *string         `json:"userPrincipalName"`
	ProxyAddresses    *[]string       `json:"proxyAddresses"`
	PasswordProfile   *map[string]any `json:"passwordProfile"`
	SignInActivity    json.RawMessage `json:"signInActivity"`

	// The optional profile properties (allot.ProfileText, ProfileLists).
	MobilePhone           *string   `json:"mobilePhone"`
	OfficeLocation        *string   `json:"officeLocation"`
	StreetAddress         *string   `json:"streetAddress"`
	City                  *string   `json:"city"`
	State                 *string   `json:"state"`
	PostalCode            *string   `json:"postalCode"`
	Country               *string   `json:"country"`
	CompanyName           *string   `json:"companyName"`
	EmployeeID            *string   `json:"employeeId"`
	EmployeeType          *string   `json:"employeeType"`
	EmployeeHireDate      *string   `json:"employeeHireDate"`
	PreferredLanguage     *string   `json:"preferredLanguage"`
	FaxNumber             *string   `json:"faxNumber"`
	AgeGroup              *string   `json:"ageGroup"`
	OnPremisesImmutableID *string   `json:"onPremisesImmutableId"`
	BusinessPhones        *[]string `json:"businessPhones"`
	OtherMails            *[]string `json:"otherMails"`
}

// profile returns the profile properties the body sets, by Graph name.
func (b *userBody) profile() (text map[string]string, lists map[string][]string) {
	text, lists = map[string]string{}, map[string][]string{}
	for name, v := range map[string]*string{"mailNickname": b.MailNickname, "mobilePhone": b.MobilePhone,
		"officeLocation": b.OfficeLocation, "streetAddress": b.StreetAddress, "city": b.City, "state": b.State,
		"postalCode": b.PostalCode, "country": b.Country, "companyName": b.CompanyName, "employeeId": b.EmployeeID,
		"employeeType": b.EmployeeType, "employeeHireDate": b.EmployeeHireDate, "preferredLanguage": b.PreferredLanguage,
		"faxNumber": b.FaxNumber, "ageGroup": b.AgeGroup, "onPremisesImmutableId": b.OnPremisesImmutableID} {
		if v != nil {
			text[name] = *v
		}
	}
	for name, v := range map[string]*[]string{"businessPhones": b.BusinessPhones, "otherMails": b.OtherMails} {
		if v != nil {
			lists[name] = *v
		}
	}
	return text, lists
}

var userReadOnly = []string{"id", "createdDateTime", "assignedLicenses", "assignedPlans", "licenseAssignmentStates", "tenantId", "consumedUnits"}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b userBody
	if err := decodeBody(r, &b, "microsoft.graph.user", userReadOnly...); err != nil {
		return err
	}
	u := &allot.User{UserPrincipalName: str(b.UserPrincipalName), DisplayName: str(b.DisplayName), GivenName: str(b.GivenName),
		Surname: str(b.Surname), Mail: str(b.Mail), JobTitle: str(b.JobTitle), Department: str(b.Department),
		UsageLocation: str(b.UsageLocation), AccountEnabled: true}
	u.Profile.Text, u.Profile.Lists = b.profile()
	if b.AccountEnabled != nil {
		u.AccountEnabled = *b.AccountEnabled
	}
	if b.ProxyAddresses != nil {
		u.ProxyAddresses = *b.ProxyAddresses
	}
	if b.PasswordProfile != nil { // checked before the user exists
		if _, err := passwordFromProfile(*b.PasswordProfile); err != nil {
			return err
		}
	}
	signIn, err := lastSignIn(b.SignInActivity)
	if err != nil {
		return err
	}
	if err := s.st.CreateUser(r.Context(), p.Actor(), p.Tenant.ID, u); err != nil {
		return err
	}
	if signIn != nil && *signIn != 0 {
		if _, err := s.st.UpdateUser(r.Context(), p.Actor(), p.Tenant.ID, u.GUID, store.UserPatch{LastSignIn: signIn}); err != nil {
			return err
		}
	}
	if b.PasswordProfile != nil {
		if err := s.setUserPassword(r, p, u.GUID, *b.PasswordProfile); err != nil {
			return err
		}
	}
	m, err := s.userJSON(r, p, []*allot.User{u})
	if err != nil {
		return err
	}
	m[0]["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#users/$entity"
	w.Header().Set("Location", s.baseURL(r)+"/v1.0/users/"+u.GUID)
	writeJSON(w, http.StatusCreated, m[0])
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	vals, expand, err := takeExpand(r, "users")
	if err != nil {
		return err
	}
	q, err := odata.ParseQuery(vals, 1, 1)
	if err != nil {
		return err
	}
	q.Expand = expand
	u, err := s.st.User(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	m, err := s.userJSON(r, p, []*allot.User{u})
	if err != nil {
		return err
	}
	if q.Expand != "" {
		if err := s.expandInto(r, p, "users", q.Expand, []int64{u.ID}, m); err != nil {
			return err
		}
	}
	if err := checkSelect(q.Select, "user"); err != nil {
		return err
	}
	out := selectFields(m[0], selectExpanded(q))
	out["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#users/$entity"
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, o, err := s.directoryList(r, "users", false)
	if err != nil {
		return err
	}
	users, next, count, err := s.st.ListUsers(r.Context(), p.Tenant.ID, o)
	if err != nil {
		return err
	}
	key := ""
	if next != 0 {
		last := users[len(users)-1]
		key = store.SortKey(o.OrderBy, last.DisplayName, last.UserPrincipalName)
	}
	items, err := s.userJSON(r, p, users)
	if err != nil {
		return err
	}
	if q.Expand != "" {
		ids := make([]int64, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		if err := s.expandInto(r, p, "users", q.Expand, ids, items); err != nil {
			return err
		}
	}
	if err := checkSelect(q.Select, "user"); err != nil {
		return err
	}
	s.list(w, r, "users", items, sortToken(r, o, next, key), count, selectExpanded(q))
	return nil
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b userBody
	if err := decodeBody(r, &b, "microsoft.graph.user", userReadOnly...); err != nil {
		return err
	}
	// Without users.write (a License Administrator) only the usage location
	// may change; nobody changes a user with more rights than their own.
	text, lists := b.profile()
	other := b.AccountEnabled != nil || b.DisplayName != nil || b.GivenName != nil || b.Surname != nil || b.Mail != nil ||
		b.JobTitle != nil || b.Department != nil || b.UserPrincipalName != nil || b.ProxyAddresses != nil || b.PasswordProfile != nil ||
		len(text) > 0 || len(lists) > 0 || b.SignInActivity != nil
	signIn, err := lastSignIn(b.SignInActivity)
	if err != nil {
		return err
	}
	if other && effectivePerms(p)&PermUsersWrite == 0 {
		return allot.Errorf(allot.EForbidden, "Insufficient privileges: without users.write (a License Administrator) only usageLocation can change.")
	}
	if err := s.guardUserChange(r, p, r.PathValue("id"), !other, b.AccountEnabled != nil && !*b.AccountEnabled); err != nil {
		return err
	}
	if b.PasswordProfile != nil { // checked before anything changes
		if _, err := passwordFromProfile(*b.PasswordProfile); err != nil {
			return err
		}
	}
	u, err := s.st.UpdateUser(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), store.UserPatch{
		UserPrincipalName: b.UserPrincipalName, DisplayName: b.DisplayName, GivenName: b.GivenName, Surname: b.Surname,
		Mail: b.Mail, JobTitle: b.JobTitle, Department: b.Department, UsageLocation: b.UsageLocation,
		AccountEnabled: b.AccountEnabled, ProxyAddresses: b.ProxyAddresses, ProfileText: text, ProfileLists: lists, LastSignIn: signIn})
	if err != nil {
		return err
	}
	if b.PasswordProfile != nil {
		if err := s.setUserPassword(r, p, u.GUID, *b.PasswordProfile); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	if err := s.guardUserChange(r, p, r.PathValue("id"), false, true); err != nil {
		return err
	}
	if err := s.st.DeleteUser(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userJSON renders users in Graph's shape, loading their licenses in one
// batch; assignedPlans (some ninety entries for SPE_E5) only when there is
// no $select or it names them.
func (s *Server) userJSON(r *http.Request, p *store.Principal, users []*allot.User) ([]map[string]any, error) {
	out, err := s.renderUsers(r, p, users, selectsPlans(r, true))
	if err != nil {
		return nil, err
	}
	return out, s.addSignIns(r, users, out)
}

// selectsPlans reports whether the request's $select names assignedPlans;
// byDefault is the answer without a $select.
func selectsPlans(r *http.Request, byDefault bool) bool {
	sel := r.URL.Query().Get("$select")
	if strings.TrimSpace(sel) == "" {
		return byDefault
	}
	for _, f := range strings.Split(sel, ",") {
		if strings.EqualFold(strings.TrimSpace(f), "assignedPlans") {
			return true
		}
	}
	return false
}

// changedUserJSON renders the user an action answers with (assignLicense,
// reprocessLicenseAssignment): Graph answers those with the user's default
// properties; allot adds assignedLicenses and licenseAssignmentStates, and
// assignedPlans (one entry per service plan, some ninety for SPE_E5) only
// when $select asks for it.
func (s *Server) changedUserJSON(r *http.Request, p *store.Principal, u *allot.User) (map[string]any, error) {
	m, err := s.renderUsers(r, p, []*allot.User{u}, selectsPlans(r, false))
	if err != nil {
		return nil, err
	}
	return m[0], nil
}

func (s *Server) renderUsers(r *http.Request, p *store.Principal, users []*allot.User, withPlans bool) ([]map[string]any, error) {
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	lic, err := s.st.UserLicenses(r.Context(), p.Tenant.ID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(users))
	for i, u := range users {
		m := map[string]any{
			"@odata.type":       "#microsoft.graph.user",
			"id":                u.GUID,
			"userPrincipalName": u.UserPrincipalName,
			"displayName":       u.DisplayName,
			"givenName":         nullStr(u.GivenName),
			"surname":           nullStr(u.Surname),
			"mail":              nullStr(u.Mail),
			"jobTitle":          nullStr(u.JobTitle),
			"department":        nullStr(u.Department),
			"usageLocation":     nullStr(u.UsageLocation),
			"accountEnabled":    u.AccountEnabled,
			"proxyAddresses":    nonNil(u.ProxyAddresses),
			"createdDateTime":   graphTime(u.CreatedAt),
		}
		for _, name := range allot.ProfileText {
			m[name] = nullStr(u.Profile.Text[name])
		}
		for _, name := range allot.ProfileLists {
			m[name] = nonNil(u.Profile.Lists[name])
		}
		assigned, plans, states := licenseJSON(lic[u.ID], withPlans)
		m["assignedLicenses"], m["licenseAssignmentStates"] = assigned, states
		if withPlans {
			m["assignedPlans"] = plans
		}
		out[i] = m
	}
	return out, nil
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// licenseJSON renders a user's license states as Graph's assignedLicenses,
// assignedPlans (when withPlans) and licenseAssignmentStates.
func licenseJSON(views []store.LicenseView, withPlans bool) (assigned, plans, states []map[string]any) {
	assigned, plans, states = []map[string]any{}, []map[string]any{}, []map[string]any{}
	type agg struct {
		p        *allot.Product
		disabled [][]string
		since    int64
	}
	byProduct := map[int64]*agg{}
	var order []int64
	for _, v := range views {
		var group any
		if v.GroupGUID != "" {
			group = v.GroupGUID
		}
		st := map[string]any{
			"assignedByGroup":     group,
			"disabledPlans":       nonNil(v.DisabledPlans),
			"error":               v.Code.LicenseError(),
			"lastUpdatedDateTime": graphTime(msTimeOf(v.UpdatedAt)),
			"skuId":               v.Product.SkuID,
			"state":               v.State,
		}
		if v.Code != "" {
			st["allotErrorCode"] = string(v.Code)
			st["allotErrorMessage"] = licensing.Message(nil, v.Code, v.Product)
		}
		states = append(states, st)
		if v.State != allot.StateActive {
			continue
		}
		a := byProduct[v.ProductID]
		if a == nil {
			a = &agg{p: v.Product, since: v.UpdatedAt}
			byProduct[v.ProductID] = a
			order = append(order, v.ProductID)
		}
		a.disabled = append(a.disabled, v.DisabledPlans)
		a.since = min(a.since, v.UpdatedAt)
	}
	for _, pid := range order {
		a := byProduct[pid]
		assigned = append(assigned, map[string]any{"disabledPlans": licensing.DisabledPlans(a.p, a.disabled), "skuId": a.p.SkuID})
		if !withPlans {
			continue
		}
		enabled := licensing.EnabledPlans(a.p, a.disabled)
		for _, sp := range a.p.ServicePlans {
			status := "Deleted"
			if slices.Contains(enabled, sp.ID) {
				status = "Enabled"
			}
			plans = append(plans, map[string]any{"assignedDateTime": graphTime(msTimeOf(a.since)), "capabilityStatus": status,
				"service": sp.Name, "servicePlanId": sp.ID})
		}
	}
	return assigned, plans, states
}

// licenseAdd is one entry of an assignLicense body's addLicenses.
type licenseAdd struct {
	DisabledPlans []string `json:"disabledPlans"`
	SkuID         string   `json:"skuId"`
	// EndDateTime (allot) ends the assignment then: its license goes and
	// its seat goes to the first waiting user.
	EndDateTime *string `json:"endDateTime"`
	// StartDateTime (allot) makes the assignment then, not now.
	StartDateTime *string `json:"startDateTime"`
}

type licenseBody struct {
	AddLicenses    []licenseAdd `json:"addLicenses"`
	RemoveLicenses []string     `json:"removeLicenses"`
}

func (b *licenseBody) requests() ([]store.LicenseRequest, []string, error) {
	if len(b.AddLicenses) == 0 && len(b.RemoveLicenses) == 0 {
		return nil, nil, allot.Errorf(allot.EInvalid, "Send addLicenses and/or removeLicenses; both are empty.")
	}
	if len(b.AddLicenses)+len(b.RemoveLicenses) > 100 {
		return nil, nil, allot.Errorf(allot.EInvalid, "One call may add or remove at most 100 licenses.")
	}
	add := make([]store.LicenseRequest, len(b.AddLicenses))
	for i, a := range b.AddLicenses {
		if a.SkuID == "" {
			return nil, nil, allot.Errorf(allot.EInvalid, "addLicenses[%d] needs a skuId.", i)
		}
		add[i] = store.LicenseRequest{SkuID: a.SkuID, DisabledPlans: a.DisabledPlans}
		if a.EndDateTime != nil {
			end, err := time.Parse(time.RFC3339, *a.EndDateTime)
			if err != nil {
				return nil, nil, allot.Errorf(allot.EInvalid, "addLicenses[%d].endDateTime '%s' is not a date and time such as 2026-12-31T17:00:00Z.", i, *a.EndDateTime)
			}
			add[i].EndsAt = end.UnixMilli()
		}
		if a.StartDateTime != nil {
			start, err := time.Parse(time.RFC3339, *a.StartDateTime)
			if err != nil {
				return nil, nil, allot.Errorf(allot.EInvalid, "addLicenses[%d].startDateTime '%s' is not a date and time such as 2026-12-31T08:00:00Z.", i, *a.StartDateTime)
			}
			add[i].StartsAt = start.UnixMilli()
		}
	}
	return add, slices.Clone(b.RemoveLicenses), nil
}

func (s *Server) assignUserLicense(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b licenseBody
	if err := decodeBody(r, &b, "assignLicense"); err != nil {
		return err
	}
	add, remove, err := b.requests()
	if err != nil {
		return err
	}
	u, err := s.st.AssignUserLicenses(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), add, remove)
	if err != nil {
		return err
	}
	m, err := s.changedUserJSON(r, p, u)
	if err != nil {
		return err
	}
	m["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#users/$entity"
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) licenseDetails(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, err := wholeList(r)
	if err != nil {
		return err
	}
	u, err := s.st.User(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	lic, err := s.st.UserLicenses(r.Context(), p.Tenant.ID, []int64{u.ID})
	if err != nil {
		return err
	}
	items := licenseDetailItems(p.Tenant, lic[u.ID])
	s.list(w, r, "users('"+u.GUID+"')/licenseDetails", items, "", -1, q.Select)
	return nil
}

func (s *Server) reprocessUser(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	u, err := s.st.ReprocessUser(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	m, err := s.changedUserJSON(r, p, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// ---- groups ----

type groupBody struct {
	DisplayName     *string   `json:"displayName"`
	Description     *string   `json:"description"`
	MailNickname    *string   `json:"mailNickname"`
	MailEnabled     *bool     `json:"mailEnabled"`
	SecurityEnabled *bool     `json:"securityEnabled"`
	GroupTypes      *[]string `json:"groupTypes"`
	MembersBind     *[]string `json:"members@odata.bind"`
	MembershipRule  *string   `json:"membershipRule"`
	RuleState       *string   `json:"membershipRuleProcessingState"`
}

// dynamicType reads groupTypes: nil when not given, true with
// "DynamicMembership"; any other type is refused (allot has security
// groups only).
func dynamicType(types *[]string) (*bool, error) {
	if types == nil {
		return nil, nil
	}
	dyn := false
	for _, t := range *types {
		if !strings.EqualFold(t, "DynamicMembership") {
			return nil, allot.Errorf(allot.EInvalid, "allot has security groups only: groupTypes is [] or [\"DynamicMembership\"], not '%s'.", t)
		}
		dyn = true
	}
	return &dyn, nil
}

var groupReadOnly = []string{"id", "createdDateTime", "assignedLicenses", "licenseProcessingState", "members", "tenantId"}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b groupBody
	if err := decodeBody(r, &b, "microsoft.graph.group", groupReadOnly...); err != nil {
		return err
	}
	if b.SecurityEnabled != nil && !*b.SecurityEnabled {
		return allot.Errorf(allot.EInvalid, "allot has security groups only: securityEnabled must be true.")
	}
	dyn, err := dynamicType(b.GroupTypes)
	if err != nil {
		return err
	}
	g := &allot.Group{DisplayName: str(b.DisplayName), Description: str(b.Description), MailNickname: str(b.MailNickname),
		MembershipRule: str(b.MembershipRule)}
	if dyn != nil && *dyn {
		g.RuleState = allot.RuleOn
		if b.RuleState != nil {
			g.RuleState = *b.RuleState
		}
	} else if b.RuleState != nil {
		return allot.Errorf(allot.EInvalid, "membershipRuleProcessingState needs groupTypes [\"DynamicMembership\"].")
	}
	if b.MailEnabled != nil {
		g.MailEnabled = *b.MailEnabled
	}
	members, err := boundMembers(b.MembersBind)
	if err != nil {
		return err
	}
	if err := s.st.CreateGroupWithMembers(r.Context(), p.Actor(), p.Tenant.ID, g, members); err != nil {
		return err
	}
	m, err := s.groupJSON(r, p, []*allot.Group{g})
	if err != nil {
		return err
	}
	m[0]["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#groups/$entity"
	w.Header().Set("Location", s.baseURL(r)+"/v1.0/groups/"+g.GUID)
	writeJSON(w, http.StatusCreated, m[0])
	return nil
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, err := odata.ParseQuery(r.URL.Query(), 1, 1)
	if err != nil {
		return err
	}
	g, err := s.st.Group(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	m, err := s.groupJSON(r, p, []*allot.Group{g})
	if err != nil {
		return err
	}
	if err := checkSelect(q.Select, "group"); err != nil {
		return err
	}
	out := selectFields(m[0], q.Select)
	out["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#groups/$entity"
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, o, err := s.directoryList(r, "groups", false)
	if err != nil {
		return err
	}
	groups, next, count, err := s.st.ListGroups(r.Context(), p.Tenant.ID, o)
	if err != nil {
		return err
	}
	key := ""
	if next != 0 {
		key = store.SortKey(o.OrderBy, groups[len(groups)-1].DisplayName, "")
	}
	items, err := s.groupJSON(r, p, groups)
	if err != nil {
		return err
	}
	if q.Expand != "" {
		ids := make([]int64, len(groups))
		for i, g := range groups {
			ids[i] = g.ID
		}
		if err := s.expandInto(r, p, "groups", q.Expand, ids, items); err != nil {
			return err
		}
	}
	if err := checkSelect(q.Select, "group"); err != nil {
		return err
	}
	s.list(w, r, "groups", items, sortToken(r, o, next, key), count, selectExpanded(q))
	return nil
}

func (s *Server) patchGroup(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b groupBody
	if err := decodeBody(r, &b, "microsoft.graph.group", groupReadOnly...); err != nil {
		return err
	}
	if b.MailEnabled != nil || b.SecurityEnabled != nil {
		return allot.Errorf(allot.EInvalid, "mailEnabled and securityEnabled cannot be changed.")
	}
	dyn, err := dynamicType(b.GroupTypes)
	if err != nil {
		return err
	}
	members, err := boundMembers(b.MembersBind)
	if err != nil {
		return err
	}
	if _, err := s.st.UpdateGroup(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), store.GroupPatch{
		DisplayName: b.DisplayName, Description: b.Description, MailNickname: b.MailNickname, AddMembers: members,
		Dynamic: dyn, MembershipRule: b.MembershipRule, RuleState: b.RuleState, ConfirmLicenseLoss: confirmed(r)}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	if err := s.st.DeleteGroup(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), confirmed(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) groupJSON(r *http.Request, p *store.Principal, groups []*allot.Group) ([]map[string]any, error) {
	ids := make([]int64, len(groups))
	for i, g := range groups {
		ids[i] = g.ID
	}
	gls, err := s.st.GroupLicenses(r.Context(), p.Tenant.ID, ids)
	if err != nil {
		return nil, err
	}
	products, err := s.st.Products(r.Context(), p.Tenant.ID)
	if err != nil {
		return nil, err
	}
	byID := map[int64]*allot.Product{}
	for _, pr := range products {
		byID[pr.ID] = pr
	}
	out := make([]map[string]any, len(groups))
	for i, g := range groups {
		al := []map[string]any{}
		for _, gl := range gls[g.ID] {
			if pr := byID[gl.ProductID]; pr != nil {
				al = append(al, map[string]any{"disabledPlans": nonNil(gl.DisabledPlans), "skuId": pr.SkuID})
			}
		}
		out[i] = map[string]any{
			"@odata.type":                   "#microsoft.graph.group",
			"id":                            g.GUID,
			"displayName":                   g.DisplayName,
			"description":                   nullStr(g.Description),
			"mailNickname":                  g.MailNickname,
			"mailEnabled":                   g.MailEnabled,
			"securityEnabled":               g.SecurityEnabled,
			"groupTypes":                    groupTypes(g),
			"membershipRule":                nullStr(g.MembershipRule),
			"membershipRuleProcessingState": nullStr(g.RuleState),
			"createdDateTime":               graphTime(g.CreatedAt),
			"assignedLicenses":              al,
			"licenseProcessingState":        map[string]any{"state": g.ProcessingState},
		}
	}
	return out, nil
}

func (s *Server) members(transitive bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
		q, after, err := s.query(r)
		if err != nil {
			return err
		}
		if q.Filter != nil && transitive {
			return allot.Errorf(allot.EInvalid, "$filter is not supported on transitiveMembers; filter /v1.0/groups/{id}/members instead.")
		}
		if q.Filter != nil && !(eventual(r) && q.Count) {
			return allot.Errorf(allot.EUnsupportedQuery, advancedHint, "$filter")
		}
		var ms []store.Member
		var next int64
		if q.Filter != nil {
			ms, next, err = s.st.FilteredMembers(r.Context(), p.Tenant.ID, r.PathValue("id"), q.Filter, after, q.Top)
		} else if transitive {
			ms, next, err = s.st.TransitiveMembers(r.Context(), p.Tenant.ID, r.PathValue("id"), after, q.Top)
		} else {
			ms, next, err = s.st.Members(r.Context(), p.Tenant.ID, r.PathValue("id"), after, q.Top)
		}
		if err != nil {
			return err
		}
		items, err := s.memberJSON(r, p, ms)
		if err != nil {
			return err
		}
		name := "directoryObjects"
		if err := checkSelect(q.Select, "user", "group"); err != nil {
			return err
		}
		s.list(w, r, name, items, skipToken(r, next), -1, q.Select)
		return nil
	}
}

func (s *Server) memberJSON(r *http.Request, p *store.Principal, ms []store.Member) ([]map[string]any, error) {
	var users []*allot.User
	var groups []*allot.Group
	for _, m := range ms {
		if m.User != nil {
			users = append(users, m.User)
		} else if m.Group != nil {
			groups = append(groups, m.Group)
		}
	}
	uj, err := s.userJSON(r, p, users)
	if err != nil {
		return nil, err
	}
	gj, err := s.groupJSON(r, p, groups)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(ms))
	ui, gi := 0, 0
	for _, m := range ms {
		if m.User != nil {
			out = append(out, uj[ui])
			ui++
		} else if m.Group != nil {
			out = append(out, gj[gi])
			gi++
		}
	}
	return out, nil
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b struct {
		ID string `json:"@odata.id"`
	}
	// @odata.id is the payload here, so decode it directly.
	if err := decodeRef(r, &b.ID); err != nil {
		return err
	}
	if err := s.st.AddMember(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), odataRef(b.ID)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	if err := s.st.RemoveMember(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), r.PathValue("mid"), confirmed(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) assignGroupLicense(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	var b licenseBody
	if err := decodeBody(r, &b, "assignLicense"); err != nil {
		return err
	}
	add, remove, err := b.requests()
	if err != nil {
		return err
	}
	g, err := s.st.AssignGroupLicenses(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"), add, remove, confirmed(r))
	if err != nil {
		return err
	}
	m, err := s.groupJSON(r, p, []*allot.Group{g})
	if err != nil {
		return err
	}
	m[0]["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#groups/$entity"
	w.Header().Set("Location", s.baseURL(r)+"/v1.0/groups/"+g.GUID)
	writeJSON(w, http.StatusAccepted, m[0])
	return nil
}

func (s *Server) membersWithLicenseErrors(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, after, err := s.query(r)
	if err != nil {
		return err
	}
	users, next, err := s.st.GroupMembersWithErrors(r.Context(), p.Tenant.ID, r.PathValue("id"), after, q.Top)
	if err != nil {
		return err
	}
	items, err := s.userJSON(r, p, users)
	if err != nil {
		return err
	}
	if err := checkSelect(q.Select, "user"); err != nil {
		return err
	}
	s.list(w, r, "directoryObjects", items, skipToken(r, next), -1, q.Select)
	return nil
}

func (s *Server) reprocessGroup(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	g, err := s.st.ReprocessGroup(r.Context(), p.Actor(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	m, err := s.groupJSON(r, p, []*allot.Group{g})
	if err != nil {
		return err
	}
	w.Header().Set("Location", s.baseURL(r)+"/v1.0/groups/"+g.GUID)
	writeJSON(w, http.StatusAccepted, m[0])
	return nil
}

// ---- products ----

func skuJSON(t *allot.Tenant, pr *allot.Product) map[string]any {
	plans := make([]map[string]any, len(pr.ServicePlans))
	for i, sp := range pr.ServicePlans {
		plans[i] = map[string]any{"servicePlanId": sp.ID, "servicePlanName": sp.Name, "provisioningStatus": "Success", "appliesTo": "User"}
	}
	return map[string]any{
		"id":               t.GUID + "_" + pr.SkuID,
		"accountId":        t.GUID,
		"accountName":      t.DisplayName,
		"appliesTo":        "User",
		"capabilityStatus": pr.CapabilityStatus,
		"consumedUnits":    pr.ConsumedUnits,
		"prepaidUnits": map[string]any{"enabled": pr.EnabledUnits, "suspended": pr.SuspendedUnits,
			"warning": pr.WarningUnits, "lockedOut": pr.LockedOutUnits},
		"servicePlans":          plans,
		"skuId":                 pr.SkuID,
		"skuPartNumber":         pr.SkuPartNumber,
		"subscriptionIds":       []string{},
		"allotDisplayName":      pr.DisplayName,
		"allotRules":            pr.Rules,
		"allotAssignmentPolicy": licensing.Policy(pr),
	}
}

func (s *Server) listSkus(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, err := wholeList(r)
	if err != nil {
		return err
	}
	products, err := s.st.Products(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(products))
	for i, pr := range products {
		items[i] = skuJSON(p.Tenant, pr)
	}
	s.list(w, r, "subscribedSkus", items, "", -1, q.Select)
	return nil
}

func (s *Server) getSku(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	pr, err := s.st.Product(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := skuJSON(p.Tenant, pr)
	out["@odata.context"] = s.baseURL(r) + "/v1.0/$metadata#subscribedSkus/$entity"
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) organization(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	if _, err := wholeList(r); err != nil {
		return err
	}
	t := p.Tenant
	s.list(w, r, "organization", []map[string]any{{
		"id": t.GUID, "displayName": t.DisplayName, "countryLetterCode": t.DefaultUsageLocation,
		"preferredLanguage": "en-US", "createdDateTime": graphTime(t.CreatedAt), "allotDataLocation": t.DataLocation,
		"verifiedDomains": []any{},
	}}, "", -1, nil)
	return nil
}

// ---- audit ----

func (s *Server) listAudits(w http.ResponseWriter, r *http.Request, p *store.Principal) error {
	q, err := odata.ParseQuery(r.URL.Query(), s.limits.DefaultTop, s.limits.MaxTop)
	if err != nil {
		return err
	}
	// Newest first is the only order: $orderby=activityDateTime desc says so.
	if q.Search != "" {
		return allot.Errorf(allot.EInvalid, "$search is not supported on directoryAudits; use $filter=startswith(activityDisplayName,'...') instead.")
	}
	if q.OrderBy != "" && !strings.EqualFold(q.OrderBy, "activityDateTime desc") {
		return allot.Errorf(allot.EUnsupportedQuery, "directoryAudits are sorted by $orderby=activityDateTime desc only.")
	}
	after, err := afterCursor(r, q)
	if err != nil {
		return err
	}
	f := store.AuditFilter{Before: after, Limit: q.Top}
	if err := auditQuery(q.Filter, &f); err != nil {
		return err
	}
	evs, next, err := s.st.ListAudit(r.Context(), p.Tenant.ID, f)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(evs))
	for i, e := range evs {
		var initiated map[string]any
		switch e.ActorKind {
		case "user":
			initiated = map[string]any{"user": map[string]any{"id": e.ActorID, "displayName": e.ActorName}, "app": nil}
		default:
			initiated = map[string]any{"app": map[string]any{"appId": e.ActorID, "displayName": e.ActorName}, "user": nil}
		}
		mods := make([]map[string]any, len(e.Changes))
		for j, c := range e.Changes {
			mods[j] = map[string]any{"displayName": c.Property, "oldValue": c.Old, "newValue": c.New}
		}
		items[i] = map[string]any{
			"id": e.GUID, "category": e.Category, "correlationId": e.CorrelationID, "result": e.Result, "resultReason": e.ResultReason,
			"activityDisplayName": e.Activity, "activityDateTime": graphTime(e.Time), "loggedByService": "Core Directory",
			"operationType": operationType(e.Activity), "initiatedBy": initiated,
			"targetResources": []map[string]any{{"id": e.TargetID, "displayName": e.TargetName, "type": e.TargetKind, "modifiedProperties": mods}},
		}
	}
	s.list(w, r, "auditLogs/directoryAudits", items, skipToken(r, next), -1, q.Select)
	return nil
}

func operationType(activity string) string {
	switch {
	case strings.HasPrefix(activity, "Add"), strings.HasPrefix(activity, "Create"):
		return "Add"
	case strings.HasPrefix(activity, "Delete"), strings.HasPrefix(activity, "Remove"):
		return "Delete"
	}
	return "Update"
}

// confirmed tells whether the request confirms that it may take licenses
// away from people as a side effect: ?confirmLicenseLoss=true on any route
// (Graph routes keep Graph's body), or the Allot-Confirm-License-Loss header.
func confirmed(r *http.Request) bool {
	v := r.URL.Query().Get("confirmLicenseLoss")
	if v == "" {
		v = r.Header.Get("Allot-Confirm-License-Loss")
	}
	return strings.EqualFold(v, "true") || v == "1"
}

// groupTypes is ["DynamicMembership"] for a dynamic group, [] otherwise.
func groupTypes(g *allot.Group) []string {
	if g.Dynamic() {
		return []string{"DynamicMembership"}
	}
	return []string{}
}
