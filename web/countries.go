package web

import "allot/internal/country"

// countryName is the English name of an ISO 3166 country code ("US" →
// "United States"), or the code when it names no country.
func countryName(code string) string { return country.Name(code) }

// countryNames is countryName of each code.
func countryNames(codes []string) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = countryName(c)
	}
	return out
}

// countryChoices are the countries to pick from, by name; a current value
// that names no country (stored before the list was checked) is kept as a
// choice so that the form does not change it unasked.
func countryChoices(current string) []country.Country {
	all := country.ByName()
	if current != "" && !country.Valid(current) {
		all = append([]country.Country{{Code: current, Name: current}}, all...)
	}
	return all
}
