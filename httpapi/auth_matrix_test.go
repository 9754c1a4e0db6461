package httpapi

// The role × route matrix: testdata/access.md says, for every route and
// every role (and some scoped API clients), whether the caller gets past the
// route's permission check (✓) or is refused with 403 (✗). The test fails
// when a route has no row, when a cell disagrees with what the server does,
// and when a read-only caller changes anything in the database.

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"allot/store"
	"allot/store/sqlstore"
)

const accessFile = "testdata/access.md"

// matrixColumns are the callers of the matrix, in the file's column order.
var matrixColumns = []string{
	store.RoleGlobalAdmin, store.RoleLicenseAdmin, store.RoleUserAdmin, store.RoleGlobalReader,
	store.RoleInsightsAdmin, store.RoleInsightsLeader, "No role",
	"GA client: Directory.Read.All", "GA client: LicenseAssignment.ReadWrite.All",
	"LA client: User.ReadWrite.All", "UA client: Group.ReadWrite.All", "Operator token: Global Reader",
}

// readOnlyColumns must never change anything but, through
// /allot/v1/me/totp, the caller's own authenticator app (selfService).
var readOnlyColumns = map[string]bool{
	store.RoleGlobalReader: true, store.RoleInsightsAdmin: true, store.RoleInsightsLeader: true, "No role": true,
	"GA client: Directory.Read.All": true, "Operator token: Global Reader": true,
}

// accessTable is the parsed access.md: route → column → "✓", "✗" or "public".
type accessTable map[string]map[string]string

func readAccessTable(t *testing.T) accessTable {
	t.Helper()
	f, err := os.Open(accessFile)
	if err != nil {
		t.Fatalf("read the expected matrix: %v", err)
	}
	defer f.Close()
	out := accessTable{}
	var header []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(strings.Trim(strings.TrimSpace(cells[i]), "`"))
		}
		if header == nil {
			header = cells
			if header[0] != "Route" || len(header) != len(matrixColumns)+1 {
				t.Fatalf("%s: the header must be | Route | %s |", accessFile, strings.Join(matrixColumns, " | "))
			}
			for i, c := range matrixColumns {
				if header[i+1] != c {
					t.Fatalf("%s: column %d is %q, want %q", accessFile, i+1, header[i+1], c)
				}
			}
			continue
		}
		if strings.HasPrefix(cells[0], "---") || strings.HasPrefix(cells[0], ":--") {
			continue
		}
		if len(cells) != len(header) {
			t.Fatalf("%s: row %q has %d cells, want %d", accessFile, cells[0], len(cells), len(header))
		}
		row := map[string]string{}
		for i, c := range matrixColumns {
			v := cells[i+1]
			if v != "✓" && v != "✗" && v != "public" {
				t.Fatalf("%s: row %q column %q is %q; write ✓, ✗ or public", accessFile, cells[0], c, v)
			}
			row[c] = v
		}
		if _, dup := out[cells[0]]; dup {
			t.Fatalf("%s: route %q twice", accessFile, cells[0])
		}
		out[cells[0]] = row
	}
	return out
}

// matrixCaller makes the caller of a column in env e.
func matrixCaller(e *authEnv, column string) any {
	e.t.Helper()
	switch column {
	case "No role":
		_, c := e.person("norole@contoso.com")
		return c
	case "GA client: Directory.Read.All", "GA client: LicenseAssignment.ReadWrite.All":
		_, c := e.person("ga.owner@contoso.com", store.RoleGlobalAdmin)
		_, tok := e.client(c, "matrix", strings.TrimPrefix(column, "GA client: "))
		return tok
	case "LA client: User.ReadWrite.All":
		_, c := e.person("la.owner@contoso.com", store.RoleLicenseAdmin)
		_, tok := e.client(c, "matrix", "User.ReadWrite.All")
		return tok
	case "UA client: Group.ReadWrite.All":
		_, c := e.person("ua.owner@contoso.com", store.RoleUserAdmin)
		_, tok := e.client(c, "matrix", "Group.ReadWrite.All")
		return tok
	case "Operator token: Global Reader":
		tok := remember("allot_operator-reader-" + strings.Repeat("r", 32))
		if err := e.st.CreateToken(context.Background(), e.tenant.ID, "reader", store.RoleGlobalReader, tok); err != nil {
			e.t.Fatal(err)
		}
		return tok
	}
	_, c := e.person("matrix@contoso.com", column)
	return c
}

// matrixVictims are objects that allowed destructive requests act on, so
// that they never remove the caller itself.
type matrixVictims struct {
	client, assignment string
}

func newVictims(e *authEnv) matrixVictims {
	e.t.Helper()
	_, c := e.person("victim.owner@contoso.com", store.RoleGlobalAdmin)
	id, _ := e.client(c, "victim", "User.Read.All")
	ra := e.must(201, "POST", "/v1.0/roleManagement/directory/roleAssignments", map[string]any{
		"principalId": e.other.GUID, "roleDefinitionId": store.RoleIDInsightsLeader, "directoryScopeId": "/"}, e.op)
	return matrixVictims{client: id, assignment: ra["id"].(string)}
}

