// Package allot holds the domain types of the allot license-assignment service
// and its typed errors. It does no I/O: storage, HTTP and CLI are adapters that
// import it.
package allot

import (
	"strings"
	"time"
)

// Tenant is one organisation; everything else belongs to exactly one tenant.
type Tenant struct {
	ID                   int64
	GUID                 string
	DisplayName          string
	DataLocation         string
	DefaultUsageLocation string
	CreatedAt            time.Time
}

// User is a person in a tenant's directory.
type User struct {
	ID                int64
	TenantID          int64
	GUID              string
	UserPrincipalName string
	DisplayName       string
	GivenName         string
	Surname           string
	Mail              string
	JobTitle          string
	Department        string
	UsageLocation     string
	AccountEnabled    bool
	ProxyAddresses    []string
	// Profile holds the optional profile properties (mobilePhone, city, …).
	Profile   UserProfile
	CreatedAt time.Time
}

// Group is a security group whose members are users and other groups.
type Group struct {
	ID              int64
	TenantID        int64
	GUID            string
	DisplayName     string
	Description     string
	MailNickname    string
	SecurityEnabled bool
	MailEnabled     bool
	CreatedAt       time.Time
	// ProcessingState is the group's licenseProcessingState.
	ProcessingState string
	// HasLicenseErrors tells whether any member has a license error from this group.
	HasLicenseErrors bool
	// MembershipRule is a dynamic group's rule in Entra's syntax; "" for
	// an assigned group.
	MembershipRule string
	// RuleState is a dynamic group's membershipRuleProcessingState
	// (RuleOn or RulePaused); "" for an assigned group.
	RuleState string
}

// Dynamic tells whether the group's members are computed by its
// membership rule (groupTypes ["DynamicMembership"]).
func (g *Group) Dynamic() bool { return g.RuleState != "" }

// Membership rule processing states, as Microsoft Graph spells them.
const (
	RuleOn     = "On"
	RulePaused = "Paused"
)

// Group license processing states, as Microsoft Graph spells them.
const (
	ProcessingQueued     = "QueuedForProcessing"
	ProcessingInProgress = "ProcessingInProgress"
	ProcessingComplete   = "ProcessingComplete"
)

// ServicePlan is one switchable part of a product.
type ServicePlan struct {
	ID          string `json:"servicePlanId"`
	Name        string `json:"servicePlanName"`
	DisplayName string `json:"displayName,omitempty"`
	// AppliesTo is "User" for every plan allot knows.
	AppliesTo string `json:"appliesTo,omitempty"`
}

// ProductRules are the constraints a product puts on the users who hold it.
type ProductRules struct {
	// RequiresAnyOf lists skuPartNumbers of which the user must hold at least one.
	RequiresAnyOf []string `json:"requiresAnyOf,omitempty"`
	// MutuallyExclusiveWith lists skuPartNumbers the user must not hold at the same time.
	MutuallyExclusiveWith []string `json:"mutuallyExclusiveWith,omitempty"`
	// AvailableDataLocations lists the tenant data locations (geos) where the
	// product can be bought; empty means everywhere.
	AvailableDataLocations []string `json:"availableDataLocations,omitempty"`
	// AllowedUsageLocations lists the countries where the product may be used;
	// empty means everywhere.
	AllowedUsageLocations []string `json:"allowedUsageLocations,omitempty"`
	// PlanDependencies maps a service plan id to the plan ids it needs: a
	// grant that enables the plan must not disable any of them.
	PlanDependencies map[string][]string `json:"planDependencies,omitempty"`
}

// ProductDefinition describes a product independent of any tenant: the
// built-in catalog and operators' custom products both use it.
type ProductDefinition struct {
	SkuID         string
	SkuPartNumber string
	DisplayName   string
	ServicePlans  []ServicePlan
	Rules         ProductRules
}

// Plan returns the service plan with the given id, or false.
func (p *ProductDefinition) Plan(id string) (ServicePlan, bool) {
	for _, sp := range p.ServicePlans {
		if strings.EqualFold(sp.ID, id) {
			return sp, true
		}
	}
	return ServicePlan{}, false
}

// Product is a tenant's subscription to a product: a subscribedSku.
type Product struct {
	ID       int64
	TenantID int64
	ProductDefinition
	EnabledUnits     int
	WarningUnits     int
	SuspendedUnits   int
	LockedOutUnits   int
	ConsumedUnits    int
	CapabilityStatus string
	// AssignmentPolicy says how the product may be assigned: PolicyAny
	// (also ""), PolicyGroupOnly or PolicyDirectOnly.
	AssignmentPolicy string
	CreatedAt        time.Time
}

// Assignment policies of a product (Product.AssignmentPolicy).
const (
	// PolicyAny allows direct and group assignments (the default).
	PolicyAny = "any"
	// PolicyGroupOnly refuses new direct assignments: the product comes
	// through groups only. Existing direct assignments stay.
	PolicyGroupOnly = "groupOnly"
	// PolicyDirectOnly refuses new group assignments. Existing ones stay.
	PolicyDirectOnly = "directOnly"
)

