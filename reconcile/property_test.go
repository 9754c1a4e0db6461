package reconcile_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"allot"
	"allot/catalog"
	"allot/reconcile"
	"allot/store"
	"allot/store/sqlstore"
)

// model is the plain in-memory truth of the intents: who is in which group,
// which product each group and user is given directly, and the seats.
type model struct {
	members  map[int][]member     // group index -> members in order
	groupLic map[int]map[int]bool // group index -> products
	direct   map[int]map[int]bool // user index -> products
	seats    map[int]int
	policy   map[int]string // product index -> assignment policy ("" any)
	// ends maps a user's direct products to when they end (unix ms).
	ends map[int]map[int]int64
}

// expire ends the direct intents whose end has come by now: an end date
// is explicit intent, the only way besides a removal that a direct
// license goes. It reports whether any ended.
func (m *model) expire(now int64) bool {
	any := false
	for u, ps := range m.ends {
		for p, end := range ps {
			if end <= now {
				delete(m.direct[u], p)
				delete(ps, p)
				any = true
			}
		}
	}
	return any
}

type member struct {
	group bool
	idx   int
}

// sources returns, per product, the set of source ids (0 direct, else the
// group's store id) that grant it to user u.
func (m *model) sources(u int, groupIDs []int64) map[int]map[int64]bool {
	out := map[int]map[int64]bool{}
	add := func(p int, s int64) {
		if out[p] == nil {
			out[p] = map[int64]bool{}
		}
		out[p][s] = true
	}
	for p := range m.direct[u] {
		add(p, 0)
	}
	for g := range m.members {
		if !m.contains(g, u, map[int]bool{}) {
			continue
		}
		for p := range m.groupLic[g] {
			add(p, groupIDs[g])
		}
	}
	return out
}

func (m *model) contains(g, u int, seen map[int]bool) bool {
	if seen[g] {
		return false
	}
	seen[g] = true
	for _, x := range m.members[g] {
		if !x.group && x.idx == u {
			return true
		}
		if x.group && m.contains(x.idx, u, seen) {
			return true
		}
	}
	return false
}

// reaches tells whether group a contains group b, transitively.
func (m *model) reaches(a, b int) bool {
	if a == b {
		return true
	}
	for _, x := range m.members[a] {
		if x.group && m.reaches(x.idx, b) {
			return true
		}
	}
	return false
}

var actor = allot.Actor{Kind: "app", ID: "prop", Name: "property test"}

