package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"allot"
	"allot/catalog"
	"allot/membershiprule"
	"allot/scim"
	"allot/store"
	"allot/store/sqlstore"
)

// dynamicTarget is the figure: attribute change → license visible.
const dynamicTarget = time.Second

// dynSettle is how long, after the last PATCH is answered, the changes not
// yet visible get before the bench fails: generous, for a loaded machine.
const dynSettle = time.Minute

// dynBenchConfig is what `allot bench dynamic` runs.
type dynBenchConfig struct {
	users, groups, rate int
	duration, poll      time.Duration
	scimShare           float64
	// profile starts a CPU profile of the load and returns its stop.
	profile func() (func(), error)
	// corrupt, when set (tests), changes the state behind the service's
	// back before the verification, which must then fail.
	corrupt func(ctx context.Context, st *sqlstore.Store, tenantID int64, changed []string) error
}

func newBenchDynamic() *cobra.Command {
	var sf storeFlags
	var cfg dynBenchConfig
	cmd := &cobra.Command{
		Use:   "dynamic",
		Short: "Attribute changes at a steady rate; time until the new license of each is visible",
		Long: `A tenant of --users users (loaded in bulk, not timed) and --groups dynamic groups with rules over
department, country and jobTitle (user.department -eq "Dept17"), membershipRuleProcessingState On.
The department groups assign products in turn (Office 365 E3; Office 365 E5; Microsoft 365 E3;
Microsoft 365 E5 with Workplace Analytics Insights, whose prerequisite it brings), some country and
job title groups assign Exchange Online (Plan 2) and Workplace Analytics.

An allot server runs in this process on a loopback port with its reconcile worker. Then, open loop,
--rate changes per second for --duration: each moves one user to another department whose group
assigns a different product, by Graph PATCH /v1.0/users/{id} or, for --scim-share of them, by SCIM
PATCH of the enterprise department. Each change is timed from sending the PATCH until the user's
assignedLicenses, read over HTTP, are exactly what its new attributes give: every pending change's
user is read every --poll (GET /v1.0/users/{id}?$select=assignedLicenses, 8 reads at a time), and
once it has waited more than ten polls, every tenth of its wait (a figure at most 10% high).

Before any figure is printed the result is verified over HTTP: every group's members are exactly
the users its rule matches, every changed user holds exactly the expected products, and every
product's consumedUnits equals the users expected to hold it and the store's count of holders.

The floor, measured in the same run on the same server and at the same rate, is the round trip of
the same PATCH requests changing displayName, which no rule reads: the cost of the write itself
without any membership or license change.`,
		Example: `  allot bench dynamic
  allot bench dynamic --users 2000 --groups 20 --duration 3s
  allot bench dynamic --db postgres://postgres@127.0.0.1/allot_bench_dyn`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cfg.check(); err != nil {
				return err
			}
			st, done, err := benchStore(cmd.Context(), sf, cmd)
			if err != nil {
				return err
			}
			defer done()
			cfg.profile = func() (func(), error) { return startProfile(cmd) }
			return benchDynamic(cmd.Context(), cmd.OutOrStdout(), st, cfg)
		},
	}
	sf.addScratch(cmd)
	f := cmd.Flags()
	f.IntVar(&cfg.users, "users", 100000, "users of the tenant")
	f.IntVar(&cfg.groups, "groups", 200, "dynamic groups (at least 6)")
	f.IntVar(&cfg.rate, "rate", 200, "attribute changes per second")
	f.DurationVar(&cfg.duration, "duration", 30*time.Second, "how long to send changes")
	f.DurationVar(&cfg.poll, "poll", 50*time.Millisecond, "how often each pending change's licenses are read")
	f.Float64Var(&cfg.scimShare, "scim-share", 0.25, "share of the changes sent as SCIM PATCH (the rest: Graph PATCH)")
	return cmd
}

func (c dynBenchConfig) changes() int { return int(c.duration.Seconds() * float64(c.rate)) }