// Available returns the number of seats that can still be handed out.
func (p *Product) Available() int {
	if n := p.EnabledUnits - p.ConsumedUnits; n > 0 {
		return n
	}
	return 0
}

// License assignment states, as Graph's licenseAssignmentState.state spells them.
const (
	StateActive          = "Active"
	StateActiveWithError = "ActiveWithError"
	StateDisabled        = "Disabled"
	StateError           = "Error"
)

// License assignment error kinds, as Graph's licenseAssignmentState.error spells them.
const (
	LicenseErrNone              = "None"
	LicenseErrCount             = "CountViolation"
	LicenseErrMutuallyExclusive = "MutuallyExclusiveViolation"
	LicenseErrDependency        = "DependencyViolation"
	LicenseErrUsageLocation     = "ProhibitedInUsageLocationViolation"
	LicenseErrUniqueness        = "UniquenessViolation"
	LicenseErrOther             = "Other"
)

// DirectSource is the source id of a license assigned to the user directly;
// any other source id is the internal id of the group that assigns it.
const DirectSource int64 = 0

// LicenseState is one source's grant of one product to one user.
type LicenseState struct {
	UserID        int64
	ProductID     int64
	Source        int64
	State         string
	Code          Code // allot's precise error code; empty when Active
	DisabledPlans []string
	// Seq orders grants and waiters: a lower Seq was granted, or started
	// waiting, earlier.
	Seq int64
	// UpdatedAt is the last change of State or Code, in unix milliseconds.
	UpdatedAt int64
}

// Active tells whether this grant currently gives the user the product.
func (s *LicenseState) Active() bool { return s.State == StateActive }

// GroupLicense is a group's intent to license its members with a product.
type GroupLicense struct {
	GroupID       int64
	ProductID     int64
	DisabledPlans []string
	// EndsAt is when the assignment ends (unix ms); 0 when it does not.
	EndsAt    int64
	CreatedAt time.Time
}

// AuditEvent records one change, written in the same transaction as the change.
type AuditEvent struct {
	ID            int64
	GUID          string
	TenantID      int64
	Time          time.Time
	Category      string
	Activity      string
	Result        string
	ResultReason  string
	ActorKind     string // "user", "app" or "system"
	ActorID       string
	ActorName     string
	TargetKind    string // "User", "Group", "Product", "Tenant", ...
	TargetID      string
	TargetName    string
	Changes       []Change
	CorrelationID string
}

// Change is one property's old and new value in an audit event.
type Change struct {
	Property string `json:"displayName"`
	Old      string `json:"oldValue"`
	New      string `json:"newValue"`
}

// Actor identifies who makes a change.
type Actor struct {
	Kind string // "user", "app" or "system"
	ID   string
	Name string
}

// SystemActor is the actor of changes made by group-based licensing.
var SystemActor = Actor{Kind: "system", ID: "allot", Name: "allot group-based licensing"}

// Audit activities, named as Entra names them where it has a name.
const (
	ActAddUser            = "Add user"
	ActUpdateUser         = "Update user"
	ActDeleteUser         = "Delete user"
	ActAddGroup           = "Add group"
	ActUpdateGroup        = "Update group"
	ActDeleteGroup        = "Delete group"
	ActAddMember          = "Add member to group"
	ActRemoveMember       = "Remove member from group"
	ActChangeUserLicense  = "Change user license"
	ActSetGroupLicense    = "Set group license"
	ActStartGroupLicense  = "Start applying group based license to users"
	ActFinishGroupLicense = "Finish applying group based license to users"
	ActAddProduct         = "Add subscription"
	ActUpdateProduct      = "Update subscription"
	ActAddTenant          = "Add tenant"
	ActCreateToken        = "Create API token"
	ActReprocessLicense   = "Reprocess user license"
	ActSeatsBelowConsumed = "Seats reduced below consumption"
	ActSetPolicy          = "Set assignment policy"
	ActSetGroupMode       = "Set group licensing mode"
	ActMoveToGroup        = "Move direct assignments to group"
	ActAssignmentEnded    = "License assignment ended"
	ActAssignmentStart    = "Schedule license assignment"
	ActAssignmentStarted  = "License assignment started"
	ActSetFallbacks       = "Set group license fallbacks"
	ActSetWaitingVIP      = "Set group waiting room priority"
	ActMoveUpWaiter       = "Move up in waiting room"
	ActAddReclaimRule     = "Add reclamation rule"
	ActReclaimRun         = "Reclamation run"
	ActReclaimNotice      = "Reclamation notice"
	ActReclaimCancel      = "Reclamation notice withdrawn"
	ActReclaimKeep        = "Reclamation keep answer"
	ActImportActivity     = "Import activity report"
	ActAddWebhook         = "Add webhook endpoint"
	ActDeleteWebhook      = "Delete webhook endpoint"
)

// NormalizeKey lower-cases a case-insensitive key such as a userPrincipalName
// or a proxy address.
func NormalizeKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
