package e2e

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"allot/client"
)

const (
	insights = "WORKPLACE_ANALYTICS_INSIGHTS"
	e5       = "SPE_E5"
)

func skus(c *cli) map[string]client.Sku {
	c.t.Helper()
	var list []client.Sku
	c.okJSON(&list, "skus")
	m := map[string]client.Sku{}
	for _, s := range list {
		m[s.SkuPartNumber] = s
	}
	return m
}

// e5Users returns the demo users that hold SPE_E5 directly, in creation order.
func e5Users(c *cli) []client.User {
	c.t.Helper()
	var users []client.User
	c.okJSON(&users, "users", "list", "--all", "--filter", "assignedLicenses/any(x:x/skuId eq "+skus(c)[e5].SkuID+")")
	if len(users) < 10 {
		c.t.Fatalf("only %d demo users hold SPE_E5", len(users))
	}
	return users
}

// unlicensedUser returns a demo user with a usage location and no license.
func unlicensedUser(c *cli, skip int) client.User {
	c.t.Helper()
	var users []client.User
	c.okJSON(&users, "users", "list", "--all", "--filter", "usageLocation eq 'US'")
	for _, u := range users {
		if len(u.AssignedLicenses) == 0 && len(u.LicenseAssignmentStates) == 0 {
			if skip == 0 {
				return u
			}
			skip--
		}
	}
	c.t.Fatal("no unlicensed user")
	return client.User{}
}

// proxyAlias returns the user's smtp: alias without the prefix.
func proxyAlias(t *testing.T, u client.User) string {
	for _, p := range u.ProxyAddresses {
		if strings.HasPrefix(p, "smtp:") && !strings.EqualFold(p[5:], u.UserPrincipalName) {
			return p[5:]
		}
	}
	t.Fatalf("user %s has no secondary proxy address: %v", u.UserPrincipalName, u.ProxyAddresses)
	return ""
}

// TestSeedPowerShellSequence is the seed's PowerShell path: connect, list
// SKUs with active and consumed units, assign Insights to a user who has E5,
// and verify that both Insights service plans are provisioned.
func TestSeedPowerShellSequence(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t, nil)

	// Connect-MsolService
	r := c.runIn(srv.Token+"\n", nil, "login", "--url", srv.URL, "--token-stdin")
	if r.code != 0 {
		t.Fatalf("login:\n%s", r)
	}
	contains(t, r.stdout, "Signed in to "+srv.URL, "Contoso", "Global Administrator")

	// Get-MsolAccountSku
	out := c.ok("skus")
	contains(t, out, "SKU", "ENABLED", "CONSUMED", "AVAILABLE", "STATUS")
	row := fields(lineWith(t, out, insights))
	if got := strings.Join(row[2:6], " "); got != "25 0 25 Enabled" {
		t.Fatalf("Insights row %q: want enabled 25, consumed 0, available 25, Enabled", row)
	}
	contains(t, lineWith(t, out, e5+" "), "50", "30", "20")
	out = c.ok("skus", "show", insights)
	contains(t, out, "Requires one of:  ENTERPRISEPACK, ENTERPRISEPREMIUM, SPE_E3, SPE_E5", "Data locations:   NAM",
		"WORKPLACE_ANALYTICS_INSIGHTS_USER", "WORKPLACE_ANALYTICS_INSIGHTS_BACKEND", "25 enabled, 0 consumed, 25 available")
	var sku client.Sku
	c.okJSON(&sku, "skus", "show", skus(c)[insights].SkuID)
	if sku.SkuPartNumber != insights || len(sku.ServicePlans) != 2 || len(sku.Rules.RequiresAnyOf) != 4 {
		t.Fatalf("skus show -o json: %+v", sku)
	}
	c.fail(3, []string{"no product 'NOPE'"}, "skus", "show", "NOPE")

	// A user with E5: Set-MsolUserLicense -AddLicenses
	u := e5Users(c)[0]
	out = c.ok("license", "assign", u.UserPrincipalName, "--sku", insights)
	contains(t, lineWith(t, out, u.UserPrincipalName), "licensed")

	// (Get-MsolUser).Licenses.ServiceStatus: both Insights plans provisioned.
	out = c.ok("license", "show", u.UserPrincipalName, "--sku", insights)
	contains(t, lineWith(t, out, "WORKPLACE_ANALYTICS_INSIGHTS_USER"), "Success")
	contains(t, lineWith(t, out, "WORKPLACE_ANALYTICS_INSIGHTS_BACKEND"), "Success")
	contains(t, lineWith(t, out, insights, "direct"), "Active")
	if strings.Contains(out, "EXCHANGE_S_ENTERPRISE") {
		t.Fatalf("--sku should limit the plans to Insights:\n%s", out)
	}
	var shown struct {
		Licenses       []struct{ SkuPartNumber, Source, State string }
		LicenseDetails []client.LicenseDetail
	}
	c.okJSON(&shown, "license", "show", u.UserPrincipalName)
	plans := map[string]string{}
	for _, d := range shown.LicenseDetails {
		if d.SkuPartNumber == insights {
			for _, sp := range d.ServicePlans {
				plans[sp.ServicePlanName] = sp.ProvisioningStatus
			}
		}
	}
	if plans["WORKPLACE_ANALYTICS_INSIGHTS_USER"] != "Success" || plans["WORKPLACE_ANALYTICS_INSIGHTS_BACKEND"] != "Success" || len(plans) != 2 {
		t.Fatalf("Insights plans = %v", plans)
	}
	if s := skus(c)[insights]; s.ConsumedUnits != 1 || s.Available() != 24 {
		t.Fatalf("Insights after assignment: consumed %d, available %d", s.ConsumedUnits, s.Available())
	}

	// Assigning again changes nothing; a user without E3/E5 gets the reason in words with the code.
	contains(t, c.ok("license", "assign", u.UserPrincipalName, "--sku", insights), "already licensed")
	v := unlicensedUser(c, 0)
	r = c.fail(1, []string{"needs one of", "prerequisiteMissing"}, "license", "assign", v.UserPrincipalName, "--sku", insights)
	contains(t, lineWith(t, r.stdout, v.UserPrincipalName), "failed")
}