func (c dynBenchConfig) check() error {
	switch {
	case c.groups < 6:
		return allot.Errorf(allot.EInvalid, "--groups must be at least 6.")
	case c.rate < 1 || c.duration <= 0 || c.poll <= 0:
		return allot.Errorf(allot.EInvalid, "--rate, --duration and --poll must be positive.")
	case c.scimShare < 0 || c.scimShare > 1:
		return allot.Errorf(allot.EInvalid, "--scim-share must be between 0 and 1.")
	case c.changes() < 1 || c.changes() > c.users:
		return allot.Errorf(allot.EInvalid, "--rate × --duration (%d changes) must be between 1 and --users (%d): each change moves a different user.", c.changes(), c.users)
	}
	return nil
}

// dynGroup is one dynamic group of the bench tenant.
type dynGroup struct {
	name, rule string
	parts      []string // products it assigns, by part number
	parsed     *membershiprule.Rule
	guid       string
}

// dynBundles are what the department groups assign, in turn; a change
// moves a user between two groups of different bundles.
var dynBundles = [][]string{{"ENTERPRISEPACK"}, {"ENTERPRISEPREMIUM"}, {"SPE_E3"}, {"SPE_E5", "WORKPLACE_ANALYTICS_INSIGHTS"}}

// dynTenant is the bench tenant as the bench itself models it: each
// user's attributes, and the groups with their rules and products.
type dynTenant struct {
	groups []*dynGroup
	depts  int
	attrs  []map[string]string // by user index
	guids  []string            // by user index
	skus   map[string]string   // part number → skuId
}

// newDynTenant lays out n users and the groups: most groups select a
// department, the rest (a twentieth each) a country or a job title.
func newDynTenant(n, groups int) *dynTenant {
	side := max(1, groups/20)
	t := &dynTenant{depts: groups - 2*side, skus: map[string]string{}}
	for k := 0; k < t.depts; k++ {
		t.groups = append(t.groups, &dynGroup{name: fmt.Sprintf("Dept%d", k), rule: fmt.Sprintf(`user.department -eq "Dept%d"`, k), parts: dynBundles[k%len(dynBundles)]})
	}
	for k := 0; k < side; k++ {
		g := &dynGroup{name: fmt.Sprintf("Country C%d", k), rule: fmt.Sprintf(`user.country -eq "C%d"`, k)}
		if k%2 == 0 {
			g.parts = []string{"EXCHANGEENTERPRISE"}
		}
		t.groups = append(t.groups, g)
	}
	for k := 0; k < side; k++ {
		g := &dynGroup{name: fmt.Sprintf("Title T%d", k), rule: fmt.Sprintf(`user.jobTitle -eq "Title %d" -and user.accountEnabled -eq true`, k)}
		if k%3 == 0 {
			g.parts = []string{"WORKPLACE_ANALYTICS"}
		}
		t.groups = append(t.groups, g)
	}
	for _, g := range t.groups {
		r, err := membershiprule.Parse(g.rule)
		if err != nil {
			panic(err) // the rules above are constants
		}
		g.parsed = r
	}
	t.attrs = make([]map[string]string, n)
	for i := range t.attrs {
		t.attrs[i] = map[string]string{"department": fmt.Sprintf("Dept%d", i%t.depts),
			"country": fmt.Sprintf("C%d", (i/7)%side), "jobTitle": fmt.Sprintf("Title %d", (i/3)%side)}
	}
	return t
}

// matches lists the groups whose rules select user i as the bench models it.
func (t *dynTenant) matches(i int) []*dynGroup {
	u := membershiprule.User{Text: t.attrs[i], AccountEnabled: true}
	var out []*dynGroup
	for _, g := range t.groups {
		if membershiprule.Eval(g.parsed, u) {
			out = append(out, g)
		}
	}
	return out
}

