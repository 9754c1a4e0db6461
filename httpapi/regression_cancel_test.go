package httpapi

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"iter"
	"math/rand"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"allot"
	"allot/store/sqlstore"
)

// TestRegressionGroupCommitCancel: on SQLite, writes that arrive together
// share one transaction (group commit, one savepoint each). Many clients
// write at once — direct assignments that succeed, direct assignments that
// fail (no seat), user creations and bulk assignments of 100 users — and a
// third of them hang up mid-request. Whatever the interleaving: every
// write answered 2xx is in the store exactly once (its license states or
// user, and one audit event per user); every write answered with an error
// is absent (no state, no user, no audit event); a write whose client hung
// up is wholly present or wholly absent; the seat counter equals the
// holders; no answer is ≥ 500 and the server logs nothing but the hang-ups.
func TestRegressionGroupCommitCancel(t *testing.T) {
	const (
		rounds    = 6                // at most; fewer when the budget runs out
		budget    = 45 * time.Second // for the rounds after the first two
		clients   = 32
		perClient = 20
		bulkSize  = 500
	)
	seed := time.Now().UnixNano() % 1_000_000
	t.Logf("seed %d", seed)
	h := newHarness(t, openSQLiteStore)
	c := h.newTenant("Cancel", "NAM", "US", nil)
	newProduct := func(part string, seats int) string {
		return c.must(201, "POST", "/allot/v1/subscribedSkus", map[string]any{
			"skuPartNumber": part, "displayName": part, "enabledUnits": seats,
			"servicePlans": []map[string]any{{"servicePlanName": part + "_PLAN"}},
		}).object(t)["skuId"].(string)
	}
	sku := newProduct("CANCEL_SEATS", 1_000_000)
	full := newProduct("CANCEL_FULL", 0) // every assignment of it fails: noSeatsAvailable
	ctx := context.Background()

	// Kinds of write, by request index.
	const (
		assign = "assign"      // assignLicense of CANCEL_SEATS: 200
		fail   = "assign full" // assignLicense of CANCEL_FULL: 400 noSeatsAvailable
		create = "create user" // POST /v1.0/users: 201
		bulk   = "bulk assign" // POST /allot/v1/licenses/assign of CANCEL_SEATS to 100 users: 200
	)
	kinds := []string{assign, assign, fail, create, assign, assign, create, bulk}
	type outcome struct {
		kind   string
		users  []string // GUIDs of the users assigned, or the UPN of the created user
		status int      // 0: no answer (the client hung up)
		code   string
	}
	var outcomes []outcome
	rnd := rand.New(rand.NewSource(seed))
	loadUsers := func(prefix string, n int) []string {
		us := make([]sqlstore.LoadUser, n)
		for i := range us {
			us[i] = sqlstore.LoadUser{UserPrincipalName: fmt.Sprintf("%s-%05d@cancel.test", prefix, i), UsageLocation: "US"}
		}
		ids, err := h.st.LoadUsers(ctx, c.Tenant.ID, us)
		if err != nil {
			t.Fatal(err)
		}
		m, err := h.st.UserGUIDs(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]string, n)
		for i, id := range ids {
			out[i] = m[id]
		}
		return out
	}
	// How long one bulk assignment takes here: the bulk assignments' clients
	// hang up within three times that, mostly while it writes.
	calib := loadUsers("calibrate", bulkSize)
	t0 := time.Now()
	c.must(200, "POST", "/allot/v1/licenses/assign", map[string]any{"skuId": sku, "userIds": calib})
	bulkTook := time.Since(t0)
	for _, u := range calib {
		c.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", assignBody(nil, []string{sku}))
	}
	t.Logf("a bulk assignment of %d users takes %s alone", bulkSize, bulkTook.Round(time.Millisecond))
	start := time.Now()
	r := 0
	for ; r < rounds && (r < 2 || time.Since(start) < budget); r++ {
		n := clients * perClient
		single := loadUsers(fmt.Sprintf("r%d-single", r), n)
		pool := loadUsers(fmt.Sprintf("r%d-bulk", r), (n/len(kinds)+1)*bulkSize)
		// Each request's hang-up delay (or none), drawn from the seed: a
		// third of the small writes hang up within 4 ms, half of the bulk
		// assignments within three times the time one takes.
		delays := make([]time.Duration, n)
		for i := range delays {
			delays[i] = -1
			switch {
			case kinds[i%len(kinds)] == bulk && rnd.Intn(2) == 0:
				delays[i] = time.Duration(rnd.Int63n(int64(3*bulkTook) + 1))
			case kinds[i%len(kinds)] != bulk && rnd.Intn(3) == 0:
				delays[i] = time.Duration(rnd.Int63n(int64(4 * time.Millisecond)))
			}
		}
		round := make([]outcome, n)
		var wg sync.WaitGroup
		for k := 0; k < clients; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < perClient; j++ {
					i := j*clients + k
					o := outcome{kind: kinds[i%len(kinds)]}
					var path string
					var body any
					switch o.kind {
					case assign, fail:
						p := sku
						if o.kind == fail {
							p = full
						}
						o.users = single[i : i+1]
						path, body = "/v1.0/users/"+single[i]+"/assignLicense", assignBody([]string{p}, nil)
					case create:
						upn := fmt.Sprintf("r%d-new%04d@cancel.test", r, i)
						o.users = []string{upn}
						path, body = "/v1.0/users", map[string]any{"userPrincipalName": upn, "displayName": upn, "accountEnabled": true, "usageLocation": "US"}
					case bulk:
						b := i / len(kinds)
						o.users = pool[b*bulkSize : (b+1)*bulkSize]
						path, body = "/allot/v1/licenses/assign", map[string]any{"skuId": sku, "userIds": o.users}
					}
					o.status, o.code = c.sendHangingUp("POST", path, body, delays[i])
					round[i] = o
				}
			}()
		}
		wg.Wait()
		outcomes = append(outcomes, round...)
	}
	took := time.Since(start)
	// A client that hung up has its answer (none) at once, while its
	// handler may still be writing: read the store once no handler runs,
	// or a write that commits between the reads below looks half applied.
	if n := h.active.Load(); n > 0 {
		t.Logf("%d handler(s) of hung-up clients still ran after the last client returned", n)
	}
	h.settle()

	// What the store holds: direct active states per user and product,
	// audit events per user and activity, users by userPrincipalName.
	db := h.st.DB()
	states := map[[2]string]int{}
	rows, err := db.QueryContext(ctx, `SELECT u.guid, p.sku_guid, COUNT(*) FROM license_states ls JOIN users u ON u.id = ls.user_id
		JOIN products p ON p.id = ls.product_id WHERE u.tenant_id = ? AND ls.source_id = 0 AND ls.state = 'Active' GROUP BY u.guid, p.sku_guid`, c.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u, p string
		var n int
		if err := rows.Scan(&u, &p, &n); err != nil {
			t.Fatal(err)
		}
		states[[2]string{u, p}] = n
	}
	rows.Close()
	audits := map[[2]string]int{} // (user GUID, activity) → events naming the user
	for _, q := range []string{
		`SELECT target_id, activity, COUNT(*) FROM audit_events WHERE tenant_id = ? AND target_kind = 'User' GROUP BY target_id, activity`,
		`SELECT u.guid, a.activity, COUNT(*) FROM audit_targets t JOIN audit_events a ON a.id = t.event_id JOIN users u ON u.id = t.user_id
			WHERE a.tenant_id = ? GROUP BY u.guid, a.activity`,
	} {
		rows, err := db.QueryContext(ctx, q, c.Tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var u, act string
			var n int
			if err := rows.Scan(&u, &act, &n); err != nil {
				t.Fatal(err)
			}
			audits[[2]string{u, act}] += n
		}
		rows.Close()
	}
	byUPN := map[string]string{}
	rows, err = db.QueryContext(ctx, `SELECT upn, guid FROM users WHERE tenant_id = ?`, c.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var upn, guid string
		if err := rows.Scan(&upn, &guid); err != nil {
			t.Fatal(err)
		}
		byUPN[upn] = guid
	}
	rows.Close()

	var bad []string
	statuses := map[string]map[string]int{}
	present := 0 // users holding CANCEL_SEATS by the writes
	for _, o := range outcomes {
		label := fmt.Sprint(o.status)
		if o.status == 0 {
			label = "hung up"
		} else if o.code != "" {
			label += " " + o.code
		}
		if statuses[o.kind] == nil {
			statuses[o.kind] = map[string]int{}
		}
		statuses[o.kind][label]++
		ok := o.status >= 200 && o.status < 300
		failed := o.status != 0 && !ok
		if o.status >= 500 {
			bad = append(bad, fmt.Sprintf("%s of %s answered %s", o.kind, o.users[0], label))
		}
		if o.kind == create {
			guid, exists := byUPN[o.users[0]]
			events := audits[[2]string{guid, allot.ActAddUser}]
			switch {
			case ok && (!exists || events != 1):
				bad = append(bad, fmt.Sprintf("create %s answered %s, but exists=%v with %d audit events", o.users[0], label, exists, events))
			case failed && exists:
				bad = append(bad, fmt.Sprintf("create %s answered %s, but the user exists (%d audit events)", o.users[0], label, events))
			case exists && events != 1:
				bad = append(bad, fmt.Sprintf("create %s (%s): the user exists with %d audit events", o.users[0], label, events))
			}
			continue
		}
		p := sku
		if o.kind == fail {
			p = full
		}
		has, once := 0, true
		for _, u := range o.users {
			n, events := states[[2]string{u, p}], audits[[2]string{u, allot.ActChangeUserLicense}]
			if n > 0 {
				has++
			}
			if n > 1 || events > 1 || (n == 1) != (events == 1) {
				once = false
			}
		}
		if p == sku {
			present += has
		}
		switch {
		case !once:
			bad = append(bad, fmt.Sprintf("%s of %s… (%s): not exactly once: a state without its audit event, or either twice", o.kind, o.users[0], label))
		case ok && has != len(o.users):
			bad = append(bad, fmt.Sprintf("%s of %s… answered %s, but only %d of its %d users hold the product", o.kind, o.users[0], label, has, len(o.users)))
		case failed && has > 0:
			bad = append(bad, fmt.Sprintf("%s of %s… answered %s, but %d of its %d users hold the product", o.kind, o.users[0], label, has, len(o.users)))
		case has != 0 && has != len(o.users):
			bad = append(bad, fmt.Sprintf("%s of %s… (client hung up) is half applied: %d of %d users hold the product", o.kind, o.users[0], has, len(o.users)))
		}
	}
	consumed, _ := c.consumed(sku)
	holders, err := h.st.CountHolders(ctx, c.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.st.Product(ctx, c.Tenant.ID, sku)
	if err != nil {
		t.Fatal(err)
	}
	if consumed != holders[p.ID] || consumed != present {
		bad = append(bad, fmt.Sprintf("CANCEL_SEATS: consumedUnits %d, holders %d, users licensed by the writes %d; %s",
			consumed, holders[p.ID], present, unclaimedHolders(t, db, c.Tenant.ID, p.ID, func(yield func(string) bool) {
				for _, o := range outcomes {
					for _, u := range o.users {
						if !yield(u) {
							return
						}
					}
				}
			})))
	}
	if n, _ := c.consumed(full); n != 0 {
		bad = append(bad, fmt.Sprintf("CANCEL_FULL: consumedUnits %d of 0 seats", n))
	}
	var lines []string
	for _, k := range []string{assign, fail, create, bulk} {
		var parts []string
		for l, n := range statuses[k] {
			parts = append(parts, fmt.Sprintf("%s×%d", l, n))
		}
		lines = append(lines, fmt.Sprintf("%-12s %s", k+":", strings.Join(sortStrings(parts), " ")))
	}
	t.Logf("%d writes by %d clients in %d rounds in %s:\n  %s", len(outcomes), clients, r, took.Round(time.Millisecond), strings.Join(lines, "\n  "))
	if len(bad) > 0 {
		t.Errorf("%d writes are not all-or-nothing as answered; first ones:\n  %s", len(bad), strings.Join(bad[:min(len(bad), 25)], "\n  "))
	}
	// A client that hangs up is no server error; anything else the server
	// logged is (the harness fails the test on it).
	var kept []string
	hangUps := 0
	for _, m := range h.logs.take() {
		if strings.Contains(m, "context canceled") {
			hangUps++
			continue
		}
		kept = append(kept, m)
	}
	if hangUps > 0 {
		t.Logf("the server logged %d hang-ups (context canceled) as request errors", hangUps)
	}
	if len(kept) > 0 {
		t.Errorf("the server logged %d error(s) besides hang-ups:\n%s", len(kept), strings.Join(kept[:min(len(kept), 20)], "\n"))
	}
}

