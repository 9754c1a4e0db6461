// Package country is the list of ISO 3166-1 alpha-2 country codes that a
// user's usage location may name, with their English names.
package country

import (
	"slices"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// iso holds the 249 officially assigned ISO 3166-1 alpha-2 codes, sorted.
var iso = strings.Fields(`
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ
EC EE EG EH ER ES ET
FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ
OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA
RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ
VA VC VE VG VI VN VU
WF WS
YE YT
ZA ZM ZW`)

// Valid tells whether code is an ISO 3166-1 alpha-2 country code
// (upper case, as stored).
func Valid(code string) bool {
	_, ok := slices.BinarySearch(iso, code)
	return ok
}

// Codes returns the country codes, sorted.
func Codes() []string { return slices.Clone(iso) }

// Name is the English name of a country code ("US" → "United States"), or
// the code itself when it names no country.
func Name(code string) string {
	r, err := language.ParseRegion(code)
	if err != nil || !r.IsCountry() {
		return code
	}
	if n := display.English.Regions().Name(r); n != "" {
		return n
	}
	return code
}

// Country is a code and its English name.
type Country struct{ Code, Name string }

// ByName returns every country, ordered by English name (for a picker).
func ByName() []Country {
	out := make([]Country, len(iso))
	for i, c := range iso {
		out[i] = Country{c, Name(c)}
	}
	slices.SortFunc(out, func(a, b Country) int { return strings.Compare(a.Name, b.Name) })
	return out
}
