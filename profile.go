package allot

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Limit is the longest value a string property may have, in characters,
// and for a string collection how many entries it may have (0: one value).
// Graph tells whether Microsoft Graph documents the limit; the others are
// allot's own, for properties Graph gives no maximum for.
type Limit struct {
	Max      int
	MaxItems int
	Graph    bool
}

// UPNAliasMax is the longest alias (the part before @) a userPrincipalName
// may have.
const UPNAliasMax = 64

// UserLimits holds the maximum length of every string property of a user,
// by Graph property name.
var UserLimits = map[string]Limit{
	"userPrincipalName":     {Max: 113, Graph: true},
	"displayName":           {Max: 256, Graph: true},
	"givenName":             {Max: 64, Graph: true},
	"surname":               {Max: 64, Graph: true},
	"jobTitle":              {Max: 128, Graph: true},
	"department":            {Max: 64, Graph: true},
	"mailNickname":          {Max: 64, Graph: true},
	"mobilePhone":           {Max: 64, Graph: true},
	"city":                  {Max: 128, Graph: true},
	"country":               {Max: 128, Graph: true},
	"state":                 {Max: 128, Graph: true},
	"streetAddress":         {Max: 1024, Graph: true},
	"postalCode":            {Max: 40, Graph: true},
	"companyName":           {Max: 64, Graph: true},
	"employeeId":            {Max: 16, Graph: true},
	"usageLocation":         {Max: 2, Graph: true},
	"businessPhones":        {Max: 64, MaxItems: 1, Graph: true},
	"mail":                  {Max: 256},
	"officeLocation":        {Max: 128},
	"preferredLanguage":     {Max: 35},
	"employeeType":          {Max: 64},
	"faxNumber":             {Max: 64},
	"onPremisesImmutableId": {Max: 256},
	"employeeHireDate":      {Max: 64},
	"ageGroup":              {Max: 8},
	"otherMails":            {Max: 256, MaxItems: 50},
	"proxyAddresses":        {Max: 256, MaxItems: 100},
}

// GroupLimits holds the maximum length of every string property of a group.
var GroupLimits = map[string]Limit{
	"displayName":  {Max: 256, Graph: true},
	"description":  {Max: 1024, Graph: true},
	"mailNickname": {Max: 64, Graph: true},
}

// ProfileText lists the single-valued optional profile properties of a user
// (UserProfile.Text), by Graph name, in the order they are shown.
var ProfileText = []string{"mailNickname", "mobilePhone", "officeLocation", "streetAddress", "city", "state", "postalCode",
	"country", "companyName", "employeeId", "employeeType", "employeeHireDate", "preferredLanguage", "faxNumber",
	"ageGroup", "onPremisesImmutableId"}

// ProfileLists lists the string-collection profile properties of a user
// (UserProfile.Lists).
var ProfileLists = []string{"businessPhones", "otherMails"}

// UserProfile holds a user's optional profile properties by Graph name:
// Text the ProfileText ones (absent or "" when not set), Lists the
// ProfileLists ones.
type UserProfile struct {
	Text  map[string]string
	Lists map[string][]string
}

// ageGroups are ageGroup's values as Graph spells them, by lower case.
var ageGroups = map[string]string{"minor": "Minor", "notadult": "NotAdult", "adult": "Adult"}

// CheckLength refuses a value of property longer than its limit.
func CheckLength(typeName, property, value string, l Limit) error {
	if n := utf8.RuneCountInString(value); n > l.Max {
		return Errorf(EInvalid, "Invalid value specified for property '%s' of resource '%s': it has %d characters; the maximum is %d.",
			property, typeName, n, l.Max)
	}
	return nil
}

// CheckList refuses a string collection with too many entries or too long
// an entry.
func CheckList(typeName, property string, values []string, l Limit) error {
	if len(values) > l.MaxItems {
		return Errorf(EInvalid, "Invalid value specified for property '%s' of resource '%s': it has %d entries; the maximum is %d.",
			property, typeName, len(values), l.MaxItems)
	}
	for _, v := range values {
		if err := CheckLength(typeName, property, v, l); err != nil {
			return err
		}
	}
	return nil
}

// Normalize checks the profile's lengths and values and puts them in
// Graph's form: ageGroup spelled as Graph does, employeeHireDate in UTC.
// Empty values are dropped.
func (p *UserProfile) Normalize() error {
	for k, v := range p.Text {
		l, ok := UserLimits[k]
		if !ok {
			return Errorf(EInvalid, "Property '%s' does not exist on type 'microsoft.graph.user'.", k)
		}
		if err := CheckLength("User", k, v, l); err != nil {
			return err
		}
		if v == "" {
			delete(p.Text, k)
			continue
		}
		nv, err := normalizeProfileValue(k, v)
		if err != nil {
			return err
		}
		p.Text[k] = nv
	}
	for k, v := range p.Lists {
		if err := CheckList("User", k, v, UserLimits[k]); err != nil {
			return err
		}
		for _, a := range v {
			if k == "otherMails" && !strings.Contains(a, "@") {
				return Errorf(EInvalid, "otherMails entry '%s' must be an email address.", a)
			}
		}
		if len(v) == 0 {
			delete(p.Lists, k)
		}
	}
	return nil
}

func normalizeProfileValue(k, v string) (string, error) {
	switch k {
	case "ageGroup":
		g, ok := ageGroups[strings.ToLower(v)]
		if !ok {
			return "", Errorf(EInvalid, "ageGroup must be null, Minor, NotAdult or Adult, not '%s'.", v)
		}
		return g, nil
	case "employeeHireDate":
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return "", Errorf(EInvalid, "employeeHireDate must be a date and time such as 2024-01-31T00:00:00Z, not '%s'.", v)
		}
		return t.UTC().Format("2006-01-02T15:04:05Z"), nil
	case "onPremisesImmutableId":
		if strings.ContainsAny(v, "$_") {
			return "", Errorf(EInvalid, "onPremisesImmutableId cannot contain '$' or '_'.")
		}
	}
	return v, nil
}

// Clone returns a deep copy of the profile.
func (p UserProfile) Clone() UserProfile {
	out := UserProfile{Text: make(map[string]string, len(p.Text)), Lists: make(map[string][]string, len(p.Lists))}
	for k, v := range p.Text {
		out.Text[k] = v
	}
	for k, v := range p.Lists {
		out.Lists[k] = append([]string(nil), v...)
	}
	return out
}
