package country

import (
	"slices"
	"testing"
)

// The list is sorted (Valid searches it), holds the 249 codes, and every
// code has a name.
func TestList(t *testing.T) {
	if !slices.IsSorted(iso) || len(iso) != 249 {
		t.Fatalf("sorted %v, %d codes", slices.IsSorted(iso), len(iso))
	}
	for _, c := range iso {
		if Name(c) == c {
			t.Errorf("%s has no name", c)
		}
	}
	for c, want := range map[string]bool{"US": true, "DE": true, "ZZ": false, "USA": false, "us": false, "EU": false} {
		if Valid(c) != want {
			t.Errorf("Valid(%q) = %v", c, !want)
		}
	}
}
