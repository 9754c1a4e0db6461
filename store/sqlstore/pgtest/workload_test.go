package pgtest

// TestWorkload: a randomized concurrent workload through the real HTTP API
// of real `allot serve` processes — one on an SQLite data directory, two on
// one PostgreSQL database (requests spread over both) — with the licensing
// invariants checked at random quiescent points and at the end.
//
// ALLOT_WORKLOAD_SECONDS sets how long the writers run (default 60 with
// CI=true, 10 otherwise), ALLOT_WORKLOAD_SEED replays a run (the seed is
// printed), ALLOT_WORKLOAD_CLIENTS sets the number of concurrent clients.

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

func TestWorkload(t *testing.T) {
	dur := workloadDuration()
	seed := time.Now().UnixNano() % 1_000_000
	if s, err := strconv.ParseInt(os.Getenv("ALLOT_WORKLOAD_SEED"), 10, 64); err == nil {
		seed = s
	}
	clients := 8
	if n, err := strconv.Atoi(os.Getenv("ALLOT_WORKLOAD_CLIENTS")); err == nil && n > 0 {
		clients = n
	}
	t.Run("sqlite", func(t *testing.T) {
		c, s := newSQLiteCluster(t)
		runWorkload(t, []*server{s}, c.st, c.tenant, seed, dur, clients)
	})
	t.Run("postgres", func(t *testing.T) {
		c, a := newCluster(t)
		b := startServer(t, "B", c.db)
		runWorkload(t, []*server{a, b}, c.st, c.tenant, seed, dur, clients)
	})
}

func workloadDuration() time.Duration {
	if s, err := strconv.ParseFloat(os.Getenv("ALLOT_WORKLOAD_SECONDS"), 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	if os.Getenv("CI") == "true" {
		return 60 * time.Second
	}
	return 10 * time.Second
}

// wlProduct is one product of the workload's tenant.
type wlProduct struct {
	part string
	sku  string
	base int // seats at start; seat changes move around it
}

// workload is the shared state of one run.
type workload struct {
	t       *testing.T
	servers []*server
	st      *sqlstore.Store
	tenant  *allot.Tenant

	users    []int64  // internal ids
	guids    []string // GUIDs, same order
	groups   []string // group GUIDs
	products []wlProduct

	// gate pauses the writers: each request holds it shared, a
	// checkpoint holds it exclusively.
	gate sync.RWMutex
	// members is what the writers believe each group's direct members are
	// (kept from the answers), to pick removals that mostly exist.
	mu      sync.Mutex
	members []map[string]bool

	tally      *tally
	unexpected atomic.Int64
	checks     map[string]int // invariant → times checked
	violations int
}

// The workload's products: catalog products with a prerequisite (Insights
// needs E3 or E5) and a mutually exclusive pair (Exchange plan 1 / plan 2),
// and custom products with the same kinds of rules.
var workloadProducts = []struct {
	part                    string
	seats                   int
	requires, exclusiveWith []string
	custom                  bool
}{
	{part: "SPE_E3", seats: 110},
	{part: "SPE_E5", seats: 40},
	{part: "WORKPLACE_ANALYTICS_INSIGHTS", seats: 60},
	{part: "EXCHANGESTANDARD", seats: 80},
	{part: "EXCHANGEENTERPRISE", seats: 40},
	{part: "WL_BASE", seats: 100, custom: true},
	{part: "WL_ADDON", seats: 50, custom: true, requires: []string{"WL_BASE"}},
	{part: "WL_X", seats: 70, custom: true, exclusiveWith: []string{"WL_Y"}},
	{part: "WL_Y", seats: 70, custom: true},
}

const (
	workloadUsers  = 300
	workloadGroups = 8
)

func runWorkload(t *testing.T, servers []*server, st *sqlstore.Store, ten *allot.Tenant, seed int64, dur time.Duration, clients int) {
	t.Logf("workload seed %d (ALLOT_WORKLOAD_SEED=%d replays the requests), %s, %d clients, %d server process(es)", seed, seed, dur, clients, len(servers))
	w := &workload{t: t, servers: servers, st: st, tenant: ten, tally: newTally(), checks: map[string]int{}}
	w.setUp(rand.New(rand.NewSource(seed)))

	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(seed*1000 + int64(i) + 1))
			for !stop.Load() {
				w.step(rnd)
			}
		}()
	}
	// Quiescent checkpoints at random moments of the writers' time; the
	// time spent checking does not count.
	crnd := rand.New(rand.NewSource(seed - 1))
	var active time.Duration
	points := 0
	for active < dur {
		step := min(dur/6+time.Duration(crnd.Int63n(int64(dur/4)+1)), dur-active)
		time.Sleep(step) // the writers run meanwhile
		active += step
		if active < dur {
			points++
			w.checkpoint(fmt.Sprintf("checkpoint %d at %s", points, active.Round(time.Second)))
		}
	}
	stop.Store(true)
	wg.Wait()
	w.checkpoint("final")

	var names []string
	for k := range w.checks {
		names = append(names, k)
	}
	sort.Strings(names)
	var cs []string
	for _, k := range names {
		cs = append(cs, fmt.Sprintf("%s ×%d", k, w.checks[k]))
	}
	t.Logf("answers by kind and status:\n%s", w.tally.report())
	t.Logf("%d quiescent checkpoints plus the final one; checks: %s; %d violations", points, strings.Join(cs, ", "), w.violations)
	// No answer may be a 5xx, not even a 503 after a spent retry budget: a
	// write that lost to concurrent ones twice runs alone and completes.
	bad := w.tally.failures()
	if len(bad) > 0 {
		t.Errorf("%d of %d answers had status ≥ 500 or no answer at all; first ones:\n  %s", len(bad), w.tally.total, strings.Join(bad[:min(len(bad), 20)], "\n  "))
	}
	if n := w.unexpected.Load(); n > 0 {
		t.Errorf("%d answers had a status outside 200/201/202/204/400/404/409 (see the log)", n)
	}
}