func TestLoginLogoutWhoami(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t, nil)

	c.fail(4, []string{"Not signed in", "allot login"}, "whoami")
	c.fail(2, []string{"--token-stdin"}, "login", "--url", srv.URL) // no token and no terminal
	c.fail(2, []string{"not a server URL"}, "login", "--url", "localhost:1234", "--token-stdin")
	r := c.runIn("wrong-token\n", nil, "login", "--url", srv.URL, "--token-stdin")
	if r.code != 4 || !strings.Contains(r.stderr, "rejected the token") || !strings.Contains(r.stderr, "InvalidAuthenticationToken") {
		t.Fatalf("login with a wrong token:\n%s", r)
	}

	// The token from ALLOT_TOKEN, stored 0600.
	r = c.runIn("", []string{"ALLOT_TOKEN=" + srv.Token}, "login", "--url", srv.URL+"/")
	if r.code != 0 {
		t.Fatalf("login:\n%s", r)
	}
	cfgPath := filepath.Join(c.home, ".config", "allot", "config.json")
	fi, err := os.Stat(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("config mode %v, want 0600", fi.Mode().Perm())
	}
	var cfg struct{ URL, Token string }
	data, _ := os.ReadFile(cfgPath)
	json.Unmarshal(data, &cfg)
	if cfg.URL != srv.URL || cfg.Token != srv.Token {
		t.Fatalf("config = %s", data)
	}
	contains(t, c.ok("whoami"), srv.URL, "Contoso", "Global Administrator")
	var me map[string]string
	c.okJSON(&me, "whoami")
	if me["tenantName"] != "Contoso" || me["role"] != "Global Administrator" || me["url"] != srv.URL {
		t.Fatalf("whoami -o json = %v", me)
	}
	contains(t, c.ok("whoami", "-o", "csv"), "url,tenant,tenantId,name,role")

	// The environment wins over the config file.
	r = c.runIn("", []string{"ALLOT_URL=http://127.0.0.1:1"}, "whoami")
	if r.code == 0 || !strings.Contains(r.stderr, "Cannot reach the allot server at http://127.0.0.1:1") {
		t.Fatalf("whoami with ALLOT_URL of a closed port:\n%s", r)
	}
	r = c.runIn("", []string{"ALLOT_TOKEN=bad"}, "skus")
	if r.code != 4 || !strings.Contains(r.stderr, "InvalidAuthenticationToken") {
		t.Fatalf("skus with a bad ALLOT_TOKEN:\n%s", r)
	}

	contains(t, c.ok("logout"), "Signed out of "+srv.URL)
	if _, err := os.Stat(cfgPath); !os.IsNotExist(err) {
		t.Fatalf("config still there after logout: %v", err)
	}
	c.fail(4, []string{"Not signed in"}, "whoami")
	contains(t, c.ok("logout"), "Not signed in")
	// Env-only use needs no login at all.
	contains(t, newCLI(t, srv).ok("whoami"), "Contoso")
}

