package licensing

import (
	"fmt"
	"slices"
	"strings"

	"allot"
)

// Message returns the words an admin reads for a licensing error code on a
// product: what is wrong and what to do, with product names.
func Message(cat *Catalog, c allot.Code, p *allot.Product) string {
	name := names(cat, []string{p.SkuPartNumber})[0]
	switch c {
	case allot.ENoSeats:
		return fmt.Sprintf("No %s seats left: %d of %d in use. Buy more seats or free some; waiting users get a seat automatically when one frees up.", name, p.ConsumedUnits, p.EnabledUnits)
	case allot.ESeatsReduced:
		return fmt.Sprintf("The number of %s seats was reduced below the number in use (%d of %d); this assignment waits for a seat.", name, p.ConsumedUnits, p.EnabledUnits)
	case allot.EUsageLocationNeeded:
		return fmt.Sprintf("The user has no usageLocation; set it (for example \"US\") before assigning %s.", name)
	case allot.EUsageLocationDenied:
		return fmt.Sprintf("%s may only be used in %s; change the user's usageLocation.", name, strings.Join(p.Rules.AllowedUsageLocations, ", "))
	case allot.EPrerequisiteMissing:
		return fmt.Sprintf("%s needs one of %s first; assign one of them to the user (directly or through a group).", name, strings.Join(names(cat, p.Rules.RequiresAnyOf), ", "))
	case allot.EMutuallyExclusive:
		return fmt.Sprintf("%s cannot be held together with %s; remove that product first.", name, strings.Join(names(cat, exclusivesOf(cat, p)), ", "))
	case allot.EDataLocation:
		return fmt.Sprintf("%s is not available in this tenant's data location; it is available in %s.", name, strings.Join(p.Rules.AvailableDataLocations, ", "))
	case allot.EOtherProductFailed:
		return fmt.Sprintf("%s was not assigned because another product of the same group failed for this user (a group grants all of its products or none).", name)
	case allot.EPlanDependency:
		return fmt.Sprintf("A service plan of %s that stays enabled needs %s; enable it too or disable the plan that needs it.", name, planName(p, missingFor(p)))
	}
	return string(c)
}

// names turns skuPartNumbers into "Display Name (PART)" where the tenant
// has the product.
func names(cat *Catalog, parts []string) []string {
	out := make([]string, 0, len(parts))
	for _, part := range parts {
		if q := cat.ByPart(part); q != nil && q.DisplayName != "" && q.DisplayName != q.SkuPartNumber {
			out = append(out, fmt.Sprintf("%s (%s)", q.DisplayName, q.SkuPartNumber))
		} else {
			out = append(out, part)
		}
	}
	return out
}

func exclusivesOf(cat *Catalog, p *allot.Product) []string {
	set := slices.Clone(p.Rules.MutuallyExclusiveWith)
	for _, id := range cat.IDs() {
		q := cat.Product(id)
		if containsFold(q.Rules.MutuallyExclusiveWith, p.SkuPartNumber) && !containsFold(set, q.SkuPartNumber) {
			set = append(set, q.SkuPartNumber)
		}
	}
	slices.Sort(set)
	return set
}

// missingFor returns some plan that another plan of p depends on.
func missingFor(p *allot.Product) string {
	for _, needs := range p.Rules.PlanDependencies {
		if len(needs) > 0 {
			return needs[0]
		}
	}
	return ""
}

func planName(p *allot.Product, id string) string {
	if sp, ok := p.Plan(id); ok {
		return sp.Name
	}
	return id
}

// EnabledPlans returns the ids of the service plans a user gets of product p
// from a set of active grants: the union of what each grant enables (rule 1).
func EnabledPlans(p *allot.Product, disabledPerGrant [][]string) []string {
	var out []string
	for _, sp := range p.ServicePlans {
		for _, dis := range disabledPerGrant {
			if !containsFold(dis, sp.ID) {
				out = append(out, sp.ID)
				break
			}
		}
	}
	return out
}

// DisabledPlans returns the plans of p disabled in every grant (the
// intersection), which is the user's effective disabledPlans.
func DisabledPlans(p *allot.Product, disabledPerGrant [][]string) []string {
	enabled := EnabledPlans(p, disabledPerGrant)
	out := []string{}
	for _, sp := range p.ServicePlans {
		if !slices.Contains(enabled, sp.ID) {
			out = append(out, sp.ID)
		}
	}
	return out
}
