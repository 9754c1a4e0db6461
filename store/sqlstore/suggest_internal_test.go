package sqlstore

import (
	"fmt"
	"testing"
)

func TestCaseVariantsVaryTheLeadingLettersOnly(t *testing.T) {
	for _, c := range []struct {
		text string
		max  int
		want string
	}{
		{"ab", 32, "[ab Ab aB AB]"},
		{"a 9", 32, "[a 9 A 9]"},
		{"42", 32, "[42]"},
		{"sales", 8, "[sal Sal sAl SAl saL SaL sAL SAL]"},
		{"Jo", 2, "[j J]"},
		{"zürich", 32, "[z Z]"},
		{"éa", 32, "[]"},
	} {
		if got := fmt.Sprint(caseVariants(c.text, c.max)); got != c.want {
			t.Errorf("caseVariants(%q, %d) = %s, want %s", c.text, c.max, got, c.want)
		}
	}
}