// wantSkus is the sorted skuIds user i must hold.
func (t *dynTenant) wantSkus(i int) []string {
	var out []string
	for _, g := range t.matches(i) {
		for _, p := range g.parts {
			if s := t.skus[p]; !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

// moveTarget is the department user i moves to: the next one whose group
// assigns a different bundle.
func (t *dynTenant) moveTarget(i int) string {
	var d int
	fmt.Sscanf(t.attrs[i]["department"], "Dept%d", &d)
	for off := 1; ; off++ {
		if n := (d + off) % t.depts; n%len(dynBundles) != d%len(dynBundles) {
			return fmt.Sprintf("Dept%d", n)
		}
	}
}

// setup creates the tenant, its products, groups and users in st and lets
// the worker license everyone; it returns the tenant and a Global
// Administrator token and a SCIM client token.
func (t *dynTenant) setup(ctx context.Context, out io.Writer, st *sqlstore.Store) (*allot.Tenant, string, string, error) {
	ten, err := st.CreateTenant(ctx, fmt.Sprintf("%sdynamic-%d", benchTenantPrefix, time.Now().UnixNano()), "NAM", "US")
	if err != nil {
		return nil, "", "", err
	}
	for _, part := range []string{"ENTERPRISEPACK", "ENTERPRISEPREMIUM", "SPE_E3", "SPE_E5", "WORKPLACE_ANALYTICS_INSIGHTS", "EXCHANGEENTERPRISE", "WORKPLACE_ANALYTICS"} {
		d, ok := catalog.Lookup(part)
		if !ok {
			return nil, "", "", fmt.Errorf("catalog has no %s", part)
		}
		p, err := st.AddProduct(ctx, benchActor, ten.ID, d, len(t.attrs)+1000)
		if err != nil {
			return nil, "", "", err
		}
		t.skus[part] = p.SkuID
	}
	// Groups first, on an empty tenant: the users' creation then
	// evaluates every rule for them, in bulk.
	for _, g := range t.groups {
		ag := &allot.Group{DisplayName: g.name, SecurityEnabled: true, MailNickname: strings.ReplaceAll(g.name, " ", ""),
			MembershipRule: g.rule, RuleState: allot.RuleOn}
		if err := st.CreateGroup(ctx, benchActor, ten.ID, ag); err != nil {
			return nil, "", "", err
		}
		g.guid = ag.GUID
		if len(g.parts) == 0 {
			continue
		}
		var req []store.LicenseRequest
		for _, p := range g.parts {
			req = append(req, store.LicenseRequest{SkuID: t.skus[p]})
		}
		if _, err := st.AssignGroupLicenses(ctx, benchActor, ten.ID, g.guid, req, nil, false); err != nil {
			return nil, "", "", err
		}
	}
	t.guids = make([]string, len(t.attrs))
	for start := 0; start < len(t.attrs); start += 2000 {
		end := min(start+2000, len(t.attrs))
		users := make([]*allot.User, 0, end-start)
		for i := start; i < end; i++ {
			upn := fmt.Sprintf("dyn%07d@bench.example.com", i)
			u := &allot.User{UserPrincipalName: upn, DisplayName: fmt.Sprintf("Dyn %d", i), UsageLocation: "US", AccountEnabled: true,
				Department: t.attrs[i]["department"], JobTitle: t.attrs[i]["jobTitle"]}
			u.Profile.Text = map[string]string{"country": t.attrs[i]["country"]}
			users = append(users, u)
		}
		if err := st.CreateUsersBulk(ctx, benchActor, ten.ID, users); err != nil {
			return nil, "", "", err
		}
		for k, u := range users {
			t.guids[start+k] = u.GUID
		}
	}
	w := newBenchWorker(st)
	if err := w.Drain(ctx); err != nil {
		return nil, "", "", err
	}
	ga := sqlstore.NewToken()
	if err := st.CreateToken(ctx, ten.ID, "bench", store.RoleGlobalAdmin, ga); err != nil {
		return nil, "", "", err
	}
	sc, err := scimBenchClient(ctx, st, ten)
	return ten, ga, sc, err
}

// dynChange is one attribute change: user i to department dept, over SCIM
// or Graph.
type dynChange struct {
	i    int
	dept string
	scim bool
}

// dynClient sends the bench's requests.
type dynClient struct {
	base, graphToken, scimToken string
	hc                          *http.Client
}

func (c *dynClient) do(ctx context.Context, method, path, token string, body any, into any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if into != nil {
		return resp.StatusCode, json.Unmarshal(raw, into)
	}
	return resp.StatusCode, nil
}

// patch sets one attribute of the user (Graph property name) over Graph,
// or over SCIM (department as the enterprise extension's).
func (c *dynClient) patch(ctx context.Context, guid, prop, value string, viaSCIM bool) error {
	if !viaSCIM {
		_, err := c.do(ctx, "PATCH", "/v1.0/users/"+guid, c.graphToken, map[string]any{prop: value}, nil)
		return err
	}
	path := map[string]string{"department": enterpriseURN + ":department", "displayName": "displayName"}[prop]
	body := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "Replace", "path": path, "value": value}}}
	_, err := c.do(ctx, "PATCH", scim.Prefix+"/Users/"+guid, c.scimToken, body, nil)
	return err
}

