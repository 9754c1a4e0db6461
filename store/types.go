// Package store defines what allot keeps and how adapters ask for it: the
// types shared by every store engine and the Store interface. The contract
// suite in storetest pins the behaviour of every engine.
package store

import (
	"strconv"

	"allot"
	"allot/odata"
)

// UserPatch lists the user properties a request changes; nil means unchanged.
type UserPatch struct {
	UserPrincipalName *string
	DisplayName       *string
	GivenName         *string
	Surname           *string
	Mail              *string
	JobTitle          *string
	Department        *string
	UsageLocation     *string
	AccountEnabled    *bool
	ProxyAddresses    *[]string
	// LastSignIn is signInActivity.lastSignInDateTime as provisioned
	// (unix ms; 0 clears), which no-activity reclamation reads.
	LastSignIn *int64
	// ProfileText sets the named allot.ProfileText properties ("" clears);
	// ProfileLists the named allot.ProfileLists ones (empty clears).
	ProfileText  map[string]string
	ProfileLists map[string][]string
}

// ListOptions selects a page of a list.
type ListOptions struct {
	Filter odata.Expr
	// Search is a parsed $search (odata.ParseSearch), or nil.
	Search odata.Expr
	Top    int
	After  int64 // keyset cursor: internal id of the last row of the previous page
	Count  bool
	// OrderBy is "" (creation order), "displayName" or, for users,
	// "userPrincipalName"; Desc sorts it descending. AfterKey is the sort
	// value of the last row of the previous page (see SortKey).
	OrderBy  string
	Desc     bool
	AfterKey string
}

// GroupPatch lists the group properties a request changes; nil means unchanged.
type GroupPatch struct {
	DisplayName  *string
	Description  *string
	MailNickname *string
	// AddMembers are user or group GUIDs to add as members in the same
	// transaction (Graph's members@odata.bind).
	AddMembers []string
	// Dynamic is groupTypes: true with "DynamicMembership", false without;
	// MembershipRule and RuleState (membershipRuleProcessingState) set a
	// dynamic group's rule.
	Dynamic        *bool
	MembershipRule *string
	RuleState      *string
	// ConfirmLicenseLoss lets a rule change (new rule, changed rule,
	// processing turned On) go ahead although members who leave would lose
	// licenses; without it such a change is refused (licenseLossNotConfirmed).
	ConfirmLicenseLoss bool
}

// Member is one direct or transitive member of a group: a user or a group.
type Member struct {
	User  *allot.User
	Group *allot.Group
	Seq   int64
}

// Mark is a claimed "to recompute" mark.
type Mark struct {
	Kind     int
	TargetID int64
	TenantID int64
	Seq      int64
	// Owner is the claim's lease owner; completing the mark deletes it only
	// if nobody marked the target again since the claim.
	Owner string
}

// ReconcileStats reports what one reconcile call did.
type ReconcileStats struct {
	Users   int
	Changed int
	// Succeeded and Failed count, per group (internal id), the users of the
	// batch that the group licensed fully and those with an error.
	Succeeded, Failed map[int64]int
}

// LicenseRequest is one product of an assignLicense call's addLicenses.
type LicenseRequest struct {
	SkuID         string
	DisabledPlans []string
	// EndsAt is when the assignment ends (unix ms); 0 when it does not.
	EndsAt int64
	// StartsAt is when the assignment starts (unix ms); 0 or a time past:
	// now.
	StartsAt int64
}

// LicenseView is one stored license state with what a response needs.
type LicenseView struct {
	allot.LicenseState
	Product   *allot.Product
	GroupGUID string // "" for a direct assignment
	GroupName string
}

// LicenseSummary counts, for one group, the members that have every license
// the group assigns and those that do not, by error.
type LicenseSummary struct {
	Members       int            `json:"members"`
	Licensed      int            `json:"membersWithLicenses"`
	NotLicensed   int            `json:"membersWithoutLicenses"`
	ByError       map[string]int `json:"errors"`
	ByCode        map[string]int `json:"errorCodes"`
	State         string         `json:"licenseProcessingState"`
	AssignedSkus  []string       `json:"assignedSkus"`
	PendingChecks int            `json:"pending"`
}

// Principal is the authenticated caller of a request: a person signed in
// with a session, or an API client (token).
type Principal struct {
	Tenant  *allot.Tenant
	TokenID int64 // the API client's token id; 0 for a person
	Name    string
	Role    string // display names of Roles, joined with ", "

	Kind      string // PrincipalUser or PrincipalClient
	GUID      string // the user's or API client's id
	UserID    int64  // the person's internal id (0 for an API client)
	SessionID int64  // the person's session (0 for an API client)
	// Roles are the role template ids assigned to the principal itself.
	Roles []string
	// Scopes are an API client's Graph permission names; nil for people and
	// operator tokens, which only their roles limit.
	Scopes []string
	// Owners are the role sets of whoever created this API client, the
	// creator first, then the creator's creator: a client never does more
	// than they may. Empty for people and operator tokens.
	Owners [][]string
}

// Principal kinds.
const (
	PrincipalUser   = "user"
	PrincipalClient = "client"
)

// AuditFilter selects audit events.
type AuditFilter struct {
	// Cond is a $filter over the event's own properties (activityDateTime,
	// category, activityDisplayName, initiatedBy/...), or nil.
	Cond     odata.Expr
	Activity string // exact activity name, or ""
	TargetID string // GUID or name of the target, or ""
	Before   int64  // keyset cursor: only events with a lower id; 0 = newest
	Limit    int
}

// Mark kinds: what a "to recompute" mark points at.
const (
	MarkUser  = 0 // one user
	MarkGroup = 1 // every transitive member of a group
)