// matrixRequest is the request the matrix sends for a route.
func matrixRequest(e *authEnv, v matrixVictims, pattern string) (method, path string, body any) {
	method, path, _ = strings.Cut(pattern, " ")
	repl := map[string]string{}
	switch {
	case strings.HasPrefix(path, "/v1.0/users/"), strings.HasPrefix(path, "/allot/v1/users/"):
		repl["{id}"] = e.target.GUID
	case strings.HasPrefix(path, "/v1.0/groups/"), strings.HasPrefix(path, "/allot/v1/groups/"):
		repl["{id}"], repl["{mid}"] = e.group.GUID, e.other.GUID
	case strings.Contains(path, "subscribedSkus/"):
		repl["{id}"] = e.skuE3
	case strings.Contains(path, "apiClients/"):
		repl["{id}"] = v.client
	case strings.Contains(path, "roleAssignments/"):
		repl["{id}"] = v.assignment
	case strings.Contains(path, "roleDefinitions/"):
		repl["{id}"] = store.RoleIDInsightsLeader
	}
	for k, val := range repl {
		path = strings.ReplaceAll(path, k, val)
	}
	lic := map[string]any{"addLicenses": []map[string]any{{"skuId": e.skuE3, "disabledPlans": []string{}}}, "removeLicenses": []string{}}
	switch pattern {
	case "POST /v1.0/users":
		body = map[string]any{"userPrincipalName": "new@contoso.com", "displayName": "New", "usageLocation": "US", "accountEnabled": true}
	case "PATCH /v1.0/users/{id}":
		body = map[string]any{"usageLocation": "CA"}
	case "POST /v1.0/users/{id}/assignLicense", "POST /v1.0/groups/{id}/assignLicense":
		body = lic
	case "POST /v1.0/groups":
		body = map[string]any{"displayName": "New group", "mailEnabled": false, "mailNickname": "newgroup", "securityEnabled": true}
	case "PATCH /v1.0/groups/{id}":
		body = map[string]any{"description": "changed"}
	case "POST /v1.0/groups/{id}/members/$ref":
		body = map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + e.other.GUID}
	case "POST /allot/v1/subscribedSkus":
		body = map[string]any{"skuPartNumber": "ENTERPRISEPACK", "enabledUnits": 5}
	case "PATCH /allot/v1/subscribedSkus/{id}":
		body = map[string]any{"enabledUnits": 20}
	case "POST /allot/v1/preview":
		body = map[string]any{"action": "userAssignLicense", "userId": e.target.GUID, "addLicenses": lic["addLicenses"]}
	case "POST /allot/v1/users/resolve":
		body = map[string]any{"addresses": []string{"target@contoso.com"}}
	case "POST /allot/v1/licenses/assign":
		body = map[string]any{"skuId": e.skuE5, "userIds": []string{e.other.GUID}}
	case "POST /allot/v1/apiClients":
		body = map[string]any{"displayName": "new client", "scopes": []string{"User.Read.All"}}
	case "POST /v1.0/roleManagement/directory/roleAssignments":
		body = map[string]any{"principalId": e.target.GUID, "roleDefinitionId": store.RoleIDInsightsLeader, "directoryScopeId": "/"}
	default:
		if method == "POST" || method == "PATCH" {
			body = map[string]any{}
		}
	}
	return method, path, body
}