// setUp creates the products, users and groups, with some initial members
// and group licenses, and waits for group licensing to converge.
func (w *workload) setUp(rnd *rand.Rand) {
	t, s := w.t, w.servers[0]
	for _, p := range workloadProducts {
		var sku string
		if p.custom {
			sku = ruledProduct(s, p.part, p.seats, p.requires, p.exclusiveWith)
		} else {
			sku = s.must(201, "POST", "/allot/v1/subscribedSkus", map[string]any{"skuPartNumber": p.part, "enabledUnits": p.seats})["skuId"].(string)
		}
		w.products = append(w.products, wlProduct{part: p.part, sku: sku, base: p.seats})
	}
	us := make([]sqlstore.LoadUser, workloadUsers)
	for i := range us {
		loc := "US"
		if i%10 == 9 {
			loc = "" // direct assignments need a usage location; groups fall back to the tenant's
		}
		us[i] = sqlstore.LoadUser{UserPrincipalName: fmt.Sprintf("wl%04d@contoso.test", i), UsageLocation: loc}
	}
	ids, err := w.st.LoadUsers(context.Background(), w.tenant.ID, us)
	if err != nil {
		t.Fatal(err)
	}
	w.users, w.guids = ids, guidsOf(t, w.st, ids)
	for i := 0; i < workloadGroups; i++ {
		g := s.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": fmt.Sprintf("WL group %d", i), "mailEnabled": false,
			"securityEnabled": true, "mailNickname": fmt.Sprintf("wlgroup%d", i)})
		w.groups = append(w.groups, g["id"].(string))
		w.members = append(w.members, map[string]bool{})
	}
	// Nesting: 1 in 0, 2 in 1, 4 in 3, 6 in 5.
	for _, e := range [][2]int{{0, 1}, {1, 2}, {3, 4}, {5, 6}} {
		s.must(204, "POST", "/v1.0/groups/"+w.groups[e[0]]+"/members/$ref", refTo(w.groups[e[1]]))
		w.members[e[0]][w.groups[e[1]]] = true
	}
	for _, u := range w.guids {
		if rnd.Intn(10) < 6 {
			g := rnd.Intn(workloadGroups)
			s.must(204, "POST", "/v1.0/groups/"+w.groups[g]+"/members/$ref", refTo(u))
			w.members[g][u] = true
		}
	}
	for g, parts := range map[int][]string{0: {"SPE_E3"}, 2: {"WORKPLACE_ANALYTICS_INSIGHTS"}, 3: {"WL_BASE", "WL_ADDON"}, 5: {"WL_Y"}, 7: {"EXCHANGEENTERPRISE"}} {
		var skus []string
		for _, p := range parts {
			skus = append(skus, w.product(p).sku)
		}
		s.must(202, "POST", "/v1.0/groups/"+w.groups[g]+"/assignLicense", addBody(skus, nil))
	}
	waitDrained(t, "initial group licensing", 2*time.Minute, w.st, w.servers...)
}