// sendHangingUp sends a request and, when hangUp ≥ 0, cancels it that long
// after sending (the client hangs up). It returns the status and Graph error
// code, or status 0 when no complete answer arrived.
func (c *client) sendHangingUp(method, path string, body any, hangUp time.Duration) (int, string) {
	rd, err := encodeBody(body)
	if err != nil {
		return 0, err.Error()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.h.srv.URL+path, rd)
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	if hangUp >= 0 {
		timer := time.AfterFunc(hangUp, cancel)
		defer timer.Stop()
	}
	res, err := c.h.hc.Do(req)
	if err != nil {
		return 0, ""
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, ""
	}
	return res.StatusCode, errorCode(data)
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// unclaimedHolders describes the users holding the product that no write
// named, by the prefix of their userPrincipalName (which load made them).
func unclaimedHolders(t *testing.T, db *sql.DB, tenantID, productID int64, named iter.Seq[string]) string {
	claimed := map[string]bool{}
	for u := range named {
		claimed[u] = true
	}
	rows, err := db.Query(`SELECT u.guid, u.upn FROM license_states ls JOIN users u ON u.id = ls.user_id
		WHERE u.tenant_id = ? AND ls.product_id = ? AND ls.state = 'Active'`, tenantID, productID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byPrefix := map[string]int{}
	var first []string
	for rows.Next() {
		var guid, upn string
		if err := rows.Scan(&guid, &upn); err != nil {
			t.Fatal(err)
		}
		if claimed[guid] || claimed[upn] {
			continue
		}
		prefix, _, _ := strings.Cut(upn, "@")
		if i := strings.LastIndexByte(prefix, '-'); i > 0 {
			prefix = prefix[:i]
		}
		byPrefix[prefix]++
		if len(first) < 5 {
			first = append(first, upn)
		}
	}
	return fmt.Sprintf("holders no write named: %v, first %v", byPrefix, first)
}