// licenses reads the skuIds the users hold, sorted, by GUID: one
// GET /v1.0/users/{id}?$select=id,department,assignedLicenses each, up to
// 8 at a time (a point read by id; a $filter=id in (…) list scans the
// tenant's users on SQLite).
func (c *dynClient) licenses(ctx context.Context, guids []string) (map[string][]string, error) {
	l, _, err := c.read(ctx, guids)
	return l, err
}

// read reads the users' skuIds, sorted, and departments, by GUID.
func (c *dynClient) read(ctx context.Context, guids []string) (lic map[string][]string, dept map[string]string, err error) {
	lic, dept = make(map[string][]string, len(guids)), make(map[string]string, len(guids))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	sem := make(chan struct{}, 8)
	for _, g := range guids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			var u struct {
				Department       string `json:"department"`
				AssignedLicenses []struct {
					SkuID string `json:"skuId"`
				} `json:"assignedLicenses"`
			}
			_, err := c.do(ctx, "GET", "/v1.0/users/"+g+"?$select=id,department,assignedLicenses", c.graphToken, nil, &u)
			s := []string{}
			for _, l := range u.AssignedLicenses {
				s = append(s, l.SkuID)
			}
			slices.Sort(s)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = cmp.Or(firstErr, err)
				return
			}
			lic[g], dept[g] = s, u.Department
		}()
	}
	wg.Wait()
	return lic, dept, firstErr
}

// dynLoad is the result of a run of changes at the rate.
type dynLoad struct {
	lat   []time.Duration // send → visible (or → answered, without waiting)
	sent  time.Duration   // from the first change sent to the last
	scim  []time.Duration // lat of the changes sent over SCIM
	patch []time.Duration // send → PATCH answered
	polls int64
}