// sortedRoutes returns the server's routes, destructive ones last.
func sortedRoutes(s *Server) []string {
	var out []string
	for p := range s.Routes() {
		out = append(out, p)
	}
	rank := func(p string) int {
		switch {
		case strings.HasPrefix(p, "GET "):
			return 0
		case strings.HasPrefix(p, "DELETE "):
			return 2
		}
		return 1
	}
	sort.Slice(out, func(i, j int) bool {
		if rank(out[i]) != rank(out[j]) {
			return rank(out[i]) < rank(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

func TestAccessMatrix(t *testing.T) {
	want := readAccessTable(t)
	probe := newAuthEnv(t)
	routes := probe.srv.Routes()
	var missing []string
	for p, need := range routes {
		row, ok := want[p]
		if !ok {
			missing = append(missing, fmt.Sprintf("| %s | … |  (needs %s)", p, need))
			continue
		}
		for _, c := range matrixColumns {
			if (need == "public") != (row[c] == "public") {
				t.Errorf("%s: the route is %s, but %s says %q for %s", p, need, accessFile, row[c], c)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("%d route(s) have no row in %s; add one for each, a cell per role:\n%s", len(missing), accessFile, strings.Join(missing, "\n"))
	}
	for p := range want {
		if _, ok := routes[p]; !ok {
			t.Logf("%s has a row for %q, which is not a route of this server (yet)", accessFile, p)
		}
	}
	for _, column := range matrixColumns {
		t.Run(column, func(t *testing.T) {
			e := newAuthEnv(t)
			caller := matrixCaller(e, column)
			victims := newVictims(e)
			before := dbSnapshot(t, e)
			for _, p := range sortedRoutes(e.srv) {
				exp := want[p][column]
				if exp == "public" {
					continue
				}
				method, path, body := matrixRequest(e, victims, p)
				rec := e.do(method, path, body, caller)
				switch {
				case exp == "✓" && (rec.Code == http.StatusForbidden || rec.Code == http.StatusUnauthorized || rec.Code == http.StatusTooManyRequests):
					t.Errorf("%s: %s says ✓ but %s %s → %d %s", p, accessFile, method, path, rec.Code, rec.Body)
				case exp == "✗" && rec.Code != http.StatusForbidden:
					t.Errorf("%s: %s says ✗ but %s %s → %d %s", p, accessFile, method, path, rec.Code, rec.Body)
				}
			}
			if readOnlyColumns[column] {
				if after := dbSnapshot(t, e); after != before {
					t.Errorf("a read-only caller (%s) changed the database:\n%s", column, diffLines(before, after))
				}
			}
		})
	}
}

// dbSnapshot renders every row of every table of e's database, except what
// merely reading updates (a token's last-used time, a session's idle limit).
func dbSnapshot(t *testing.T, e *authEnv) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, "allot.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	skip := map[string]bool{"tokens.last_used_at": true, "sessions.idle_until": true}
	var b strings.Builder
	for _, tb := range tables {
		rs, err := db.Query(`SELECT * FROM ` + tb + ` ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rs.Scan(ptrs...)
			var line strings.Builder
			fmt.Fprintf(&line, "%s:", tb)
			for i, c := range cols {
				if !skip[tb+"."+c] {
					fmt.Fprintf(&line, " %s=%v", c, vals[i])
				}
			}
			if !selfService(tb, line.String()) {
				b.WriteString(line.String() + "\n")
			}
		}
		rs.Close()
	}
	return b.String()
}

// selfService tells whether a snapshot row is a person's own authenticator
// app or its audit event: any signed-in person, a read-only one too, may
// change their own second factor.
func selfService(table, line string) bool {
	if table == "user_totp" {
		return true
	}
	for _, act := range []string{sqlstore.ActTOTPBegin, sqlstore.ActTOTPConfirm, sqlstore.ActTOTPDisable} {
		if table == "audit_events" && strings.Contains(line, "="+act+" ") {
			return true
		}
	}
	return false
}

func diffLines(a, b string) string {
	in := map[string]int{}
	for _, l := range strings.Split(a, "\n") {
		in[l]++
	}
	var out []string
	for _, l := range strings.Split(b, "\n") {
		if in[l] > 0 {
			in[l]--
			continue
		}
		out = append(out, "+ "+l)
	}
	for l, n := range in {
		for ; n > 0; n-- {
			out = append(out, "- "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestAccessMatrixFileIsTheModel prints the table the permission model
// implies when ALLOT_PRINT_ACCESS=1, to help write new rows.
func TestAccessMatrixFileIsTheModel(t *testing.T) {
	if os.Getenv("ALLOT_PRINT_ACCESS") == "" {
		t.Skip("set ALLOT_PRINT_ACCESS=1 to print the matrix the model implies")
	}
	e := newAuthEnv(t)
	var b strings.Builder
	fmt.Fprintf(&b, "| Route | %s |\n|---|%s\n", strings.Join(matrixColumns, " | "), strings.Repeat("---|", len(matrixColumns)))
	for _, p := range sortedRoutes(e.srv) {
		fmt.Fprintf(&b, "| `%s` |", p)
		for _, c := range matrixColumns {
			fmt.Fprintf(&b, " %s |", modelCell(e, c, p))
		}
		b.WriteByte('\n')
	}
	fmt.Println(b.String())
}

func modelCell(e *authEnv, column, pattern string) string {
	for _, r := range e.srv.auth.routes {
		if r.Pattern != pattern {
			continue
		}
		if r.Public {
			return "public"
		}
		if r.Need == PermSignedIn {
			return "✓"
		}
		var p Perm
		switch column {
		case "No role":
		case "GA client: Directory.Read.All":
			p = scopePerms["Directory.Read.All"]
		case "GA client: LicenseAssignment.ReadWrite.All":
			p = scopePerms["LicenseAssignment.ReadWrite.All"]
		case "LA client: User.ReadWrite.All":
			p = scopePerms["User.ReadWrite.All"] & rolePerms([]string{store.RoleIDLicenseAdmin})
		case "UA client: Group.ReadWrite.All":
			p = scopePerms["Group.ReadWrite.All"] & rolePerms([]string{store.RoleIDUserAdmin})
		case "Operator token: Global Reader":
			p = rolePerms([]string{store.RoleIDGlobalReader})
		default:
			p = rolePerms([]string{store.RoleIDs[column]})
		}
		if p&r.Need != 0 {
			return "✓"
		}
		return "✗"
	}
	return "?"
}
