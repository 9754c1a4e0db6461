package pgtest

// Regression tests of the licensing engine on PostgreSQL, each through two
// real `allot serve` processes on one database:
//
//   - TestRegressionPGWriteSkewGroupVsDirectExclusive: a group batch and
//     direct assignments (and a bulk assignment and direct assignments)
//     that give the two products of a mutually exclusive pair to the same
//     users at the same time never leave anyone with both active.
//   - TestRegressionPGBatchStarvation: a 20,000-user group batch completes
//     while 300 direct assignments/s of the same product run.
//   - TestRegressionNo5xxUnderMixedLoad: group batches plus 16 parallel
//     clients assigning directly: no answer ≥ 500 in 2,000 requests (also
//     on SQLite, with one process).

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"allot"
)

func TestRegressionPGWriteSkewGroupVsDirectExclusive(t *testing.T) {
	c, a := newCluster(t)
	b := startServer(t, "B", c.db)
	servers := []*server{a, b}
	ctx := context.Background()
	const seats = 100_000
	// The exclusion is declared on X only: it binds Y too.
	x := ruledProduct(a, "SKEW_X", seats, nil, []string{"SKEW_Y"})
	y := ruledProduct(a, "SKEW_Y", seats, nil, nil)
	px, py := productID(t, c.st, c.tenant.ID, x), productID(t, c.st, c.tenant.ID, y)
	seed := time.Now().UnixNano() % 1_000_000
	t.Logf("seed %d", seed)

	t.Run("GroupBatchVsDirect", func(t *testing.T) {
		// Rounds: a fresh group of members; 16 clients assign X directly to
		// them in random order, through both servers; a quarter of the way
		// in, the group is given Y. In the paced rounds the clients then
		// pause until the group batch completes (only the assignments in
		// flight overlap the batch: the write-skew window); in the last
		// round they go on through the whole batch.
		const rounds, members, clients = 9, 400, 16
		// A 400-member batch takes well under a second; one that waits for
		// a lease to expire (30 s) has failed and been retried.
		const batchLimit = 15 * time.Second
		tl := newTally()
		rnd := rand.New(rand.NewSource(seed))
		var allIDs []int64
		var allGUIDs []string
		var allStatus []int
		for r := 0; r < rounds; r++ {
			paced := r < rounds-1
			g, ids, err := c.st.LoadGroup(ctx, c.tenant.ID, fmt.Sprintf("Skew group %d", r), fmt.Sprintf("skew%d", r), members)
			if err != nil {
				t.Fatal(err)
			}
			guids := guidsOf(t, c.st, ids)
			order := rnd.Perm(members)
			status := make([]int, members) // each member's answer to the direct assignment of X
			var next atomic.Int64
			var mu sync.RWMutex // the paced rounds hold it while the batch runs
			quarter := make(chan struct{})
			var once sync.Once
			var wg sync.WaitGroup
			for k := 0; k < clients; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						mu.RLock()
						i := int(next.Add(1) - 1)
						if i >= members {
							mu.RUnlock()
							return
						}
						u := order[i]
						s := servers[i%2]
						st, body, err := s.do("POST", "/v1.0/users/"+guids[u]+"/assignLicense", addBody([]string{x}, nil))
						mu.RUnlock()
						tl.add("direct SKEW_X", s, "POST", "/v1.0/users/{id}/assignLicense", st, body, err)
						status[u] = st
						if i == members/4 {
							once.Do(func() { close(quarter) })
						}
					}
				}()
			}
			<-quarter
			servers[r%2].must(202, "POST", "/v1.0/groups/"+g.GUID+"/assignLicense", addBody([]string{y}, nil))
			start := time.Now()
			if paced {
				mu.Lock()
			}
			completed := false
			for time.Since(start) < batchLimit {
				gg, err := c.st.Group(ctx, c.tenant.ID, g.GUID)
				if err != nil {
					t.Fatal(err)
				}
				if gg.ProcessingState == allot.ProcessingComplete {
					completed = true
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			took := time.Since(start)
			if paced {
				mu.Unlock()
			}
			wg.Wait()
			if !completed {
				t.Errorf("round %d (%s): the %d-member group batch did not complete within %s while direct assignments ran", r, map[bool]string{true: "paced", false: "continuous"}[paced], members, batchLimit)
			}
			both := activeBoth(t, c.st, c.tenant.ID, ids, px, py)
			t.Logf("round %d (%s): batch completed=%v in %s; %d members hold both", r, map[bool]string{true: "paced", false: "continuous"}[paced], completed, took.Round(time.Millisecond), len(both))
			allIDs, allGUIDs, allStatus = append(allIDs, ids...), append(allGUIDs, guids...), append(allStatus, status...)
		}
		waitDrained(t, "group batches", 2*time.Minute, c.st, servers...)
		both := activeBoth(t, c.st, c.tenant.ID, allIDs, px, py)
		t.Logf("direct answers: %s", tl.report())
		if len(both) > 0 {
			var ex []string
			for _, id := range sample(both, 5) {
				for i, m := range allIDs {
					if m == id {
						ex = append(ex, fmt.Sprintf("%s (direct answer %d)", allGUIDs[i], allStatus[i]))
					}
				}
			}
			t.Errorf("%d of %d group members hold both SKEW_X (directly) and SKEW_Y (through their group), which exclude each other: write skew between a group batch and direct assignments; e.g. %s",
				len(both), len(allIDs), strings.Join(ex, ", "))
		}
		tl.checkNo5xx(t)
		checkSeatCounters(t, c.st, c.tenant.ID)
	})

	t.Run("BulkVsDirect", func(t *testing.T) {
		// Rounds of: bulk assignments of X (4 requests of ~62 users) and
		// 12 clients assigning Y directly to the same 250 users, at once.
		const rounds, per, bulks, clients = 8, 250, 4, 12
		ids := c.loadUsers("bulkskew", rounds*per)
		guids := guidsOf(t, c.st, ids)
		tl := newTally()
		bulkOK := make([]bool, len(ids))
		directOK := make([]bool, len(ids))
		rnd := rand.New(rand.NewSource(seed + 1))
		for r := 0; r < rounds; r++ {
			base := r * per
			order := rnd.Perm(per)
			var wg sync.WaitGroup
			var next atomic.Int64
			for k := 0; k < clients; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1) - 1)
						if i >= per {
							return
						}
						u := base + order[i]
						s := servers[i%2]
						status, body, err := s.do("POST", "/v1.0/users/"+guids[u]+"/assignLicense", addBody([]string{y}, nil))
						tl.add("direct SKEW_Y", s, "POST", "assignLicense", status, body, err)
						directOK[u] = status == 200
					}
				}()
			}
			for k := 0; k < bulks; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					lo, hi := base+k*per/bulks, base+(k+1)*per/bulks
					s := servers[k%2]
					status, body, err := s.do("POST", "/allot/v1/licenses/assign", map[string]any{"skuId": x, "userIds": guids[lo:hi]})
					tl.add("bulk SKEW_X", s, "POST", "/allot/v1/licenses/assign", status, body, err)
					if status != 200 {
						return
					}
					for j, v := range body["value"].([]any) {
						bulkOK[lo+j] = v.(map[string]any)["result"] == "licensed"
					}
				}()
			}
			wg.Wait()
		}
		both := activeBoth(t, c.st, c.tenant.ID, ids, px, py)
		var reported []string
		for i := range ids {
			if bulkOK[i] && directOK[i] {
				reported = append(reported, guids[i])
			}
		}
		t.Logf("%d rounds of %d users; answers: %s", rounds, per, tl.report())
		if len(both) > 0 {
			t.Errorf("%d of %d users hold both SKEW_X (bulk) and SKEW_Y (direct), which exclude each other: write skew between the bulk and the direct assignments", len(both), len(ids))
		}
		if len(reported) > 0 {
			t.Errorf("%d users were answered success both by the bulk assignment of SKEW_X and by the direct assignment of SKEW_Y; e.g. %v", len(reported), sample(reported, 5))
		}
		tl.checkNo5xx(t)
		checkSeatCounters(t, c.st, c.tenant.ID)
	})
}

