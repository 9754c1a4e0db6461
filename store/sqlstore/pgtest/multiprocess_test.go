package pgtest

// Several allot processes on one PostgreSQL database: real `allot serve`
// child processes (the binary is built once in TestMain) share the reconcile
// work without processing a change twice, take over the work of a process
// that died, and never hand out more seats than a product has.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"allot"
	"allot/internal/testbin"
	"allot/store/sqlstore"
)

// allotProgram is the allot binary, built once by TestMain.
var allotProgram *testbin.Binary

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "allot-pgtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	allotProgram, err = testbin.Build("allot/cmd/allot", filepath.Join(dir, "allot"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "build allot:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const adminToken = "pgtest-admin-token-0123456789abcdef0123"

// server is one `allot serve` child process.
type server struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	url  string
	hc   *http.Client

	killed bool

	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{}
}

var servingRE = regexp.MustCompile(`at (http://\S+)`)

// startServer starts `allot serve` on the database and waits until it serves.
func startServer(t *testing.T, name, dbURL string, args ...string) *server {
	t.Helper()
	// The tests send bursts with one token: no per-token rate limit.
	cmd := exec.Command(allotProgram.Path(), append([]string{"serve", "--db", dbURL, "--addr", "127.0.0.1:0", "--rate-limit", "0"}, args...)...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ALLOT_DB=") && !strings.HasPrefix(kv, "ALLOT_ADMIN_TOKEN=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "ALLOT_ADMIN_TOKEN="+adminToken)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	s := &server{t: t, name: name, cmd: cmd, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}, done: make(chan struct{})}
	urlc := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.logs.WriteString(line + "\n")
			s.mu.Unlock()
			if m := servingRE.FindStringSubmatch(line); m != nil && strings.Contains(line, "allot serving") {
				select {
				case urlc <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		s.stop()
		tr.CloseIdleConnections()
		// A server that was not killed must not have logged an error.
		if !s.killed {
			for _, line := range strings.Split(s.log(), "\n") {
				// A write that runs out of retries is a failure too: after
				// two transient failures a write runs alone and completes.
				if strings.Contains(line, "level=ERROR") || strings.Contains(line, "retry budget") {
					t.Errorf("%s logged an error: %s", name, line)
				}
			}
		}
	})
	select {
	case s.url = <-urlc:
	case <-s.done:
		t.Fatalf("%s exited before serving:\n%s", name, s.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start serving within 60s:\n%s", name, s.log())
	}
	return s
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// stop ends the process gracefully (SIGTERM), or kills it after 15s.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// kill ends the process at once, as a crash would.
func (s *server) kill() {
	s.killed = true
	s.cmd.Process.Kill()
	<-s.done
}

// do sends a request and returns the status and the decoded JSON body.
func (s *server) do(method, path string, body any) (int, map[string]any, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var out map[string]any
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("%s %s: %d, body is not JSON: %.200s", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode, out, nil
}

// must sends a request and fails the test unless it answers want.
func (s *server) must(want int, method, path string, body any) map[string]any {
	s.t.Helper()
	status, out, err := s.do(method, path, body)
	if err != nil {
		s.t.Fatalf("%s: %v", s.name, err)
	}
	if status != want {
		s.t.Fatalf("%s: %s %s = %d, want %d: %v", s.name, method, path, status, want, out)
	}
	return out
}

// errCode returns allot's precise error code of an error answer: the first
// of error.details, or Graph's code on top when there are none.
func errCode(body map[string]any) string {
	e, ok := body["error"].(map[string]any)
	if !ok {
		return ""
	}
	if ds, ok := e["details"].([]any); ok && len(ds) > 0 {
		if d, ok := ds[0].(map[string]any); ok {
			if c, _ := d["code"].(string); c != "" {
				return c
			}
		}
	}
	c, _ := e["code"].(string)
	return c
}

// graphCode returns the Graph error code on top of an error answer.
func graphCode(body map[string]any) string {
	if e, ok := body["error"].(map[string]any); ok {
		c, _ := e["code"].(string)
		return c
	}
	return ""
}

// cluster is a fresh database with a store of the test's own on it.
type cluster struct {
	t      *testing.T
	db     string
	st     *sqlstore.Store
	tenant *allot.Tenant
}

// newCluster creates the database and starts the first server, which
// migrates it and creates the default tenant, so that servers started later
// find both. The claims of marks are logged by a trigger, to count them.
// args are more flags of the first server.
func newCluster(t *testing.T, args ...string) (*cluster, *server) {
	Require(t)
	c := &cluster{t: t, db: NewDatabase(t)}
	a := startServer(t, "A", c.db, args...)
	st, err := sqlstore.OpenPostgres(context.Background(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c.st = st
	if c.tenant, err = st.DefaultTenant(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.exec(`CREATE TABLE claim_log (kind BIGINT, target_id BIGINT, seq BIGINT, owner TEXT)`)
	c.exec(`CREATE FUNCTION log_claim() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.lease_owner <> '' AND NEW.lease_owner IS DISTINCT FROM OLD.lease_owner THEN
				INSERT INTO claim_log VALUES (NEW.kind, NEW.target_id, NEW.seq, NEW.lease_owner);
			END IF;
			RETURN NEW;
		END $$`)
	c.exec(`CREATE TRIGGER marks_claimed AFTER UPDATE ON marks FOR EACH ROW EXECUTE FUNCTION log_claim()`)
	return c, a
}

func (c *cluster) exec(q string) {
	c.t.Helper()
	if _, err := c.st.DB().ExecContext(context.Background(), q); err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
}

func (c *cluster) int(q string, args ...any) int {
	c.t.Helper()
	var n int
	if err := c.st.DB().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// loadUsers creates n users (usage location US) and returns their ids.
func (c *cluster) loadUsers(prefix string, n int) []int64 {
	c.t.Helper()
	us := make([]sqlstore.LoadUser, n)
	for i := range us {
		us[i] = sqlstore.LoadUser{UserPrincipalName: fmt.Sprintf("%s%06d@contoso.test", prefix, i), UsageLocation: "US"}
	}
	ids, err := c.st.LoadUsers(context.Background(), c.tenant.ID, us)
	if err != nil {
		c.t.Fatal(err)
	}
	return ids
}

// customProduct adds a product without rules through the server and returns its skuId.
func customProduct(s *server, part string, seats int) string {
	out := s.must(201, "POST", "/allot/v1/subscribedSkus", map[string]any{
		"skuPartNumber": part, "displayName": part, "enabledUnits": seats,
		"servicePlans": []map[string]any{{"servicePlanName": part + "_PLAN"}},
	})
	return out["skuId"].(string)
}

func (c *cluster) consumed(skuID string) int {
	return c.int(`SELECT consumed_units FROM products WHERE sku_guid = $1`, skuID)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool, servers ...*server) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			for _, s := range servers {
				t.Logf("%s log:\n%s", s.name, tail(s.log(), 40))
			}
			t.Fatalf("%s: not reached within %s", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// checkClaimedOnce fails the test if any change (a mark at one seq) was
// claimed, and so processed, more than once, and returns the claiming
// processes (worker ids) per mark kind.
func (c *cluster) checkClaimedOnce() map[int]map[string]int {
	c.t.Helper()
	if n := c.int(`SELECT COUNT(*) FROM (SELECT 1 FROM claim_log GROUP BY kind, target_id, seq HAVING COUNT(*) > 1) d`); n > 0 {
		c.t.Errorf("%d changes were claimed more than once", n)
	}
	rows, err := c.st.DB().QueryContext(context.Background(),
		`SELECT kind, split_part(owner, '-', 1), COUNT(*) FROM claim_log GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	out := map[int]map[string]int{}
	for rows.Next() {
		var kind, n int
		var worker string
		if err := rows.Scan(&kind, &worker, &n); err != nil {
			c.t.Fatal(err)
		}
		if out[kind] == nil {
			out[kind] = map[string]int{}
		}
		out[kind][worker] = n
	}
	return out
}

var appliedRE = regexp.MustCompile(`msg="group licenses applied".* members=(\d+)`)

// groupRuns returns the member counts of the group runs a server logged.
func groupRuns(s *server) []string {
	var out []string
	for _, m := range appliedRE.FindAllStringSubmatch(s.log(), -1) {
		out = append(out, m[1])
	}
	return out
}

// TestTwoProcessesShareTheReconcileWork: two servers on one database; 20,000
// users join a licensed group (20,000 user marks), then the group gets a
// second product (one group mark). Both converge; the user marks are shared
// between the processes; no change is claimed twice; the group is expanded
// once.
func TestTwoProcessesShareTheReconcileWork(t *testing.T) {
	const members = 20000 // four batches of the worker's 5,000
	c, a := newCluster(t)
	b := startServer(t, "B", c.db)
	ctx := context.Background()

	skuA := customProduct(a, "LOAD_A", members+100)
	skuB := customProduct(b, "LOAD_B", members+100)
	g := b.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Everyone", "mailEnabled": false, "securityEnabled": true, "mailNickname": "everyone"})
	gid := g["id"].(string)
	a.must(202, "POST", "/v1.0/groups/"+gid+"/assignLicense", map[string]any{"addLicenses": []map[string]any{{"skuId": skuA}}, "removeLicenses": []string{}})
	waitFor(t, "empty group processed", 30*time.Second, func() bool { return c.int(`SELECT COUNT(*) FROM marks`) == 0 }, a, b)

	grp, err := c.st.Group(ctx, c.tenant.ID, gid)
	if err != nil {
		t.Fatal(err)
	}
	ids := c.loadUsers("m", members)
	start := time.Now()
	if err := c.st.LoadMembers(ctx, c.tenant.ID, grp.ID, ids); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "members licensed with LOAD_A", 120*time.Second, func() bool {
		return c.consumed(skuA) == members && c.int(`SELECT COUNT(*) FROM marks`) == 0
	}, a, b)
	t.Logf("%d user marks reconciled by two processes in %s", members, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	b.must(202, "POST", "/v1.0/groups/"+gid+"/assignLicense", map[string]any{"addLicenses": []map[string]any{{"skuId": skuB}}, "removeLicenses": []string{}})
	waitFor(t, "members licensed with LOAD_B", 120*time.Second, func() bool {
		return c.consumed(skuB) == members && c.int(`SELECT COUNT(*) FROM marks`) == 0 &&
			c.int(`SELECT COUNT(*) FROM dir_groups WHERE processing_state <> 'ProcessingComplete'`) == 0
	}, a, b)
	t.Logf("a %d-member group mark reconciled in %s", members, time.Since(start).Round(time.Millisecond))

	if n := c.int(`SELECT COUNT(*) FROM license_states WHERE state = 'Active'`); n != 2*members {
		t.Errorf("active license states = %d, want %d", n, 2*members)
	}
	if n := c.int(`SELECT COUNT(*) FROM license_states WHERE state <> 'Active'`); n != 0 {
		t.Errorf("%d license states are not Active", n)
	}
	claims := c.checkClaimedOnce()
	t.Logf("claims per worker: user marks %v, group marks %v", claims[0], claims[1])
	if len(claims[0]) < 2 {
		t.Errorf("the user marks were processed by %d process(es), want both: %v", len(claims[0]), claims[0])
	}
	total := 0
	for _, n := range claims[0] {
		total += n
	}
	if total != members {
		t.Errorf("user marks claimed %d times, want %d", total, members)
	}
	// The empty group's run and the LOAD_B run: each expanded exactly once.
	runs := append(groupRuns(a), groupRuns(b)...)
	if want := fmt.Sprint([]string{"0", fmt.Sprint(members)}); fmt.Sprint(sortedStrings(runs)) != want {
		t.Errorf("group runs logged = %v, want %s", runs, want)
	}
}

// TestAKilledProcessesWorkIsTakenOver: a process is killed (SIGKILL) while
// it holds a batch of marks; the other process finishes everything, the
// killed batch once its lease has expired, and the final state is the
// fault-free one.
func TestAKilledProcessesWorkIsTakenOver(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a 30s lease to expire")
	}
	const members = 12000
	c, a := newCluster(t)
	ctx := context.Background()
	sku := customProduct(a, "LOAD_K", members)
	g := a.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Everyone", "mailEnabled": false, "securityEnabled": true, "mailNickname": "everyone"})
	gid := g["id"].(string)
	a.must(202, "POST", "/v1.0/groups/"+gid+"/assignLicense", map[string]any{"addLicenses": []map[string]any{{"skuId": sku}}, "removeLicenses": []string{}})
	waitFor(t, "empty group processed", 30*time.Second, func() bool { return c.int(`SELECT COUNT(*) FROM marks`) == 0 }, a)
	grp, err := c.st.Group(ctx, c.tenant.ID, gid)
	if err != nil {
		t.Fatal(err)
	}
	ids := c.loadUsers("k", members)
	c.exec(`TRUNCATE claim_log`)
	if err := c.st.LoadMembers(ctx, c.tenant.ID, grp.ID, ids); err != nil {
		t.Fatal(err)
	}
	// Kill A as soon as it holds a batch.
	waitFor(t, "A claims a batch", 30*time.Second, func() bool { return c.int(`SELECT COUNT(*) FROM claim_log`) > 0 }, a)
	a.kill()
	held := c.int(`SELECT COUNT(*) FROM marks WHERE lease_owner <> ''`)
	t.Logf("killed A holding %d marks (%d users licensed so far)", held, c.consumed(sku))
	start := time.Now()
	b := startServer(t, "B", c.db)
	waitFor(t, "B finishes the work", 90*time.Second, func() bool {
		return c.consumed(sku) == members && c.int(`SELECT COUNT(*) FROM marks`) == 0
	}, b)
	t.Logf("B finished in %s", time.Since(start).Round(time.Millisecond))
	if held > 0 && time.Since(start) < 25*time.Second {
		t.Errorf("B finished in %s: it took over marks leased to A before the lease expired", time.Since(start))
	}
	if n := c.int(`SELECT COUNT(*) FROM license_states WHERE state = 'Active'`); n != members {
		t.Errorf("active license states = %d, want %d", n, members)
	}
	if n := c.int(`SELECT COUNT(*) FROM license_states`); n != members {
		t.Errorf("license states = %d, want %d", n, members)
	}
	if n := c.int(`SELECT COUNT(DISTINCT user_id) FROM license_states`); n != members {
		t.Errorf("licensed users = %d, want %d", n, members)
	}
}

// TestSeatsAreExactAcrossTwoProcesses: 64 concurrent clients assign a
// product with 10 seats to 500 users, half through each of two servers on
// one database: exactly 10 succeed, the others get noSeatsAvailable, and
// consumedUnits is 10. Repeated with a fresh product each round.
func TestSeatsAreExactAcrossTwoProcesses(t *testing.T) {
	const workers, users, seats = 64, 500, 10
	rounds := 50
	if testing.Short() {
		rounds = 5
	}
	c, a := newCluster(t)
	b := startServer(t, "B", c.db)
	servers := []*server{a, b}
	ids := c.loadUsers("seat", users)
	guids := make([]string, users)
	for i, id := range ids {
		var guid string
		if err := c.st.DB().QueryRowContext(context.Background(), `SELECT guid FROM users WHERE id = $1`, id).Scan(&guid); err != nil {
			t.Fatal(err)
		}
		guids[i] = guid
	}
	start := time.Now()
	for round := 0; round < rounds; round++ {
		sku := customProduct(servers[round%2], fmt.Sprintf("RACE_%03d", round), seats)
		type job struct {
			s    *server
			user string
		}
		jobs := make(chan job)
		var mu sync.Mutex
		ok, noSeats := 0, 0
		var other []string
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					status, body, err := j.s.do("POST", "/v1.0/users/"+j.user+"/assignLicense",
						map[string]any{"addLicenses": []map[string]any{{"skuId": sku}}, "removeLicenses": []string{}})
					mu.Lock()
					switch {
					case err != nil:
						other = append(other, err.Error())
					case status == 200:
						ok++
					case status == 400 && errCode(body) == "noSeatsAvailable":
						noSeats++
					default:
						other = append(other, fmt.Sprintf("%s: %d %v", j.s.name, status, body))
					}
					mu.Unlock()
				}
			}()
		}
		for i, u := range guids {
			jobs <- job{servers[i%2], u}
		}
		close(jobs)
		wg.Wait()
		if len(other) > 0 {
			t.Fatalf("round %d: %d unexpected answers, first: %s", round, len(other), other[0])
		}
		if ok != seats || noSeats != users-seats {
			t.Fatalf("round %d: %d succeeded and %d got noSeatsAvailable, want %d and %d", round, ok, noSeats, seats, users-seats)
		}
		if n := c.consumed(sku); n != seats {
			t.Fatalf("round %d: consumedUnits = %d, want %d", round, n, seats)
		}
		if n := c.int(`SELECT COUNT(*) FROM license_states ls JOIN products p ON p.id = ls.product_id WHERE p.sku_guid = $1 AND ls.state = 'Active'`, sku); n != seats {
			t.Fatalf("round %d: %d active states, want %d", round, n, seats)
		}
		// Both servers report the same.
		for _, s := range servers {
			out := s.must(200, "GET", "/v1.0/subscribedSkus", nil)
			for _, v := range out["value"].([]any) {
				m := v.(map[string]any)
				if m["skuId"] == sku && int(m["consumedUnits"].(float64)) != seats {
					t.Fatalf("round %d: %s reports consumedUnits %v", round, s.name, m["consumedUnits"])
				}
			}
		}
	}
	t.Logf("%d rounds of %d concurrent assignments (%d clients, two processes) in %s", rounds, users, workers, time.Since(start).Round(time.Millisecond))
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && (len(out[j]) < len(out[j-1]) || len(out[j]) == len(out[j-1]) && out[j] < out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// TestSimultaneousStartsSetUpOnce: two servers started at the same moment on
// an empty database (with --demo) make one default tenant, seed it once and
// store the admin token once.
func TestSimultaneousStartsSetUpOnce(t *testing.T) {
	Require(t)
	db := NewDatabase(t)
	var wg sync.WaitGroup
	for _, name := range []string{"A", "B"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			startServer(t, name, db, "--demo")
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	st, err := sqlstore.OpenPostgres(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &cluster{t: t, db: db, st: st}
	if n := c.int(`SELECT COUNT(*) FROM tenants`); n != 1 {
		t.Errorf("tenants = %d, want 1", n)
	}
	if n := c.int(`SELECT COUNT(*) FROM tokens`); n != 1 {
		t.Errorf("tokens = %d, want 1", n)
	}
	if n := c.int(`SELECT COUNT(*) FROM (SELECT upn_key FROM users GROUP BY upn_key HAVING COUNT(*) > 1) d`); n != 0 {
		t.Errorf("%d users were seeded twice", n)
	}
}

// TestScaleOneVersusTwoProcesses measures, when ALLOT_PG_SCALE names a member
// count (e.g. 100000), how long one and two processes take to converge: N
// users joining a licensed group (N user marks, shared between processes)
// and a product assigned to the N-member group (one group mark). It checks
// convergence and that no change is claimed twice.
func TestScaleOneVersusTwoProcesses(t *testing.T) {
	members, _ := strconv.Atoi(os.Getenv("ALLOT_PG_SCALE"))
	if members <= 0 {
		t.Skip("set ALLOT_PG_SCALE=100000 to measure")
	}
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d-process", procs), func(t *testing.T) {
			c, a := newCluster(t)
			servers := []*server{a}
			if procs == 2 {
				servers = append(servers, startServer(t, "B", c.db))
			}
			ctx := context.Background()
			skuA := customProduct(a, "SCALE_A", members)
			skuB := customProduct(a, "SCALE_B", members)
			g := a.must(201, "POST", "/v1.0/groups", map[string]any{"displayName": "Everyone", "mailEnabled": false, "securityEnabled": true, "mailNickname": "everyone"})
			gid := g["id"].(string)
			a.must(202, "POST", "/v1.0/groups/"+gid+"/assignLicense", map[string]any{"addLicenses": []map[string]any{{"skuId": skuA}}, "removeLicenses": []string{}})
			waitFor(t, "empty group processed", 30*time.Second, func() bool { return c.int(`SELECT COUNT(*) FROM marks`) == 0 }, servers...)
			grp, err := c.st.Group(ctx, c.tenant.ID, gid)
			if err != nil {
				t.Fatal(err)
			}
			ids := c.loadUsers("s", members)
			start := time.Now()
			if err := c.st.LoadMembers(ctx, c.tenant.ID, grp.ID, ids); err != nil {
				t.Fatal(err)
			}
			loaded := time.Since(start)
			waitFor(t, "user marks", 20*time.Minute, func() bool {
				return c.consumed(skuA) == members && c.int(`SELECT COUNT(*) FROM marks`) == 0
			}, servers...)
			userPath := time.Since(start) - loaded
			start = time.Now()
			a.must(202, "POST", "/v1.0/groups/"+gid+"/assignLicense", map[string]any{"addLicenses": []map[string]any{{"skuId": skuB}}, "removeLicenses": []string{}})
			waitFor(t, "group mark", 20*time.Minute, func() bool {
				return c.consumed(skuB) == members && c.int(`SELECT COUNT(*) FROM marks`) == 0 &&
					c.int(`SELECT COUNT(*) FROM dir_groups WHERE processing_state <> 'ProcessingComplete'`) == 0
			}, servers...)
			groupPath := time.Since(start)
			claims := c.checkClaimedOnce()
			t.Logf("%d process(es), %d members: %d users joining a licensed group converge in %s (claims per worker %v); a product assigned to the group converges in %s",
				procs, members, members, userPath.Round(time.Millisecond), claims[0], groupPath.Round(time.Millisecond))
		})
	}
}