// TestReconcileMatchesModel drives random sequences of direct and group
// assignments, membership changes (nested too), seat changes and reconcile
// steps, and checks the store against the model after every reconcile.
func TestReconcileMatchesModel(t *testing.T) {
	parts := []string{"SPE_E3", "SPE_E5"}
	const nUsers, nGroups = 7, 4
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "allot-prop-")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)
		st, err := sqlstore.OpenSQLite(ctx, dir)
		if err != nil {
			rt.Fatal(err)
		}
		defer st.Close()
		ten, _ := st.CreateTenant(ctx, "prop", "NAM", "US")
		var products []*allot.Product
		m := &model{members: map[int][]member{}, groupLic: map[int]map[int]bool{}, direct: map[int]map[int]bool{}, seats: map[int]int{}, policy: map[int]string{}, ends: map[int]map[int]int64{}}
		for i, part := range parts {
			d, _ := catalog.Lookup(part)
			seats := rapid.IntRange(0, 4).Draw(rt, "seats-"+part)
			p, err := st.AddProduct(ctx, actor, ten.ID, d, seats)
			if err != nil {
				rt.Fatal(err)
			}
			products = append(products, p)
			m.seats[i] = seats
		}
		var users []*allot.User
		for i := 0; i < nUsers; i++ {
			loc := "US"
			if i == nUsers-1 {
				loc = "" // direct assignments fail; groups fall back to the tenant default
			}
			u := &allot.User{UserPrincipalName: fmt.Sprintf("u%d@prop.test", i), DisplayName: fmt.Sprint("u", i), UsageLocation: loc}
			if err := st.CreateUser(ctx, actor, ten.ID, u); err != nil {
				rt.Fatal(err)
			}
			users = append(users, u)
		}
		var groups []*allot.Group
		var groupIDs []int64
		for i := 0; i < nGroups; i++ {
			g := &allot.Group{DisplayName: fmt.Sprint("g", i)}
			if err := st.CreateGroup(ctx, actor, ten.ID, g); err != nil {
				rt.Fatal(err)
			}
			groups = append(groups, g)
			groupIDs = append(groupIDs, g.ID)
		}
		w := reconcile.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		w.GroupChunk = 3
		w.UserBatch = rapid.IntRange(1, 8).Draw(rt, "userBatch")
		// waitStart[p][u] is the reconcile step at which u started waiting for p.
		waitStart := map[int]map[int]int{0: {}, 1: {}}
		prevWaiting := map[int]map[int]bool{0: {}, 1: {}}
		step := 0
		// requeued is set when a removal may have put a waiter back in line
		// since the last check; that check skips the FIFO comparison.
		requeued := false
		prevStates := map[int]string{}

		holders := func() map[int]map[int]bool {
			lic, err := st.UserLicenses(ctx, ten.ID, idsOf(users))
			if err != nil {
				rt.Fatal(err)
			}
			h := map[int]map[int]bool{0: {}, 1: {}}
			for ui, u := range users {
				for _, v := range lic[u.ID] {
					if v.State == allot.StateActive {
						h[pidx(products, v.ProductID)][ui] = true
					}
				}
			}
			return h
		}

		check := func() {
			step++
			// Ends that passed before the drain are taken away by it.
			if m.expire(time.Now().UnixMilli()) {
				requeued = true
			}
			if err := w.Drain(ctx); err != nil {
				rt.Fatal(err)
			}
			lic, err := st.UserLicenses(ctx, ten.ID, idsOf(users))
			if err != nil {
				rt.Fatal(err)
			}
			counts, _ := st.CountHolders(ctx, ten.ID)
			ps, _ := st.Products(ctx, ten.ID)
			// The store's own counters (consumed, waiting) match its rows.
			if findings, err := st.Check(ctx); err != nil || len(findings) > 0 {
				rt.Fatalf("step %d: allot check: %v %+v", step, err, findings)
			}
			waiting := map[int]map[int]bool{0: {}, 1: {}}
			hold := map[int]map[int]bool{0: {}, 1: {}}
			for ui, u := range users {
				want := m.sources(ui, groupIDs)
				got := map[int]map[int64]bool{}
				for _, v := range lic[u.ID] {
					pi := pidx(products, v.ProductID)
					if got[pi] == nil {
						got[pi] = map[int64]bool{}
					}
					got[pi][v.Source] = true
					if v.State == allot.StateActive {
						hold[pi][ui] = true
					}
					if v.Code == allot.ENoSeats || v.Code == allot.ESeatsReduced {
						waiting[pi][ui] = true
					}
				}
				// Every source the model knows has a state, and no other.
				for pi := range parts {
					if fmt.Sprint(sortedSet(want[pi])) != fmt.Sprint(sortedSet(got[pi])) {
						rt.Fatalf("step %d user %d %s: sources %v, model %v", step, ui, parts[pi], sortedSet(got[pi]), sortedSet(want[pi]))
					}
				}
			}
			for pi, p := range ps {
				idx := pidx(products, p.ID)
				if p.ConsumedUnits != counts[p.ID] || p.ConsumedUnits != len(hold[idx]) {
					rt.Fatalf("step %d %s: consumedUnits %d, holders %d/%d", step, p.SkuPartNumber, p.ConsumedUnits, counts[p.ID], len(hold[idx]))
				}
				if p.ConsumedUnits > p.EnabledUnits {
					rt.Fatalf("step %d %s: consumedUnits %d > enabledUnits %d", step, p.SkuPartNumber, p.ConsumedUnits, p.EnabledUnits)
				}
				// Nobody waits for a seat while one is free.
				if p.ConsumedUnits < p.EnabledUnits && len(waiting[idx]) > 0 {
					for ui, u := range users {
						rt.Logf("user %d: %s", ui, statesString(lic[u.ID], false))
					}
					n, _ := st.PendingMarks(ctx)
					rt.Logf("pending marks %d; model %+v", n, m)
					rt.Fatalf("step %d %s: %d users wait while %d of %d seats are used", step, p.SkuPartNumber, len(waiting[idx]), p.ConsumedUnits, p.EnabledUnits)
				}
				_ = pi
			}
			// FIFO: a user who waited since an earlier step is not passed by
			// one who started waiting later.
			for pi := range parts {
				for u := range waiting[pi] {
					// After a removal the queue order of the waiters is not
					// known to the model: they all count as starting now.
					if _, ok := waitStart[pi][u]; !ok || !prevWaiting[pi][u] || requeued {
						waitStart[pi][u] = step
					}
				}
				for a := range prevWaiting[pi] {
					if !waiting[pi][a] || requeued {
						continue
					}
					for b := range prevWaiting[pi] {
						// A direct assignment is synchronous and does not queue.
						if hold[pi][b] && !m.direct[b][pi] && waitStart[pi][b] > waitStart[pi][a] {
							rt.Logf("user %d: %s", a, statesString(lic[users[a].ID], false))
							rt.Logf("user %d: %s", b, statesString(lic[users[b].ID], false))
							rt.Logf("previous user %d: %s", a, prevStates[a])
							rt.Logf("previous user %d: %s", b, prevStates[b])
							rt.Fatalf("step %d %s: user %d (waiting since step %d) was licensed before user %d (waiting since step %d)",
								step, parts[pi], b, waitStart[pi][b], a, waitStart[pi][a])
						}
					}
				}
				prevWaiting[pi] = waiting[pi]
			}
			requeued = false
			for ui, u := range users {
				prevStates[ui] = statesString(lic[u.ID], false)
			}
			// Reconciling again changes nothing.
			rs, err := st.ReconcileUsers(ctx, ten.ID, idsOf(users), nil)
			if err != nil {
				rt.Fatal(err)
			}
			if rs.Changed != 0 {
				// The only change allowed is the reason of a group grant that
				// failed because another product of the group had no seat:
				// which of the two carries the specific error depends on the
				// seats left when the user was evaluated, and a later batch
				// may have taken the seat (licenses and seats are the same).
				lic2, _ := st.UserLicenses(ctx, ten.ID, idsOf(users))
				for ui, u := range users {
					a, b := statesString(lic[u.ID], true), statesString(lic2[u.ID], true)
					if a != b {
						rt.Logf("user %d before: %s", ui, statesString(lic[u.ID], false))
						rt.Logf("user %d after:  %s", ui, statesString(lic2[u.ID], false))
						rt.Fatalf("step %d: a second reconcile changed %d users", step, rs.Changed)
					}
				}
			}
		}

		rt.Repeat(map[string]func(*rapid.T){
			"assignDirect": func(rt *rapid.T) {
				ui := rapid.IntRange(0, nUsers-1).Draw(rt, "user")
				pi := rapid.IntRange(0, len(parts)-1).Draw(rt, "product")
				if m.ends[ui][pi] != 0 {
					// Ended: the engine sees a new assignment, which the
					// model does not order against the ended one's seat.
					rt.Skip("an ended assignment")
				}
				before := holders()
				p, _ := st.Product(ctx, ten.ID, products[pi].SkuID)
				_, err := st.AssignUserLicenses(ctx, actor, ten.ID, users[ui].GUID, []store.LicenseRequest{{SkuID: products[pi].SkuID}}, nil)
				refused := m.policy[pi] == allot.PolicyGroupOnly && !m.direct[ui][pi]
				wantOK := !refused && users[ui].UsageLocation != "" && (before[pi][ui] || p.ConsumedUnits < p.EnabledUnits)
				if refused && allot.ErrorCode(err) != allot.EAssignmentPolicy {
					rt.Fatalf("direct assign user %d %s under groupOnly: err %v, want %s", ui, parts[pi], err, allot.EAssignmentPolicy)
				}
				if (err == nil) != wantOK {
					rt.Fatalf("direct assign user %d %s: err %v, want success %v (consumed %d of %d)", ui, parts[pi], err, wantOK, p.ConsumedUnits, p.EnabledUnits)
				}
				if err == nil {
					if m.direct[ui] == nil {
						m.direct[ui] = map[int]bool{}
					}
					m.direct[ui][pi] = true
					delete(m.ends[ui], pi)
				}
			},
			"assignDirectUntil": func(rt *rapid.T) {
				ui := rapid.IntRange(0, nUsers-2).Draw(rt, "user") // the last user has no usage location
				pi := rapid.IntRange(0, len(parts)-1).Draw(rt, "product")
				end := time.Now().Add(time.Duration(rapid.IntRange(1, 30).Draw(rt, "ms")) * time.Millisecond).UnixMilli()
				if m.ends[ui][pi] != 0 || m.policy[pi] == allot.PolicyGroupOnly {
					rt.Skip("an end or a policy the model does not order")
				}
				_, err := st.AssignUserLicenses(ctx, actor, ten.ID, users[ui].GUID, []store.LicenseRequest{{SkuID: products[pi].SkuID, EndsAt: end}}, nil)
				if err != nil {
					return // no seat, or the end passed already: nothing changed
				}
				if m.direct[ui] == nil {
					m.direct[ui] = map[int]bool{}
				}
				if m.ends[ui] == nil {
					m.ends[ui] = map[int]int64{}
				}
				m.direct[ui][pi], m.ends[ui][pi] = true, end
				time.Sleep(time.Until(time.UnixMilli(end)) + time.Millisecond)
			},
			"removeDirect": func(rt *rapid.T) {
				requeued = true
				ui := rapid.IntRange(0, nUsers-1).Draw(rt, "user")
				pi := rapid.IntRange(0, len(parts)-1).Draw(rt, "product")
				if m.ends[ui][pi] != 0 {
					// Ended, and gone once anything recomputes the user.
					rt.Skip("an ended assignment")
				}
				_, err := st.AssignUserLicenses(ctx, actor, ten.ID, users[ui].GUID, nil, []string{products[pi].SkuID})
				if m.direct[ui][pi] {
					if err != nil {
						rt.Fatalf("remove direct: %v", err)
					}
					delete(m.direct[ui], pi)
					delete(m.ends[ui], pi)
				} else if err == nil {
					rt.Fatalf("removing a license the user has not directly succeeded")
				}
			},
			"assignGroup": func(rt *rapid.T) {
				gi := rapid.IntRange(0, nGroups-1).Draw(rt, "group")
				pi := rapid.IntRange(0, len(parts)-1).Draw(rt, "product")
				_, err := st.AssignGroupLicenses(ctx, actor, ten.ID, groups[gi].GUID, []store.LicenseRequest{{SkuID: products[pi].SkuID}}, nil, false)
				if m.policy[pi] == allot.PolicyDirectOnly && !m.groupLic[gi][pi] {
					if allot.ErrorCode(err) != allot.EAssignmentPolicy {
						rt.Fatalf("group assign g%d %s under directOnly: err %v, want %s", gi, parts[pi], err, allot.EAssignmentPolicy)
					}
					return
				}
				if err != nil {
					rt.Fatal(err)
				}
				if m.groupLic[gi] == nil {
					m.groupLic[gi] = map[int]bool{}
				}
				m.groupLic[gi][pi] = true
			},
			"removeGroupLicense": func(rt *rapid.T) {
				requeued = true
				gi := rapid.IntRange(0, nGroups-1).Draw(rt, "group")
				pi := rapid.IntRange(0, len(parts)-1).Draw(rt, "product")
				_, err := st.AssignGroupLicenses(ctx, actor, ten.ID, groups[gi].GUID, nil, []string{products[pi].SkuID}, false)
				if (err == nil) != m.groupLic[gi][pi] {
					rt.Fatalf("remove group license: err %v, model has it %v", err, m.groupLic[gi][pi])
				}
				delete(m.groupLic[gi], pi)
			},
			"addMember": func(rt *rapid.T) {
				gi := rapid.IntRange(0, nGroups-1).Draw(rt, "group")
				nested := rapid.Bool().Draw(rt, "nested")
				var mb member
				var ref string
				if nested {
					mb = member{true, rapid.IntRange(0, nGroups-1).Draw(rt, "sub")}
					ref = groups[mb.idx].GUID
				} else {
					mb = member{false, rapid.IntRange(0, nUsers-1).Draw(rt, "user")}
					ref = users[mb.idx].GUID
				}
				err := st.AddMember(ctx, actor, ten.ID, groups[gi].GUID, ref)
				dup := slices.Contains(m.members[gi], mb)
				cycle := mb.group && m.reaches(mb.idx, gi)
				if (err == nil) != (!dup && !cycle) {
					rt.Fatalf("add member %+v to g%d: err %v (dup %v, cycle %v)", mb, gi, err, dup, cycle)
				}
				if err == nil {
					m.members[gi] = append(m.members[gi], mb)
				}
			},
			"removeMember": func(rt *rapid.T) {
				requeued = true
				gi := rapid.IntRange(0, nGroups-1).Draw(rt, "group")
				if len(m.members[gi]) == 0 {
					rt.Skip("empty group")
				}
				k := rapid.IntRange(0, len(m.members[gi])-1).Draw(rt, "member")
				mb := m.members[gi][k]
				ref := users[mb.idx].GUID
				if mb.group {
					ref = groups[mb.idx].GUID
				}
				if err := st.RemoveMember(ctx, actor, ten.ID, groups[gi].GUID, ref, false); err != nil {
					rt.Fatal(err)
				}
				m.members[gi] = slices.Delete(m.members[gi], k, k+1)
			},
			"setSeats": func(rt *rapid.T) {
				pi := rapid.IntRange(0, len(parts)-1).Draw(rt, "product")
				n := rapid.IntRange(0, 5).Draw(rt, "seats")
				if _, err := st.SetSeats(ctx, actor, ten.ID, products[pi].SkuID, n, true); err != nil {
					rt.Fatal(err)
				}
				m.seats[pi] = n
			},
			"setPolicy": func(rt *rapid.T) {
				pi := rapid.IntRange(0, len(parts)-1).Draw(rt, "product")
				pol := rapid.SampledFrom([]string{allot.PolicyAny, allot.PolicyGroupOnly, allot.PolicyDirectOnly}).Draw(rt, "policy")
				before := holders()
				if _, err := st.SetAssignmentPolicy(ctx, actor, ten.ID, products[pi].SkuID, pol); err != nil {
					rt.Fatal(err)
				}
				m.policy[pi] = pol
				keptAll(rt, m, before, holders(), "setting a policy")
			},
			"moveToGroup": func(rt *rapid.T) {
				pi := rapid.IntRange(0, len(parts)-1).Draw(rt, "product")
				gi := rapid.IntRange(0, nGroups-1).Draw(rt, "group")
				// Converge first: the move recomputes its users, which also
				// carries out changes still queued for them (a group license
				// removed on purpose), losses the move did not cause.
				check()
				lic, err := st.UserLicenses(ctx, ten.ID, idsOf(users))
				if err != nil {
					rt.Fatal(err)
				}
				before := holders()
				res, err := st.MoveDirectToGroup(ctx, actor, ten.ID, products[pi].SkuID, groups[gi].GUID)
				if m.policy[pi] == allot.PolicyDirectOnly || !m.groupLic[gi][pi] {
					if err == nil {
						rt.Fatalf("move %s to g%d succeeded (policy %q, group assigns it %v)", parts[pi], gi, m.policy[pi], m.groupLic[gi][pi])
					}
					return
				}
				if err != nil {
					rt.Fatal(err)
				}
				kept := map[string]bool{}
				for _, k := range res.Kept {
					kept[k.UserPrincipalName] = true
				}
				for ui, u := range users {
					if !directlyActive(lic[u.ID], products[pi].ID) {
						continue
					}
					if mb := (member{false, ui}); !slices.Contains(m.members[gi], mb) {
						m.members[gi] = append(m.members[gi], mb)
					}
					if !kept[u.UserPrincipalName] {
						delete(m.direct[ui], pi)
						delete(m.ends[ui], pi)
					}
				}
				// Nothing is lost, not even for an instant: the move is one
				// transaction and its plan loses nothing.
				keptAll(rt, m, before, holders(), "moving direct assignments to a group")
			},
			"reconcile": func(rt *rapid.T) { check() },
		})
		check()
	})
}

