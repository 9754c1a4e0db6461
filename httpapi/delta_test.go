package httpapi

import (
	"allot/store/sqlstore"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// deltaPage is one decoded page of a delta answer.
type deltaResp struct {
	Context string           `json:"@odata.context"`
	Value   []map[string]any `json:"value"`
	Next    string           `json:"@odata.nextLink"`
	Delta   string           `json:"@odata.deltaLink"`
}

// deltaGet GETs one delta page with Prefer: odata.maxpagesize=size (0: no
// header) and requires 200.
func (c *client) deltaGet(path string, size int) deltaResp {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.h.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if size > 0 {
		req.Header.Set("Prefer", fmt.Sprintf("odata.maxpagesize=%d", size))
	}
	res, err := c.h.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		c.t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
	}
	if size > 0 && res.Header.Get("Preference-Applied") != fmt.Sprintf("odata.maxpagesize=%d", size) {
		c.t.Errorf("Preference-Applied = %q", res.Header.Get("Preference-Applied"))
	}
	var d deltaResp
	if err := json.Unmarshal(body, &d); err != nil {
		c.t.Fatalf("decode %s: %v", body, err)
	}
	if (d.Next == "") == (d.Delta == "") {
		c.t.Fatalf("a delta page has exactly one of nextLink and deltaLink: %s", body)
	}
	if len(d.Value) > max(size, 0) && size > 0 {
		c.t.Errorf("page of %d items with maxpagesize %d", len(d.Value), size)
	}
	return d
}

// deltaRound follows a delta from path through its nextLinks and returns
// every item, the number of pages and the deltaLink (relative).
func (c *client) deltaRound(path string, size int) (items []map[string]any, pages int, deltaLink string) {
	c.t.Helper()
	for {
		d := c.deltaGet(path, size)
		pages++
		items = append(items, d.Value...)
		if d.Delta != "" {
			return items, pages, c.h.relative(d.Delta)
		}
		path = c.h.relative(d.Next)
	}
}

// byID indexes items by id and fails on an id listed twice.
func byID(t *testing.T, items []map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, it := range items {
		id, _ := it["id"].(string)
		if _, dup := out[id]; dup {
			t.Errorf("%s appears twice in one delta round", id)
		}
		out[id] = it
	}
	return out
}