// Actor returns the audit actor of the principal.
func (p *Principal) Actor() allot.Actor {
	if p.Kind == PrincipalUser {
		return allot.Actor{Kind: "user", ID: p.GUID, Name: p.Name}
	}
	if p.GUID != "" {
		return allot.Actor{Kind: "app", ID: p.GUID, Name: p.Name}
	}
	return allot.Actor{Kind: "app", ID: "token-" + strconv.FormatInt(p.TokenID, 10), Name: p.Name}
}

// Role names of allot's directory roles.
const (
	RoleGlobalAdmin    = "Global Administrator"
	RoleLicenseAdmin   = "License Administrator"
	RoleUserAdmin      = "User Administrator"
	RoleGlobalReader   = "Global Reader"
	RoleInsightsAdmin  = "Insights Administrator"
	RoleInsightsLeader = "Insights Business Leader"
)

// Role template ids, as Microsoft Entra ID defines them (the same in every
// tenant): role assignments store these.
const (
	RoleIDGlobalAdmin    = "62e90394-69f5-4237-9190-012177145e10"
	RoleIDLicenseAdmin   = "4d6ac14f-3453-41d0-bef9-a3e0c569773a"
	RoleIDUserAdmin      = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	RoleIDGlobalReader   = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	RoleIDInsightsAdmin  = "eb1f4a8d-243a-41f0-9fbd-c7cdf6c5ef7c"
	RoleIDInsightsLeader = "31e939ad-9672-4796-9c2e-873181342d2d"
)

// RoleIDs maps each role's display name to its template id.
var RoleIDs = map[string]string{
	RoleGlobalAdmin:    RoleIDGlobalAdmin,
	RoleLicenseAdmin:   RoleIDLicenseAdmin,
	RoleUserAdmin:      RoleIDUserAdmin,
	RoleGlobalReader:   RoleIDGlobalReader,
	RoleInsightsAdmin:  RoleIDInsightsAdmin,
	RoleInsightsLeader: RoleIDInsightsLeader,
}

// Preview is what a planned change would do, computed without changing anything.
type Preview struct {
	// UsersEvaluated counts the users whose licenses were recomputed.
	UsersEvaluated int `json:"usersEvaluated"`
	// Products lists, per product that would change, the users who would
	// gain it, lose it or fail to get it.
	Products []PreviewProduct `json:"products"`
	// Summary says the same in words, losses first.
	Summary string `json:"summary"`
	// Losses lists every license the change would take away from someone
	// (up to MaxPreviewLosses; LossCount has the total), side effects first.
	Losses    []PreviewLoss `json:"losses"`
	LossCount int           `json:"lossCount"`
	// ConfirmationRequired tells whether applying the change needs
	// confirmLicenseLoss: some loss is a side effect, not the point of the change.
	ConfirmationRequired bool `json:"confirmationRequired"`
	// Memberships lists, per dynamic group whose rule the change evaluates,
	// who would join and leave it; absent when no rule is evaluated.
	Memberships []PreviewMembership `json:"memberships,omitempty"`
}

// PreviewMembership is who a change of a dynamic group's rule would make
// join and leave the group: the totals and one page of each, in user order.
type PreviewMembership struct {
	GroupID     string `json:"groupId"`
	DisplayName string `json:"displayName"`
	// MemberCountAfter is the number of direct user members the group
	// would have.
	MemberCountAfter int             `json:"memberCountAfter"`
	JoinCount        int             `json:"joinCount"`
	LeaveCount       int             `json:"leaveCount"`
	Joins            []PreviewMember `json:"joins"`
	Leaves           []PreviewMember `json:"leaves"`
}

// PreviewMember is one user in a PreviewMembership page.
type PreviewMember struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
}

// MemberPage selects the page of joins and leaves a preview lists: Top
// users (default 10, at most MaxPreviewMembers) after skipping Skip.
type MemberPage struct {
	Skip, Top int
}

// MaxPreviewMembers bounds the joins and leaves a preview lists at once.
const MaxPreviewMembers = 1000

// MaxPreviewLosses bounds the losses a preview or a refusal lists one by one.
const MaxPreviewLosses = 1000

// PreviewLoss is one license a change would take away from one user.
type PreviewLoss struct {
	UserID            string `json:"userId"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	SkuID             string `json:"skuId"`
	SkuPartNumber     string `json:"skuPartNumber"`
	ProductName       string `json:"productName"`
	// Reason is "removed" or the licensing code the product would be left
	// in (seatsReducedBelowConsumption, prerequisiteMissing, ...).
	Reason string `json:"reason"`
	// Message says the same in an admin's words.
	Message string `json:"message"`
	// Explicit tells whether the change names this product for this user.
	Explicit bool `json:"explicit"`
}

// PreviewProduct is one product's part of a Preview.
type PreviewProduct struct {
	SkuID              string         `json:"skuId"`
	SkuPartNumber      string         `json:"skuPartNumber"`
	Gain               int            `json:"gain"`
	Lose               int            `json:"lose"`
	Fail               int            `json:"fail"`
	FailByError        map[string]int `json:"failByError"`
	FailByCode         map[string]int `json:"failByCode"`
	SampleGain         []string       `json:"sampleGain"`
	SampleLose         []string       `json:"sampleLose"`
	SampleFail         []string       `json:"sampleFail"`
	EnabledUnits       int            `json:"enabledUnits"`
	ConsumedUnitsAfter int            `json:"consumedUnitsAfter"`
}

// SortKey is the value ListOptions.AfterKey takes for u as the last row of
// a page sorted by orderBy.
func SortKey(orderBy, displayName, upn string) string {
	if orderBy == "userPrincipalName" {
		return allot.NormalizeKey(upn)
	}
	return displayName
}