func TestUsersCommands(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t, srv)

	var before []client.User
	c.okJSON(&before, "users", "list", "--all")
	out := c.ok("users", "create", "--upn", "megan.e2e@contoso.com", "--name", "Megan E2E", "--usage-location", "us",
		"--department", "Marketing", "--proxy-address", "SMTP:megan.e2e@contoso.com", "--proxy-address", "smtp:mbe2e@contoso.onmicrosoft.com")
	contains(t, out, "Created user megan.e2e@contoso.com")
	c.fail(2, []string{"already exists", "Request_BadRequest"}, "users", "create", "--upn", "MEGAN.E2E@contoso.com", "--name", "Again")
	c.fail(2, []string{"--upn is required"}, "users", "create", "--name", "No UPN")

	out = c.ok("users", "show", "megan.e2e@contoso.com")
	contains(t, out, "Megan E2E", "US", "Marketing", "smtp:mbe2e@contoso.onmicrosoft.com", "Licenses:", "-")

	out = c.ok("users", "list", "--filter", "department eq 'Marketing' and startswith(displayName,'Megan E')")
	contains(t, lineWith(t, out, "megan.e2e@contoso.com"), "Megan E2E", "US", "Marketing", "yes")
	if n := strings.Count(strings.TrimSpace(out), "\n"); n != 1 {
		t.Fatalf("filter matched %d users:\n%s", n, out)
	}
	csvOut := c.ok("users", "list", "--top", "3", "-o", "csv")
	recs, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil || len(recs) != 4 || strings.Join(recs[0], ",") != "userPrincipalName,displayName,usageLocation,department,enabled,licenses,id" {
		t.Fatalf("csv listing (%v):\n%s", err, csvOut)
	}
	r := c.run("users", "list", "--top", "3")
	contains(t, r.stderr, "Showing the first 3 users")
	var all []client.User
	c.okJSON(&all, "users", "list", "--all")
	if len(all) != len(before)+1 || len(before) < 250 {
		t.Fatalf("--all listed %d users, then %d", len(before), len(all))
	}
	c.fail(2, []string{"nosuchfield"}, "users", "list", "--filter", "nosuchfield eq 1")
	c.fail(2, []string{"--output must be"}, "users", "list", "-o", "yaml")

	c.ok("users", "update", "megan.e2e@contoso.com", "--usage-location", "GB", "--department", "Sales", "--enabled=false")
	var u client.User
	c.okJSON(&u, "users", "show", "megan.e2e@contoso.com")
	if u.UsageLocation != "GB" || u.Department != "Sales" || u.AccountEnabled || u.DisplayName != "Megan E2E" {
		t.Fatalf("after update: %+v", u)
	}
	c.fail(2, []string{"Nothing to change"}, "users", "update", "megan.e2e@contoso.com")
	c.fail(2, []string{"two-letter"}, "users", "update", "megan.e2e@contoso.com", "--usage-location", "Narnia")

	contains(t, c.ok("users", "delete", u.ID), "Deleted user megan.e2e@contoso.com")
	c.fail(3, []string{"There is no user 'megan.e2e@contoso.com'"}, "users", "show", "megan.e2e@contoso.com")
}

func TestGroupsCommands(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t, srv)
	users := e5Users(c)

	out := c.ok("groups", "create", "--name", "E2E Outer", "--description", "outer group")
	contains(t, out, `Created group "E2E Outer"`)
	var inner client.Group
	c.okJSON(&inner, "groups", "create", "--name", "E2E Inner")
	c.ok("groups", "members", "add", "E2E Inner", users[1].UserPrincipalName, users[2].ID)
	out = c.ok("groups", "members", "add", "E2E Outer", users[0].UserPrincipalName, "E2E Inner")
	contains(t, out, "Added user "+users[0].UserPrincipalName, `Added group E2E Inner to "E2E Outer"`)
	c.fail(2, []string{"already exist"}, "groups", "members", "add", "E2E Outer", users[0].UserPrincipalName)
	c.fail(1, []string{"cycle", "membershipCycle"}, "groups", "members", "add", "E2E Inner", "E2E Outer")
	c.fail(3, []string{"no user or group 'Nope'"}, "groups", "members", "add", "E2E Outer", "Nope")

	out = c.ok("groups", "members", "list", "E2E Outer")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "user") || !strings.HasPrefix(lines[2], "group") {
		t.Fatalf("members in the order added:\n%s", out)
	}
	var ms []client.Member
	c.okJSON(&ms, "groups", "members", "list", "E2E Outer", "--transitive")
	ids := map[string]bool{}
	for _, m := range ms {
		ids[m.ID] = true
	}
	for _, want := range []string{users[0].ID, users[1].ID, users[2].ID, inner.ID} {
		if !ids[want] {
			t.Fatalf("transitive members %v lack %s", ms, want)
		}
	}

	out = c.ok("groups", "list", "--filter", "startswith(displayName,'E2E')")
	contains(t, out, "E2E Outer", "outer group", "E2E Inner", "ProcessingComplete")
	contains(t, c.ok("groups", "show", "E2E Outer"), "E2E Outer", "Members:", "3", "This group assigns no licenses")
	var shown struct {
		Group          client.Group
		LicenseSummary client.LicenseSummary
	}
	c.okJSON(&shown, "groups", "show", inner.ID)
	if shown.Group.DisplayName != "E2E Inner" || shown.LicenseSummary.Members != 2 {
		t.Fatalf("groups show -o json: %+v", shown)
	}
	// Display names that collide need an id.
	c.ok("groups", "create", "--name", "E2E Twin")
	c.ok("groups", "create", "--name", "E2E Twin")
	c.fail(2, []string{"2 groups are named 'E2E Twin'"}, "groups", "show", "E2E Twin")

	contains(t, c.ok("groups", "members", "remove", "E2E Outer", "E2E Inner"), `Removed group E2E Inner from "E2E Outer"`)
	c.fail(3, nil, "groups", "members", "remove", "E2E Outer", "E2E Inner")
	contains(t, c.ok("groups", "delete", "E2E Inner"), `Deleted group "E2E Inner"`)
	c.fail(3, []string{"There is no group 'E2E Inner'"}, "groups", "show", "E2E Inner")
}

