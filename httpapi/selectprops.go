package httpapi

import (
	"strings"

	"allot"
)

// What $select may name on users and groups: the properties allot serves.
// Graph refuses a property its type does not have with 400; so does allot,
// rather than answering without it.
var (
	userProps = propSet(append(append([]string{"id", "userPrincipalName", "displayName", "givenName", "surname", "mail",
		"jobTitle", "department", "usageLocation", "accountEnabled", "proxyAddresses", "createdDateTime",
		"assignedLicenses", "assignedPlans", "licenseAssignmentStates", "signInActivity"}, allot.ProfileText...), allot.ProfileLists...))
	groupProps = propSet([]string{"id", "displayName", "description", "mailNickname", "mailEnabled", "securityEnabled",
		"groupTypes", "createdDateTime", "assignedLicenses", "licenseProcessingState", "membershipRule", "membershipRuleProcessingState"})
)

func propSet(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}

// checkSelect refuses a $select property that none of the types (by Graph
// name: user, group) has; a directoryObject list passes both.
func checkSelect(sel []string, types ...string) error {
	for _, f := range sel {
		f = strings.TrimSpace(f)
		if f == "" || f == "*" || strings.HasPrefix(f, "@") {
			continue
		}
		ok := false
		for _, t := range types {
			switch t {
			case "user":
				ok = ok || userProps[strings.ToLower(f)]
			case "group":
				ok = ok || groupProps[strings.ToLower(f)]
			}
		}
		if !ok {
			return allot.Errorf(allot.EInvalid, "Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.%s'.",
				f, strings.Join(types, "' or 'microsoft.graph."))
		}
	}
	return nil
}
