package client

import (
	"context"
	"net/http"
	"strings"
)

// Me returns the caller's tenant and role.
func (c *Client) Me(ctx context.Context) (*Me, error) {
	var m Me
	_, err := c.Do(ctx, http.MethodGet, "/allot/v1/me", nil, &m)
	return &m, err
}

// ---- products ----

// Skus returns the tenant's products.
func (c *Client) Skus(ctx context.Context) ([]Sku, error) {
	out, _, err := list[Sku](ctx, c, "/v1.0/subscribedSkus", ListOptions{All: true})
	return out, err
}

// Sku returns a product by skuPartNumber, skuId or subscribedSku id.
func (c *Client) Sku(ctx context.Context, ref string) (*Sku, error) {
	var s Sku
	_, err := c.Do(ctx, http.MethodGet, "/v1.0/subscribedSkus/"+esc(ref), nil, &s)
	return &s, err
}

// SetSeats changes the number of enabled seats of a product. Fewer seats
// than are in use take licenses away: the server refuses that with
// CodeLicenseLoss unless the client is Confirming.
func (c *Client) SetSeats(ctx context.Context, skuID string, enabled int) (*Sku, error) {
	var s Sku
	_, err := c.Do(ctx, http.MethodPatch, "/allot/v1/subscribedSkus/"+esc(skuID), map[string]int{"enabledUnits": enabled}, &s)
	return &s, err
}

// ---- users ----

// Users lists users; more tells whether more pages were left.
func (c *Client) Users(ctx context.Context, o ListOptions) ([]User, bool, error) {
	return list[User](ctx, c, "/v1.0/users", o)
}

// User returns a user by id or userPrincipalName.
func (c *Client) User(ctx context.Context, ref string) (*User, error) {
	var u User
	_, err := c.Do(ctx, http.MethodGet, "/v1.0/users/"+esc(ref), nil, &u)
	return &u, err
}

// CreateUser creates a user.
func (c *Client) CreateUser(ctx context.Context, nu NewUser) (*User, error) {
	var u User
	_, err := c.Do(ctx, http.MethodPost, "/v1.0/users", nu, &u)
	return &u, err
}

// UpdateUser changes a user's properties.
func (c *Client) UpdateUser(ctx context.Context, ref string, p UserPatch) error {
	_, err := c.Do(ctx, http.MethodPatch, "/v1.0/users/"+esc(ref), p, nil)
	return err
}

// DeleteUser deletes a user.
func (c *Client) DeleteUser(ctx context.Context, ref string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/v1.0/users/"+esc(ref), nil, nil)
	return err
}

// MemberOf returns the groups a user or group is a direct member of.
func (c *Client) MemberOf(ctx context.Context, kind, ref string) ([]Group, error) {
	out, _, err := list[Group](ctx, c, "/v1.0/"+kind+"/"+esc(ref)+"/memberOf", ListOptions{All: true})
	return out, err
}

// ---- groups ----

// Groups lists groups; more tells whether more pages were left.
func (c *Client) Groups(ctx context.Context, o ListOptions) ([]Group, bool, error) {
	return list[Group](ctx, c, "/v1.0/groups", o)
}

// Group returns a group by id.
func (c *Client) Group(ctx context.Context, id string) (*Group, error) {
	var g Group
	_, err := c.Do(ctx, http.MethodGet, "/v1.0/groups/"+esc(id), nil, &g)
	return &g, err
}

// GroupsNamed returns the groups whose displayName is name (case-insensitive).
func (c *Client) GroupsNamed(ctx context.Context, name string) ([]Group, error) {
	f := "displayName eq '" + strings.ReplaceAll(name, "'", "''") + "'"
	out, _, err := list[Group](ctx, c, "/v1.0/groups", ListOptions{Filter: f, All: true, Top: 999})
	return out, err
}

// CreateGroup creates a security group.
func (c *Client) CreateGroup(ctx context.Context, ng NewGroup) (*Group, error) {
	ng.SecurityEnabled = true
	var g Group
	_, err := c.Do(ctx, http.MethodPost, "/v1.0/groups", ng, &g)
	return &g, err
}

// DeleteGroup deletes a group. When that would take licenses away from its
// members (through a parent group), the server refuses with
// CodeLicenseLoss unless the client is Confirming.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/v1.0/groups/"+esc(id), nil, nil)
	return err
}

// Members lists a group's direct (or, with transitive, all) members.
func (c *Client) Members(ctx context.Context, groupID string, transitive bool, o ListOptions) ([]Member, bool, error) {
	seg := "members"
	if transitive {
		seg = "transitiveMembers"
	}
	return list[Member](ctx, c, "/v1.0/groups/"+esc(groupID)+"/"+seg, o)
}

