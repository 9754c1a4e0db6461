// Package membershiprule parses and evaluates the membership rules of
// dynamic groups in Microsoft Entra's syntax (user.department -eq "Sales"
// -and user.accountEnabled -eq true). It does no I/O: the store hands it
// users and writes the memberships it decides.
package membershiprule

import (
	"regexp"
	"slices"
	"strings"
)

// Node is one node of a rule's syntax tree: *And, *Or, *Not, *Cmp or *Any.
type Node interface{ node() }

// And is true when both sides are.
type And struct{ L, R Node }

// Or is true when either side is.
type Or struct{ L, R Node }

// Not negates X.
type Not struct{ X Node }

// Cmp compares a property with a value: user.<Prop> <Op> <Value>, or, inside
// -any/-all, assignedPlan.<Prop> <Op> <Value>.
type Cmp struct {
	// Object is "user" or "assignedPlan".
	Object string
	// Prop is the property's canonical (Graph) spelling.
	Prop  string
	Op    Op
	Value Value
	// re is the compiled pattern of -match and -notMatch.
	re *regexp.Regexp
}

// Any is user.assignedPlans -any (...) or -all (...): whether any (all) of
// the user's assigned service plans satisfy Cond.
type Any struct {
	Prop string // "assignedPlans"
	All  bool
	Cond Node
}

func (*And) node() {}
func (*Or) node()  {}
func (*Not) node() {}
func (*Cmp) node() {}
func (*Any) node() {}

// Op is a comparison operator.
type Op int

// Comparison operators.
const (
	OpEq Op = iota
	OpNe
	OpStartsWith
	OpNotStartsWith
	OpContains
	OpNotContains
	OpMatch
	OpNotMatch
	OpIn
	OpNotIn
)

// opNames spells each operator as Entra's documentation does.
var opNames = []string{"-eq", "-ne", "-startsWith", "-notStartsWith", "-contains", "-notContains", "-match", "-notMatch", "-in", "-notIn"}

// String returns the operator as Entra spells it.
func (o Op) String() string { return opNames[o] }

// ValueKind is the type of a literal.
type ValueKind int

// Literal kinds.
const (
	VString ValueKind = iota
	VBool
	VNull
	VList
)

// Value is a literal: a string, true/false, null or a list of strings.
type Value struct {
	Kind ValueKind
	Str  string
	Bool bool
	List []string
}

// Rule is a parsed membership rule.
type Rule struct {
	Root Node
}

// propKind tells how a property is compared.
type propKind int

const (
	kString propKind = iota
	kBool
	kPlans
)

// userProps are the user properties a rule may read, by lower-case name:
// their canonical spelling and kind.
var userProps = map[string]struct {
	name string
	kind propKind
}{}

// planProps are the properties of an assigned plan inside -any/-all.
var planProps = map[string]string{}

func init() {
	for _, p := range []string{"department", "usageLocation", "country", "city", "jobTitle", "employeeId", "companyName",
		"displayName", "userPrincipalName", "mail", "state", "officeLocation", "employeeType", "givenName", "surname",
		"mailNickname", "streetAddress", "postalCode", "mobilePhone", "preferredLanguage"} {
		userProps[strings.ToLower(p)] = struct {
			name string
			kind propKind
		}{p, kString}
	}
	userProps["accountenabled"] = struct {
		name string
		kind propKind
	}{"accountEnabled", kBool}
	userProps["assignedplans"] = struct {
		name string
		kind propKind
	}{"assignedPlans", kPlans}
	for _, p := range []string{"servicePlanId", "capabilityStatus", "service"} {
		planProps[strings.ToLower(p)] = p
	}
}

// Properties returns the user properties rules may read, sorted.
func Properties() []string {
	out := make([]string, 0, len(userProps))
	for _, p := range userProps {
		out = append(out, p.name)
	}
	slices.Sort(out)
	return out
}

// Reads returns the user properties the rule reads, sorted and distinct:
// only a change of one of them can change the rule's outcome for a user.
func Reads(r *Rule) []string {
	var out []string
	var walk func(n Node)
	walk = func(n Node) {
		switch n := n.(type) {
		case *And:
			walk(n.L)
			walk(n.R)
		case *Or:
			walk(n.L)
			walk(n.R)
		case *Not:
			walk(n.X)
		case *Cmp:
			out = append(out, n.Prop)
		case *Any:
			out = append(out, n.Prop)
		}
	}
	walk(r.Root)
	slices.Sort(out)
	return slices.Compact(out)
}
