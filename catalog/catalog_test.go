package catalog

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"allot"
)

var lowerGUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestCatalogIsWellFormed(t *testing.T) {
	products := Products()
	if len(products) == 0 {
		t.Fatal("Products() is empty")
	}
	byPart := map[string]allot.ProductDefinition{}
	for _, p := range products {
		byPart[p.SkuPartNumber] = p
	}

	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"every skuId is a lower-case GUID", func(t *testing.T) {
			for _, p := range products {
				if !lowerGUID.MatchString(p.SkuID) {
					t.Errorf("%s: skuId %q is not a lower-case GUID", p.SkuPartNumber, p.SkuID)
				}
			}
		}},
		{"every servicePlanId is a lower-case GUID", func(t *testing.T) {
			for _, p := range products {
				for _, sp := range p.ServicePlans {
					if !lowerGUID.MatchString(sp.ID) {
						t.Errorf("%s/%s: servicePlanId %q is not a lower-case GUID", p.SkuPartNumber, sp.Name, sp.ID)
					}
				}
			}
		}},
		{"part numbers are unique, ignoring case", func(t *testing.T) {
			seen := map[string]bool{}
			for _, p := range products {
				k := strings.ToLower(p.SkuPartNumber)
				if seen[k] {
					t.Errorf("skuPartNumber %q appears twice", p.SkuPartNumber)
				}
				seen[k] = true
			}
		}},
		{"skuIds are unique", func(t *testing.T) {
			seen := map[string]string{}
			for _, p := range products {
				if other, ok := seen[p.SkuID]; ok {
					t.Errorf("skuId %s used by %s and %s", p.SkuID, other, p.SkuPartNumber)
				}
				seen[p.SkuID] = p.SkuPartNumber
			}
		}},
		{"plan ids and plan names are unique within a product", func(t *testing.T) {
			for _, p := range products {
				ids, names := map[string]bool{}, map[string]bool{}
				for _, sp := range p.ServicePlans {
					if ids[sp.ID] {
						t.Errorf("%s: servicePlanId %s appears twice", p.SkuPartNumber, sp.ID)
					}
					if names[sp.Name] {
						t.Errorf("%s: servicePlanName %s appears twice", p.SkuPartNumber, sp.Name)
					}
					ids[sp.ID], names[sp.Name] = true, true
				}
			}
		}},
		{"a plan id means the same plan in every product", func(t *testing.T) {
			nameOf := map[string]string{}
			for _, p := range products {
				for _, sp := range p.ServicePlans {
					if n, ok := nameOf[sp.ID]; ok && n != sp.Name {
						t.Errorf("servicePlanId %s is %s in one product and %s in %s", sp.ID, n, sp.Name, p.SkuPartNumber)
					}
					nameOf[sp.ID] = sp.Name
				}
			}
		}},
		{"every product and plan has a name, a display name and user scope", func(t *testing.T) {
			for _, p := range products {
				if p.SkuPartNumber == "" || p.DisplayName == "" || len(p.ServicePlans) == 0 {
					t.Errorf("%+v: missing part number, display name or plans", p)
				}
				for _, sp := range p.ServicePlans {
					if sp.Name == "" || sp.DisplayName == "" {
						t.Errorf("%s/%s: missing plan name or display name", p.SkuPartNumber, sp.ID)
					}
					if sp.AppliesTo != "User" {
						t.Errorf("%s/%s: appliesTo = %q, want User", p.SkuPartNumber, sp.Name, sp.AppliesTo)
					}
				}
			}
		}},
		{"products are sorted by part number", func(t *testing.T) {
			if !slices.IsSortedFunc(products, func(a, b allot.ProductDefinition) int {
				return strings.Compare(a.SkuPartNumber, b.SkuPartNumber)
			}) {
				t.Error("Products() is not sorted by skuPartNumber")
			}
		}},
		{"every rule names a product in the catalog", func(t *testing.T) {
			for _, p := range products {
				for _, ref := range slices.Concat(p.Rules.RequiresAnyOf, p.Rules.MutuallyExclusiveWith) {
					if _, ok := byPart[ref]; !ok {
						t.Errorf("%s: rule refers to %q, which is not in the catalog", p.SkuPartNumber, ref)
					}
					if ref == p.SkuPartNumber {
						t.Errorf("%s: rule refers to the product itself", p.SkuPartNumber)
					}
				}
			}
		}},
		{"mutual exclusions go both ways", func(t *testing.T) {
			for _, p := range products {
				for _, other := range p.Rules.MutuallyExclusiveWith {
					if !slices.Contains(byPart[other].Rules.MutuallyExclusiveWith, p.SkuPartNumber) {
						t.Errorf("%s excludes %s but not the other way round", p.SkuPartNumber, other)
					}
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

func TestProductsReturnsAFreshCopy(t *testing.T) {
	first := Products()
	first[0].SkuPartNumber = "CHANGED"
	first[0].ServicePlans[0].ID = "changed"
	for i := range first {
		if len(first[i].Rules.MutuallyExclusiveWith) > 0 {
			first[i].Rules.MutuallyExclusiveWith[0] = "CHANGED"
		}
	}
	second := Products()
	if second[0].SkuPartNumber == "CHANGED" || second[0].ServicePlans[0].ID == "changed" {
		t.Error("changing the result of Products() changed the catalog")
	}
	for _, p := range second {
		if slices.Contains(p.Rules.MutuallyExclusiveWith, "CHANGED") {
			t.Errorf("%s: changing a rule of Products() changed the catalog", p.SkuPartNumber)
		}
	}
	p, _ := Lookup("SPE_E3")
	p.ServicePlans[0].Name = "CHANGED"
	if q, _ := Lookup("SPE_E3"); q.ServicePlans[0].Name == "CHANGED" {
		t.Error("changing the result of Lookup changed the catalog")
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want string // skuPartNumber; "" means not found
	}{
		{"finds a product by its part number", "SPE_E3", "SPE_E3"},
		{"finds a product by its part number in lower case", "spe_e5", "SPE_E5"},
		{"finds a product by its part number in mixed case", "ExchangeStandard", "EXCHANGESTANDARD"},
		{"finds a product by its skuId", "6fd2c87f-b296-42f0-b197-1e91e994b900", "ENTERPRISEPACK"},
		{"finds a product by its skuId in upper case", "C7DF2760-2C81-4EF7-B578-5B5392B571DF", "ENTERPRISEPREMIUM"},
		{"does not find an unknown part number", "NOT_A_PRODUCT", ""},
		{"does not find an unknown skuId", "00000000-0000-0000-0000-000000000000", ""},
		{"does not find a service plan id", "efb87545-963c-4e0d-99df-69c6916d9eb0", ""},
		{"does not find the empty string", "", ""},
		{"does not match a prefix", "SPE_E", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := Lookup(tt.key)
			if ok != (tt.want != "") {
				t.Fatalf("Lookup(%q) found = %v, want %v", tt.key, ok, tt.want != "")
			}
			if ok && p.SkuPartNumber != tt.want {
				t.Errorf("Lookup(%q) = %s, want %s", tt.key, p.SkuPartNumber, tt.want)
			}
		})
	}
}

// TestKnownIDs pins ids against Microsoft's "Product names and service plan
// identifiers for licensing".
func TestKnownIDs(t *testing.T) {
	skus := []struct {
		name, part, skuID string
	}{
		{"Microsoft 365 E3 keeps Microsoft's skuId", "SPE_E3", "05e9a617-0261-4cee-bb44-138d3ef5d965"},
		{"Microsoft 365 E5 keeps Microsoft's skuId", "SPE_E5", "06ebc4ee-1bb5-47dd-8120-11324bc54e06"},
		{"Office 365 E3 keeps Microsoft's skuId", "ENTERPRISEPACK", "6fd2c87f-b296-42f0-b197-1e91e994b900"},
		{"Office 365 E5 keeps Microsoft's skuId", "ENTERPRISEPREMIUM", "c7df2760-2c81-4ef7-b578-5b5392b571df"},
		{"Exchange Online Plan 1 keeps Microsoft's skuId", "EXCHANGESTANDARD", "4b9405b0-7788-4568-add1-99614e613b69"},
		{"Exchange Online Plan 2 keeps Microsoft's skuId", "EXCHANGEENTERPRISE", "19ec0d23-8335-4cbd-94ac-6050e30712fa"},
		{"Microsoft Workplace Analytics keeps Microsoft's skuId", "WORKPLACE_ANALYTICS", "3d957427-ecdc-4df2-aacd-01cc9d519da8"},
	}
	for _, tt := range skus {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := Lookup(tt.part)
			if !ok {
				t.Fatalf("%s is not in the catalog", tt.part)
			}
			if p.SkuID != tt.skuID {
				t.Errorf("%s skuId = %s, want %s", tt.part, p.SkuID, tt.skuID)
			}
		})
	}

	plans := []struct {
		name, part, planName, planID string
	}{
		{"Microsoft 365 E3 includes Exchange Online (Plan 2)", "SPE_E3", "EXCHANGE_S_ENTERPRISE", "efb87545-963c-4e0d-99df-69c6916d9eb0"},
		{"Microsoft 365 E5 includes Microsoft Defender for Endpoint", "SPE_E5", "WINDEFATP", "871d91ec-ec1a-452b-a83f-bd76c7d770ef"},
		{"Office 365 E3 includes Microsoft 365 Apps for enterprise", "ENTERPRISEPACK", "OFFICESUBSCRIPTION", "43de0ff5-c92c-492b-9116-175376d08c38"},
		{"Office 365 E5 includes Microsoft Teams", "ENTERPRISEPREMIUM", "TEAMS1", "57ff2da0-773e-42df-b2af-ffb7a2317929"},
		{"Exchange Online Plan 1 includes Exchange Online (Plan 1)", "EXCHANGESTANDARD", "EXCHANGE_S_STANDARD", "9aaf7827-d63c-4b61-89c3-182f06f82e5c"},
		{"Exchange Online Plan 2 includes Exchange Online (Plan 2)", "EXCHANGEENTERPRISE", "EXCHANGE_S_ENTERPRISE", "efb87545-963c-4e0d-99df-69c6916d9eb0"},
		{"Workplace Analytics includes the Insights user plan", "WORKPLACE_ANALYTICS", "WORKPLACE_ANALYTICS_INSIGHTS_USER", "b622badb-1b45-48d5-920f-4b27a2c0996c"},
		{"Workplace Analytics includes the Insights backend plan", "WORKPLACE_ANALYTICS", "WORKPLACE_ANALYTICS_INSIGHTS_BACKEND", "ff7b261f-d98b-415b-827c-42a3fdf015af"},
	}
	for _, tt := range plans {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := Lookup(tt.part)
			if !ok {
				t.Fatalf("%s is not in the catalog", tt.part)
			}
			sp, ok := p.Plan(tt.planID)
			if !ok {
				t.Fatalf("%s has no service plan %s", tt.part, tt.planID)
			}
			if sp.Name != tt.planName {
				t.Errorf("%s plan %s is named %s, want %s", tt.part, tt.planID, sp.Name, tt.planName)
			}
		})
	}
}