// keptAll fails when a user who held a product before does not after,
// unless the model explains it by an end date that passed (explicit
// intent: the decision drops an ended grant whenever it sees it).
func keptAll(rt *rapid.T, m *model, before, after map[int]map[int]bool, what string) {
	for pi, hs := range before {
		for ui := range hs {
			if !after[pi][ui] && m.ends[ui][pi] == 0 {
				rt.Fatalf("%s took product %d away from user %d", what, pi, ui)
			}
		}
	}
}

// directlyActive tells whether the states hold product pid directly.
func directlyActive(vs []store.LicenseView, pid int64) bool {
	for _, v := range vs {
		if v.ProductID == pid && v.Source == allot.DirectSource && v.State == allot.StateActive {
			return true
		}
	}
	return false
}

func idsOf(us []*allot.User) []int64 {
	out := make([]int64, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

func pidx(ps []*allot.Product, id int64) int {
	for i, p := range ps {
		if p.ID == id {
			return i
		}
	}
	return -1
}

func sortedSet(m map[int64]bool) []int64 {
	var out []int64
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func statesString(vs []store.LicenseView, seatReasonsAlike bool) string {
	var out []string
	for _, v := range vs {
		code := string(v.Code)
		if seatReasonsAlike && (v.Code == allot.EOtherProductFailed || v.Code == allot.ENoSeats || v.Code == allot.ESeatsReduced) {
			out = append(out, fmt.Sprintf("%s/%d=%s:no-seat-in-group", v.Product.SkuPartNumber, v.Source, v.State))
			continue
		}
		out = append(out, fmt.Sprintf("%s/%d=%s:%s#%d", v.Product.SkuPartNumber, v.Source, v.State, code, v.Seq))
	}
	return fmt.Sprint(out)
}