func TestLicenseCommands(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t, srv)
	users := e5Users(c)
	plain := unlicensedUser(c, 0)

	// Several users at once, each with its own result.
	var noLoc []client.User
	c.okJSON(&noLoc, "users", "list", "--filter", "usageLocation eq null", "--top", "1")
	r := c.run("license", "assign", plain.UserPrincipalName, noLoc[0].UserPrincipalName, "nobody@contoso.com", "--sku", "SPE_E3",
		"--disable-plan", "EXCHANGE_S_ENTERPRISE")
	if r.code != 1 {
		t.Fatalf("mixed assignment:\n%s", r)
	}
	contains(t, lineWith(t, r.stdout, plain.UserPrincipalName), "licensed")
	contains(t, lineWith(t, r.stdout, noLoc[0].UserPrincipalName), "failed", "usageLocation")
	contains(t, lineWith(t, r.stdout, "nobody@contoso.com"), "failed", "There is no user")
	contains(t, r.stderr, "2 of 3 users failed")
	out := c.ok("license", "show", plain.UserPrincipalName, "--sku", "SPE_E3")
	contains(t, lineWith(t, out, "EXCHANGE_S_ENTERPRISE"), "Disabled")
	contains(t, lineWith(t, out, "SHAREPOINTENTERPRISE"), "Success")
	c.fail(2, []string{"has no service plan 'NOPE'", "EXCHANGE_S_ENTERPRISE"}, "license", "assign", plain.UserPrincipalName, "--sku", "SPE_E3", "--disable-plan", "NOPE")
	c.fail(3, []string{"no product 'NOPE'"}, "license", "assign", plain.UserPrincipalName, "--sku", "NOPE")
	contains(t, c.ok("license", "assign", plain.UserPrincipalName, "--sku", "SPE_E3"), "updated")
	var lic []struct{ User, Result, Code string }
	c.okJSON(&lic, "license", "remove", plain.UserPrincipalName, "--sku", "SPE_E3")
	if len(lic) != 1 || lic[0].Result != "removed" {
		t.Fatalf("remove -o json: %+v", lic)
	}

	// A group over capacity: members in the order added, the rest wait.
	c.ok("groups", "create", "--name", "E2E Insights")
	c.ok("groups", "members", "add", "E2E Insights", users[3].UserPrincipalName, users[4].UserPrincipalName, plain.UserPrincipalName, users[5].UserPrincipalName)
	sk := skus(c)[insights]
	contains(t, c.ok("skus", "set-seats", insights, strconv.Itoa(sk.ConsumedUnits+2)), "2 available")
	out = c.ok("license", "assign-group", "E2E Insights", "--sku", insights)
	contains(t, out, `Group "E2E Insights": 2 members have licenses, 2 members do not`, "noSeatsAvailable: 1", "prerequisiteMissing: 1",
		`allot license errors "E2E Insights"`)
	var rows []map[string]string
	c.okJSON(&rows, "license", "errors", "E2E Insights")
	got := map[string]string{}
	for _, row := range rows {
		got[row["userPrincipalName"]] = row["code"]
	}
	if len(got) != 2 || got[users[5].UserPrincipalName] != "noSeatsAvailable" || got[plain.UserPrincipalName] != "prerequisiteMissing" {
		t.Fatalf("license errors = %v", rows)
	}
	out = c.ok("license", "errors")
	contains(t, lineWith(t, out, "E2E Insights", users[5].UserPrincipalName), "CountViolation", "noSeatsAvailable")
	contains(t, c.ok("groups", "list", "--filter", "hasMembersWithLicenseErrors eq true"), "E2E Insights")

	// Inherited licenses cannot be removed directly; the error names the group.
	c.fail(1, []string{"group 'E2E Insights'", "licenseInheritedFromGroup"}, "license", "remove", users[3].UserPrincipalName, "--sku", insights)
	out = c.ok("license", "show", users[3].UserPrincipalName)
	contains(t, lineWith(t, out, insights, "group E2E Insights"), "Active")
	// A group whose members hold licenses through it is not deleted unasked.
	c.fail(5, []string{"would take licenses away from 2 people", "--yes"}, "groups", "delete", "E2E Insights")

	// One more seat: the waiting member gets it by itself.
	c.ok("skus", "set-seats", insights, strconv.Itoa(sk.ConsumedUnits+3))
	waitFor(t, func() bool {
		var u client.User
		c.okJSON(&u, "users", "show", users[5].UserPrincipalName)
		for _, st := range u.LicenseAssignmentStates {
			if st.State == "Active" && st.AssignedByGroup != "" {
				return true
			}
		}
		return false
	})
	contains(t, c.ok("license", "reprocess", "E2E Insights"), "3 members have licenses, 1 member does not", "prerequisiteMissing: 1")
	contains(t, c.ok("license", "reprocess", users[5].UserPrincipalName), "Reprocessed "+users[5].UserPrincipalName, insights+" Active (group E2E Insights)")
	contains(t, c.ok("license", "reprocess", "E2E Insights", "--no-wait"), "queued for processing")

	// Removing the product from the group takes it from its members.
	contains(t, c.ok("license", "remove-group", "E2E Insights", "--sku", insights), `no longer assigns `+insights, "4 members processed")
	if s := skus(c)[insights]; s.ConsumedUnits != sk.ConsumedUnits {
		t.Fatalf("after remove-group consumed = %d, want %d", s.ConsumedUnits, sk.ConsumedUnits)
	}
	contains(t, c.ok("license", "errors", "E2E Insights"), "No license errors.")
	contains(t, c.ok("license", "assign-group", "E2E Insights", "--sku", e5, "--no-wait"), "assigns SPE_E5")
	contains(t, c.ok("license", "remove-group", "E2E Insights", "--sku", e5, "--no-wait"), "no longer assigns SPE_E5")
	waitFor(t, func() bool {
		return strings.Contains(c.ok("groups", "show", "E2E Insights"), "ProcessingComplete")
	})
	c.ok("groups", "delete", "E2E Insights")
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 20 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestImportCSV licenses a CSV with every kind of row and checks the exact
// report: matched by userPrincipalName, by proxy address, already licensed,
// duplicate, not found, invalid, over capacity and a missing prerequisite.
func TestImportCSV(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t, srv)
	users := e5Users(c)
	a, b, already, d, e := users[0], users[1], users[2], users[3], users[4]
	noPrereq := unlicensedUser(c, 0)
	c.ok("license", "assign", already.UserPrincipalName, "--sku", insights)
	consumed := skus(c)[insights].ConsumedUnits
	c.ok("skus", "set-seats", insights, strconv.Itoa(consumed+2))

	csvText := "\ufeffName,Email,Department\n" +
		"A," + strings.ToUpper(a.UserPrincipalName) + ",x\n" + // line 2: by UPN, other case
		"B," + proxyAlias(t, b) + ",x\n" + // line 3: by proxy address
		"C," + already.UserPrincipalName + ",x\n" + // line 4: already licensed
		"Nobody,nobody@contoso.com,x\n" + // line 5: not found
		"D," + d.UserPrincipalName + ",x\n" + // line 6: no seat left
		"A again,SMTP:" + proxyAlias(t, a) + ",x\n" + // line 7: same user as line 2
		"E," + e.UserPrincipalName + ",x\n" + // line 8: no seat left
		"Bad,not-an-address,x\n" + // line 9: invalid
		"F," + noPrereq.UserPrincipalName + ",x\n" + // line 10: missing prerequisite
		",,\n" // blank: skipped
	file := writeFile(t, "insights.csv", csvText)

	// Dry run: the same counts, nothing changed.
	dry := filepath.Join(t.TempDir(), "dry.csv")
	r := c.run("import", file, "--sku", insights, "--dry-run", "--report", dry, "--batch-size", "2")
	if r.code != 1 {
		t.Fatalf("dry run:\n%s", r)
	}
	contains(t, r.stdout, "Dry run", "9 rows")
	checkCounts(t, r.stdout, "would be licensed", 2, 2, 1, 4)
	if got := skus(c)[insights].ConsumedUnits; got != consumed {
		t.Fatalf("dry run consumed %d seats", got-consumed)
	}
	want := map[int][2]string{
		2: {"licensed", ""}, 3: {"licensed", ""}, 4: {"alreadyLicensed", ""}, 5: {"notFound", "userNotFound"},
		6: {"failed", "noSeatsAvailable"}, 7: {"alreadyLicensed", ""}, 8: {"failed", "noSeatsAvailable"},
		9: {"failed", "invalidAddress"}, 10: {"failed", "prerequisiteMissing"},
	}
	checkReport(t, dry, want)

	// The import itself, in batches of 2 users.
	rep := filepath.Join(t.TempDir(), "report.csv")
	r = c.run("import", file, "--sku", insights, "--report", rep, "--batch-size", "2")
	if r.code != 1 {
		t.Fatalf("import:\n%s", r)
	}
	contains(t, r.stdout, "Imported insights.csv into "+insights+": 9 rows", "Failed:", "line 6", "noSeatsAvailable",
		"line 10", "prerequisiteMissing", "Not found:", "nobody@contoso.com", insights+" seats available: 0")
	contains(t, r.stderr, "4 rows failed")
	checkCounts(t, r.stdout, "licensed", 2, 2, 1, 4)
	recs := checkReport(t, rep, want)
	if recs[3][5] != "proxyAddresses" || recs[2][5] != "userPrincipalName" || recs[7][5] != "proxyAddresses" {
		t.Fatalf("matchedBy: %q %q %q", recs[2], recs[3], recs[7])
	}
	if got := skus(c)[insights].ConsumedUnits; got != consumed+2 {
		t.Fatalf("import consumed %d seats, want 2", got-consumed)
	}
	for _, u := range []client.User{a, b} {
		contains(t, lineWith(t, c.ok("license", "show", u.UserPrincipalName, "--sku", insights), "WORKPLACE_ANALYTICS_INSIGHTS_USER"), "Success")
	}

	// More seats: the same file again licenses the two who were over capacity.
	c.ok("skus", "set-seats", insights, strconv.Itoa(consumed+10))
	var report struct {
		Rows, Licensed, AlreadyLicensed, NotFound, Failed int
		Outcomes                                          []struct {
			Line         int
			Result, Code string
		}
	}
	r = c.run("import", file, "--sku", insights, "-o", "json")
	if r.code != 1 || json.Unmarshal([]byte(r.stdout), &report) != nil {
		t.Fatalf("import -o json:\n%s", r)
	}
	if report.Rows != 9 || report.Licensed != 2 || report.AlreadyLicensed != 4 || report.NotFound != 1 || report.Failed != 2 {
		t.Fatalf("second import: %+v", report)
	}

	// Only addresses that match: exit 0. Only unknown ones: exit 3.
	ok := writeFile(t, "ok.csv", "email\n"+a.UserPrincipalName+"\n")
	contains(t, c.ok("import", ok, "--sku", insights), "already licensed  1")
	r = c.runIn("Email\nghost@contoso.com\n", nil, "import", "-", "--sku", insights)
	if r.code != 3 || !strings.Contains(r.stderr, "1 row matched no user") {
		t.Fatalf("import of an unknown address:\n%s", r)
	}

	// Files that are not right say what is wrong.
	c.fail(2, []string{"no Email column", `"Name", "Mail"`}, "import", writeFile(t, "x.csv", "Name,Mail\na,b@x.com\n"), "--sku", insights)
	c.fail(2, []string{"line 2", "quote"}, "import", writeFile(t, "q.csv", "Email\na\"b@x.com\n"), "--sku", insights)
	c.fail(2, []string{"empty"}, "import", writeFile(t, "e.csv", ""), "--sku", insights)
	c.fail(2, []string{"Cannot open"}, "import", filepath.Join(t.TempDir(), "missing.csv"), "--sku", insights)
	c.fail(3, []string{"no product 'NOPE'"}, "import", ok, "--sku", "NOPE")
}

