package web

import (
	"time"

	"allot/httpapi"
	"allot/store"
	"allot/store/sqlstore"
)

// ---- API clients ----

// clientsModel is the API clients page: every client the person may see,
// as GET /allot/v1/apiClients lists them (never a secret).
type clientsModel struct {
	Clients []*sqlstore.APIClient
	Now     time.Time
	Own     bool // only the person's own clients are listed
}

// clientsNeed is what the page needs, any one of: the API's GET
// /allot/v1/apiClients needs the same.
const clientsNeed = httpapi.PermClientsRead | httpapi.PermClientsWrite

func (s *Server) clients(q *req) error {
	owner := clientsOwner(q)
	cs, err := s.st.APIClients(q.ctx(), q.tenant(), owner)
	if err != nil {
		return err
	}
	m := &clientsModel{Clients: cs, Now: time.Now(), Own: owner != nil}
	return q.render(clientsPage(q.view("API clients", "clients"), m))
}

// clientsOwner is whose clients the person sees, as in the API: everyone's
// with clients.read (nil), else their own.
func clientsOwner(q *req) *store.Principal {
	if q.perms&httpapi.PermClientsRead != 0 {
		return nil
	}
	return q.p
}

// scopeWords names an API client's scopes (Graph permission names) in the
// admin center's words.
var scopeWords = map[string]string{
	httpapi.SCIMScope:                    "SCIM provisioning",
	"User.Read.All":                      "Read users",
	"User.ReadWrite.All":                 "Read and write users",
	"Group.Read.All":                     "Read groups",
	"Group.ReadWrite.All":                "Read and write groups",
	"GroupMember.ReadWrite.All":          "Manage group members",
	"LicenseAssignment.Read.All":         "Read license assignments",
	"LicenseAssignment.ReadWrite.All":    "Assign licenses",
	"Organization.Read.All":              "Read the organization",
	"Organization.ReadWrite.All":         "Manage products and seats",
	"Directory.Read.All":                 "Read the directory",
	"Directory.ReadWrite.All":            "Read and write the directory",
	"AuditLog.Read.All":                  "Read the audit log",
	"Reports.Read.All":                   "Read reports",
	"RoleManagement.Read.Directory":      "Read roles",
	"RoleManagement.ReadWrite.Directory": "Manage roles",
	"Application.Read.All":               "Read API clients",
	"Application.ReadWrite.All":          "Manage API clients",
}

// scopeWord is a scope in words; a scope without words keeps its name.
func scopeWord(scope string) string {
	if w, ok := scopeWords[scope]; ok {
		return w
	}
	return scope
}

// clientState says whether a client's token still works: "Active",
// "Revoked" or "Expired".
func clientState(c *sqlstore.APIClient, now time.Time) string {
	switch {
	case !c.RevokedAt.IsZero():
		return "Revoked"
	case !c.ExpiresAt.IsZero() && !c.ExpiresAt.After(now):
		return "Expired"
	}
	return "Active"
}

// stateTag is the tag class of a client state.
func stateTag(state string) string {
	if state == "Active" {
		return "tag ok"
	}
	return "tag off"
}

// ago says how long before now t was: "just now", "5 minutes ago",
// "3 days ago".
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute", "minutes") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour", "hours") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day", "days") + " ago"
}

// isoTime is t for a <time datetime> attribute.
func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
