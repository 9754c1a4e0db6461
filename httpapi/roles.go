package httpapi

// Who may do what. Every route names the permission it needs (handle's
// second argument). A person has the permissions of their directory roles;
// an API client has the permissions of its scopes, intersected with those of
// its roles and of whoever created it. These two tables are the whole model;
// httpapi/testdata/access.md is the expected role × route matrix that
// TestAccessMatrix checks against them.

import (
	"slices"
	"strings"

	"allot/store"
)

// Perm is a set of permissions.
type Perm uint32

// The permissions. Read permissions never allow a change.
const (
	PermUsersRead     Perm = 1 << iota // users, their licenses and memberships
	PermGroupsRead                     // groups, members, members with license errors
	PermProductsRead                   // subscribed products and seat counts, the catalog
	PermReportsRead                    // license reports (group license summaries)
	PermAuditRead                      // the audit log
	PermRolesRead                      // role definitions and assignments
	PermClientsRead                    // every API client of the tenant (never a secret)
	PermTenantRead                     // the organization
	PermUsersWrite                     // create, update, delete users; set their passwords
	PermUsageLocation                  // set a user's usageLocation (and nothing else)
	PermGroupsWrite                    // create, update, delete groups; add and remove members
	PermLicensesWrite                  // assign, remove and reprocess licenses of users and groups
	PermProductsWrite                  // add products, change seat counts
	PermRolesWrite                     // assign and remove directory roles
	PermClientsWrite                   // create API clients (within one's own rights) and revoke one's own
	PermClientsManage                  // revoke any API client of the tenant
	PermSCIM                           // provision users and groups through SCIM (/scim/v2), and nothing else

	permCount = iota
)

// PermSignedIn is what a route needs that any authenticated caller may use
// (their own profile, signing out).
const PermSignedIn Perm = 0

// Deprecated coarse permissions, kept while routes move to precise ones:
// prefer the Perm constants above.
const (
	permRead     = PermUsersRead
	permLicense  = PermLicensesWrite
	permProducts = PermProductsWrite
)

var permNames = [permCount]string{
	"users.read", "groups.read", "products.read", "reports.read", "audit.read", "roles.read", "clients.read", "tenant.read",
	"users.write", "users.usageLocation", "groups.write", "licenses.write", "products.write", "roles.write",
	"clients.write", "clients.manage", "scim.provisioning",
}

// permAll is every permission.
const permAll Perm = 1<<permCount - 1

// permReadAll is every read permission.
const permReadAll = PermUsersRead | PermGroupsRead | PermProductsRead | PermReportsRead | PermAuditRead |
	PermRolesRead | PermClientsRead | PermTenantRead

// Names lists the permission names of the set, in order.
func (p Perm) Names() []string {
	var out []string
	for i := 0; i < permCount; i++ {
		if p&(1<<i) != 0 {
			out = append(out, permNames[i])
		}
	}
	return out
}

func (p Perm) String() string { return strings.Join(p.Names(), " ") }

// roleDef is a directory role: Entra's template id, name and meaning, and
// what it may do in allot.
type roleDef struct {
	ID          string
	Name        string
	Description string
	Perms       Perm
}

// roleDefs is the role → permission table.
var roleDefs = []roleDef{
	{store.RoleIDGlobalAdmin, store.RoleGlobalAdmin,
		"Can manage all aspects of allot: users, groups, products and seats, licenses, roles and API clients.",
		permAll},
	{store.RoleIDLicenseAdmin, store.RoleLicenseAdmin,
		"Can assign, remove and reprocess license assignments for users and groups, and set users' usage location. Cannot manage users, groups or products.",
		PermUsersRead | PermGroupsRead | PermProductsRead | PermReportsRead | PermRolesRead | PermTenantRead |
			PermUsageLocation | PermLicensesWrite | PermClientsWrite},
	{store.RoleIDUserAdmin, store.RoleUserAdmin,
		"Can manage all aspects of users and groups, including memberships, passwords of less privileged users, and license assignments.",
		PermUsersRead | PermGroupsRead | PermProductsRead | PermReportsRead | PermRolesRead | PermTenantRead |
			PermUsersWrite | PermUsageLocation | PermGroupsWrite | PermLicensesWrite | PermClientsWrite | PermSCIM},
	{store.RoleIDGlobalReader, store.RoleGlobalReader,
		"Can read everything that a Global Administrator can, but not update anything.",
		permReadAll},
	{store.RoleIDInsightsAdmin, store.RoleInsightsAdmin,
		"Has administrative access in the Microsoft 365 Insights app: reads the directory, products and license reports to see who holds Insights.",
		PermUsersRead | PermGroupsRead | PermProductsRead | PermReportsRead | PermRolesRead | PermTenantRead},
	{store.RoleIDInsightsLeader, store.RoleInsightsLeader,
		"Can view and share dashboards and insights via the Microsoft 365 Insights app: reads products and license reports.",
		PermProductsRead | PermReportsRead | PermTenantRead},
}