// checkCounts finds the four report lines and their numbers.
func checkCounts(t *testing.T, out, licensedLabel string, licensed, already, notFound, failed int) {
	t.Helper()
	for label, n := range map[string]int{licensedLabel: licensed, "already licensed": already, "not found": notFound, "failed": failed} {
		l := lineWith(t, out, "  "+label+" ")
		f := fields(l)
		if f[len(f)-1] != strconv.Itoa(n) {
			t.Fatalf("%s = %s, want %d:\n%s", label, f[len(f)-1], n, out)
		}
	}
}

// checkReport reads a --report file and checks each line's result and code;
// it returns the records by line.
func checkReport(t *testing.T, path string, want map[int][2]string) map[int][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "line,email,result,userId,userPrincipalName,matchedBy,code,message" {
		t.Fatalf("report header %q", recs[0])
	}
	by := map[int][]string{}
	for _, r := range recs[1:] {
		n, _ := strconv.Atoi(r[0])
		by[n] = r
	}
	if len(by) != len(want) {
		t.Fatalf("report has %d rows, want %d: %q", len(by), len(want), recs)
	}
	for line, w := range want {
		r := by[line]
		if r == nil || r[2] != w[0] || r[6] != w[1] {
			t.Fatalf("line %d: %q, want result %s code %q", line, r, w[0], w[1])
		}
	}
	return by
}