// run sends the changes open loop at rate (a goroutine per change, started
// on its tick whatever the earlier ones do). With wait, each is followed
// until its user's licenses are visible; without, it is timed to its answer.
func (c *dynClient) run(ctx context.Context, t *dynTenant, changes []dynChange, rate int, poll time.Duration, wait bool) (*dynLoad, error) {
	type pending struct {
		c     dynChange
		want  []string
		start time.Time
		next  time.Time // when to read it again
	}
	var mu sync.Mutex
	var waiting []pending
	res := &dynLoad{}
	var firstErr atomic.Value
	fail := func(err error) { firstErr.CompareAndSwap(nil, err) }
	stopPoll := make(chan struct{})
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		tick := time.NewTicker(poll)
		defer tick.Stop()
		for {
			select {
			case <-stopPoll:
				return
			case <-tick.C:
			}
			// A change is read every poll, and once it has waited long, every
			// tenth of its wait: the figure is then at most 10% high, and a
			// backlog does not multiply the reads.
			mu.Lock()
			var cur []pending
			now := time.Now()
			for k := range waiting {
				if p := &waiting[k]; !now.Before(p.next) {
					cur = append(cur, *p)
					p.next = now.Add(max(poll, now.Sub(p.start)/10))
				}
			}
			mu.Unlock()
			done := map[string]time.Time{}
			if len(cur) > 0 {
				guids := make([]string, len(cur))
				for k, p := range cur {
					guids[k] = t.guids[p.c.i]
				}
				got, err := c.licenses(ctx, guids)
				atomic.AddInt64(&res.polls, int64(len(guids)))
				if err != nil {
					fail(err)
				}
				now := time.Now()
				for _, p := range cur {
					if g, ok := got[t.guids[p.c.i]]; ok && slices.Equal(g, p.want) {
						done[t.guids[p.c.i]] = now
					}
				}
			}
			mu.Lock()
			keep := waiting[:0]
			for _, p := range waiting {
				if at, ok := done[t.guids[p.c.i]]; ok {
					res.lat = append(res.lat, at.Sub(p.start))
					if p.c.scim {
						res.scim = append(res.scim, at.Sub(p.start))
					}
				} else {
					keep = append(keep, p)
				}
			}
			waiting = keep
			mu.Unlock()
		}
	}()
	var wg sync.WaitGroup
	// Change k is due at begin + k/rate; one that is late (a busy machine)
	// goes at once, so the rate asked for is the rate sent.
	begin := time.Now()
	for k, ch := range changes {
		time.Sleep(time.Until(begin.Add(time.Duration(k) * time.Second / time.Duration(rate))))
		wg.Add(1)
		go func(ch dynChange) {
			defer wg.Done()
			start := time.Now()
			prop, value := "department", ch.dept
			if !wait {
				prop, value = "displayName", fmt.Sprintf("Dyn %d renamed", ch.i)
			}
			if err := c.patch(ctx, t.guids[ch.i], prop, value, ch.scim); err != nil {
				fail(err)
				return
			}
			answered := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			res.patch = append(res.patch, answered)
			if !wait {
				res.lat = append(res.lat, time.Since(start))
				return
			}
			waiting = append(waiting, pending{c: ch, want: t.wantSkusWith(ch.i, ch.dept), start: start, next: time.Now()})
		}(ch)
	}
	res.sent = time.Since(begin)
	wg.Wait()
	deadline := time.Now().Add(dynSettle)
	for {
		mu.Lock()
		n := len(waiting)
		mu.Unlock()
		if n == 0 || time.Now().After(deadline) || firstErr.Load() != nil {
			break
		}
		time.Sleep(poll)
	}
	close(stopPoll)
	<-pollDone
	if err, ok := firstErr.Load().(error); ok {
		return nil, err
	}
	if len(waiting) > 0 {
		p := waiting[0]
		got, err := c.licenses(ctx, []string{t.guids[p.c.i]})
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("verify: %d of %d changes not visible %s after the last was answered (the %d visible: p50 %s, p99 %s, max %s; PATCH answered p50 %s, p99 %s); the oldest, user %s to %s, holds %v, want %v",
			len(waiting), len(changes), dynSettle, len(res.lat), ms(pct(res.lat, 0.5)), ms(pct(res.lat, 0.99)), ms(pct(res.lat, 1)), ms(pct(res.patch, 0.5)), ms(pct(res.patch, 0.99)),
			t.guids[p.c.i], p.c.dept, got[t.guids[p.c.i]], p.want)
	}
	return res, nil
}

// wantSkusWith is wantSkus of user i once in department dept.
func (t *dynTenant) wantSkusWith(i int, dept string) []string {
	u := dynTenant{groups: t.groups, skus: t.skus, attrs: []map[string]string{{"department": dept, "country": t.attrs[i]["country"], "jobTitle": t.attrs[i]["jobTitle"]}}}
	return u.wantSkus(0)
}