// directToggler assigns a product to, and removes it from, its own users
// in turn, so that every request changes the product's seat count.
type directToggler struct {
	users []string
	held  []bool
	next  int
}

func (d *directToggler) request(sku string) (path string, body map[string]any, assign bool) {
	i := d.next % len(d.users)
	d.next++
	if d.held[i] {
		return "/v1.0/users/" + d.users[i] + "/assignLicense", addBody(nil, []string{sku}), false
	}
	return "/v1.0/users/" + d.users[i] + "/assignLicense", addBody([]string{sku}, nil), true
}

// answered records the answer to the last request.
func (d *directToggler) answered(assign bool, status int) {
	i := (d.next - 1) % len(d.users)
	if status == 200 {
		d.held[i] = assign
	} else if status == 400 && !assign {
		d.held[i] = false
	}
}

func togglers(users []string, n int) []*directToggler {
	out := make([]*directToggler, n)
	for k := range out {
		out[k] = &directToggler{}
	}
	for i, u := range users {
		d := out[i%n]
		d.users = append(d.users, u)
		d.held = append(d.held, false)
	}
	return out
}

func TestRegressionPGBatchStarvation(t *testing.T) {
	members, rate := 20_000, 300
	if n, err := strconv.Atoi(os.Getenv("ALLOT_STARVE_MEMBERS")); err == nil && n > 0 {
		members = n
	}
	if n, err := strconv.Atoi(os.Getenv("ALLOT_STARVE_RATE")); err == nil && n > 0 {
		rate = n
	}
	const pool, workers = 1200, 24
	timeout := 60 * time.Second
	c, a := newCluster(t)
	b := startServer(t, "B", c.db)
	servers := []*server{a, b}
	ctx := context.Background()
	sku := customProduct(a, "STARVE", members+pool)
	g, _, err := c.st.LoadGroup(ctx, c.tenant.ID, "Starve group", "starve", members)
	if err != nil {
		t.Fatal(err)
	}
	guids := guidsOf(t, c.st, c.loadUsers("direct", pool))

	// Direct assignments and removals of the same product at the target
	// rate, paced by a ticker, through both servers.
	tl := newTally()
	var ok atomic.Int64
	tokens := make(chan struct{}, rate)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for k, d := range togglers(guids, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := servers[k%2]
			for range tokens {
				path, body, assign := d.request(sku)
				status, out, err := s.do("POST", path, body)
				kind := "direct remove"
				if assign {
					kind = "direct assign"
				}
				tl.add(kind, s, "POST", path, status, out, err)
				d.answered(assign, status)
				if status == 200 {
					ok.Add(1)
				}
			}
		}()
	}
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		defer close(tokens)
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				select {
				case tokens <- struct{}{}:
				default: // every worker busy and the buffer full: the rate is not reached
				}
			}
		}
	}()
	// The direct load runs before, during and after the batch.
	time.Sleep(3 * time.Second)
	ok0 := ok.Load()
	baseRate := float64(ok0) / 3
	t.Logf("before the batch, direct assignments ran at %.0f/s (target %d/s)", baseRate, rate)
	a.must(202, "POST", "/v1.0/groups/"+g.GUID+"/assignLicense", addBody([]string{sku}, nil))
	start := time.Now()
	var licensed int
	var state string
	completed := false
	for time.Since(start) < timeout {
		licensed = c.int(`SELECT COUNT(*) FROM license_states WHERE source_id = $1 AND state = 'Active'`, g.ID)
		gg, err := c.st.Group(ctx, c.tenant.ID, g.GUID)
		if err != nil {
			t.Fatal(err)
		}
		state = gg.ProcessingState
		if licensed == members && state == allot.ProcessingComplete {
			completed = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)
	during := ok.Load()
	directRate := float64(during-ok0) / took.Seconds()
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	t.Logf("group batch of %d members: %s in %s (%d licensed, licenseProcessingState %s) while direct assignments of the same product ran at %.0f/s (target %d/s)",
		members, map[bool]string{true: "completed", false: "NOT completed"}[completed], took.Round(time.Millisecond), licensed, state, directRate, rate)
	t.Logf("direct answers: %s", tl.report())
	retries := 0
	for _, s := range servers {
		retries += strings.Count(s.log(), "reconcile step failed")
	}
	if !completed {
		t.Errorf("the %d-member group batch did not complete within %s while %.0f direct assignments/s of the same product ran: %d of %d members licensed, licenseProcessingState %s, %d failed reconcile steps logged",
			members, timeout, directRate, licensed, members, state, retries)
	}
	// The batch must not starve the direct load either: during the batch it
	// keeps 80% of the target rate — judged only when this machine reaches
	// the target without the batch at all (on a loaded machine the short
	// window of the batch says nothing).
	if want := 0.8 * float64(rate); baseRate >= 0.95*float64(rate) && directRate < want {
		t.Errorf("direct assignments ran at %.0f/s during the batch (%.0f/s before it), below %.0f/s (80%% of min(target %d/s, rate before))", directRate, baseRate, want, rate)
	}
	if baseRate < 0.95*float64(rate) {
		t.Logf("this machine reached only %.0f/s of direct assignments before the batch (target %d/s): the absolute figure needs a quieter machine", baseRate, rate)
	}
	tl.checkNo5xx(t)
	checkSeatCounters(t, c.st, c.tenant.ID) // every transaction keeps the counter and the states together
}

