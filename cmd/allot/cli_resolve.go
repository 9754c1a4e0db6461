package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"allot"
	"allot/client"
)

func isGUID(s string) bool {
	_, err := uuid.Parse(strings.TrimSpace(s))
	return err == nil && len(strings.TrimSpace(s)) == 36
}

// resolveSku finds a product by skuPartNumber or skuId.
func resolveSku(ctx context.Context, c *client.Client, ref string) (*client.Sku, error) {
	if strings.TrimSpace(ref) == "" {
		return nil, allot.Errorf(allot.EInvalid, "Name a product with --sku, such as --sku SPE_E5; 'allot skus' lists them.")
	}
	s, err := c.Sku(ctx, strings.TrimSpace(ref))
	if client.IsNotFound(err) {
		return nil, allot.Errorf(allot.ENotFound, "The tenant has no product '%s'; 'allot skus' lists its products.", ref)
	}
	return s, err
}

// resolvePlans turns service plan names or ids into ids of the product's plans.
func resolvePlans(s *client.Sku, refs []string) ([]string, error) {
	out := []string{}
	for _, r := range refs {
		for _, part := range strings.Split(r, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			found := ""
			for _, sp := range s.ServicePlans {
				if strings.EqualFold(sp.ServicePlanID, part) || strings.EqualFold(sp.ServicePlanName, part) {
					found = sp.ServicePlanID
				}
			}
			if found == "" {
				var names []string
				for _, sp := range s.ServicePlans {
					names = append(names, sp.ServicePlanName)
				}
				return nil, allot.Errorf(allot.EInvalid, "%s has no service plan '%s'; its plans are: %s.", s.SkuPartNumber, part, strings.Join(names, ", "))
			}
			out = append(out, found)
		}
	}
	return out, nil
}

// resolveGroup finds a group by id or display name.
func resolveGroup(ctx context.Context, c *client.Client, ref string) (*client.Group, error) {
	ref = strings.TrimSpace(ref)
	if isGUID(ref) {
		g, err := c.Group(ctx, ref)
		if err == nil || !client.IsNotFound(err) {
			return g, err
		}
	}
	gs, err := c.GroupsNamed(ctx, ref)
	if err != nil {
		return nil, err
	}
	switch len(gs) {
	case 0:
		return nil, allot.Errorf(allot.ENotFound, "There is no group '%s'; 'allot groups list' lists them.", ref)
	case 1:
		return &gs[0], nil
	}
	var ids []string
	for _, g := range gs {
		ids = append(ids, g.ID)
	}
	return nil, allot.Errorf(allot.EInvalid, "%d groups are named '%s'; name one by its id: %s.", len(gs), ref, strings.Join(ids, ", "))
}

// resolveUser finds a user by id or userPrincipalName.
func resolveUser(ctx context.Context, c *client.Client, ref string) (*client.User, error) {
	u, err := c.User(ctx, strings.TrimSpace(ref))
	if client.IsNotFound(err) {
		return nil, allot.Errorf(allot.ENotFound, "There is no user '%s' (give a userPrincipalName or an id).", ref)
	}
	return u, err
}

// directoryObject is a user or a group named on the command line.
type directoryObject struct {
	ID    string
	Kind  string // "user" or "group"
	Name  string // userPrincipalName or displayName
	Group *client.Group
}

// resolveObject finds a user (userPrincipalName or id) or a group (id or
// display name). A reference with @ is a user.
func resolveObject(ctx context.Context, c *client.Client, ref string) (*directoryObject, error) {
	ref = strings.TrimSpace(ref)
	if strings.Contains(ref, "@") {
		u, err := resolveUser(ctx, c, ref)
		if err != nil {
			return nil, err
		}
		return &directoryObject{ID: u.ID, Kind: "user", Name: u.UserPrincipalName}, nil
	}
	if isGUID(ref) {
		u, err := c.User(ctx, ref)
		if err == nil {
			return &directoryObject{ID: u.ID, Kind: "user", Name: u.UserPrincipalName}, nil
		}
		if !client.IsNotFound(err) {
			return nil, err
		}
	}
	g, err := resolveGroup(ctx, c, ref)
	if err != nil {
		if allot.ErrorCode(err) == allot.ENotFound {
			return nil, allot.Errorf(allot.ENotFound, "There is no user or group '%s' (users by userPrincipalName or id, groups by name or id).", ref)
		}
		return nil, err
	}
	return &directoryObject{ID: g.ID, Kind: "group", Name: g.DisplayName, Group: g}, nil
}

// skuNames maps skuIds to part numbers for display.
type skuNames map[string]string

func loadSkuNames(ctx context.Context, c *client.Client) (skuNames, error) {
	skus, err := c.Skus(ctx)
	if err != nil {
		return nil, err
	}
	m := skuNames{}
	for _, s := range skus {
		m[strings.ToLower(s.SkuID)] = s.SkuPartNumber
	}
	return m, nil
}

func (m skuNames) name(id string) string {
	if n, ok := m[strings.ToLower(id)]; ok {
		return n
	}
	return id
}

func (m skuNames) list(ls []client.AssignedLicense) string {
	var parts []string
	for _, l := range ls {
		parts = append(parts, m.name(l.SkuID))
	}
	return strings.Join(parts, ",")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%s %s", thousands(n), many)
}