// benchDynamic runs the bench on st and prints its figures to out once
// verified.
func benchDynamic(ctx context.Context, out io.Writer, st *sqlstore.Store, cfg dynBenchConfig) error {
	n := cfg.changes()
	fmt.Fprintf(out, "engine %s, %d users, %d dynamic groups, %d changes at %d/s (%.0f%% over SCIM), load average %s\n",
		st.Engine(), cfg.users, cfg.groups, n, cfg.rate, 100*cfg.scimShare, loadAverage())
	t := newDynTenant(cfg.users, cfg.groups)
	t0 := time.Now()
	ten, ga, sc, err := t.setup(ctx, out, st)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	fmt.Fprintf(out, "setup:    %d users created into %d On rules and licensed in %s (not timed)\n", cfg.users, cfg.groups, time.Since(t0).Round(time.Millisecond))
	srv, err := startBenchServer(ctx, st, true)
	if err != nil {
		return err
	}
	defer srv.Close()
	c := &dynClient{base: srv.URL, graphToken: ga, scimToken: sc, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}

	rng := rand.New(rand.NewPCG(7, uint64(cfg.users)))
	perm := rng.Perm(cfg.users)
	changes := make([]dynChange, n)
	for k := range changes {
		i := perm[k]
		changes[k] = dynChange{i: i, dept: t.moveTarget(i), scim: rng.Float64() < cfg.scimShare}
	}
	// The floor: the same requests at the same rate, changing a property
	// no rule reads (a fifth of the load, at least one second of it).
	fl := changes[:min(n, max(cfg.rate, n/5))]
	floor, err := c.run(ctx, t, fl, cfg.rate, cfg.poll, false)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	if cfg.profile != nil {
		stop, err := cfg.profile()
		if err != nil {
			return err
		}
		defer stop()
	}
	load, err := c.run(ctx, t, changes, cfg.rate, cfg.poll, true)
	if err != nil {
		return err
	}
	for _, ch := range changes {
		t.attrs[ch.i]["department"] = ch.dept
	}
	if cfg.corrupt != nil {
		changed := make([]string, n)
		for k, ch := range changes {
			changed[k] = t.guids[ch.i]
		}
		if err := cfg.corrupt(ctx, st, ten.ID, changed); err != nil {
			return err
		}
	}
	if err := c.verify(ctx, st, ten.ID, t, changes); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	fmt.Fprintf(out, "verified: every group's members are the users its rule matches; the %d changed users hold exactly the expected products; consumedUnits = expected holders = store's holders for each product\n", n)
	fmt.Fprintf(out, "rate:     %.0f changes/s sent (asked %d/s, open loop); %.0f license reads/s (one user each)\n",
		float64(n)/load.sent.Seconds(), cfg.rate, float64(load.polls)/load.sent.Seconds())
	fmt.Fprintf(out, "change → license visible: p50 %s, p95 %s, p99 %s, max %s (target p99 < %s; read every %s, or every tenth of the wait)\n",
		ms(pct(load.lat, 0.5)), ms(pct(load.lat, 0.95)), ms(pct(load.lat, 0.99)), ms(pct(load.lat, 1)), dynamicTarget, cfg.poll)
	fmt.Fprintf(out, "          of which the PATCH itself, sent → answered: p50 %s, p95 %s, p99 %s, max %s\n", ms(pct(load.patch, 0.5)), ms(pct(load.patch, 0.95)), ms(pct(load.patch, 0.99)), ms(pct(load.patch, 1)))
	fmt.Fprintf(out, "          of which over SCIM (%d): p50 %s, p99 %s\n", len(load.scim), ms(pct(load.scim, 0.5)), ms(pct(load.scim, 0.99)))
	fmt.Fprintf(out, "floor:    p50 %s, p95 %s, p99 %s, max %s — round trip of the same PATCH requests (%d) changing displayName, which no rule reads, same server and rate\n",
		ms(pct(floor.lat, 0.5)), ms(pct(floor.lat, 0.95)), ms(pct(floor.lat, 0.99)), ms(pct(floor.lat, 1)), len(fl))
	fmt.Fprintf(out, "peak RSS: %s\n", mib(peakRSS()))
	return nil
}