func TestRegressionNo5xxUnderMixedLoad(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		c, s := newSQLiteCluster(t)
		no5xxUnderMixedLoad(t, c, []*server{s})
	})
	t.Run("postgres", func(t *testing.T) {
		c, a := newCluster(t)
		b := startServer(t, "B", c.db)
		no5xxUnderMixedLoad(t, c, []*server{a, b})
	})
}

// no5xxUnderMixedLoad: group batches of an 8,000-member group run all along
// while 16 clients send 2,000 direct assignments and removals of the same
// product, spread over the servers; no answer may be ≥ 500.
func no5xxUnderMixedLoad(t *testing.T, c *cluster, servers []*server) {
	const members, pool, clients, requests = 8000, 400, 16, 2000
	a := servers[0]
	ctx := context.Background()
	sku := customProduct(a, "MIXED", members+pool)
	g, _, err := c.st.LoadGroup(ctx, c.tenant.ID, "Mixed group", "mixed", members)
	if err != nil {
		t.Fatal(err)
	}
	guids := guidsOf(t, c.st, c.loadUsers("mixed-direct", pool))
	tl := newTally()

	// Group batches all along: the group assigns the product, then stops
	// assigning it (a confirmed loss), and again, until the clients are done.
	stop := make(chan struct{})
	batches, completed := 0, 0
	batchDone := make(chan struct{})
	go func() {
		defer close(batchDone)
		for add := true; ; add = !add {
			body, path := addBody([]string{sku}, nil), "/v1.0/groups/"+g.GUID+"/assignLicense"
			if !add {
				body, path = addBody(nil, []string{sku}), path+"?confirmLicenseLoss=true"
			}
			s := servers[batches%len(servers)]
			status, out, err := s.do("POST", path, body)
			tl.add("group batch", s, "POST", path, status, out, err)
			if err != nil || status != 202 {
				return
			}
			batches++
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				gg, err := c.st.Group(ctx, c.tenant.ID, g.GUID)
				if err == nil && gg.ProcessingState == allot.ProcessingComplete {
					completed++
					break
				}
			}
		}
	}()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for k, d := range togglers(guids, clients) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := servers[k%len(servers)]
			for next.Add(1) <= requests {
				path, body, assign := d.request(sku)
				status, out, err := s.do("POST", path, body)
				kind := "direct remove"
				if assign {
					kind = "direct assign"
				}
				tl.add(kind, s, "POST", path, status, out, err)
				d.answered(assign, status)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(stop)
	<-batchDone
	t.Logf("%d direct requests by %d clients in %s while group batches of %d members ran (%d started, %d completed); answers: %s",
		requests, clients, took.Round(time.Millisecond), members, batches, completed, tl.report())
	tl.checkNo5xx(t)
	waitDrained(t, "after the load", 2*time.Minute, c.st, servers...)
	checkSeatCounters(t, c.st, c.tenant.ID)
}
