package sqlstore_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"

	"allot"
	"allot/catalog"
	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
)

// TestDynamicRuleFigures measures a new rule over ALLOT_DYN_USERS users
// (half of them match), its members computed and licensed: a dynamic group
// is created with the rule, assigned SPE_E3, and the reconciler runs until
// no mark is left. The floor, measured in the same run, is writing the same
// rows the fastest known way: the membership rows in one INSERT … SELECT
// and the license-state rows as Store.Floor writes them (best of two each).
// It verifies the members and the seats before printing, and runs only when
// ALLOT_DYN_FIGURES is set.
func TestDynamicRuleFigures(t *testing.T) {
	if os.Getenv("ALLOT_DYN_FIGURES") == "" {
		t.Skip("set ALLOT_DYN_FIGURES=1 to measure")
	}
	n := 100000
	if v := os.Getenv("ALLOT_DYN_USERS"); v != "" {
		fmt.Sscan(v, &n)
	}
	for _, eng := range []struct {
		name string
		open func(*testing.T) *sqlstore.Store
	}{{"sqlite", openSQLite}, {"postgres", pgtest.Open}} {
		t.Run(eng.name, func(t *testing.T) { dynamicRuleFigure(t, eng.name, eng.open(t), n) })
	}
}

func dynamicRuleFigure(t *testing.T, engine string, st *sqlstore.Store, n int) {
	ctx := context.Background()
	a := allot.Actor{Kind: "app", ID: "bench", Name: "bench"}
	ten, err := st.CreateTenant(ctx, "Figures", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := catalog.Lookup("SPE_E3")
	if _, err := st.AddProduct(ctx, a, ten.ID, d, n); err != nil {
		t.Fatal(err)
	}
	for start := 0; start < n; start += 5000 {
		var us []*allot.User
		for i := start; i < min(start+5000, n); i++ {
			dep := "Marketing"
			if i%2 == 0 {
				dep = "Sales"
			}
			us = append(us, &allot.User{UserPrincipalName: fmt.Sprintf("u%d@contoso.test", i), DisplayName: fmt.Sprint("u", i),
				Department: dep, UsageLocation: "US", AccountEnabled: true})
		}
		if err := st.CreateUsersBulk(ctx, a, ten.ID, us); err != nil {
			t.Fatal(err)
		}
	}
	members := n / 2
	memFloor, licFloor := time.Duration(1<<62), time.Duration(1<<62)
	memFloorCPU, licFloorCPU := time.Duration(1<<62), time.Duration(1<<62)
	for round := range 2 {
		floor := &allot.Group{DisplayName: fmt.Sprint("floor ", round)}
		if err := st.CreateGroup(ctx, a, ten.ID, floor); err != nil {
			t.Fatal(err)
		}
		t0, c0 := time.Now(), cpuTime()
		if err := st.WriteSQL(ctx, func(exec func(string, ...any) error) error {
			return exec(`INSERT INTO memberships (group_id, seq, member_type, member_id, tenant_id)
				SELECT ?, id, 0, id, tenant_id FROM users WHERE tenant_id = ? AND department = 'Sales'`, floor.ID, ten.ID)
		}); err != nil {
			t.Fatal(err)
		}
		memFloor, memFloorCPU = min(memFloor, time.Since(t0)), min(memFloorCPU, cpuTime()-c0)
		if err := st.DeleteGroup(ctx, a, ten.ID, floor.GUID, true); err != nil {
			t.Fatal(err)
		}
		c0 = cpuTime()
		lf, err := st.Floor(ctx, members)
		if err != nil {
			t.Fatal(err)
		}
		licFloor, licFloorCPU = min(licFloor, lf), min(licFloorCPU, cpuTime()-c0)
	}
	// Deleting a floor group marked its members: those marks are processed
	// before the clock starts, so that the drain below licenses the rule's
	// members only.
	w := reconcile.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := w.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if left, err := st.PendingMarks(ctx); err != nil || left != 0 {
		t.Fatalf("%d marks left before the rule (%v)", left, err)
	}
	g := &allot.Group{DisplayName: "Dynamic Sales", MembershipRule: `user.department -eq "Sales"`, RuleState: allot.RuleOn}
	t0, c0 := time.Now(), cpuTime()
	if err := st.CreateGroup(ctx, a, ten.ID, g); err != nil {
		t.Fatal(err)
	}
	ruleD, ruleCPU := time.Since(t0), cpuTime()-c0
	if _, err := st.AssignGroupLicenses(ctx, a, ten.ID, g.GUID, []store.LicenseRequest{{SkuID: d.SkuID}}, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := w.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	total, totalCPU := time.Since(t0), cpuTime()-c0
	p, err := st.Product(ctx, ten.ID, "SPE_E3")
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.DirectMemberCount(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got != members || p.ConsumedUnits != members {
		t.Fatalf("%d members and %d seats consumed, want %d of each", got, p.ConsumedUnits, members)
	}
	floor, floorCPU := memFloor+licFloor, memFloorCPU+licFloorCPU
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	t.Logf("%s: %d users, %d members licensed: rule %v (members %v, licensing %v); floor %v (memberships %v + license rows %v); ratio %.1f×; load %s",
		engine, n, members, ms(total), ms(ruleD), ms(total-ruleD), ms(floor), ms(memFloor), ms(licFloor), float64(total)/float64(floor), loadAvg())
	t.Logf("%s: CPU of this process: rule %v (members %v, licensing %v); floor %v (memberships %v + license rows %v); ratio %.1f×",
		engine, ms(totalCPU), ms(ruleCPU), ms(totalCPU-ruleCPU), ms(floorCPU), ms(memFloorCPU), ms(licFloorCPU), float64(totalCPU)/float64(floorCPU))
}

// cpuTime is the CPU time this process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAvg is the machine's load average, for figures measured on a shared machine.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if len(b) > 14 {
		b = b[:14]
	}
	return string(b)
}