func ms(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }

// verify checks over HTTP that the changed users read back with their new
// departments, that every group's members are exactly the users
// its rule matches as the bench models them, that the changed users hold
// exactly the expected products, and that every product's consumedUnits
// equals the users expected to hold it and the store's count of holders.
func (c *dynClient) verify(ctx context.Context, st *sqlstore.Store, tenantID int64, t *dynTenant, changes []dynChange) error {
	index := make(map[string]int, len(t.guids))
	for i, g := range t.guids {
		index[g] = i
	}
	wantMembers := map[*dynGroup]map[string]bool{}
	holders := map[string]int{}
	for i := range t.attrs {
		for _, g := range t.matches(i) {
			if wantMembers[g] == nil {
				wantMembers[g] = map[string]bool{}
			}
			wantMembers[g][t.guids[i]] = true
		}
		for _, s := range t.wantSkus(i) {
			holders[s]++
		}
	}
	for _, g := range t.groups {
		got, err := c.members(ctx, g.guid)
		if err != nil {
			return err
		}
		for _, m := range got {
			if !wantMembers[g][m] {
				return fmt.Errorf("group %s has member %s (user %d, %v) whose attributes its rule does not match", g.name, m, index[m], t.attrs[index[m]])
			}
		}
		if len(got) != len(wantMembers[g]) {
			return fmt.Errorf("group %s has %d members, its rule matches %d users", g.name, len(got), len(wantMembers[g]))
		}
	}
	for start := 0; start < len(changes); start += 50 {
		chunk := changes[start:min(start+50, len(changes))]
		guids := make([]string, len(chunk))
		for k, ch := range chunk {
			guids[k] = t.guids[ch.i]
		}
		got, dept, err := c.read(ctx, guids)
		if err != nil {
			return err
		}
		for _, ch := range chunk {
			if d := dept[t.guids[ch.i]]; d != t.attrs[ch.i]["department"] {
				return fmt.Errorf("user %s reads back with department %q, want %q", t.guids[ch.i], d, t.attrs[ch.i]["department"])
			}
			if want := t.wantSkus(ch.i); !slices.Equal(got[t.guids[ch.i]], want) {
				return fmt.Errorf("user %s (%v) holds %v, want %v", t.guids[ch.i], t.attrs[ch.i], got[t.guids[ch.i]], want)
			}
		}
	}
	var skus struct {
		Value []struct {
			SkuID         string `json:"skuId"`
			SkuPartNumber string `json:"skuPartNumber"`
			ConsumedUnits int    `json:"consumedUnits"`
		} `json:"value"`
	}
	if _, err := c.do(ctx, "GET", "/v1.0/subscribedSkus", c.graphToken, nil, &skus); err != nil {
		return err
	}
	count, err := st.CountHolders(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, s := range skus.Value {
		p, err := st.Product(ctx, tenantID, s.SkuID)
		if err != nil {
			return err
		}
		if s.ConsumedUnits != holders[s.SkuID] || count[p.ID] != holders[s.SkuID] {
			return fmt.Errorf("%s: consumedUnits %d, store's holders %d, users expected to hold it %d", s.SkuPartNumber, s.ConsumedUnits, count[p.ID], holders[s.SkuID])
		}
	}
	return nil
}

// members lists the GUIDs of a group's members, page by page.
func (c *dynClient) members(ctx context.Context, guid string) ([]string, error) {
	var out []string
	next := "/v1.0/groups/" + guid + "/members?$select=id&$top=999"
	for next != "" {
		var page struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
			Next string `json:"@odata.nextLink"`
		}
		if _, err := c.do(ctx, "GET", next, c.graphToken, nil, &page); err != nil {
			return nil, err
		}
		for _, v := range page.Value {
			out = append(out, v.ID)
		}
		next = strings.TrimPrefix(page.Next, c.base)
	}
	return out, nil
}