func idsOf(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedIDs(s ...string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func removedReason(it map[string]any) string {
	r, _ := it["@removed"].(map[string]any)
	s, _ := r["reason"].(string)
	return s
}

func TestUsersDeltaReportsEachChangeOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		var users []string
		for i := range 5 {
			users = append(users, c.createUser(fmt.Sprintf("u%d@contoso.com", i), "US"))
		}
		// First pass: every user, 2 a page, then a deltaLink.
		items, pages, link := c.deltaRound("/v1.0/users/delta", 2)
		if got := idsOf(byID(t, items)); !slices.Equal(got, sortedIDs(users...)) {
			t.Fatalf("first pass lists %v, want %v", got, sortedIDs(users...))
		}
		if pages != 3 {
			t.Errorf("5 users at 2 a page came in %d pages", pages)
		}
		if !strings.Contains(link, "$deltatoken=") {
			t.Fatalf("deltaLink %s has no $deltatoken", link)
		}
		if items, _, _ := c.deltaRound(link, 0); len(items) != 0 {
			t.Fatalf("no change, yet the delta lists %v", items)
		}

		// Changes: one of each kind.
		u5 := c.createUser("u5@contoso.com", "US")
		c.must(204, "PATCH", "/v1.0/users/"+users[0], map[string]any{"displayName": "First"})
		c.must(204, "PATCH", "/v1.0/users/"+users[0], map[string]any{"displayName": "Second"})
		c.must(204, "DELETE", "/v1.0/users/"+users[1], nil)
		c.must(200, "POST", "/v1.0/users/"+users[2]+"/assignLicense", assignBody([]string{c.sku("SPE_E3")}, nil))
		got, _, link2 := c.deltaRound(link, 2)
		m := byID(t, got)
		if want := sortedIDs(u5, users[0], users[1], users[2]); !slices.Equal(idsOf(m), want) {
			t.Fatalf("delta lists %v, want %v", idsOf(m), want)
		}
		if m[users[0]]["displayName"] != "Second" {
			t.Errorf("changed user shows %v, want its latest displayName", m[users[0]]["displayName"])
		}
		if removedReason(m[users[1]]) != "deleted" {
			t.Errorf("deleted user: %v", m[users[1]])
		}
		if al, _ := m[users[2]]["assignedLicenses"].([]any); len(al) != 1 {
			t.Errorf("licensed user shows assignedLicenses %v", m[users[2]]["assignedLicenses"])
		}
		if items, _, _ := c.deltaRound(link2, 0); len(items) != 0 {
			t.Fatalf("no change since, yet the delta lists %v", items)
		}

		// A license through a group, and the removal of a direct one.
		g := c.createGroup("Licensed")
		c.addMember(g, users[3])
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{c.sku("SPE_E5")}, nil))
		h.drain()
		c.must(200, "POST", "/v1.0/users/"+users[2]+"/assignLicense", assignBody(nil, []string{c.sku("SPE_E3")}))
		got, _, _ = c.deltaRound(link2, 0)
		m = byID(t, got)
		if want := sortedIDs(users[2], users[3]); !slices.Equal(idsOf(m), want) {
			t.Fatalf("after group licensing the delta lists %v, want %v", idsOf(m), want)
		}
		if al, _ := m[users[3]]["assignedLicenses"].([]any); len(al) != 1 {
			t.Errorf("group-licensed user shows assignedLicenses %v", m[users[3]]["assignedLicenses"])
		}
		if al, _ := m[users[2]]["assignedLicenses"].([]any); len(al) != 0 {
			t.Errorf("unlicensed user shows assignedLicenses %v", m[users[2]]["assignedLicenses"])
		}
	})
}

func TestUsersDeltaSelectLatestAndBadTokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		u := c.createUser("sel@contoso.com", "US")
		d := c.deltaGet("/v1.0/users/delta?$select=displayName,jobTitle", 0)
		if !strings.HasSuffix(d.Context, "#users(displayName,jobTitle)") {
			t.Errorf("@odata.context %s", d.Context)
		}
		for _, it := range d.Value {
			for k := range it {
				if k != "id" && k != "displayName" && k != "jobTitle" && !strings.HasPrefix(k, "@odata.") {
					t.Errorf("$select=displayName,jobTitle answers %s", k)
				}
			}
		}
		c.must(204, "PATCH", "/v1.0/users/"+u, map[string]any{"jobTitle": "Chief"})
		next := c.deltaGet(h.relative(d.Delta), 0) // the token keeps $select
		if len(next.Value) != 1 || next.Value[0]["jobTitle"] != "Chief" || next.Value[0]["usageLocation"] != nil {
			t.Errorf("delta with the selecting token: %v", next.Value)
		}

		// latest: no objects, a deltaLink from now on.
		l := c.deltaGet("/v1.0/users/delta?$deltatoken=latest", 0)
		if len(l.Value) != 0 || l.Delta == "" {
			t.Fatalf("$deltatoken=latest: %+v", l)
		}
		v := c.createUser("later@contoso.com", "US")
		if items, _, _ := c.deltaRound(h.relative(l.Delta), 0); len(items) != 1 || items[0]["id"] != v {
			t.Errorf("after latest, the delta lists %v, want only %s", items, v)
		}

		// Bad input: 400 with Graph's envelope.
		c.expectError(400, "Request_BadRequest", "GET", "/v1.0/users/delta?$deltatoken=garbage", nil)
		c.expectError(400, "Request_BadRequest", "GET", "/v1.0/users/delta?$skiptoken=garbage", nil)
		c.expectError(400, "Request_BadRequest", "GET", "/v1.0/users/delta?$select=nosuchproperty", nil)
		c.expectError(400, "Request_UnsupportedQuery", "GET", "/v1.0/users/delta?$top=5", nil)
		g := c.deltaGet("/v1.0/groups/delta?$deltatoken=latest", 0)
		groupsToken := strings.SplitN(h.relative(g.Delta), "?", 2)[1]
		c.expectError(400, "Request_BadRequest", "GET", "/v1.0/users/delta?"+groupsToken, nil)
		other := h.newTenant("Fabrikam", "EUR", "DE", nil)
		other.with(t).expectError(400, "Request_BadRequest", "GET", h.relative(l.Delta), nil)

		// A token older than what the feed keeps asks for a full sync.
		c.must(204, "PATCH", "/v1.0/users/"+u, map[string]any{"jobTitle": "Retired"})
		if err := h.st.PruneChanges(context.Background(), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		e := c.expectError(400, "syncStateNotFound", "GET", h.relative(l.Delta), nil)
		if !strings.Contains(e.Message, "synchronized again") {
			t.Errorf("resync message: %s", e.Message)
		}
		if items, _, _ := c.deltaRound("/v1.0/users/delta", 0); len(items) != 2 {
			t.Errorf("a new first pass lists %d users, want 2", len(items))
		}
	})
}