func (w *workload) product(part string) wlProduct {
	for _, p := range w.products {
		if p.part == part {
			return p
		}
	}
	w.t.Fatalf("no product %s", part)
	return wlProduct{}
}

func refTo(id string) map[string]any {
	return map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + id}
}

// request is one planned request of a writer.
type request struct {
	kind, method, path string
	body               any
	// after sees the answer (to keep the member lists).
	after func(status int, body map[string]any)
}

// Weights of the writers' request kinds.
var workloadMix = []struct {
	kind   string
	weight int
}{
	{"directAdd", 22}, {"directRemove", 12}, {"bulkAssign", 5}, {"groupAdd", 7}, {"groupRemove", 6},
	{"memberAdd", 14}, {"memberRemove", 12}, {"setSeats", 6}, {"preview", 4},
}

// step makes one random request through a random server and records its answer.
func (w *workload) step(rnd *rand.Rand) {
	total := 0
	for _, m := range workloadMix {
		total += m.weight
	}
	n := rnd.Intn(total)
	kind := ""
	for _, m := range workloadMix {
		if n < m.weight {
			kind = m.kind
			break
		}
		n -= m.weight
	}
	r := w.plan(rnd, kind)
	s := w.servers[rnd.Intn(len(w.servers))]
	w.gate.RLock()
	status, body, err := s.do(r.method, r.path, r.body)
	w.gate.RUnlock()
	w.tally.add(r.kind, s, r.method, r.path, status, body, err)
	if err != nil {
		return
	}
	switch status {
	case 200, 201, 202, 204, 400, 404, 409:
	default:
		if w.unexpected.Add(1) <= 10 {
			w.t.Logf("unexpected answer: %s %s %s → %d %v", s.name, r.method, r.path, status, body)
		}
	}
	if r.after != nil {
		r.after(status, body)
	}
}

func (w *workload) randomProduct(rnd *rand.Rand) wlProduct {
	return w.products[rnd.Intn(len(w.products))]
}
func (w *workload) randomUser(rnd *rand.Rand) string { return w.guids[rnd.Intn(len(w.guids))] }