func TestRules(t *testing.T) {
	tests := []struct {
		name string
		part string
		want allot.ProductRules
	}{
		{"Exchange Online Plan 1 excludes Plan 2", "EXCHANGESTANDARD",
			allot.ProductRules{MutuallyExclusiveWith: []string{"EXCHANGEENTERPRISE"}}},
		{"Exchange Online Plan 2 excludes Plan 1", "EXCHANGEENTERPRISE",
			allot.ProductRules{MutuallyExclusiveWith: []string{"EXCHANGESTANDARD"}}},
		{"Microsoft 365 E3 has no rules", "SPE_E3", allot.ProductRules{}},
		{"Microsoft 365 E5 has no rules", "SPE_E5", allot.ProductRules{}},
		{"Office 365 E3 has no rules", "ENTERPRISEPACK", allot.ProductRules{}},
		{"Office 365 E5 has no rules", "ENTERPRISEPREMIUM", allot.ProductRules{}},
		{"Microsoft Workplace Analytics has no rules", "WORKPLACE_ANALYTICS", allot.ProductRules{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := Lookup(tt.part)
			if !ok {
				t.Fatalf("%s is not in the catalog", tt.part)
			}
			got := p.Rules
			if !slices.Equal(got.RequiresAnyOf, tt.want.RequiresAnyOf) ||
				!slices.Equal(got.MutuallyExclusiveWith, tt.want.MutuallyExclusiveWith) ||
				!slices.Equal(got.AvailableDataLocations, tt.want.AvailableDataLocations) ||
				!slices.Equal(got.AllowedUsageLocations, tt.want.AllowedUsageLocations) {
				t.Errorf("%s rules = %+v, want %+v", tt.part, got, tt.want)
			}
		})
	}
}