func TestGroupsDeltaMembers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		big := c.createGroup("Big")
		var members []string
		for i := range 12 {
			u := c.createUser(fmt.Sprintf("m%d@contoso.com", i), "US")
			c.addMember(big, u)
			members = append(members, u)
		}
		small := c.createGroup("Small")
		doomed := c.createGroup("Doomed")
		c.addMember(small, doomed)

		// First pass at 2 a page: 10 member links a page, so Big's 12
		// members come on two pages.
		items, _, link := c.deltaRound("/v1.0/groups/delta", 2)
		got := map[string][]string{}
		for _, it := range items {
			id := it["id"].(string)
			if _, ok := got[id]; !ok {
				got[id] = []string{}
			}
			links, ok := it["members@delta"].([]any)
			if !ok {
				t.Fatalf("group %s has no members@delta: %v", id, it)
			}
			for _, l := range links {
				got[id] = append(got[id], l.(map[string]any)["id"].(string))
			}
		}
		if !slices.Equal(sortedIDs(got[big]...), sortedIDs(members...)) || !slices.Equal(got[small], []string{doomed}) || len(got[doomed]) != 0 || len(got) != 3 {
			t.Fatalf("first pass: %v", got)
		}

		// Changes: a member in, a member out, a rename, a deletion.
		extra := c.createUser("extra@contoso.com", "US")
		c.addMember(big, extra)
		c.must(204, "DELETE", "/v1.0/groups/"+big+"/members/"+members[0]+"/$ref", nil)
		c.must(204, "PATCH", "/v1.0/groups/"+small, map[string]any{"description": "renamed"})
		c.must(204, "DELETE", "/v1.0/groups/"+doomed, nil)
		items, _, link = c.deltaRound(link, 0)
		m := byID(t, items)
		if want := sortedIDs(big, small, doomed); !slices.Equal(idsOf(m), want) {
			t.Fatalf("groups delta lists %v, want %v", idsOf(m), want)
		}
		links := map[string]string{}
		for _, l := range m[big]["members@delta"].([]any) {
			lm := l.(map[string]any)
			links[lm["id"].(string)] = removedReason(lm)
		}
		if len(links) != 2 || links[extra] != "" || links[members[0]] != "deleted" {
			t.Errorf("Big's members@delta: %v", links)
		}
		if m[small]["description"] != "renamed" {
			t.Errorf("renamed group: %v", m[small])
		}
		sl, _ := m[small]["members@delta"].([]any)
		if len(sl) != 1 || removedReason(sl[0].(map[string]any)) != "deleted" {
			t.Errorf("Small lost its deleted member group: %v", m[small]["members@delta"])
		}
		if removedReason(m[doomed]) != "deleted" {
			t.Errorf("deleted group: %v", m[doomed])
		}

		// A deleted user leaves its groups; $select without members lists none.
		c.must(204, "DELETE", "/v1.0/users/"+members[1], nil)
		items, _, _ = c.deltaRound(link, 0)
		if len(items) != 1 || items[0]["id"] != big {
			t.Fatalf("after a user deletion the groups delta lists %v", items)
		}
		l := items[0]["members@delta"].([]any)
		if len(l) != 1 || l[0].(map[string]any)["id"] != members[1] || removedReason(l[0].(map[string]any)) != "deleted" {
			t.Errorf("members@delta after the deletion: %v", l)
		}
		d := c.deltaGet("/v1.0/groups/delta?$select=displayName", 0)
		for _, it := range d.Value {
			if _, ok := it["members@delta"]; ok {
				t.Errorf("$select=displayName lists members@delta: %v", it)
			}
		}
	})
}

