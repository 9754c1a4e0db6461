// Package events delivers Microsoft Graph change notifications: it checks
// subscription requests as Graph does (resource, changeType, expiration,
// URLs), runs Graph's validation handshake with a notification URL, and
// dispatches the changes of the tenant's change feed to the subscriptions'
// receivers, in order, at least once, under a lease per subscription
// (docs/design.md, "Change notifications").
package events

import (
	"allot/internal/egress"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"allot"
)

// MaxExpiration is Graph's longest subscription to users and groups:
// 41,760 minutes (just under 29 days).
const MaxExpiration = 41760 * time.Minute

// Graph's error codes of subscription requests.
const (
	// CodeValidation refuses a notification URL that failed the handshake.
	CodeValidation allot.Code = "ValidationError"
	// CodeInvalidRequest refuses a subscription Graph cannot create.
	CodeInvalidRequest allot.Code = "InvalidRequest"
)

// Resource is a subscribed resource: users or groups, all of them or one
// (ID), or one group's members.
type Resource struct {
	Kind    string // "users" or "groups"
	ID      string // one object; "" for all
	Members bool   // groups/{id}/members
}

// String is the resource as the subscription shows it.
func (r Resource) String() string {
	s := r.Kind
	if r.ID != "" {
		s += "/" + r.ID
	}
	if r.Members {
		s += "/members"
	}
	return s
}

var guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func invalid(format string, args ...any) error {
	return allot.Errorf(CodeInvalidRequest, format, args...)
}

// ParseResource parses a subscription's resource: users, groups,
// users/{id}, groups/{id} or groups/{id}/members (a leading slash and the
// case of the collection are accepted, as Graph accepts them).
func ParseResource(s string) (Resource, error) {
	parts := strings.Split(strings.Trim(strings.TrimSpace(s), "/"), "/")
	bad := invalid("Resource '%s' is not supported; subscribe to users, groups, users/{id}, groups/{id} or groups/{id}/members.", s)
	if len(parts) == 0 || len(parts) > 3 {
		return Resource{}, bad
	}
	r := Resource{Kind: strings.ToLower(parts[0])}
	if r.Kind != "users" && r.Kind != "groups" {
		return Resource{}, bad
	}
	if len(parts) >= 2 {
		if !guidRe.MatchString(parts[1]) {
			return Resource{}, invalid("Resource '%s': '%s' is not an object id (a GUID).", s, parts[1])
		}
		r.ID = strings.ToLower(parts[1])
	}
	if len(parts) == 3 {
		if r.Kind != "groups" || !strings.EqualFold(parts[2], "members") {
			return Resource{}, bad
		}
		r.Members = true
	}
	return r, nil
}

// Change types of a notification.
const (
	Created = "created"
	Updated = "updated"
	Deleted = "deleted"
)

// ParseChangeType parses a comma-separated changeType. Users and groups
// support updated and deleted only, as in Graph: a user or group created
// or changed is updated, one deleted is deleted.
func ParseChangeType(s string) (string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch f {
		case Updated, Deleted:
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		case Created:
			return "", invalid("changeType 'created' is not supported for users and groups; use 'updated' (a user or group created or changed) and 'deleted'.")
		default:
			return "", invalid("changeType '%s' is not valid; use updated, deleted or both ('updated,deleted').", f)
		}
	}
	if len(out) == 0 {
		return "", invalid("changeType is required: updated, deleted or both.")
	}
	return strings.Join(out, ","), nil
}

// CheckExpiration checks a requested expiration against now: in the
// future and at most MaxExpiration ahead.
func CheckExpiration(now, exp time.Time) error {
	if !exp.After(now) {
		return invalid("Subscription expiration must be in the future.")
	}
	if exp.Sub(now) > MaxExpiration {
		return invalid("Subscription expiration can only be %d minutes in the future.", int(MaxExpiration/time.Minute))
	}
	return nil
}

// TLS versions a subscription may name as latestSupportedTlsVersion.
var tlsVersions = []string{"v1_0", "v1_1", "v1_2", "v1_3"}

// ParseTLSVersion parses latestSupportedTlsVersion ("" is v1_2, Graph's
// default).
func ParseTLSVersion(s string) (string, error) {
	if s == "" {
		return "v1_2", nil
	}
	for _, v := range tlsVersions {
		if strings.EqualFold(v, s) {
			return v, nil
		}
	}
	return "", invalid("latestSupportedTlsVersion '%s' is not valid; use one of %s.", s, strings.Join(tlsVersions, ", "))
}

// CheckURL checks a notification or lifecycle URL: absolute, without a
// fragment, and where the policy lets webhooks go (https to a public
// address, as Graph requires, unless the operator allows more).
func CheckURL(p egress.Policy, name, s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Fragment != "" {
		return invalid("%s '%s' is not an absolute http or https URL.", name, s)
	}
	if err := p.CheckURL(u); err != nil {
		return invalid("%s '%s' is refused: %s.", name, s, err)
	}
	return nil
}

// CheckClientState checks clientState: Graph allows at most 128 characters.
func CheckClientState(s string) error {
	if len(s) > 128 {
		return invalid("clientState is longer than 128 characters.")
	}
	return nil
}
