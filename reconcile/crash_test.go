package reconcile_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"allot"
	"allot/catalog"
	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
)

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
	guids, err := st.UserGUIDs(ctx, ids[:3000])
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[:1500] {
		if err := st.AddMember(ctx, actor, ten.ID, b.GUID, guids[id]); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddMember(ctx, actor, ten.ID, b.GUID, c.GUID); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[1500:3000] {
		if err := st.AddMember(ctx, actor, ten.ID, b.GUID, guids[id]); err != nil {
			t.Fatal(err)
		}
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

// snapshot renders every license state and product counter of the tenant,
// keyed by names so that two stores can be compared.
func snapshot(t *testing.T, st *sqlstore.Store, ten *allot.Tenant) (states []string, counters []string) {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	upn := map[int64]string{}
	after := int64(0)
	for {
		us, next, _, err := st.ListUsers(ctx, ten.ID, store.ListOptions{Top: 999, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			ids = append(ids, u.ID)
			upn[u.ID] = u.UserPrincipalName
		}
		if next == 0 {
			break
		}
		after = next
	}
	lic, err := st.UserLicenses(ctx, ten.ID, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		for _, v := range lic[id] {
			states = append(states, fmt.Sprintf("%s %s %s %s %s %v", upn[id], v.Product.SkuPartNumber, v.GroupName, v.State, v.Code, v.DisabledPlans))
		}
	}
	sort.Strings(states)
	ps, err := st.Products(ctx, ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	holders, err := st.CountHolders(ctx, ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		counters = append(counters, fmt.Sprintf("%s consumed=%d holders=%d enabled=%d", p.SkuPartNumber, p.ConsumedUnits, holders[p.ID], p.EnabledUnits))
		if p.ConsumedUnits != holders[p.ID] || p.ConsumedUnits > p.EnabledUnits {
			t.Errorf("%s: consumedUnits %d, %d users hold it, %d seats", p.SkuPartNumber, p.ConsumedUnits, holders[p.ID], p.EnabledUnits)
		}
	}
	return states, counters
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestKillDuringGroupReconcile kills a real `allot serve` process with
// SIGKILL at random moments while it applies group licenses to 10,000
// members, restarts it each time, and checks that the final state equals a
// run without faults: nothing lost, no seat counted twice.
func TestKillDuringGroupReconcile(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the real binary")
	}
	kills := 20
	bin := filepath.Join(t.TempDir(), "allot")
	build := exec.Command("go", "build", "-o", bin, "allot/cmd/allot")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	ctx := context.Background()

	// The fault-free run, in-process.
	ref, err := sqlstore.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	refTen := crashScenario(t, ref)
	w := reconcile.New(ref, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.GroupChunk = 250
	if err := w.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	wantStates, wantCounters := snapshot(t, ref, refTen)

	// The crash run: the same scenario, processed by a server that is killed.
	dir := t.TempDir()
	st, err := sqlstore.OpenSQLite(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	ten := crashScenario(t, st)
	st.Close()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var logs strings.Builder
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--data", dir, "--addr", freeAddr(t), "--reconcile-chunk", "250")
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	// Kill until 20 kills have landed while work was pending. When the work
	// is done before that, reprocessing both groups makes more (it must not
	// change the outcome).
	done, total := 0, 0
	for done < kills {
		cmd := start()
		time.Sleep(time.Duration(20+rng.IntN(400)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		total++
		st, err := sqlstore.OpenSQLite(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		n, err := st.PendingMarks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			done++
		} else {
			groups, _, _, err := st.ListGroups(ctx, ten.ID, store.ListOptions{Top: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range groups {
				if _, err := st.ReprocessGroup(ctx, actor, ten.ID, g.GUID); err != nil {
					t.Fatal(err)
				}
			}
		}
		st.Close()
		if total > 200 {
			t.Fatalf("only %d of %d kills landed while work was pending", done, total)
		}
	}
	// Let the last run finish, then stop it cleanly.
	cmd := start()
	st, err = sqlstore.OpenSQLite(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n, err := st.PendingMarks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("%d marks still pending after the last restart; server log:\n%s", n, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	gotStates, gotCounters := snapshot(t, st, ten)
	if strings.Join(gotCounters, "\n") != strings.Join(wantCounters, "\n") {
		t.Errorf("counters after %d kills:\n%s\nwant:\n%s", kills, strings.Join(gotCounters, "\n"), strings.Join(wantCounters, "\n"))
	}
	diff := 0
	want := map[string]bool{}
	for _, s := range wantStates {
		want[s] = true
	}
	got := map[string]bool{}
	for _, s := range gotStates {
		got[s] = true
		if !want[s] {
			if diff < 10 {
				t.Errorf("unexpected state after kills: %s", s)
			}
			diff++
		}
	}
	for _, s := range wantStates {
		if !got[s] {
			if diff < 10 {
				t.Errorf("missing state after kills: %s", s)
			}
			diff++
		}
	}
	t.Logf("%d kills (%d while work was pending), %d license states compared, %d differences; counters: %s", total, done, len(wantStates), diff, strings.Join(gotCounters, "; "))
}
