package web

import (
	"fmt"
	"slices"
	"strings"

	"allot"
	"allot/catalog"
	"allot/licensing"
)

// words says licensing errors the way the rest of the admin center speaks:
// product names (never part numbers or field names), numbers with
// thousands separators, and only products the organization has as the way
// out, unless it has none of them.
type words struct {
	byPart map[string]*allot.Product
	bySku  map[string]*allot.Product
	all    []*allot.Product
}

// newWords returns the words for a tenant with the products.
func newWords(products []*allot.Product) *words {
	w := &words{byPart: map[string]*allot.Product{}, bySku: map[string]*allot.Product{}, all: products}
	for _, p := range products {
		w.byPart[strings.ToUpper(p.SkuPartNumber)] = p
		w.bySku[strings.ToLower(p.SkuID)] = p
	}
	return w
}

// name is a product's name: the tenant's, else the catalog's, else the part
// number (a product nobody has described).
func (w *words) name(part string) string {
	if p := w.byPart[strings.ToUpper(part)]; p != nil && p.DisplayName != "" {
		return p.DisplayName
	}
	if d, ok := catalog.Lookup(part); ok && d.DisplayName != "" {
		return d.DisplayName
	}
	return part
}

func (w *words) owns(part string) bool { return w.byPart[strings.ToUpper(part)] != nil }

// reason says why product p cannot be given, for a licensing code.
func (w *words) reason(c allot.Code, p *allot.Product) string {
	name := w.name(p.SkuPartNumber)
	switch c {
	case allot.ENoSeats:
		return fmt.Sprintf("No %s seats left: all %s are in use. Free a seat, or add seats to the subscription; people waiting get a seat automatically when one frees up.", name, num(p.EnabledUnits))
	case allot.ESeatsReduced:
		return fmt.Sprintf("There are fewer %s seats (%s) than people who hold it (%s): this assignment waits for a seat.", name, num(p.EnabledUnits), num(p.ConsumedUnits))
	case allot.EUsageLocationNeeded:
		return fmt.Sprintf("The user has no usage location: set the country where the user works, then assign %s.", name)
	case allot.EUsageLocationDenied:
		return fmt.Sprintf("%s may only be used in %s: change the user's usage location.", name, orList(countryNames(p.Rules.AllowedUsageLocations)))
	case allot.EPrerequisiteMissing:
		return w.prerequisite(name, p.Rules.RequiresAnyOf)
	case allot.EMutuallyExclusive:
		return fmt.Sprintf("%s cannot be held together with %s: remove that product from the user first.", name, orList(w.names(w.exclusives(p), true)))
	case allot.EDataLocation:
		return fmt.Sprintf("%s is not available in this organization's data location.", name)
	case allot.EOtherProductFailed:
		return fmt.Sprintf("%s was not given because another product of the same group could not be (a group gives all of its products or none).", name)
	case allot.EPlanDependency:
		return fmt.Sprintf("A service plan of %s that stays on needs %s: turn that one on too, or turn off the plan that needs it.", name, neededPlan(p))
	}
	return licensing.Message(nil, c, p)
}

// prerequisite says what a product needs: the products of the
// organization that would do, or, when it has none of them, which to buy.
func (w *words) prerequisite(name string, anyOf []string) string {
	var owned, other []string
	for _, part := range anyOf {
		if w.owns(part) {
			owned = append(owned, part)
		} else {
			other = append(other, part)
		}
	}
	if len(owned) > 0 {
		return fmt.Sprintf("%s needs %s first: assign it to the user (directly or through a group).", name, orList(w.names(owned, false)))
	}
	return fmt.Sprintf("%s needs %s first, and this organization has none of them: buy one, then assign it to the user.", name, orList(w.names(other, false)))
}

// names are the products' names, without duplicates; ownedOnly keeps the
// ones the organization has (all of them when it has none).
func (w *words) names(parts []string, ownedOnly bool) []string {
	var out []string
	for _, part := range parts {
		if ownedOnly && !w.owns(part) && slices.ContainsFunc(parts, w.owns) {
			continue
		}
		if n := w.name(part); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// exclusives are the products p cannot be held with, either way round.
func (w *words) exclusives(p *allot.Product) []string {
	set := slices.Clone(p.Rules.MutuallyExclusiveWith)
	for _, q := range w.all {
		if containsFold(q.Rules.MutuallyExclusiveWith, p.SkuPartNumber) && !containsFold(set, q.SkuPartNumber) {
			set = append(set, q.SkuPartNumber)
		}
	}
	return set
}

// neededPlan names some plan that another plan of p depends on.
func neededPlan(p *allot.Product) string {
	for _, needs := range p.Rules.PlanDependencies {
		for _, id := range needs {
			if sp, ok := p.Plan(id); ok {
				return planName(sp)
			}
			return id
		}
	}
	return "another service plan"
}

// err says a refused change in words. added are the skuIds the change
// gives: a licensing refusal about another product is one the user would
// lose as a side effect.
func (w *words) err(err error, added ...string) string {
	code := allot.ErrorCode(err)
	if !code.IsLicensing() {
		return allot.ErrorMessage(err)
	}
	p := w.bySku[strings.ToLower(allot.ErrorTarget(err))]
	if p == nil {
		return allot.ErrorMessage(err)
	}
	r := w.reason(code, p)
	if !containsFold(added, p.SkuID) && code != allot.EInheritedLicense {
		return fmt.Sprintf("The change would also take %s away from the user: %s Remove it in the same change, or keep what it needs.", w.name(p.SkuPartNumber), r)
	}
	return r
}

// orList joins names for a sentence: "A", "A or B", "A, B or C".
func orList(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// words loads the words of the request's tenant.
func (s *Server) words(q *req) (*words, error) {
	products, err := s.st.Products(q.ctx(), q.tenant())
	if err != nil {
		return nil, err
	}
	return newWords(products), nil
}
