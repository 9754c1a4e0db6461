package reconcile_test

// The crash test: a child process (this test binary, re-executed) reconciles
// a big group with failpoints armed (sqlstore.FailpointsEnv), so that it
// kills itself with SIGKILL inside `apply`, with a batch's license changes
// written and not committed; the test restarts it after each kill until it
// has nothing left to do, then compares the store with a run without
// faults.

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the raw counter checks

	"allot"
	"allot/catalog"
	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
)

// crashChildEnv, set in the environment of this test binary, makes it a
// crash child instead of running tests (see crashChild).
const crashChildEnv = "ALLOT_CRASH_CHILD"

// crashChunk is how many group members one reconcile transaction handles:
// small, so that the two groups take 56 batches.
const crashChunk = 250

// The crash children run with every failpoint of apply armed with the same
// probability p: at each batch with changes a child dies after writing the
// states with probability p, else after updating the counters with p, else
// after writing the audit rows with p. The first child of a round gets
// crashFirstP; each kill makes the next child's p crashDecay times smaller,
// so that the early children die often, while there is much to do, and a
// late one gets through the batches that are done.
const (
	crashFirstP = 0.08
	crashDecay  = 0.85
)

// crashFailpoints returns the failpoints spec of a round's child that
// follows kills others.
func crashFailpoints(kills int) string {
	p := strconv.FormatFloat(crashFirstP*math.Pow(crashDecay, float64(kills)), 'f', 5, 64)
	var parts []string
	for _, name := range sqlstore.FailpointNames() {
		parts = append(parts, name+"="+p)
	}
	return strings.Join(parts, ",")
}

func TestMain(m *testing.M) {
	if target := os.Getenv(crashChildEnv); target != "" {
		os.Exit(crashChild(target))
	}
	os.Exit(m.Run())
}

// crashChild is the child process: it opens the store target names (a
// PostgreSQL URL or an SQLite directory), frees the leases of the child
// killed before it (the test runs one child at a time, so every lease is a
// dead process's) and reconciles until no mark is left, as `allot serve`'s
// worker does. The failpoints of sqlstore.FailpointsEnv are armed by the
// store's constructor. It returns the process's exit code.
func crashChild(target string) int {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	st, err := openTarget(ctx, target, sqlstore.WithLogger(log))
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	defer st.Close()
	if err := st.ReleaseLeases(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	w := reconcile.New(st, log)
	w.GroupChunk = crashChunk
	if err := w.Drain(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	return 0
}

// openTarget opens a PostgreSQL URL or an SQLite directory.
func openTarget(ctx context.Context, target string, opts ...sqlstore.Option) (*sqlstore.Store, error) {
	if isPostgres(target) {
		return sqlstore.OpenPostgres(ctx, smallPool(target), opts...)
	}
	return sqlstore.OpenSQLite(ctx, target, opts...)
}

// smallPool limits a store on the PostgreSQL URL to crashPoolConns
// connections: one worker needs few, and the test server's clients are
// shared by every package testing at the same time.
func smallPool(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target // OpenPostgres reports it
	}
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(crashPoolConns))
	u.RawQuery = q.Encode()
	return u.String()
}

// crashPoolConns is the pool size of the crash test's PostgreSQL stores.
const crashPoolConns = 4