func TestCompletionAndHelp(t *testing.T) {
	t.Parallel()
	c := newCLI(t, nil)
	for shell, want := range map[string]string{"bash": "__start_allot", "zsh": "#compdef allot", "fish": "complete -c allot", "powershell": "Register-ArgumentCompleter"} {
		contains(t, c.ok("completion", shell), want)
	}
	c.fail(2, []string{"invalid argument"}, "completion", "tcsh")
	c.fail(2, []string{"accepts 1 arg", "allot users show --help"}, "users", "show")
	c.fail(2, []string{"unknown flag"}, "skus", "--bogus")
	for _, path := range [][]string{
		{"login"}, {"logout"}, {"whoami"}, {"skus"}, {"skus", "show"}, {"skus", "set-seats"},
		{"users"}, {"users", "list"}, {"users", "show"}, {"users", "create"}, {"users", "update"}, {"users", "delete"},
		{"groups"}, {"groups", "list"}, {"groups", "show"}, {"groups", "create"}, {"groups", "delete"},
		{"groups", "members"}, {"groups", "members", "list"}, {"groups", "members", "add"}, {"groups", "members", "remove"},
		{"license"}, {"license", "assign"}, {"license", "remove"}, {"license", "show"}, {"license", "assign-group"},
		{"license", "remove-group"}, {"license", "errors"}, {"license", "reprocess"}, {"import"}, {"completion"}, {"bench", "import"},
	} {
		out := c.ok(append(path, "--help")...)
		if !strings.Contains(out, "Examples:\n  allot "+path[0]) && !strings.Contains(out, "Examples:\n  source") {
			t.Errorf("allot %s --help has no example:\n%s", strings.Join(path, " "), out)
		}
	}
	// Shell completion of flag values and subcommands works through cobra.
	contains(t, c.ok("__complete", "users", "list", "--output", ""), "table", "json", "csv")
	contains(t, c.ok("__complete", "license", ""), "assign-group", "remove-group", "errors", "reprocess")
}

