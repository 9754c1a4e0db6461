package client

// Me is the caller as GET /allot/v1/me describes it.
type Me struct {
	TenantID   string `json:"tenantId"`
	TenantName string `json:"tenantName"`
	Name       string `json:"name"`
	Role       string `json:"role"`
}

// PrepaidUnits are a product's seat counts.
type PrepaidUnits struct {
	Enabled   int `json:"enabled"`
	Suspended int `json:"suspended"`
	Warning   int `json:"warning"`
	LockedOut int `json:"lockedOut"`
}

// ServicePlan is one switchable part of a product.
type ServicePlan struct {
	ServicePlanID      string `json:"servicePlanId"`
	ServicePlanName    string `json:"servicePlanName"`
	ProvisioningStatus string `json:"provisioningStatus,omitempty"`
	AppliesTo          string `json:"appliesTo,omitempty"`
}

// Rules are a product's licensing constraints (allot's allotRules).
type Rules struct {
	RequiresAnyOf          []string `json:"requiresAnyOf,omitempty"`
	MutuallyExclusiveWith  []string `json:"mutuallyExclusiveWith,omitempty"`
	AvailableDataLocations []string `json:"availableDataLocations,omitempty"`
	AllowedUsageLocations  []string `json:"allowedUsageLocations,omitempty"`
}

// Sku is a subscribedSku: a product the tenant has seats of.
type Sku struct {
	ID               string        `json:"id"`
	SkuID            string        `json:"skuId"`
	SkuPartNumber    string        `json:"skuPartNumber"`
	DisplayName      string        `json:"allotDisplayName"`
	CapabilityStatus string        `json:"capabilityStatus"`
	ConsumedUnits    int           `json:"consumedUnits"`
	PrepaidUnits     PrepaidUnits  `json:"prepaidUnits"`
	ServicePlans     []ServicePlan `json:"servicePlans"`
	Rules            Rules         `json:"allotRules"`
}

// Available returns the seats that can still be assigned.
func (s *Sku) Available() int {
	if n := s.PrepaidUnits.Enabled - s.ConsumedUnits; n > 0 {
		return n
	}
	return 0
}

// AssignedLicense is one product a user or group has.
type AssignedLicense struct {
	SkuID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"`
}

// AssignedPlan is one service plan of a user.
type AssignedPlan struct {
	AssignedDateTime string `json:"assignedDateTime"`
	CapabilityStatus string `json:"capabilityStatus"`
	Service          string `json:"service"`
	ServicePlanID    string `json:"servicePlanId"`
}

// LicenseAssignmentState is one source's grant of one product to a user.
type LicenseAssignmentState struct {
	SkuID               string   `json:"skuId"`
	AssignedByGroup     string   `json:"assignedByGroup"`
	DisabledPlans       []string `json:"disabledPlans"`
	State               string   `json:"state"`
	Error               string   `json:"error"`
	LastUpdatedDateTime string   `json:"lastUpdatedDateTime"`
	AllotErrorCode      string   `json:"allotErrorCode,omitempty"`
	AllotErrorMessage   string   `json:"allotErrorMessage,omitempty"`
}

// User is a directory user.
type User struct {
	ID                      string                   `json:"id"`
	UserPrincipalName       string                   `json:"userPrincipalName"`
	DisplayName             string                   `json:"displayName"`
	GivenName               string                   `json:"givenName"`
	Surname                 string                   `json:"surname"`
	Mail                    string                   `json:"mail"`
	JobTitle                string                   `json:"jobTitle"`
	Department              string                   `json:"department"`
	UsageLocation           string                   `json:"usageLocation"`
	AccountEnabled          bool                     `json:"accountEnabled"`
	ProxyAddresses          []string                 `json:"proxyAddresses"`
	CreatedDateTime         string                   `json:"createdDateTime"`
	AssignedLicenses        []AssignedLicense        `json:"assignedLicenses"`
	AssignedPlans           []AssignedPlan           `json:"assignedPlans"`
	LicenseAssignmentStates []LicenseAssignmentState `json:"licenseAssignmentStates"`
}

// NewUser is the body of a user creation.
type NewUser struct {
	UserPrincipalName string   `json:"userPrincipalName"`
	DisplayName       string   `json:"displayName"`
	GivenName         string   `json:"givenName,omitempty"`
	Surname           string   `json:"surname,omitempty"`
	Mail              string   `json:"mail,omitempty"`
	JobTitle          string   `json:"jobTitle,omitempty"`
	Department        string   `json:"department,omitempty"`
	UsageLocation     string   `json:"usageLocation,omitempty"`
	AccountEnabled    *bool    `json:"accountEnabled,omitempty"`
	ProxyAddresses    []string `json:"proxyAddresses,omitempty"`
}

// UserPatch lists the properties to change; nil fields stay as they are.
type UserPatch struct {
	UserPrincipalName *string   `json:"userPrincipalName,omitempty"`
	DisplayName       *string   `json:"displayName,omitempty"`
	GivenName         *string   `json:"givenName,omitempty"`
	Surname           *string   `json:"surname,omitempty"`
	Mail              *string   `json:"mail,omitempty"`
	JobTitle          *string   `json:"jobTitle,omitempty"`
	Department        *string   `json:"department,omitempty"`
	UsageLocation     *string   `json:"usageLocation,omitempty"`
	AccountEnabled    *bool     `json:"accountEnabled,omitempty"`
	ProxyAddresses    *[]string `json:"proxyAddresses,omitempty"`
}