func isPostgres(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

func mustOpen(t *testing.T, target string) *sqlstore.Store {
	t.Helper()
	st, err := openTarget(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// crashScenario builds the same tenant in a store: a 10,000-member group
// assigned SPE_E3 with 8,000 seats (2,000 wait), and a second group (the first
// 3,000 members plus a nested group of 1,000 more) assigned SPE_E5 with one
// service plan off and 2,500 seats.
func crashScenario(t *testing.T, st *sqlstore.Store) *allot.Tenant {
	t.Helper()
	ctx := context.Background()
	ten, err := st.CreateTenant(ctx, "crash", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	e3, _ := catalog.Lookup("SPE_E3")
	e5, _ := catalog.Lookup("SPE_E5")
	p3, err := st.AddProduct(ctx, actor, ten.ID, e3, 8000)
	if err != nil {
		t.Fatal(err)
	}
	p5, err := st.AddProduct(ctx, actor, ten.ID, e5, 2500)
	if err != nil {
		t.Fatal(err)
	}
	a, ids, err := st.LoadGroup(ctx, ten.ID, "all", "m", 10000)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := st.LoadGroup(ctx, ten.ID, "contractors", "c", 1000)
	if err != nil {
		t.Fatal(err)
	}
	b := &allot.Group{DisplayName: "e5"}
	if err := st.CreateGroup(ctx, actor, ten.ID, b); err != nil {
		t.Fatal(err)
	}
	if err := st.LoadMembers(ctx, ten.ID, b.ID, ids[:1500]); err != nil {
		t.Fatal(err)
	}
	if err := st.AddMember(ctx, actor, ten.ID, b.GUID, c.GUID); err != nil {
		t.Fatal(err)
	}
	if err := st.LoadMembers(ctx, ten.ID, b.ID, ids[1500:3000]); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AssignGroupLicenses(ctx, actor, ten.ID, a.GUID, []store.LicenseRequest{{SkuID: p3.SkuID}}, nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AssignGroupLicenses(ctx, actor, ten.ID, b.GUID,
		[]store.LicenseRequest{{SkuID: p5.SkuID, DisabledPlans: []string{p5.ServicePlans[0].ID}}}, nil, false); err != nil {
		t.Fatal(err)
	}
	return ten
}

// crashDB is how one engine makes and copies the test's databases; a target
// is an SQLite directory or a PostgreSQL URL.
type crashDB struct {
	fresh func(t *testing.T) string             // an empty, migrated store
	copy  func(t *testing.T, src string) string // a copy of a closed store
}

var crashDBs = map[string]crashDB{
	"sqlite": {
		fresh: func(t *testing.T) string { return t.TempDir() },
		copy:  copySQLite,
	},
	"postgres": {
		fresh: func(t *testing.T) string { return pgtest.NewDatabase(t) },
		copy:  func(t *testing.T, src string) string { return pgtest.CopyDatabase(t, src) },
	},
}

// copySQLite copies the database files of a closed SQLite store.
func copySQLite(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	files, err := filepath.Glob(filepath.Join(src, "allot.db*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no SQLite database in %s (%v)", src, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestKillDuringGroupReconcile runs the crash test on each engine.
//
// A child process reconciles the crash scenario (14,000 license states in
// 60 batches of up to 250 users) with the failpoints armed (crashFailpoints):
// at a batch with changes it may kill itself with SIGKILL after the batch's
// states are written (apply.states), after its seat, waiting and group error
// counters are (apply.counters) or after its audit rows are (apply.audit),
// always before the commit. The test restarts it after each
// kill until a child exits having drained every mark, then requires of the
// store that:
//   - its license states equal those of a run without faults (nothing
//     lost, nothing applied twice),
//   - its product counters (consumed, seats) equal that run's, and every
//     counter equals a count of the states (consumed units = active holders,
//     waiting units = waiting users, a group's error count = its members in
//     error),
//   - its audit log has, per user, the same license changes as that run
//     (a rolled-back batch leaves no event, a redone one no duplicate),
//   - reconciling every user again from scratch changes nothing.
//
// A round is one such run from a fresh copy of the scenario; rounds repeat
// until ALLOT_CRASH_KILLS kills (20 by default) have landed, at least one at
// each failpoint. PostgreSQL is skipped without a server, except under
// CI=true.
func TestKillDuringGroupReconcile(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: child processes reconcile 14,000 license states")
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				pgtest.Require(t)
			}
			testKillDuringGroupReconcile(t, crashDBs[engine])
		})
	}
}

// crashMaxRounds bounds the rounds of one engine's crash test.
const crashMaxRounds = 15

func testKillDuringGroupReconcile(t *testing.T, db crashDB) {
	began := time.Now()
	need := requiredKills(t)
	base := db.fresh(t)
	st := mustOpen(t, base)
	ten := crashScenario(t, st)
	st.Close()
	t.Logf("scenario built (%s)", time.Since(began).Round(100*time.Millisecond))
	want := referenceRun(t, db.copy(t, base), ten)
	t.Logf("run without faults observed (%s)", time.Since(began).Round(100*time.Millisecond))
	if len(want.states) != 14000 {
		t.Fatalf("the run without faults has %d license states, want 14000", len(want.states))
	}
	tally := crashTally{kills: map[string]int{}}
	diffs, round := 0, 0
	for tally.total() < need || tally.fewest() == 0 {
		if round++; round > crashMaxRounds {
			t.Fatalf("%s after %d rounds, want %d kills and one at each failpoint", tally.String(), crashMaxRounds, need)
		}
		target := db.copy(t, base)
		before, started := tally.total(), time.Now()
		killUntilConverged(t, target, &tally)
		got := observe(t, target, ten)
		d := compareOutcomes(t, want, got)
		diffs += d
		t.Logf("round %d: %d kills, %d differences (%s)", round, tally.total()-before, d, time.Since(started).Round(100*time.Millisecond))
		if d > 0 {
			t.Fatalf("%s in round %d left %d differences", tally.String(), round, d)
		}
	}
	t.Logf("%s; %d users' changes were uncommitted at the kills", tally.String(), tally.uncommitted)
	t.Logf("crash test: %d kills inside apply (%s) in %d rounds, %d child processes, %d license states compared per round, %d differences, %s",
		tally.total(), tally.perFailpoint(), round, tally.starts, len(want.states), diffs, time.Since(began).Round(time.Second))
}

// requiredKills is how many kills inside apply the test requires:
// ALLOT_CRASH_KILLS, 20 by default.
func requiredKills(t *testing.T) int {
	if v := os.Getenv("ALLOT_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("ALLOT_CRASH_KILLS=%q: want a positive number", v)
		}
		return n
	}
	return 20
}

// referenceRun reconciles target in this process without faults and
// returns the outcome.
func referenceRun(t *testing.T, target string, ten *allot.Tenant) outcome {
	t.Helper()
	st := mustOpen(t, target)
	w := reconcile.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.GroupChunk = crashChunk
	err := w.Drain(context.Background())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	return observe(t, target, ten)
}

// crashTally counts the kills of the crash runs.
type crashTally struct {
	kills       map[string]int // by failpoint
	uncommitted int            // users' changes in flight at the kills
	starts      int            // crash children started
}

func (c *crashTally) total() int {
	n := 0
	for _, k := range c.kills {
		n += k
	}
	return n
}

// fewest is the number of kills at the failpoint with the fewest.
func (c *crashTally) fewest() int {
	n := -1
	for _, name := range sqlstore.FailpointNames() {
		if k := c.kills[name]; n < 0 || k < n {
			n = k
		}
	}
	return n
}

func (c *crashTally) perFailpoint() string {
	var parts []string
	for _, name := range sqlstore.FailpointNames() {
		parts = append(parts, fmt.Sprintf("%s=%d", name, c.kills[name]))
	}
	return strings.Join(parts, " ")
}

func (c *crashTally) String() string {
	return fmt.Sprintf("%d kills (%s)", c.total(), c.perFailpoint())
}

// crashMaxStarts bounds the crash children of one round.
const crashMaxStarts = 400

// killUntilConverged starts crash children on target until one exits by
// itself, having found no mark left, and counts the kills.
func killUntilConverged(t *testing.T, target string, tally *crashTally) {
	t.Helper()
	for start := 1; ; start++ {
		if start > crashMaxStarts {
			t.Fatalf("the crash children did not converge in %d starts", crashMaxStarts)
		}
		tally.starts++
		name, uncommitted := runCrashChild(t, target, crashFailpoints(start-1))
		if name == "" {
			return
		}
		tally.kills[name]++
		tally.uncommitted += uncommitted
	}
}

var failpointLine = regexp.MustCompile(`allot: failpoint (\S+): SIGKILL with (\d+) users' changes uncommitted`)

// runCrashChild runs one crash child on target with the failpoints spec and
// returns the failpoint it was killed at and the changes it had in flight,
// or "" when it exited by itself having drained every mark. Any other end
// fails the test.
func runCrashChild(t *testing.T, target, spec string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashChildEnv+"="+target, sqlstore.FailpointsEnv+"="+spec)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	m := failpointLine.FindStringSubmatch(out.String())
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case err == nil && m == nil:
		return "", 0
	case m != nil && ws.Signaled() && ws.Signal() == syscall.SIGKILL:
		n, _ := strconv.Atoi(m[2])
		return m[1], n
	}
	t.Fatalf("crash child with %s=%s ended with %v:\n%s", sqlstore.FailpointsEnv, spec, err, tail(out.String(), 4000))
	return "", 0
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// outcome is what a run leaves in the store, rendered by names so that two
// stores compare.
type outcome struct {
	states   []string // every license state, sorted
	counters []string // per product: consumed units and seats
	audit    []string // per user and change: the license changes audited, sorted
	// broken lists counters that disagree with the states, and what a
	// reconcile of every user from scratch changed.
	broken []string
}

// observe renders the outcome of a run in target, then reconciles every
// user again from scratch (it must change nothing).
func observe(t *testing.T, target string, ten *allot.Tenant) outcome {
	t.Helper()
	ctx := context.Background()
	st := mustOpen(t, target)
	defer st.Close()
	ids, upn := userIDs(t, st, ten)
	var o outcome
	o.states = licenseStates(t, st, ten, ids, upn)
	o.counters = productCounters(t, st, ten)
	raw := rawDB(t, target)
	defer raw.Close()
	o.broken = counterChecks(t, raw)
	o.audit = auditedChanges(t, raw)
	rs, err := st.ReconcileUsers(ctx, ten.ID, ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Changed != 0 {
		o.broken = append(o.broken, fmt.Sprintf("reconciling every user again changed %d of %d users", rs.Changed, len(ids)))
	}
	missing, extra := multisetDiff(o.states, licenseStates(t, st, ten, ids, upn))
	for _, s := range missing {
		o.broken = append(o.broken, "reconciling every user again removed "+s)
	}
	for _, s := range extra {
		o.broken = append(o.broken, "reconciling every user again added "+s)
	}
	return o
}

// userIDs lists the tenant's users and their principal names.
func userIDs(t *testing.T, st *sqlstore.Store, ten *allot.Tenant) ([]int64, map[int64]string) {
	t.Helper()
	var ids []int64
	upn := map[int64]string{}
	after := int64(0)
	for {
		us, next, _, err := st.ListUsers(context.Background(), ten.ID, store.ListOptions{Top: 999, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			ids = append(ids, u.ID)
			upn[u.ID] = u.UserPrincipalName
		}
		if next == 0 {
			return ids, upn
		}
		after = next
	}
}

// licenseStates renders every license state of the users, sorted.
func licenseStates(t *testing.T, st *sqlstore.Store, ten *allot.Tenant, ids []int64, upn map[int64]string) []string {
	t.Helper()
	lic, err := st.UserLicenses(context.Background(), ten.ID, ids)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, id := range ids {
		for _, v := range lic[id] {
			states = append(states, fmt.Sprintf("%s %s %s %s %s %v", upn[id], v.Product.SkuPartNumber, v.GroupName, v.State, v.Code, v.DisabledPlans))
		}
	}
	sort.Strings(states)
	return states
}

// productCounters renders each product's consumed units, holders and seats.
func productCounters(t *testing.T, st *sqlstore.Store, ten *allot.Tenant) []string {
	t.Helper()
	ps, err := st.Products(context.Background(), ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	holders, err := st.CountHolders(context.Background(), ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s consumed=%d holders=%d enabled=%d", p.SkuPartNumber, p.ConsumedUnits, holders[p.ID], p.EnabledUnits))
	}
	return out
}

// rawDB opens target's database with database/sql, for the checks of
// counters that the store's API does not show.
func rawDB(t *testing.T, target string) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", "file:"+filepath.Join(target, "allot.db")+"?mode=ro"
	if isPostgres(target) {
		driver, dsn = "pgx", target
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// waitingCodes is the SQL list of the codes of users waiting for a seat.
var waitingCodes = "'" + string(allot.ENoSeats) + "', '" + string(allot.ESeatsReduced) + "'"

// counterChecks compares every stored counter with a count of the license
// states and returns the ones that differ.
func counterChecks(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var broken []string
	check := func(query string) {
		rows, err := db.Query(query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var name, what string
			var stored, counted int
			if err := rows.Scan(&name, &what, &stored, &counted); err != nil {
				t.Fatal(err)
			}
			if stored != counted {
				broken = append(broken, fmt.Sprintf("%s %s: counter %d, states %d", name, what, stored, counted))
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	check(`SELECT p.part_number, 'consumed_units', p.consumed_units,
		(SELECT COUNT(DISTINCT s.user_id) FROM license_states s WHERE s.product_id = p.id AND s.state = 'Active') FROM products p`)
	check(`SELECT p.part_number, 'waiting_units', p.waiting_units,
		(SELECT COUNT(DISTINCT s.user_id) FROM license_states s WHERE s.product_id = p.id AND s.code IN (` + waitingCodes + `)) FROM products p`)
	check(`SELECT g.display_name, 'error_count', g.error_count,
		(SELECT COUNT(DISTINCT s.user_id) FROM license_states s WHERE s.source_id = g.id AND s.state = 'Error') FROM dir_groups g`)
	return broken
}

// auditedChanges lists, per user, every license change the audit log
// records (bulk events once per user they cover), sorted.
func auditedChanges(t *testing.T, db *sql.DB) []string {
	t.Helper()
	act := "'" + allot.ActChangeUserLicense + "'"
	rows, err := db.Query(`SELECT u.upn, e.changes FROM audit_targets x
		JOIN audit_events e ON e.id = x.event_id JOIN users u ON u.id = x.user_id WHERE e.activity = ` + act + `
		UNION ALL
		SELECT u.upn, e.changes FROM audit_events e JOIN users u ON u.guid = e.target_id
		WHERE e.activity = ` + act + ` AND e.target_kind = 'User'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var upn, changes string
		if err := rows.Scan(&upn, &changes); err != nil {
			t.Fatal(err)
		}
		out = append(out, upn+" "+changes)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// compareOutcomes reports the differences between the outcome of a crash
// run and of the run without faults (the first few of each kind, and how
// many), and counts them.
func compareOutcomes(t *testing.T, want, got outcome) int {
	t.Helper()
	n := 0
	report := func(what string, items []string) {
		for i, s := range items {
			if i == 3 {
				t.Errorf("… %d %s in all", len(items), what)
				break
			}
			t.Errorf("%s: %s", what, s)
		}
		n += len(items)
	}
	for _, part := range []struct {
		what      string
		want, got []string
	}{
		{"license state", want.states, got.states},
		{"product counter", want.counters, got.counters},
		{"audited change", want.audit, got.audit},
	} {
		missing, extra := multisetDiff(part.want, part.got)
		report("missing "+part.what+" after the kills", missing)
		report("unexpected "+part.what+" after the kills", extra)
	}
	report("broken in the run without faults", want.broken)
	report("broken after the kills", got.broken)
	return n
}

// multisetDiff returns the elements of sorted want missing from sorted got
// and those of got not in want, counting repeats.
func multisetDiff(want, got []string) (missing, extra []string) {
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || (i < len(want) && want[i] < got[j]):
			missing = append(missing, want[i])
			i++
		case i == len(want) || got[j] < want[i]:
			extra = append(extra, got[j])
			j++
		default:
			i++
			j++
		}
	}
	return missing, extra
}
