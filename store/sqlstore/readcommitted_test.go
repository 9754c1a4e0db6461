package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
	"allot/store/storetest"
)

// The races that REPEATABLE READ caught as serialization failures and that
// READ COMMITTED must prevent with locks (locks.go). Each test runs on both
// engines (on SQLite the single writer makes them trivially true) and starts
// the two sides of a race together, for a number of rounds.

const raceRounds = 15

// together runs fns at the same moment and waits for all of them.
func together(fns ...func()) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for _, fn := range fns {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			fn()
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

// TestConcurrentPatchesKeepBoth: two clients patch different properties of one
// user (and of one group) at the same moment; both changes stay. Without the
// row lock the later patch writes back the other property as it read it.
func TestConcurrentPatchesKeepBoth(t *testing.T) {
	forEngines(t, func(t *testing.T, st *sqlstore.Store) {
		e := storetest.NewEnv(t, st)
		a := allot.SystemActor
		for round := range raceRounds {
			u := e.User(fmt.Sprintf("patch%d", round), "US")
			g := &allot.Group{DisplayName: fmt.Sprintf("Patch %d", round)}
			if err := st.CreateGroup(e.Ctx, a, e.Tenant.ID, g); err != nil {
				t.Fatal(err)
			}
			job, dept := "Job", "Dept"
			desc, nick := "Description", "nick"
			errs := make([]error, 4)
			together(
				func() { _, errs[0] = st.UpdateUser(e.Ctx, a, e.Tenant.ID, u.GUID, store.UserPatch{JobTitle: &job}) },
				func() { _, errs[1] = st.UpdateUser(e.Ctx, a, e.Tenant.ID, u.GUID, store.UserPatch{Department: &dept}) },
				func() {
					_, errs[2] = st.UpdateGroup(e.Ctx, a, e.Tenant.ID, g.GUID, store.GroupPatch{Description: &desc})
				},
				func() {
					_, errs[3] = st.UpdateGroup(e.Ctx, a, e.Tenant.ID, g.GUID, store.GroupPatch{MailNickname: &nick})
				},
			)
			for _, err := range errs {
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			got, err := st.User(e.Ctx, e.Tenant.ID, u.GUID)
			if err != nil {
				t.Fatal(err)
			}
			if got.JobTitle != job || got.Department != dept {
				t.Errorf("round %d: user has jobTitle %q and department %q after both patches; one was lost", round, got.JobTitle, got.Department)
			}
			gg, err := st.Group(e.Ctx, e.Tenant.ID, g.GUID)
			if err != nil {
				t.Fatal(err)
			}
			if gg.Description != desc || gg.MailNickname != nick {
				t.Errorf("round %d: group has description %q and mailNickname %q after both patches; one was lost", round, gg.Description, gg.MailNickname)
			}
		}
	})
}

// TestConcurrentDeleteGroupAndAssign: a group is deleted (confirmed) while a
// client assigns it a license. Either the deletion comes first (the
// assignment finds no group) or the assignment does (the confirmed deletion
// then takes the group's licenses with it); never a license of a deleted
// group.
func TestConcurrentDeleteGroupAndAssign(t *testing.T) {
	forEngines(t, func(t *testing.T, st *sqlstore.Store) {
		e := storetest.NewEnv(t, st)
		a := allot.SystemActor
		p := e.Product("SPE_E3", 100)
		for round := range raceRounds {
			g := &allot.Group{DisplayName: fmt.Sprintf("Doomed %d", round)}
			if err := st.CreateGroup(e.Ctx, a, e.Tenant.ID, g); err != nil {
				t.Fatal(err)
			}
			var delErr, assignErr error
			together(
				func() { delErr = st.DeleteGroup(e.Ctx, a, e.Tenant.ID, g.GUID, true) },
				func() {
					_, assignErr = st.AssignGroupLicenses(e.Ctx, a, e.Tenant.ID, g.GUID, []store.LicenseRequest{{SkuID: p.SkuID}}, nil, true)
				},
			)
			deleted := delErr == nil && allot.ErrorCode(assignErr) == allot.ENotFound
			assigned := assignErr == nil && delErr == nil
			if !deleted && !assigned {
				t.Fatalf("round %d: delete: %v; assign: %v; want one to win and the other to be refused", round, delErr, assignErr)
			}
		}
		if n := count(t, st, `SELECT COUNT(*) FROM group_licenses gl WHERE NOT EXISTS (SELECT 1 FROM dir_groups g WHERE g.id = gl.group_id)`); n != 0 {
			t.Errorf("%d licenses of deleted groups", n)
		}
	})
}

// TestConcurrentDeleteUserOnce: two clients delete the same licensed user at
// the same moment. One succeeds, the other finds no user, and the seat is
// given back once.
func TestConcurrentDeleteUserOnce(t *testing.T) {
	forEngines(t, func(t *testing.T, st *sqlstore.Store) {
		e := storetest.NewEnv(t, st)
		a := allot.SystemActor
		p := e.Product("SPE_E3", 100)
		for round := range raceRounds {
			u := e.User(fmt.Sprintf("gone%d", round), "US")
			if _, err := st.AssignUserLicenses(e.Ctx, a, e.Tenant.ID, u.GUID, []store.LicenseRequest{{SkuID: p.SkuID}}, nil); err != nil {
				t.Fatal(err)
			}
			errs := make([]error, 2)
			together(
				func() { errs[0] = st.DeleteUser(e.Ctx, a, e.Tenant.ID, u.GUID) },
				func() { errs[1] = st.DeleteUser(e.Ctx, a, e.Tenant.ID, u.GUID) },
			)
			ok, gone := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case allot.ErrorCode(err) == allot.ENotFound:
					gone++
				default:
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if ok != 1 || gone != 1 {
				t.Fatalf("round %d: %d deletions succeeded and %d found no user, want 1 and 1", round, ok, gone)
			}
			got, err := st.Product(e.Ctx, e.Tenant.ID, p.SkuID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ConsumedUnits != 0 {
				t.Fatalf("round %d: consumedUnits %d after the only holder was deleted, want 0", round, got.ConsumedUnits)
			}
		}
	})
}

// TestConcurrentClaimMarksDisjoint: eight workers claim marks at the same
// time until none is left; every mark is claimed exactly once and no claim
// takes more than its limit.
func TestConcurrentClaimMarksDisjoint(t *testing.T) {
	forEngines(t, func(t *testing.T, st *sqlstore.Store) {
		e := storetest.NewEnv(t, st)
		const marks, limit, workers = 1200, 25, 8
		err := st.WriteSQL(e.Ctx, func(exec func(string, ...any) error) error {
			for i := 1; i <= marks; i++ {
				if err := exec(`INSERT INTO marks (kind, target_id, tenant_id, seq, lease_owner, lease_until) VALUES (?, ?, ?, ?, '', 0)`,
					store.MarkUser, i, e.Tenant.ID, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		claimed := map[int64]int{}
		fns := make([]func(), workers)
		for w := range fns {
			fns[w] = func() {
				for n := 0; ; n++ {
					ms, err := st.ClaimMarks(context.Background(), store.MarkUser, fmt.Sprintf("w%d-%d", w, n), limit, 1<<40)
					if err != nil {
						t.Error(err)
						return
					}
					if len(ms) == 0 {
						return
					}
					mu.Lock()
					if len(ms) > limit {
						t.Errorf("a claim of at most %d took %d marks", limit, len(ms))
					}
					for _, m := range ms {
						claimed[m.TargetID]++
					}
					mu.Unlock()
				}
			}
		}
		together(fns...)
		if len(claimed) != marks {
			t.Errorf("%d of %d marks claimed", len(claimed), marks)
		}
		for id, n := range claimed {
			if n != 1 {
				t.Errorf("mark %d claimed %d times", id, n)
			}
		}
	})
}

// count runs a COUNT query (no arguments) on the store's database.
func count(t *testing.T, st *sqlstore.Store, q string) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStaleCountersNeverLeaveAWaiterBesideAFreeSeat (PostgreSQL): a member
// joins a group whose product has no free seat; while its batch decides, a
// direct removal frees the seat and commits, and finds nobody waiting yet.
// The batch must give the member the seat, or it would wait beside a free
// seat with nothing left to wake it. Two things see to it, and the test
// fails only when both are broken: a plan that leaves someone waiting is
// decided again on locked, fresh counters (decide, seatSafe), and the batch
// marks the waiters of every product whose counters it changed, reading the
// counters after its own update (apply, markWaiters).
func TestStaleCountersNeverLeaveAWaiterBesideAFreeSeat(t *testing.T) {
	st := pgtest.Open(t)
	e := storetest.NewEnv(t, st)
	e.Product("SPE_E3", 1)
	holder := e.User("holder", "US")
	// Users are locked by id ranges (locks.go): the member is made far from
	// the holder, so that the removal does not wait for the batch.
	if _, err := st.DB().ExecContext(e.Ctx, `SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users) + 4096)`); err != nil {
		t.Fatal(err)
	}
	member := e.User("member", "US")
	if err := e.Assign(holder, "SPE_E3"); err != nil {
		t.Fatal(err)
	}
	g := e.Group("Stale counters")
	e.AssignGroup(g, e.Req("SPE_E3")...)
	e.Drain()
	e.Add(g, member)
	var fired atomic.Bool
	st.SetBeforeDecide(func() {
		if fired.Swap(true) {
			return
		}
		if _, err := st.AssignUserLicenses(e.Ctx, allot.SystemActor, e.Tenant.ID, holder.GUID, nil, []string{e.Products["SPE_E3"].SkuID}); err != nil {
			t.Errorf("removal beside the batch: %v", err)
		}
	})
	e.Drain()
	st.SetBeforeDecide(nil)
	if !fired.Load() {
		t.Fatal("the hook never ran: the batch did not decide")
	}
	if got := e.Has(member); len(got) != 1 || got[0] != "SPE_E3" {
		t.Errorf("member holds %v with the seat free (code %s), want SPE_E3", got, e.Code(member, "SPE_E3", g))
	}
	e.CheckCounters()
}