// TestCompletionFromServer: product and group names complete from the server.
func TestCompletionFromServer(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t, srv)
	contains(t, c.ok("__complete", "license", "assign", "x@contoso.com", "--sku", ""), "WORKPLACE_ANALYTICS_INSIGHTS\tMicrosoft Workplace Analytics Insights", "SPE_E5")
	contains(t, c.ok("__complete", "skus", "show", ""), "SPE_E3")
	contains(t, c.ok("__complete", "license", "assign-group", ""), "Sales Team", "Insights Pilot")
	contains(t, c.ok("__complete", "groups", "members", "list", ""), "All Staff")
	if out := newCLI(t, nil).ok("__complete", "skus", "show", ""); strings.Contains(out, "SPE_E3") {
		t.Fatalf("completed without a server: %s", out)
	}
}

func TestBenchImportSmall(t *testing.T) {
	t.Parallel()
	c := newCLI(t, nil)
	var res struct {
		Rows, Licensed, AlreadyLicensed, NotFound, Failed int
		ImportRowsPerSecond, FloorSeconds                 float64
		MatchedByProxyAddress                             int
	}
	c.okJSON(&res, "bench", "import", "--rows", "500", "--batch-size", "100")
	if res.Rows != 500 || res.Licensed != 495 || res.NotFound != 5 || res.Failed != 0 || res.AlreadyLicensed != 495 ||
		res.MatchedByProxyAddress != 95 || res.ImportRowsPerSecond <= 0 || res.FloorSeconds <= 0 {
		t.Fatalf("bench import: %+v", res)
	}
}