// AddMember adds a user or group (by id) to a group.
func (c *Client) AddMember(ctx context.Context, groupID, memberID string) error {
	ref := map[string]string{"@odata.id": c.BaseURL + "/v1.0/directoryObjects/" + memberID}
	_, err := c.Do(ctx, http.MethodPost, "/v1.0/groups/"+esc(groupID)+"/members/$ref", ref, nil)
	return err
}

// RemoveMember removes a user or group (by id) from a group.
func (c *Client) RemoveMember(ctx context.Context, groupID, memberID string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/v1.0/groups/"+esc(groupID)+"/members/"+esc(memberID)+"/$ref", nil, nil)
	return err
}

// ---- licenses ----

type assignBody struct {
	AddLicenses    []AddLicense `json:"addLicenses"`
	RemoveLicenses []string     `json:"removeLicenses"`
}

func body(add []AddLicense, remove []string) assignBody {
	if add == nil {
		add = []AddLicense{}
	}
	if remove == nil {
		remove = []string{}
	}
	for i := range add {
		if add[i].DisabledPlans == nil {
			add[i].DisabledPlans = []string{}
		}
	}
	return assignBody{AddLicenses: add, RemoveLicenses: remove}
}

// AssignLicense adds and removes a user's direct licenses atomically.
func (c *Client) AssignLicense(ctx context.Context, userRef string, add []AddLicense, remove []string) (*User, error) {
	var u User
	_, err := c.Do(ctx, http.MethodPost, "/v1.0/users/"+esc(userRef)+"/assignLicense", body(add, remove), &u)
	return &u, err
}

// AssignGroupLicense adds and removes a group's licenses; members follow
// asynchronously. A change that would take licenses away from members as a
// side effect (an Insights that needs the E3 being removed) is refused with
// CodeLicenseLoss unless the client is Confirming.
func (c *Client) AssignGroupLicense(ctx context.Context, groupID string, add []AddLicense, remove []string) (*Group, error) {
	var g Group
	_, err := c.Do(ctx, http.MethodPost, "/v1.0/groups/"+esc(groupID)+"/assignLicense", body(add, remove), &g)
	return &g, err
}

// LicenseDetails returns a user's products with the status of each service plan.
func (c *Client) LicenseDetails(ctx context.Context, userRef string) ([]LicenseDetail, error) {
	out, _, err := list[LicenseDetail](ctx, c, "/v1.0/users/"+esc(userRef)+"/licenseDetails", ListOptions{All: true})
	return out, err
}

// LicenseSummary returns the counts of a group's members with and without
// its licenses.
func (c *Client) LicenseSummary(ctx context.Context, groupID string) (*LicenseSummary, error) {
	var s LicenseSummary
	_, err := c.Do(ctx, http.MethodGet, "/allot/v1/groups/"+esc(groupID)+"/licenseSummary", nil, &s)
	return &s, err
}

// MembersWithLicenseErrors returns the users with a license error from the group.
func (c *Client) MembersWithLicenseErrors(ctx context.Context, groupID string) ([]User, error) {
	out, _, err := list[User](ctx, c, "/v1.0/groups/"+esc(groupID)+"/membersWithLicenseErrors", ListOptions{All: true, Top: 999})
	return out, err
}

// ReprocessUser recomputes a user's licenses.
func (c *Client) ReprocessUser(ctx context.Context, userRef string) (*User, error) {
	var u User
	_, err := c.Do(ctx, http.MethodPost, "/v1.0/users/"+esc(userRef)+"/reprocessLicenseAssignment", struct{}{}, &u)
	return &u, err
}

// ReprocessGroup queues a group's members for recomputation.
func (c *Client) ReprocessGroup(ctx context.Context, groupID string) (*Group, error) {
	var g Group
	_, err := c.Do(ctx, http.MethodPost, "/v1.0/groups/"+esc(groupID)+"/reprocessLicenseAssignment", struct{}{}, &g)
	return &g, err
}

// ---- bulk ----

// MaxBulk is the most addresses or users one bulk request may carry.
const MaxBulk = 5000

// ResolveAddresses matches addresses to users by userPrincipalName, then by
// proxy address (case-insensitive). The answer has one entry per address, in
// order.
func (c *Client) ResolveAddresses(ctx context.Context, addrs []string) ([]AddressMatch, error) {
	var out struct {
		Value []AddressMatch `json:"value"`
	}
	_, err := c.Do(ctx, http.MethodPost, "/allot/v1/users/resolve", map[string]any{"addresses": addrs}, &out)
	return out.Value, err
}

// BulkAssign licenses many users with one product in one transaction; each
// user is licensed fully or not at all.
func (c *Client) BulkAssign(ctx context.Context, r BulkAssignRequest) (*BulkAssignResponse, error) {
	var out BulkAssignResponse
	_, err := c.Do(ctx, http.MethodPost, "/allot/v1/licenses/assign", r, &out)
	return &out, err
}

// Filter quoting helper: Quote returns s as an OData string literal.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