// plan builds a random request of the kind.
func (w *workload) plan(rnd *rand.Rand, kind string) request {
	switch kind {
	case "directAdd":
		u := w.randomUser(rnd)
		skus := []string{w.randomProduct(rnd).sku}
		if rnd.Intn(5) == 0 {
			// A product with its prerequisite in one call.
			pairs := [][2]string{{"WL_BASE", "WL_ADDON"}, {"SPE_E3", "WORKPLACE_ANALYTICS_INSIGHTS"}, {"SPE_E5", "WORKPLACE_ANALYTICS_INSIGHTS"}}
			pr := pairs[rnd.Intn(len(pairs))]
			skus = []string{w.product(pr[0]).sku, w.product(pr[1]).sku}
		}
		return request{kind: kind, method: "POST", path: "/v1.0/users/" + u + "/assignLicense", body: addBody(skus, nil)}
	case "directRemove":
		u := w.randomUser(rnd)
		return request{kind: kind, method: "POST", path: "/v1.0/users/" + u + "/assignLicense", body: addBody(nil, []string{w.randomProduct(rnd).sku})}
	case "bulkAssign":
		n := 5 + rnd.Intn(36)
		ids := make([]string, n)
		for i := range ids {
			ids[i] = w.randomUser(rnd)
		}
		return request{kind: kind, method: "POST", path: "/allot/v1/licenses/assign", body: map[string]any{"skuId": w.randomProduct(rnd).sku, "userIds": ids}}
	case "groupAdd":
		g := w.groups[rnd.Intn(len(w.groups))]
		return request{kind: kind, method: "POST", path: "/v1.0/groups/" + g + "/assignLicense", body: addBody([]string{w.randomProduct(rnd).sku}, nil)}
	case "groupRemove":
		g := w.groups[rnd.Intn(len(w.groups))]
		path := "/v1.0/groups/" + g + "/assignLicense"
		if rnd.Intn(2) == 0 {
			kind, path = "groupRemoveConfirmed", path+"?confirmLicenseLoss=true"
		}
		return request{kind: kind, method: "POST", path: path, body: addBody(nil, []string{w.randomProduct(rnd).sku})}
	case "memberAdd":
		gi := rnd.Intn(len(w.groups))
		m := w.randomUser(rnd)
		if rnd.Intn(10) == 0 {
			m = w.groups[rnd.Intn(len(w.groups))]
		}
		return request{kind: kind, method: "POST", path: "/v1.0/groups/" + w.groups[gi] + "/members/$ref", body: refTo(m),
			after: func(status int, body map[string]any) {
				if status == 204 || graphCode(body) == "Request_BadRequest" && strings.Contains(fmt.Sprint(body), "already exist") {
					w.mu.Lock()
					w.members[gi][m] = true
					w.mu.Unlock()
				}
			}}
	case "memberRemove":
		gi := rnd.Intn(len(w.groups))
		w.mu.Lock()
		var ms []string
		for m := range w.members[gi] {
			ms = append(ms, m)
		}
		w.mu.Unlock()
		sort.Strings(ms)
		m := w.randomUser(rnd)
		if len(ms) > 0 && rnd.Intn(5) > 0 {
			m = ms[rnd.Intn(len(ms))]
		}
		return request{kind: kind, method: "DELETE", path: "/v1.0/groups/" + w.groups[gi] + "/members/" + m + "/$ref",
			after: func(status int, _ map[string]any) {
				if status == 204 || status == 404 {
					w.mu.Lock()
					delete(w.members[gi], m)
					w.mu.Unlock()
				}
			}}
	case "setSeats":
		p := w.randomProduct(rnd)
		n := max(0, p.base-15+rnd.Intn(31))
		body := map[string]any{"enabledUnits": n}
		path := "/allot/v1/subscribedSkus/" + p.sku
		switch rnd.Intn(3) {
		case 0:
			kind, body["confirmLicenseLoss"] = "setSeatsConfirmed", true
		case 1:
			kind, path = "setSeatsConfirmed", path+"?confirmLicenseLoss=true"
		}
		return request{kind: kind, method: "PATCH", path: path, body: body}
	case "preview":
		g := w.groups[rnd.Intn(len(w.groups))]
		p := w.randomProduct(rnd)
		var body map[string]any
		switch rnd.Intn(5) {
		case 0:
			body = map[string]any{"action": "groupAssignLicense", "groupId": g, "addLicenses": []map[string]any{{"skuId": p.sku}}}
		case 1:
			body = map[string]any{"action": "groupAssignLicense", "groupId": g, "removeLicenses": []string{p.sku}}
		case 2:
			body = map[string]any{"action": "setSeats", "skuId": p.sku, "enabledUnits": max(0, p.base-20+rnd.Intn(41))}
		case 3:
			body = map[string]any{"action": "addMember", "groupId": g, "memberId": w.randomUser(rnd)}
		default:
			body = map[string]any{"action": "userAssignLicense", "userId": w.randomUser(rnd), "addLicenses": []map[string]any{{"skuId": p.sku}}}
		}
		return request{kind: kind, method: "POST", path: "/allot/v1/preview", body: body}
	}
	panic("unknown request kind " + kind)
}