// TestDeltaWaitsForWritersInFlight holds a PostgreSQL transaction that
// changes a user while other writes commit and a reader follows deltas:
// the reader must not advance past the open transaction's change.
func TestDeltaWaitsForWritersInFlight(t *testing.T) {
	for _, e := range engines {
		if e.name != "postgres" {
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			h := newHarness(t, e.open)
			c := h.A.with(t)
			slow := c.createUser("slow@contoso.com", "US")
			_, _, link := c.deltaRound("/v1.0/users/delta", 0)

			// A writer in flight: it changes slow and records it, with its
			// transaction id, as every write does, but commits only later.
			ctx := context.Background()
			tx, err := h.st.DB().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, `UPDATE users SET display_name = 'Slow writer' WHERE guid = $1`, slow); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO directory_changes (tenant_id, feed, kind, object_num, object_id, seq, at)
				VALUES ($1, 0, 0, (SELECT id FROM users WHERE guid = $2), $2, pg_current_xact_id()::text::bigint, 0)
				ON CONFLICT (tenant_id, kind, object_num, member_num, object_id, member_id) DO UPDATE SET seq = excluded.seq`, c.Tenant.ID, slow); err != nil {
				t.Fatal(err)
			}
			// Writers that start later commit first; the reader follows.
			seen := map[string]map[string]any{}
			var fast []string
			for i := range 5 {
				fast = append(fast, c.createUser(fmt.Sprintf("fast%d@contoso.com", i), "US"))
				var items []map[string]any
				items, _, link = c.deltaRound(link, 0)
				for _, it := range items {
					seen[it["id"].(string)] = it
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			items, _, _ := c.deltaRound(link, 0)
			for _, it := range items {
				seen[it["id"].(string)] = it
			}
			if seen[slow] == nil || seen[slow]["displayName"] != "Slow writer" {
				t.Fatalf("the reader missed the change of the transaction that committed last: %v", seen[slow])
			}
			for _, f := range fast {
				if seen[f] == nil {
					t.Errorf("the reader missed %s", f)
				}
			}
		})
	}
}

// TestDeltaReaderMissesNothingUnderConcurrentWriters runs writers that
// create users, rename them and license them while a reader follows
// deltas; replaying what the reader saw gives the directory as it is.
func TestDeltaReaderMissesNothingUnderConcurrentWriters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		_, _, link := c.deltaRound("/v1.0/users/delta", 0)
		state := map[string]string{} // id → displayName, as the reader replays it
		apply := func(items []map[string]any) {
			for _, it := range items {
				id := it["id"].(string)
				if removedReason(it) != "" {
					delete(state, id)
				} else {
					state[id] = it["displayName"].(string)
				}
			}
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 15 {
					r, err := c.send("POST", "/v1.0/users", map[string]any{"userPrincipalName": fmt.Sprintf("w%d-%d@contoso.com", w, i),
						"displayName": "new", "usageLocation": "US", "accountEnabled": true})
					if err != nil || r.Status != 201 {
						t.Errorf("create: %v %v", err, r)
						return
					}
					var u map[string]any
					json.Unmarshal(r.Body, &u)
					id := u["id"].(string)
					c.send("PATCH", "/v1.0/users/"+id, map[string]any{"displayName": fmt.Sprintf("renamed %d", i)})
					if i%3 == 0 {
						c.send("POST", "/v1.0/users/"+id+"/assignLicense", assignBody([]string{c.sku("SPE_E3")}, nil))
					}
					if i%5 == 0 {
						c.send("DELETE", "/v1.0/users/"+id, nil)
					}
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		rounds := 0
	follow:
		for {
			select {
			case <-done:
				break follow
			default:
			}
			var items []map[string]any
			items, _, link = c.deltaRound(link, 3)
			apply(items)
			rounds++
		}
		close(stop)
		items, _, _ := c.deltaRound(link, 0)
		apply(items)
		want := map[string]string{}
		for _, u := range c.listAll("/v1.0/users?$select=id,displayName") {
			want[u["id"].(string)] = u["displayName"].(string)
		}
		if len(want) != 4*15-4*3 {
			t.Errorf("%d users remain, want %d", len(want), 4*15-4*3)
		}
		for id, name := range want {
			if state[id] != name {
				t.Errorf("user %s is %q, the reader has %q", id, name, state[id])
			}
		}
		for id := range state {
			if _, ok := want[id]; !ok {
				t.Errorf("the reader keeps %s, which is gone", id)
			}
		}
		t.Logf("%d delta rounds while writing", rounds)
	})
}

// TestGroupsDeltaListsTheMembersARuleAdded: the members a new rule adds are
// written as one change batch and expanded when the groups feed is read;
// the next round of groups/delta lists each of them once. A member deleted
// before the read is listed as removed, and the user who then gets its id
// (SQLite gives a deleted last row's id to the next user) is not listed as
// a member. A member who leaves later is removed in the round after.
func TestGroupsDeltaListsTheMembersARuleAdded(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A.with(t)
		inSales := func(upn string) string {
			u := c.createUser(upn, "US")
			c.must(204, "PATCH", "/v1.0/users/"+u, map[string]any{"department": "Sales"})
			return u
		}
		a, b := inSales("a@contoso.com"), inSales("b@contoso.com")
		_, _, link := c.deltaRound("/v1.0/groups/delta", 0)
		z := inSales("z@contoso.com")
		idOf := func(guid string) int64 {
			u, err := h.st.User(context.Background(), c.Tenant.ID, guid)
			if err != nil {
				t.Fatal(err)
			}
			return u.ID
		}
		zid := idOf(z)
		g := c.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Dynamic Sales", "mailEnabled": false, "securityEnabled": true,
			"mailNickname": "dynsales", "groupTypes": []string{"DynamicMembership"},
			"membershipRule": `user.department -eq "Sales"`, "membershipRuleProcessingState": "On"}).object(t)["id"].(string)
		c.must(204, "DELETE", "/v1.0/users/"+z, nil)
		y := c.createUser("y@contoso.com", "US")
		if h.st.Engine() != sqlstore.Postgres && idOf(y) != zid {
			t.Fatalf("SQLite gave the new user id %d, not the deleted user's %d: the test no longer tests a reused id", idOf(y), zid)
		}
		members := func() map[string]string {
			var items []map[string]any
			items, _, link = c.deltaRound(link, 0)
			out := map[string]string{}
			it := byID(t, items)[g]
			if it == nil {
				return out
			}
			ls, _ := it["members@delta"].([]any)
			for _, l := range ls {
				lm := l.(map[string]any)
				out[lm["id"].(string)] = removedReason(lm)
			}
			return out
		}
		got := members()
		if len(got) != 3 || got[a] != "" || got[b] != "" || got[z] != "deleted" {
			t.Errorf("after the rule: members@delta %v, want %s and %s added, %s removed (and not %s)", got, a, b, z, y)
		}
		c.must(204, "PATCH", "/v1.0/users/"+b, map[string]any{"department": "Marketing"})
		if got := members(); len(got) != 1 || got[b] != "deleted" {
			t.Errorf("after b left Sales: members@delta %v, want %s removed", got, b)
		}
	})
}
