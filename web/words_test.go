package web

import (
	"testing"

	"allot"
	"allot/catalog"
)

func product(t *testing.T, part string, enabled, consumed int) *allot.Product {
	t.Helper()
	d, ok := catalog.Lookup(part)
	if !ok {
		t.Fatalf("catalog has no %s", part)
	}
	return &allot.Product{ProductDefinition: d, EnabledUnits: enabled, ConsumedUnits: consumed}
}

func TestWordsSayProductNamesNotPartNumbers(t *testing.T) {
	ins := product(t, "WORKPLACE_ANALYTICS_INSIGHTS", 1000, 1000)
	e3 := product(t, "SPE_E3", 5, 5)
	e5 := product(t, "SPE_E5", 5, 1)
	for _, c := range []struct {
		name  string
		owned []*allot.Product
		code  allot.Code
		p     *allot.Product
		want  string
	}{
		{"a prerequisite names only the products the organization has", []*allot.Product{ins, e3, e5}, allot.EPrerequisiteMissing, ins,
			"Microsoft Workplace Analytics Insights needs Microsoft 365 E3 or Microsoft 365 E5 first: assign it to the user (directly or through a group)."},
		{"a prerequisite the organization has none of says to buy one", []*allot.Product{ins}, allot.EPrerequisiteMissing, ins,
			"Microsoft Workplace Analytics Insights needs Office 365 E3, Office 365 E5, Microsoft 365 E3 or Microsoft 365 E5 first, and this organization has none of them: buy one, then assign it to the user."},
		{"no seats formats the number", []*allot.Product{ins}, allot.ENoSeats, ins,
			"No Microsoft Workplace Analytics Insights seats left: all 1,000 are in use. Free a seat, or add seats to the subscription; people waiting get a seat automatically when one frees up."},
		{"no usage location says usage location, not the field", []*allot.Product{e3}, allot.EUsageLocationNeeded, e3,
			"The user has no usage location: set the country where the user works, then assign Microsoft 365 E3."},
		{"mutually exclusive names products either way round", []*allot.Product{e3, product(t, "ENTERPRISEPACK", 5, 0)}, allot.EMutuallyExclusive, e3, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := newWords(c.owned).reason(c.code, c.p)
			if c.want != "" && got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
			if partNumber(got) {
				t.Errorf("%q shows a part number", got)
			}
		})
	}
}

func TestWordsSayASideEffectLoss(t *testing.T) {
	ins := product(t, "WORKPLACE_ANALYTICS_INSIGHTS", 10, 1)
	e3 := product(t, "SPE_E3", 5, 5)
	w := newWords([]*allot.Product{ins, e3})
	err := &allot.Error{Code: allot.EPrerequisiteMissing, Message: "The change would also take WORKPLACE_ANALYTICS_INSIGHTS away…", Target: ins.SkuID}
	want := "The change would also take Microsoft Workplace Analytics Insights away from the user: Microsoft Workplace Analytics Insights needs Microsoft 365 E3 first: assign it to the user (directly or through a group). Remove it in the same change, or keep what it needs."
	if got := w.err(err); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := w.err(err, ins.SkuID); got != w.reason(allot.EPrerequisiteMissing, ins) {
		t.Errorf("the product asked for is not a side effect: %q", got)
	}
	if got := w.err(allot.Errorf(allot.EInvalid, "Plain words.")); got != "Plain words." {
		t.Errorf("other errors keep their message: %q", got)
	}
}

func partNumber(s string) bool {
	for i := 1; i+1 < len(s); i++ {
		if s[i] == '_' && s[i-1] >= 'A' && s[i-1] <= 'Z' && s[i+1] >= 'A' && s[i+1] <= 'Z' {
			return true
		}
	}
	return false
}
