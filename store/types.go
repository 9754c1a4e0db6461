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
}

// ListOptions selects a page of a list.
type ListOptions struct {
	Filter odata.Expr
	Top    int
	After  int64 // keyset cursor: internal id of the last row of the previous page
	Count  bool
}

// GroupPatch lists the group properties a request changes; nil means unchanged.
type GroupPatch struct {
	DisplayName  *string
	Description  *string
	MailNickname *string
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

// Principal is the authenticated caller of a request.
type Principal struct {
	Tenant  *allot.Tenant
	TokenID int64
	Name    string
	Role    string
}

// AuditFilter selects audit events.
type AuditFilter struct {
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
	return allot.Actor{Kind: "app", ID: "token-" + strconv.FormatInt(p.TokenID, 10), Name: p.Name}
}

// Role names of allot's directory roles.
const (
	RoleGlobalAdmin  = "Global Administrator"
	RoleLicenseAdmin = "License Administrator"
	RoleUserAdmin    = "User Administrator"
	RoleGlobalReader = "Global Reader"
)
