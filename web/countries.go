package web

import (
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// countryName is the English name of an ISO 3166 country code ("US" →
// "United States"), or the code when it names no country.
func countryName(code string) string {
	r, err := language.ParseRegion(code)
	if err != nil || !r.IsCountry() {
		return code
	}
	if n := display.English.Regions().Name(r); n != "" {
		return n
	}
	return code
}

// countryNames is countryName of each code.
func countryNames(codes []string) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = countryName(c)
	}
	return out
}