// checkpoint pauses the writers, waits for group licensing to converge,
// checks the invariants, recomputes everything from scratch and checks that
// nothing changed, then lets the writers go on.
func (w *workload) checkpoint(label string) {
	t := w.t
	t.Helper()
	start := time.Now()
	w.gate.Lock()
	defer w.gate.Unlock()
	w.converge(label)
	w.invariants(label)
	before := w.states()
	// Recompute every group and every user from scratch.
	for i, g := range w.groups {
		w.servers[i%len(w.servers)].must(202, "POST", "/v1.0/groups/"+g+"/reprocessLicenseAssignment", nil)
	}
	var wg sync.WaitGroup
	for k := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < len(w.guids); i += 4 {
				s := w.servers[i%len(w.servers)]
				if status, body, err := s.do("POST", "/v1.0/users/"+w.guids[i]+"/reprocessLicenseAssignment", nil); err != nil || status != 200 {
					t.Errorf("%s: reprocess user %s: %d %v %v", label, w.guids[i], status, body, err)
				}
			}
		}()
	}
	wg.Wait()
	w.converge(label + " (full recomputation)")
	after := w.states()
	w.checks["state equals a from-scratch recomputation"]++
	var diffs, drift []string
	holding := 0 // differences in who holds what, not only in an error code
	seatBlocked := seatBlockedThroughout(before, after)
	for k, v := range before {
		if after[k] != v {
			if after[k] != "" && (blockedDrift(v, after[k]) || seatBlocked[userOf(k)]) {
				drift = append(drift, fmt.Sprintf("%s: %s → %s", k, v, after[k]))
				continue
			}
			diffs = append(diffs, fmt.Sprintf("%s: %s → %s", k, v, orNone(after[k])))
			if strings.HasPrefix(v, allot.StateActive) != strings.HasPrefix(after[k], allot.StateActive) {
				holding++
			}
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: none → %s", k, v))
			holding++
		}
	}
	if len(drift) > 0 {
		sort.Strings(drift)
		t.Logf("%s: %d failed grants changed only their reason, the user holding the same products and waiting for a seat before and after (otherProductInGroupFailed against the product's own reason, or the reasons of a user blocked by seats, as they were when the user was last evaluated); first ones:\n  %s",
			label, len(drift), strings.Join(sample(drift, 5), "\n  "))
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		w.violations += len(diffs)
		t.Errorf("%s: recomputing every group and user from scratch changed %d license states (%d of them who holds what, the others only the error code): the converged state was not the rules' fixed point; first ones:\n  %s",
			label, len(diffs), holding, strings.Join(sample(diffs, 15), "\n  "))
		w.invariants(label + " after recomputation")
	}
	t.Logf("%s: checked in %s", label, time.Since(start).Round(time.Millisecond))
}