// roleByID returns the role with the template id.
func roleByID(id string) (roleDef, bool) {
	for _, r := range roleDefs {
		if strings.EqualFold(r.ID, id) {
			return r, true
		}
	}
	return roleDef{}, false
}

// rolePerms returns the union of the permissions of the roles.
func rolePerms(ids []string) Perm {
	var p Perm
	for _, id := range ids {
		if r, ok := roleByID(id); ok {
			p |= r.Perms
		}
	}
	return p
}

// scopePerms is the scope → permission table: Microsoft Graph permission
// names an API client can be given.
var scopePerms = map[string]Perm{
	"User.Read.All":                      PermUsersRead,
	"User.ReadWrite.All":                 PermUsersRead | PermUsersWrite | PermUsageLocation,
	"Group.Read.All":                     PermGroupsRead,
	"Group.ReadWrite.All":                PermGroupsRead | PermGroupsWrite,
	"GroupMember.ReadWrite.All":          PermGroupsRead | PermGroupsWrite,
	"LicenseAssignment.Read.All":         PermProductsRead | PermReportsRead,
	"LicenseAssignment.ReadWrite.All":    PermProductsRead | PermReportsRead | PermLicensesWrite,
	"Organization.Read.All":              PermProductsRead | PermTenantRead,
	"Organization.ReadWrite.All":         PermProductsRead | PermTenantRead | PermProductsWrite,
	"Directory.Read.All":                 PermUsersRead | PermGroupsRead | PermProductsRead | PermReportsRead | PermRolesRead | PermTenantRead,
	"Directory.ReadWrite.All":            PermUsersRead | PermGroupsRead | PermProductsRead | PermReportsRead | PermRolesRead | PermTenantRead | PermUsersWrite | PermUsageLocation | PermGroupsWrite | PermLicensesWrite,
	"AuditLog.Read.All":                  PermAuditRead,
	"Reports.Read.All":                   PermReportsRead,
	"RoleManagement.Read.Directory":      PermRolesRead,
	"RoleManagement.ReadWrite.Directory": PermRolesRead | PermRolesWrite,
	"Application.Read.All":               PermClientsRead,
	"Application.ReadWrite.All":          PermClientsRead | PermClientsWrite | PermClientsManage,
	// SCIMScope lets an identity provider provision through /scim/v2; a
	// client with it has no other scope and no other route.
	SCIMScope: PermSCIM,
}

// SCIMScope is the scope of an API client that provisions through SCIM.
const SCIMScope = "SCIM.Provisioning"

// scimOnly tells whether the principal is a SCIM provisioning client.
func scimOnly(p *store.Principal) bool { return slices.Contains(p.Scopes, SCIMScope) }

// scopeNames lists the known scopes, sorted.
func scopeNames() []string {
	out := make([]string, 0, len(scopePerms))
	for s := range scopePerms {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// canonicalScope returns the known scope name matching s case-insensitively.
func canonicalScope(s string) (string, bool) {
	for name := range scopePerms {
		if strings.EqualFold(name, strings.TrimSpace(s)) {
			return name, true
		}
	}
	return "", false
}

func scopesPerms(scopes []string) Perm {
	var p Perm
	for _, s := range scopes {
		p |= scopePerms[s]
	}
	return p
}

// effectivePerms is what the principal may do: for a person, the union of
// their roles; for an API client, its scopes ∩ its roles (its own roles, or
// if it has none, its creator's) ∩ the roles of everyone up its chain of
// creators.
func effectivePerms(p *store.Principal) Perm {
	var perms Perm
	switch {
	case len(p.Roles) > 0:
		perms = rolePerms(p.Roles)
	case p.Kind == store.PrincipalClient && len(p.Owners) > 0:
		perms = permAll // capped by the owners below
	default:
		return 0
	}
	for _, cap := range p.Owners {
		perms &= rolePerms(cap)
	}
	if p.Scopes != nil {
		perms &= scopesPerms(p.Scopes)
	}
	return perms
}

// isGlobalAdmin tells whether the principal acts with the Global
// Administrator role: a person holding it, or an API client that holds it
// (itself or through its creator) with every creator up the chain holding it.
func isGlobalAdmin(p *store.Principal) bool {
	has := slices.Contains(p.Roles, store.RoleIDGlobalAdmin) ||
		(len(p.Roles) == 0 && p.Kind == store.PrincipalClient && len(p.Owners) > 0)
	if !has {
		return false
	}
	for _, cap := range p.Owners {
		if !slices.Contains(cap, store.RoleIDGlobalAdmin) {
			return false
		}
	}
	return true
}