var _ = fmt.Sprint

// holdsSku tells whether the user holds the product (an active license
// from any source).
func holdsSku(c *cli, upn, skuID string) bool {
	c.t.Helper()
	var u client.User
	c.okJSON(&u, "users", "show", upn)
	for _, st := range u.LicenseAssignmentStates {
		if strings.EqualFold(st.SkuID, skuID) && st.State == "Active" {
			return true
		}
	}
	return false
}

// lossGroup creates a group of n users without licenses of their own that
// assigns SPE_E3 and Insights: removing SPE_E3 from it takes Insights away
// from every member as a side effect.
func lossGroup(c *cli, name string, n int) []client.User {
	c.t.Helper()
	c.ok("groups", "create", "--name", name)
	var users []client.User
	args := []string{"groups", "members", "add", name}
	for i := range n {
		u := unlicensedUser(c, i)
		users = append(users, u)
		args = append(args, u.UserPrincipalName)
	}
	c.ok(args...)
	c.ok("license", "assign-group", name, "--sku", "SPE_E3")
	contains(c.t, c.ok("license", "assign-group", name, "--sku", insights), fmt.Sprintf("%d members have licenses, 0 members do not", n))
	return users
}

// TestLicenseLossConfirmation: commands whose change would take licenses
// away as a side effect do nothing without a terminal and say to pass
// --yes (exit 5); with --yes they go ahead. remove-group, groups delete and
// skus set-seats.
func TestLicenseLossConfirmation(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t, srv)
	ins := skus(c)[insights]

	// remove-group: Insights needs the E3 that goes.
	users := lossGroup(c, "E2E Loss", 3)
	want := []string{"Nothing changed", "--yes", "3 people would lose"}
	for _, u := range users {
		want = append(want, u.UserPrincipalName+" would lose "+insights)
	}
	c.fail(5, want, "license", "remove-group", "E2E Loss", "--sku", "SPE_E3")
	contains(t, c.ok("groups", "show", "E2E Loss"), "SPE_E3")
	for _, u := range users {
		if !holdsSku(c, u.UserPrincipalName, ins.SkuID) {
			t.Fatalf("%s lost Insights though the removal was refused", u.UserPrincipalName)
		}
	}
	contains(t, c.ok("license", "remove-group", "E2E Loss", "--sku", "SPE_E3", "--yes"), "no longer assigns SPE_E3")
	for _, u := range users {
		if holdsSku(c, u.UserPrincipalName, ins.SkuID) {
			t.Fatalf("%s still holds Insights after remove-group --yes", u.UserPrincipalName)
		}
	}

	// groups delete: a nested group's member loses what the parent assigns.
	e5s := e5Users(c)
	c.ok("groups", "create", "--name", "E2E Parent")
	c.ok("groups", "create", "--name", "E2E Nested")
	c.ok("groups", "members", "add", "E2E Nested", e5s[3].UserPrincipalName)
	c.ok("groups", "members", "add", "E2E Parent", e5s[0].UserPrincipalName, e5s[1].UserPrincipalName, e5s[2].UserPrincipalName, "E2E Nested")
	contains(t, c.ok("license", "assign-group", "E2E Parent", "--sku", insights), "4 members have licenses")
	c.fail(5, []string{e5s[3].UserPrincipalName + " would lose " + insights, "--yes"}, "groups", "delete", "E2E Nested")
	if !holdsSku(c, e5s[3].UserPrincipalName, ins.SkuID) {
		t.Fatal("a refused delete took Insights away")
	}
	contains(t, c.ok("groups", "delete", "E2E Nested", "--yes"), `Deleted group "E2E Nested"`)
	waitFor(t, func() bool { return !holdsSku(c, e5s[3].UserPrincipalName, ins.SkuID) })

	// set-seats: fewer seats than are in use.
	used := skus(c)[insights].ConsumedUnits
	r := c.fail(5, []string{"2 people would lose 2 licenses", "--yes"}, "skus", "set-seats", insights, strconv.Itoa(used-2))
	if n := strings.Count(r.stderr, "would lose "+insights); n != 2 {
		t.Fatalf("%d losses listed, want 2:\n%s", n, r)
	}
	if s := skus(c)[insights]; s.PrepaidUnits.Enabled != ins.PrepaidUnits.Enabled || s.ConsumedUnits != used {
		t.Fatalf("a refused set-seats changed the seats: %+v", s)
	}
	contains(t, c.ok("skus", "set-seats", insights, strconv.Itoa(used-2), "--yes"), fmt.Sprintf("%d enabled", used-2))
	waitFor(t, func() bool { return skus(c)[insights].ConsumedUnits == used-2 })
}