// converge waits until no mark is pending (a failure after two minutes),
// then until every group's licenseProcessingState is ProcessingComplete: a
// group that stays queued or in progress with no work left is a violation,
// reported after 15 s, and the checks go on.
func (w *workload) converge(label string) {
	t := w.t
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var idle time.Time // since when no mark is pending
	for {
		ok, busy, err := drained(w.st, w.servers[0])
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if ok {
			w.checks["every group's processing completes"]++
			return
		}
		now := time.Now()
		if strings.HasSuffix(busy, "pending marks") {
			idle = time.Time{}
			if now.After(deadline) {
				for _, s := range w.servers {
					t.Logf("%s log:\n%s", s.name, tail(s.log(), 30))
				}
				t.Fatalf("%s: group licensing did not converge within 2m (%s)", label, busy)
			}
		} else if idle.IsZero() {
			idle = now
		} else if now.Sub(idle) > 15*time.Second {
			states, _ := groupStates(w.servers[0])
			var stuck []string
			for i, g := range w.groups {
				if states[g] != allot.ProcessingComplete {
					stuck = append(stuck, fmt.Sprintf("WL group %d is %s", i, states[g]))
				}
			}
			w.violations++
			w.checks["every group's processing completes"]++
			t.Errorf("%s: no mark is pending for 15s, yet %s: licenseProcessingState never reaches ProcessingComplete", label, strings.Join(stuck, ", "))
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// states returns every license state of the tenant's users as
// "user product source" → "state code".
func (w *workload) states() map[string]string {
	w.t.Helper()
	lic, err := w.st.UserLicenses(context.Background(), w.tenant.ID, w.users)
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]string{}
	for i, id := range w.users {
		for _, v := range lic[id] {
			src := "direct"
			if v.Source != allot.DirectSource {
				src = "group " + v.GroupName
			}
			out[fmt.Sprintf("wl%04d %s %s", i, v.Product.SkuPartNumber, src)] = strings.TrimSpace(v.State + " " + string(v.Code))
		}
	}
	return out
}

// invariants checks, on the converged state: no user holds both products
// of a mutually exclusive pair; every active product with a prerequisite
// has one active; consumedUnits equals the holders and never exceeds
// enabledUnits (also as every server reports it); nobody waits for a seat
// while one is free.
func (w *workload) invariants(label string) {
	t := w.t
	t.Helper()
	ctx := context.Background()
	lic, err := w.st.UserLicenses(ctx, w.tenant.ID, w.users)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := w.st.Products(ctx, w.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	holders, err := w.st.CountHolders(ctx, w.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	byPart := map[string]*allot.Product{}
	for _, p := range ps {
		byPart[p.SkuPartNumber] = p
	}
	var bad []string
	waiting := map[int64]map[int64]bool{}
	for i, id := range w.users {
		active := map[string]bool{}
		for _, v := range lic[id] {
			if v.State == allot.StateActive {
				active[v.Product.SkuPartNumber] = true
			}
			if v.Code == allot.ENoSeats || v.Code == allot.ESeatsReduced {
				if waiting[v.ProductID] == nil {
					waiting[v.ProductID] = map[int64]bool{}
				}
				waiting[v.ProductID][id] = true
			}
		}
		for part := range active {
			p := byPart[part]
			w.checks["no mutually exclusive pair both active"]++
			for _, q := range p.Rules.MutuallyExclusiveWith {
				if active[q] {
					bad = append(bad, fmt.Sprintf("user wl%04d holds both %s and %s: %s", i, part, q, describe(lic[id])))
				}
			}
			if len(p.Rules.RequiresAnyOf) > 0 {
				w.checks["active add-on has an active prerequisite"]++
				ok := false
				for _, q := range p.Rules.RequiresAnyOf {
					ok = ok || active[q]
				}
				if !ok {
					bad = append(bad, fmt.Sprintf("user wl%04d holds %s without any of %v: %s", i, part, p.Rules.RequiresAnyOf, describe(lic[id])))
				}
			}
		}
	}
	for _, p := range ps {
		w.checks["consumedUnits = holders ≤ enabledUnits"]++
		if p.ConsumedUnits != holders[p.ID] || holders[p.ID] > p.EnabledUnits {
			bad = append(bad, fmt.Sprintf("%s: consumedUnits %d, holders %d, enabledUnits %d", p.SkuPartNumber, p.ConsumedUnits, holders[p.ID], p.EnabledUnits))
		}
		w.checks["nobody waits while a seat is free"]++
		if n := len(waiting[p.ID]); n > 0 && holders[p.ID] < p.EnabledUnits {
			bad = append(bad, fmt.Sprintf("%s: %d users wait for a seat while %d of %d are used", p.SkuPartNumber, n, holders[p.ID], p.EnabledUnits))
		}
	}
	for _, s := range w.servers {
		w.checks["every server reports consumedUnits = holders"]++
		status, body, err := s.do("GET", "/v1.0/subscribedSkus", nil)
		if err != nil || status != 200 {
			bad = append(bad, fmt.Sprintf("%s: GET /v1.0/subscribedSkus: %d %v %v", s.name, status, body, err))
			continue
		}
		for _, v := range body["value"].([]any) {
			m := v.(map[string]any)
			part := m["skuPartNumber"].(string)
			if p := byPart[part]; p != nil && int(m["consumedUnits"].(float64)) != holders[p.ID] {
				bad = append(bad, fmt.Sprintf("%s reports %s consumedUnits %v, holders %d", s.name, part, m["consumedUnits"], holders[p.ID]))
			}
		}
	}
	if len(bad) > 0 {
		w.violations += len(bad)
		t.Errorf("%s: %d invariant violations; first ones:\n  %s", label, len(bad), strings.Join(sample(bad, 20), "\n  "))
	}
}

// describe renders a user's license states for a message.
func describe(vs []store.LicenseView) string {
	var parts []string
	for _, v := range vs {
		src := "direct"
		if v.GroupName != "" {
			src = v.GroupName
		}
		parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s(%s) %s %s", v.Product.SkuPartNumber, src, v.State, v.Code)))
	}
	return strings.Join(parts, ", ")
}

// seatBlockedThroughout returns the users (by the "wl0001" prefix of the
// state keys) who hold the same products before and after and wait for a
// seat in both: their failed grants may change reason between the two.
// A waiting user is evaluated again when seats are freed, not when another
// product's last free seat goes to someone else, so its reasons say how the
// seats were at its last evaluation: a direct add-on that failed for its own
// seats (while the group's prerequisite had one) shows prerequisiteMissing
// once the prerequisite's seats are gone too. Who holds what is checked
// strictly elsewhere; so is that nobody waits while a seat is free.
func seatBlockedThroughout(before, after map[string]string) map[string]bool {
	type info struct{ held, waits [2]bool }
	users := map[string]*info{}
	holds := map[string][2]string{} // user → sorted held grants, before and after
	for i, m := range []map[string]string{before, after} {
		held := map[string][]string{}
		for k, v := range m {
			u := userOf(k)
			if users[u] == nil {
				users[u] = &info{}
			}
			if strings.HasPrefix(v, allot.StateActive) {
				held[u] = append(held[u], k)
			}
			if strings.Contains(v, string(allot.ENoSeats)) || strings.Contains(v, string(allot.ESeatsReduced)) {
				users[u].waits[i] = true
			}
		}
		for u, ks := range held {
			sort.Strings(ks)
			h := holds[u]
			h[i] = strings.Join(ks, ",")
			holds[u] = h
		}
	}
	out := map[string]bool{}
	for u, in := range users {
		if in.waits[0] && in.waits[1] && holds[u][0] == holds[u][1] {
			out[u] = true
		}
	}
	return out
}

// userOf returns the user part ("wl0001") of a state key.
func userOf(key string) string {
	u, _, _ := strings.Cut(key, " ")
	return u
}

// blockedDrift tells whether two states of one grant differ only in which
// reason an unlicensed group grant gives: otherProductInGroupFailed (another
// product of the group failed first) against this product's own reason: a
// seat code, a missing prerequisite or an exclusion with a held product. Both leave the user without the product and without a
// place in its queue being taken from anyone; which one a grant shows
// depends on the seats when the user was last evaluated (docs/design.md).
func blockedDrift(a, b string) bool {
	seat := func(s string) bool {
		return strings.Contains(s, string(allot.ENoSeats)) || strings.Contains(s, string(allot.ESeatsReduced))
	}
	other := func(s string) bool { return strings.Contains(s, string(allot.EOtherProductFailed)) }
	// Which product of a blocked group pair carries the specific reason (a seat code, a missing
	// prerequisite, or the exclusion with a directly held product) may swap between passes; who
	// holds what does not, and the checks on holdings stay strict.
	blocked := func(s string) bool {
		return seat(s) || strings.Contains(s, string(allot.EPrerequisiteMissing)) ||
			strings.Contains(s, string(allot.EMutuallyExclusive))
	}
	return strings.HasPrefix(a, allot.StateError) && strings.HasPrefix(b, allot.StateError) &&
		((other(a) && blocked(b)) || (blocked(a) && other(b)))
}

func TestSeatBlockedThroughout(t *testing.T) {
	const (
		noSeats = allot.StateError + " " + string(allot.ENoSeats)
		prereq  = allot.StateError + " " + string(allot.EPrerequisiteMissing)
		other   = allot.StateError + " " + string(allot.EOtherProductFailed)
	)
	cases := []struct {
		name          string
		before, after map[string]string
		want          bool
	}{
		{"an add-on's reason follows its prerequisite's seats",
			map[string]string{"wl1 WAI direct": noSeats, "wl1 E3 group G": other, "wl1 WAI group G": noSeats, "wl1 X direct": allot.StateActive},
			map[string]string{"wl1 WAI direct": prereq, "wl1 E3 group G": noSeats, "wl1 WAI group G": other, "wl1 X direct": allot.StateActive},
			true},
		{"a user who gains a product is not drift",
			map[string]string{"wl1 WAI direct": noSeats, "wl1 E3 group G": noSeats},
			map[string]string{"wl1 WAI direct": prereq, "wl1 E3 group G": allot.StateActive},
			false},
		{"a user who loses a product is not drift",
			map[string]string{"wl1 WAI direct": noSeats, "wl1 X direct": allot.StateActive},
			map[string]string{"wl1 WAI direct": noSeats, "wl1 X direct": noSeats},
			false},
		{"a user who stops waiting is not drift",
			map[string]string{"wl1 WAI direct": noSeats},
			map[string]string{"wl1 WAI direct": prereq},
			false},
		{"a user who starts waiting is not drift",
			map[string]string{"wl1 WAI direct": prereq},
			map[string]string{"wl1 WAI direct": noSeats},
			false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := seatBlockedThroughout(c.before, c.after)["wl1"]; got != c.want {
				t.Errorf("seatBlockedThroughout = %v, want %v", got, c.want)
			}
		})
	}
}