// ProcessingState is a group's licenseProcessingState.
type ProcessingState struct {
	State string `json:"state"`
}

// Group is a security group.
type Group struct {
	ID                     string            `json:"id"`
	DisplayName            string            `json:"displayName"`
	Description            string            `json:"description"`
	MailNickname           string            `json:"mailNickname"`
	MailEnabled            bool              `json:"mailEnabled"`
	SecurityEnabled        bool              `json:"securityEnabled"`
	CreatedDateTime        string            `json:"createdDateTime"`
	AssignedLicenses       []AssignedLicense `json:"assignedLicenses"`
	LicenseProcessingState ProcessingState   `json:"licenseProcessingState"`
}

// NewGroup is the body of a group creation.
type NewGroup struct {
	DisplayName     string `json:"displayName"`
	Description     string `json:"description,omitempty"`
	MailNickname    string `json:"mailNickname,omitempty"`
	SecurityEnabled bool   `json:"securityEnabled"`
	MailEnabled     bool   `json:"mailEnabled"`
	// GroupTypes is ["DynamicMembership"] for a group whose members
	// MembershipRule selects.
	GroupTypes     []string `json:"groupTypes,omitempty"`
	MembershipRule string   `json:"membershipRule,omitempty"`
}

// Member is a member of a group: a user or a group.
type Member struct {
	Type              string `json:"@odata.type"` // #microsoft.graph.user or #microsoft.graph.group
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
}

// IsGroup tells whether the member is a group.
func (m *Member) IsGroup() bool { return m.Type == "#microsoft.graph.group" }

// AddLicense is one product of an assignLicense call.
type AddLicense struct {
	SkuID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"`
}

// LicenseDetail is one product of a user with its service plans' status.
type LicenseDetail struct {
	ID            string        `json:"id"`
	SkuID         string        `json:"skuId"`
	SkuPartNumber string        `json:"skuPartNumber"`
	ServicePlans  []ServicePlan `json:"servicePlans"`
}

// LicenseSummary counts a group's members with and without its licenses.
type LicenseSummary struct {
	Members                int             `json:"members"`
	MembersWithLicenses    int             `json:"membersWithLicenses"`
	MembersWithoutLicenses int             `json:"membersWithoutLicenses"`
	MembersPending         int             `json:"membersPending"`
	Errors                 map[string]int  `json:"errors"`
	ErrorCodes             map[string]int  `json:"errorCodes"`
	LicenseProcessingState ProcessingState `json:"licenseProcessingState"`
	AssignedSkus           []string        `json:"assignedSkus"`
	Message                string          `json:"message"`
}

// AddressMatch is the user an address resolves to.
type AddressMatch struct {
	Address           string `json:"address"`
	ID                string `json:"id"` // "" when no user has the address
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	DisplayName       string `json:"displayName,omitempty"`
	MatchedBy         string `json:"matchedBy,omitempty"` // userPrincipalName or proxyAddresses
}

// BulkAssignRequest licenses many users with one product in one transaction.
type BulkAssignRequest struct {
	SkuID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans,omitempty"`
	UserIDs       []string `json:"userIds,omitempty"`
	// Addresses, instead of UserIDs, names users by address; the server
	// matches them (userPrincipalName, then proxy address) in the same
	// transaction, which is cheaper than resolving first.
	Addresses []string `json:"addresses,omitempty"`
	DryRun    bool     `json:"dryRun,omitempty"`
	// ReservedUnits, in a dry run, counts the seats earlier batches of the
	// same dry run would take, so the preview stays exact across batches.
	ReservedUnits int `json:"reservedUnits,omitempty"`
}

// Bulk results.
const (
	ResultLicensed        = "licensed"
	ResultAlreadyLicensed = "alreadyLicensed"
	ResultNotFound        = "notFound"
	ResultFailed          = "failed"
)

// BulkResult is one user's outcome of a bulk assignment.
type BulkResult struct {
	Address           string `json:"address,omitempty"`   // for a request by address
	MatchedBy         string `json:"matchedBy,omitempty"` // for a request by address
	UserID            string `json:"userId"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	Result            string `json:"result"`
	Code              string `json:"code,omitempty"`
	Error             string `json:"error,omitempty"` // Graph licenseAssignmentState error kind
	Message           string `json:"message,omitempty"`
	Via               string `json:"via,omitempty"` // for alreadyLicensed: "direct" or the group's name
}

// BulkAssignResponse is the answer of a bulk assignment.
type BulkAssignResponse struct {
	SkuID          string         `json:"skuId"`
	SkuPartNumber  string         `json:"skuPartNumber"`
	DryRun         bool           `json:"dryRun"`
	Value          []BulkResult   `json:"value"`
	Summary        map[string]int `json:"summary"`
	SeatsAvailable int            `json:"seatsAvailable"`
}
