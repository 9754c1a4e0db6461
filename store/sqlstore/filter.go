package sqlstore

import (
	"strings"

	"allot"
	"allot/odata"
)

type fieldKind int

const (
	fString fieldKind = iota
	fKey              // lower-cased key column: compare lower-cased
	fBool
	fGUID
	fErrorFlag
)

type field struct {
	col  string
	kind fieldKind
}

var userFields = map[string]field{
	"id":                {"u.guid", fGUID},
	"userprincipalname": {"u.upn_key", fKey},
	"displayname":       {"u.display_name", fString},
	"givenname":         {"u.given_name", fString},
	"surname":           {"u.surname", fString},
	"mail":              {"u.mail", fString},
	"jobtitle":          {"u.job_title", fString},
	"department":        {"u.department", fString},
	"usagelocation":     {"u.usage_location", fString},
	"accountenabled":    {"u.account_enabled", fBool},
}

var groupFields = map[string]field{
	"id":                          {"g.guid", fGUID},
	"displayname":                 {"g.display_name", fString},
	"description":                 {"g.description", fString},
	"mailnickname":                {"g.mail_nickname", fString},
	"securityenabled":             {"g.security_enabled", fBool},
	"mailenabled":                 {"g.mail_enabled", fBool},
	"haswithlicenseerrors":        {"g.error_count", fErrorFlag},
	"hasmemberswithlicenseerrors": {"g.error_count", fErrorFlag},
}

func filterErr(format string, args ...any) error {
	return allot.Errorf(allot.EInvalid, "$filter: "+format, args...)
}

// compileFilter turns a parsed $filter into a SQL condition over the fields.
func compileFilter(e odata.Expr, fields map[string]field) (string, []any, error) {
	if e == nil {
		return "", nil, nil
	}
	switch x := e.(type) {
	case *odata.And:
		l, la, err := compileFilter(x.Left, fields)
		if err != nil {
			return "", nil, err
		}
		r, ra, err := compileFilter(x.Right, fields)
		if err != nil {
			return "", nil, err
		}
		return "(" + l + " AND " + r + ")", append(la, ra...), nil
	case *odata.Compare:
		f, ok := fields[strings.ToLower(x.Field)]
		if !ok {
			return "", nil, filterErr("property '%s' cannot be filtered on; filterable properties: %s.", x.Field, fieldNames(fields))
		}
		switch f.kind {
		case fBool, fErrorFlag:
			if x.Value.Kind != odata.KindBool {
				return "", nil, filterErr("'%s' is a boolean; compare it with true or false.", x.Field)
			}
			if f.kind == fErrorFlag {
				if x.Value.Bool {
					return f.col + " > 0", nil, nil
				}
				return f.col + " = 0", nil, nil
			}
			return f.col + " = ?", []any{b2i(x.Value.Bool)}, nil
		case fGUID:
			if x.Value.Kind != odata.KindGUID && x.Value.Kind != odata.KindString {
				return "", nil, filterErr("'%s' is compared with a GUID.", x.Field)
			}
			return f.col + " = ?", []any{strings.ToLower(x.Value.Str)}, nil
		default:
			if x.Value.Kind == odata.KindNull {
				return f.col + " = ''", nil, nil
			}
			if x.Value.Kind != odata.KindString && x.Value.Kind != odata.KindGUID {
				return "", nil, filterErr("'%s' is a string; quote the value: %s eq 'text'.", x.Field, x.Field)
			}
			if f.kind == fKey {
				return f.col + " = ?", []any{allot.NormalizeKey(x.Value.Str)}, nil
			}
			return "LOWER(" + f.col + ") = ?", []any{strings.ToLower(x.Value.Str)}, nil
		}
	case *odata.StartsWith:
		f, ok := fields[strings.ToLower(x.Field)]
		if !ok || (f.kind != fString && f.kind != fKey) {
			return "", nil, filterErr("startswith() works on text properties: %s.", fieldNames(fields))
		}
		return "LOWER(" + f.col + ") LIKE ? ESCAPE '\\'", []any{likePrefix(strings.ToLower(x.Prefix))}, nil
	case *odata.Any:
		coll := strings.ToLower(x.Collection)
		switch {
		case coll == "assignedlicenses" && strings.EqualFold(x.Field, "skuId") && fields["userprincipalname"].col != "":
			if x.Value.Kind != odata.KindGUID {
				return "", nil, filterErr("assignedLicenses/any(x:x/skuId eq GUID) needs an unquoted GUID.")
			}
			return `EXISTS (SELECT 1 FROM license_states ls JOIN products p ON p.id = ls.product_id
				WHERE ls.user_id = u.id AND ls.state = 'Active' AND p.sku_guid = ?)`, []any{x.Value.Str}, nil
		case coll == "assignedlicenses" && strings.EqualFold(x.Field, "skuId"):
			if x.Value.Kind != odata.KindGUID {
				return "", nil, filterErr("assignedLicenses/any(x:x/skuId eq GUID) needs an unquoted GUID.")
			}
			return `EXISTS (SELECT 1 FROM group_licenses gl JOIN products p ON p.id = gl.product_id
				WHERE gl.group_id = g.id AND p.sku_guid = ?)`, []any{x.Value.Str}, nil
		case coll == "proxyaddresses" && x.Field == "" && fields["userprincipalname"].col != "":
			if x.Value.Kind != odata.KindString {
				return "", nil, filterErr("proxyAddresses/any(p:p eq 'smtp:alias@domain') needs a quoted address.")
			}
			return `EXISTS (SELECT 1 FROM proxy_addresses pa WHERE pa.user_id = u.id AND pa.addr_key = ?)`, []any{allot.NormalizeKey(x.Value.Str)}, nil
		}
		return "", nil, filterErr("any() is supported on assignedLicenses/any(x:x/skuId eq GUID) and, for users, proxyAddresses/any(p:p eq 'address').")
	}
	return "", nil, filterErr("unsupported expression.")
}

func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

func fieldNames(fields map[string]field) string {
	names := map[string]string{
		"id": "id", "userprincipalname": "userPrincipalName", "displayname": "displayName", "givenname": "givenName",
		"surname": "surname", "mail": "mail", "jobtitle": "jobTitle", "department": "department", "usagelocation": "usageLocation",
		"accountenabled": "accountEnabled", "description": "description", "mailnickname": "mailNickname",
		"securityenabled": "securityEnabled", "mailenabled": "mailEnabled", "hasmemberswithlicenseerrors": "hasMembersWithLicenseErrors",
	}
	var out []string
	for k := range fields {
		if n, ok := names[k]; ok {
			out = append(out, n)
		}
	}
	sortStrings(out)
	return strings.Join(out, ", ")
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
