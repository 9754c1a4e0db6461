package membershiprule

import (
	"slices"
	"strings"
)

// User is what a rule reads of a user.
type User struct {
	// Text holds the string properties by canonical name (department,
	// city, ...); absent or "" is null.
	Text           map[string]string
	AccountEnabled bool
	AssignedPlans  []Plan
}

// Plan is one service plan assigned to a user.
type Plan struct {
	ServicePlanID    string
	CapabilityStatus string // "Enabled", "Suspended", ...
	Service          string
}

// Eval tells whether the user satisfies the rule. Text comparisons ignore
// case, as Entra's do; null equals an empty or missing value.
func Eval(r *Rule, u User) bool { return eval(r.Root, u, nil) }

func eval(n Node, u User, plan *Plan) bool {
	switch n := n.(type) {
	case *And:
		return eval(n.L, u, plan) && eval(n.R, u, plan)
	case *Or:
		return eval(n.L, u, plan) || eval(n.R, u, plan)
	case *Not:
		return !eval(n.X, u, plan)
	case *Any:
		for i := range u.AssignedPlans {
			if eval(n.Cond, u, &u.AssignedPlans[i]) != n.All {
				return !n.All
			}
		}
		return n.All
	case *Cmp:
		if n.Value.Kind == VBool {
			return (u.AccountEnabled == n.Value.Bool) == (n.Op == OpEq)
		}
		return compare(n, value(n, u, plan))
	}
	return false
}

func value(c *Cmp, u User, plan *Plan) string {
	if c.Object == "assignedPlan" {
		if plan == nil {
			return ""
		}
		switch c.Prop {
		case "servicePlanId":
			return plan.ServicePlanID
		case "capabilityStatus":
			return plan.CapabilityStatus
		}
		return plan.Service
	}
	if c.Prop == "accountEnabled" {
		if u.AccountEnabled {
			return "true"
		}
		return "false"
	}
	return u.Text[c.Prop]
}

func compare(c *Cmp, v string) bool {
	if c.Value.Kind == VNull {
		return (v == "") == (c.Op == OpEq)
	}
	lv, lw := strings.ToLower(v), strings.ToLower(c.Value.Str)
	switch c.Op {
	case OpEq:
		return lv == lw
	case OpNe:
		return lv != lw
	case OpStartsWith:
		return strings.HasPrefix(lv, lw)
	case OpNotStartsWith:
		return !strings.HasPrefix(lv, lw)
	case OpContains:
		return strings.Contains(lv, lw)
	case OpNotContains:
		return !strings.Contains(lv, lw)
	case OpMatch:
		return c.re.MatchString(v)
	case OpNotMatch:
		return !c.re.MatchString(v)
	case OpIn, OpNotIn:
		in := slices.ContainsFunc(c.Value.List, func(s string) bool { return strings.EqualFold(s, v) })
		return in == (c.Op == OpIn)
	}
	return false
}
