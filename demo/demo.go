// Package demo seeds the Contoso demo tenant: products, about 250 users
// across departments, a handful of groups (one nested in another) and some
// direct assignments. Seeding is idempotent: it only adds what is missing.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"allot"
	"allot/catalog"
	"allot/store"
	"allot/store/sqlstore"
)

// TenantName is the demo tenant's display name.
const TenantName = "Contoso"

var actor = allot.Actor{Kind: "system", ID: "demo", Name: "allot demo seed"}

var departments = []string{"Sales", "Marketing", "Engineering", "Finance", "Human Resources", "Operations", "Legal", "Support"}

var firstNames = []string{"Adele", "Alex", "Diego", "Grady", "Henrietta", "Isaiah", "Johanna", "Joni", "Lee", "Lidia",
	"Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep", "Irvin", "Christie", "Allan", "Debra"}
var lastNames = []string{"Vance", "Wilber", "Siciliani", "Archie", "Mueller", "Langer", "Lauer", "Sherman", "Gu", "Holloway",
	"Robbins", "Bowen", "Graham", "Wilke", "Fernandez", "Gupta", "Sauer", "Cline", "Deyoung", "Berry"}

// Seed creates the demo tenant's content in t where it is missing.
func Seed(ctx context.Context, st *sqlstore.Store, t *allot.Tenant) error {
	products := map[string]int{"SPE_E3": 200, "SPE_E5": 50, "WORKPLACE_ANALYTICS_INSIGHTS": 25}
	for _, part := range []string{"SPE_E3", "SPE_E5", "WORKPLACE_ANALYTICS_INSIGHTS"} {
		if _, err := st.Product(ctx, t.ID, part); err == nil {
			continue
		}
		d, _ := catalog.Lookup(part)
		if _, err := st.AddProduct(ctx, actor, t.ID, d, products[part]); err != nil {
			return fmt.Errorf("demo product %s: %w", part, err)
		}
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var users []*allot.User
	for i := 0; i < 250; i++ {
		first, last := firstNames[i%len(firstNames)], lastNames[(i/len(firstNames)+i)%len(lastNames)]
		upn := fmt.Sprintf("%s.%s%d@contoso.com", strings.ToLower(first), strings.ToLower(last), i+1)
		if u, err := st.User(ctx, t.ID, upn); err == nil {
			users = append(users, u)
			continue
		}
		loc := "US"
		switch {
		case i%50 == 7: // a few without usage location
			loc = ""
		case i%25 == 3: // a few outside the US
			loc = []string{"CA", "GB", "DE", "MX"}[i%4]
		}
		u := &allot.User{UserPrincipalName: upn, DisplayName: first + " " + last, GivenName: first, Surname: last,
			Mail: upn, Department: departments[rng.IntN(len(departments))], JobTitle: "Staff", UsageLocation: loc, AccountEnabled: true,
			ProxyAddresses: []string{"SMTP:" + upn, fmt.Sprintf("smtp:%s%d@contoso.onmicrosoft.com", strings.ToLower(first[:1]+last), i+1)}}
		if err := st.CreateUser(ctx, actor, t.ID, u); err != nil {
			return fmt.Errorf("demo user %s: %w", upn, err)
		}
		users = append(users, u)
	}
	groups := map[string]*allot.Group{}
	existing, _, _, err := st.ListGroups(ctx, t.ID, store.ListOptions{Top: 1000})
	if err != nil {
		return err
	}
	for _, g := range existing {
		groups[g.DisplayName] = g
	}
	for _, name := range []string{"All Staff", "Sales Team", "Sales Leadership", "Engineering", "Insights Pilot"} {
		if groups[name] != nil {
			continue
		}
		g := &allot.Group{DisplayName: name, Description: "Demo group " + name, MailNickname: strings.ReplaceAll(strings.ToLower(name), " ", "")}
		if err := st.CreateGroup(ctx, actor, t.ID, g); err != nil {
			return err
		}
		groups[name] = g
		switch name {
		case "Sales Leadership":
			// Nested: Sales Leadership is a member of Sales Team.
			if err := st.AddMember(ctx, actor, t.ID, groups["Sales Team"].GUID, g.GUID); err != nil {
				return err
			}
		}
		for i, u := range users {
			in := false
			switch name {
			case "All Staff":
				in = i < 120
			case "Sales Team":
				in = u.Department == "Sales"
			case "Sales Leadership":
				in = u.Department == "Sales" && i%3 == 0
			case "Engineering":
				in = u.Department == "Engineering"
			case "Insights Pilot":
				in = i >= 200 && i < 240
			}
			if in && !(name == "Sales Team" && u.Department == "Sales" && i%3 == 0) {
				if err := st.AddMember(ctx, actor, t.ID, g.GUID, u.GUID); err != nil {
					return err
				}
			}
		}
	}
	// Some direct assignments: E5 for the first 30 users with a usage location.
	e5, err := st.Product(ctx, t.ID, "SPE_E5")
	if err != nil {
		return err
	}
	if e5.ConsumedUnits == 0 {
		n := 0
		for _, u := range users {
			if n == 30 {
				break
			}
			if u.UsageLocation == "" {
				continue
			}
			if _, err := st.AssignUserLicenses(ctx, actor, t.ID, u.GUID, []store.LicenseRequest{{SkuID: e5.SkuID}}, nil); err != nil {
				return fmt.Errorf("demo assignment: %w", err)
			}
			n++
		}
	}
	return nil
}

// AdminUPN is the demo tenant's administrator, who signs in to the admin center.
const AdminUPN = "admin@contoso.com"

// SeedAdmin makes sure the demo administrator exists and holds the Global
// Administrator role, and sets its password to pw (ending its sessions).
func SeedAdmin(ctx context.Context, st *sqlstore.Store, t *allot.Tenant, pw string) error {
	if _, err := st.User(ctx, t.ID, AdminUPN); allot.ErrorCode(err) == allot.ENotFound {
		u := &allot.User{UserPrincipalName: AdminUPN, DisplayName: "Contoso Admin", GivenName: "Contoso", Surname: "Admin", Mail: AdminUPN,
			Department: "IT", JobTitle: "Administrator", UsageLocation: "US", AccountEnabled: true}
		if err := st.CreateUser(ctx, actor, t.ID, u); err != nil {
			return fmt.Errorf("demo admin: %w", err)
		}
	} else if err != nil {
		return err
	}
	if _, err := st.AddRoleAssignment(ctx, actor, t.ID, AdminUPN, store.RoleIDGlobalAdmin); err != nil && allot.ErrorCode(err) != allot.EConflict {
		return fmt.Errorf("demo admin role: %w", err)
	}
	return st.SetPassword(ctx, actor, t.ID, AdminUPN, pw)
}
