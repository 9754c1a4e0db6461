package odata

import (
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Query holds the parsed list options of a request.
type Query struct {
	// Top is the page size: $top capped to the maximum, or the default when absent.
	Top int
	// Select lists the property names of $select in the order given, without
	// duplicates (compared case-insensitively); nil when $select is absent.
	Select []string
	// Filter is the parsed $filter, or nil when absent.
	Filter Expr
	// Count tells whether $count=true was given.
	Count bool
	// SkipToken is the raw $skiptoken value; decode it with DecodeSkipToken.
	SkipToken string
	// Search is the raw $search value, such as "displayName:adele" with its quotes.
	Search string
	// OrderBy is $orderby in normalised form: comma-separated items, each a
	// property path optionally followed by a space and asc or desc, as in
	// "displayName desc,userPrincipalName"; "" when absent.
	OrderBy string
	// Expand is the relationship a caller that handles $expand itself
	// expands; ParseQuery refuses $expand and leaves it "".
	Expand string
}

// supportedOptions lists the options ParseQuery understands, for error messages.
const supportedOptions = "allot supports $top, $select, $filter, $count, $skiptoken, $search and $orderby"

// unsupportedOptions are OData system query options allot does not implement.
// They are rejected with or without the $ prefix, because Graph treats both
// spellings as the same option.
var unsupportedOptions = map[string]bool{
	"expand": true, "skip": true, "format": true, "apply": true, "compute": true,
	"levels": true, "index": true, "schemaversion": true, "deltatoken": true,
}

// ParseQuery parses $top, $select, $filter, $count, $skiptoken, $search and
// $orderby from v. Option names are matched case-insensitively and may be
// given without the $ prefix, as Graph allows; giving an option twice (for
// example as both $top and top) is an error. defaultTop is used when $top is
// absent; a $top above maxTop is silently capped to maxTop (Graph caps at 999
// for users), and maxTop <= 0 means no cap. A $top that is not a whole number
// of at least 1 is an error, and $count must be true or false. Other
// $-prefixed options, such as $expand and $skip, give an error naming the
// option as unsupported; parameters without a $ that are not OData options are
// ignored. Every error is an *Error.
func ParseQuery(v url.Values, defaultTop, maxTop int) (Query, error) {
	q := Query{Top: defaultTop}
	if maxTop > 0 && q.Top > maxTop {
		q.Top = maxTop
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]bool{}
	for _, k := range keys {
		dollar := strings.HasPrefix(k, "$")
		base := strings.ToLower(strings.TrimPrefix(k, "$"))
		switch base {
		case "top", "select", "filter", "count", "skiptoken", "search", "orderby":
		default:
			if base == "expand" {
				return Query{}, errorf("the query option %s is not supported; read a relationship from its own route, such as /v1.0/users/{id}/memberOf or /v1.0/groups/{id}/members", k)
			}
			if unsupportedOptions[base] || dollar {
				return Query{}, errorf("the query option %s is not supported; %s", k, supportedOptions)
			}
			continue
		}
		name := "$" + base
		vals := v[k]
		if seen[name] || len(vals) > 1 {
			return Query{}, errorf("%s: the query option is given more than once; give it at most once", name)
		}
		seen[name] = true
		val := ""
		if len(vals) == 1 {
			val = vals[0]
		}
		var err error
		switch base {
		case "top":
			q.Top, err = parseTop(val, maxTop)
		case "select":
			q.Select, err = parseSelect(val)
		case "filter":
			q.Filter, err = ParseFilter(val)
		case "count":
			q.Count, err = parseCount(val)
		case "skiptoken":
			if val == "" {
				err = errorf("$skiptoken: the value is empty; use the @odata.nextLink of the previous response as is")
			}
			q.SkipToken = val
		case "search":
			q.Search = strings.TrimSpace(val)
			if q.Search == "" {
				err = errorf(`$search: the value is empty; give a search such as "displayName:adele"`)
			}
		case "orderby":
			q.OrderBy, err = parseOrderBy(val)
		}
		if err != nil {
			return Query{}, err
		}
	}
	return q, nil
}

// parseTop parses a $top value, capping it to maxTop when maxTop > 0.
func parseTop(val string, maxTop int) (int, error) {
	s := strings.TrimSpace(val)
	digits := s != "" && strings.Trim(s, "0123456789") == ""
	n, err := strconv.Atoi(s)
	switch {
	case digits && errors.Is(err, strconv.ErrRange) && maxTop > 0:
		return maxTop, nil
	case !digits || err != nil || n < 1:
		return 0, errorf("$top: %q is not a valid page size; it must be a whole number of at least 1", val)
	case maxTop > 0 && n > maxTop:
		return maxTop, nil
	}
	return n, nil
}

// parseCount parses a $count value.
func parseCount(val string) (bool, error) {
	switch s := strings.TrimSpace(val); {
	case strings.EqualFold(s, "true"):
		return true, nil
	case strings.EqualFold(s, "false"):
		return false, nil
	}
	return false, errorf("$count: %q is not valid; it must be true or false", val)
}

// validPath reports whether s is a property path: identifiers joined by "/".
func validPath(s string) bool {
	for _, seg := range strings.Split(s, "/") {
		if seg == "" || !isLetter(seg[0]) {
			return false
		}
		for i := 1; i < len(seg); i++ {
			if !isIdent(seg[i]) {
				return false
			}
		}
	}
	return true
}

// parseSelect parses a comma-separated $select list.
func parseSelect(val string) ([]string, error) {
	if strings.TrimSpace(val) == "" {
		return nil, errorf("$select: the value is empty; list property names separated by commas, as in id,displayName")
	}
	var out []string
	seen := map[string]bool{}
	for _, item := range strings.Split(val, ",") {
		name := strings.TrimSpace(item)
		if name == "" {
			return nil, errorf("$select: %q has an empty property name; list property names separated by commas, as in id,displayName", val)
		}
		if !validPath(name) {
			return nil, errorf("$select: %q is not a valid property name", name)
		}
		if key := strings.ToLower(name); !seen[key] {
			seen[key] = true
			out = append(out, name)
		}
	}
	return out, nil
}

// parseOrderBy validates a $orderby list and returns it in normalised form.
func parseOrderBy(val string) (string, error) {
	if strings.TrimSpace(val) == "" {
		return "", errorf("$orderby: the value is empty; give a property name optionally followed by asc or desc, as in displayName desc")
	}
	var items []string
	for _, item := range strings.Split(val, ",") {
		f := strings.Fields(item)
		switch {
		case len(f) == 0:
			return "", errorf("$orderby: %q has an empty item; separate items with commas, as in displayName desc,id", val)
		case len(f) > 2:
			return "", errorf("$orderby: %q is not valid; each item is a property name optionally followed by asc or desc", strings.TrimSpace(item))
		case !validPath(f[0]):
			return "", errorf("$orderby: %q is not a valid property name", f[0])
		case len(f) == 2 && !strings.EqualFold(f[1], "asc") && !strings.EqualFold(f[1], "desc"):
			return "", errorf("$orderby: %q is not a sort direction; use asc or desc", f[1])
		case len(f) == 2:
			items = append(items, f[0]+" "+strings.ToLower(f[1]))
		default:
			items = append(items, f[0])
		}
	}
	return strings.Join(items, ","), nil
}
