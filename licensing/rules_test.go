package licensing

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	"allot"
)

// Product ids of the tables. E3 and E5 exclude each other (declared on E3's
// side only); ADDON needs E3 or E5.
const (
	E3    int64 = 1
	E5    int64 = 2
	ADDON int64 = 3
	VISIO int64 = 4
)

const (
	sales int64 = 7
	ops   int64 = 8
	dev   int64 = 9
)

func e3(enabled, consumed int, o ...productOpt) *allot.Product {
	return product(E3, "E3", enabled, consumed, append([]productOpt{excludes("E5")}, o...)...)
}

func e5(enabled, consumed int, o ...productOpt) *allot.Product {
	return product(E5, "E5", enabled, consumed, o...)
}

func addon(enabled, consumed int, o ...productOpt) *allot.Product {
	return product(ADDON, "ADDON", enabled, consumed, append([]productOpt{requires("E3", "E5")}, o...)...)
}

func visio(enabled, consumed int, o ...productOpt) *allot.Product {
	return product(VISIO, "VISIO", enabled, consumed, o...)
}

func TestRule1_OneSeatPerProductHoweverManySourcesAndPlansAreTheUnion(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "direct and two groups granting the same product take one seat",
			snap: snap(products(visio(5, 0)), user(1, "US", grants(direct(VISIO), via(sales, VISIO), via(ops, VISIO)))),
			want: map[int64]string{1: "4@0=Active 4@7=Active 4@8=Active"}, gained: map[int64][]int64{1: ids(VISIO)},
			consumed: m{VISIO: 1}, waiting: m{},
		},
		{
			name: "a second source of a held product needs no free seat",
			snap: snap(products(visio(1, 1)), user(1, "US", grants(direct(VISIO), via(sales, VISIO)), active(VISIO, 0, 5))),
			want: map[int64]string{1: "4@0=Active 4@7=Active"}, gained: map[int64][]int64{1: nil}, consumed: m{},
		},
		{
			name: "losing one of two sources keeps the seat",
			snap: snap(products(visio(1, 1)), user(1, "US", grants(via(sales, VISIO)), active(VISIO, sales, 5), active(VISIO, ops, 6))),
			want: map[int64]string{1: "4@7=Active"}, lost: map[int64][]int64{1: nil}, consumed: m{},
		},
		{
			name: "losing the last source gives the seat back",
			snap: snap(products(visio(1, 1)), user(1, "US", nil, active(VISIO, sales, 5), active(VISIO, ops, 6))),
			want: map[int64]string{1: ""}, lost: map[int64][]int64{1: ids(VISIO)}, consumed: m{VISIO: -1},
		},
		{
			name: "each source keeps its own disabled plans",
			snap: snap(products(visio(2, 0)), user(1, "US", grants(via(sales, VISIO, "VISIO-a", "VISIO-b"), via(ops, VISIO, "VISIO-a")))),
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				if d := stateOf(p, 1, VISIO, sales).DisabledPlans; !slices.Equal(d, []string{"VISIO-a", "VISIO-b"}) {
					t.Errorf("sales grant disables %v", d)
				}
				if d := stateOf(p, 1, VISIO, ops).DisabledPlans; !slices.Equal(d, []string{"VISIO-a"}) {
					t.Errorf("ops grant disables %v", d)
				}
			},
		},
	})

	v := visio(1, 0)
	plans := []struct {
		name         string
		perGrant     [][]string
		enabled, off []string
	}{
		{"the union of what each source enables", [][]string{{"VISIO-a", "VISIO-b"}, {"VISIO-a"}}, []string{"VISIO-b", "VISIO-c"}, []string{"VISIO-a"}},
		{"one source that disables nothing enables everything", [][]string{{"VISIO-a", "VISIO-b", "VISIO-c"}, nil}, []string{"VISIO-a", "VISIO-b", "VISIO-c"}, []string{}},
		{"a plan disabled by every source stays disabled", [][]string{{"VISIO-c"}, {"VISIO-c", "VISIO-a"}}, []string{"VISIO-a", "VISIO-b"}, []string{"VISIO-c"}},
		{"plan ids compare case-insensitively", [][]string{{"visio-A"}}, []string{"VISIO-b", "VISIO-c"}, []string{"VISIO-a"}},
		{"no active source enables nothing", nil, nil, []string{"VISIO-a", "VISIO-b", "VISIO-c"}},
	}
	for _, c := range plans {
		t.Run(c.name, func(t *testing.T) {
			if got := EnabledPlans(v, c.perGrant); !slices.Equal(got, c.enabled) {
				t.Errorf("EnabledPlans = %v, want %v", got, c.enabled)
			}
			if got := DisabledPlans(v, c.perGrant); !reflect.DeepEqual(got, c.off) {
				t.Errorf("DisabledPlans = %#v, want %#v", got, c.off)
			}
		})
	}
}

func TestRule2_DirectAssignmentIsSynchronousAtomicAndDoesNotQueue(t *testing.T) {
	add := func(g ...Grant) decision { return assignDirect(DirectChange{Add: g}) }
	runCases(t, []ruleCase{
		{
			name: "a free seat is assigned at once",
			snap: snap(products(visio(1, 0)), user(1, "US", nil)),
			do:   add(direct(VISIO)), want: map[int64]string{1: "4@0=Active"}, gained: map[int64][]int64{1: ids(VISIO)}, consumed: m{VISIO: 1},
		},
		{
			name: "no seat left fails with noSeatsAvailable",
			snap: snap(products(visio(2, 2)), user(1, "US", nil)),
			do:   add(direct(VISIO)), wantErr: allot.ENoSeats, wantMsg: []string{"No VISIO seats left: 2 of 2 in use"},
		},
		{
			name: "it ignores waiters: the free seat goes to the direct assignment",
			snap: func() *Snapshot {
				s := snap(products(visio(3, 2)), user(1, "US", nil))
				s.WaitingOutside, s.Ahead = map[int64]int{VISIO: 4}, map[int64][]int64{VISIO: {1, 2}}
				return s
			}(),
			do: add(direct(VISIO)), want: map[int64]string{1: "4@0=Active"}, consumed: m{VISIO: 1},
		},
		{
			name: "a missing usage location fails although the tenant has a default",
			snap: snap(products(visio(1, 0)), user(1, "", nil)),
			do:   add(direct(VISIO)), wantErr: allot.EUsageLocationNeeded, wantMsg: []string{"no usageLocation"},
		},
		{
			name: "a prohibited usage location fails",
			snap: snap(products(visio(1, 0, usableIn("DE", "FR"))), user(1, "US", nil)),
			do:   add(direct(VISIO)), wantErr: allot.EUsageLocationDenied, wantMsg: []string{"only be used in DE, FR"},
		},
		{
			name: "a missing prerequisite fails",
			snap: snap(products(e3(1, 0), addon(1, 0)), user(1, "US", nil)),
			do:   add(direct(ADDON)), wantErr: allot.EPrerequisiteMissing, wantMsg: []string{"needs one of E3, E5"},
		},
		{
			name: "a product exclusive with one the user holds fails",
			snap: snap(products(e3(1, 1), e5(1, 0)), user(1, "US", grants(direct(E3)), active(E3, 0, 5))),
			do:   add(direct(E5)), wantErr: allot.EMutuallyExclusive, wantMsg: []string{"cannot be held together with E3"},
		},
		{
			name: "a product not sold in the tenant's data location fails",
			snap: snap(products(visio(1, 0, soldIn("EUR"))), user(1, "US", nil)),
			do:   add(direct(VISIO)), wantErr: allot.EDataLocation, wantMsg: []string{"available in EUR"},
		},
		{
			name: "a failing product fails the whole call: nothing of it applies",
			snap: snap(products(visio(1, 0), e5(0, 0)), user(1, "US", nil)),
			do:   add(direct(VISIO), direct(E5)), wantErr: allot.ENoSeats,
		},
		{
			name: "a swap E3 to E5 in one call: the user is never unlicensed",
			snap: snap(products(e3(1, 1), e5(1, 0)), user(1, "US", grants(direct(E3)), active(E3, 0, 5))),
			do:   assignDirect(DirectChange{Add: []Grant{direct(E5)}, Remove: []int64{E3}}),
			want: map[int64]string{1: "2@0=Active"}, gained: map[int64][]int64{1: ids(E5)}, lost: map[int64][]int64{1: ids(E3)},
			consumed: m{E3: -1, E5: 1},
		},
		{
			name: "a swap whose new product has no seat keeps the old one",
			snap: snap(products(e3(1, 1), e5(1, 1)), user(1, "US", grants(direct(E3)), active(E3, 0, 5))),
			do:   assignDirect(DirectChange{Add: []Grant{direct(E5)}, Remove: []int64{E3}}), wantErr: allot.ENoSeats,
		},
		{
			name: "removing a prerequisite that a kept add-on needs fails",
			snap: snap(products(e3(1, 1), addon(1, 1)), user(1, "US", grants(direct(E3), direct(ADDON)), active(E3, 0, 5), active(ADDON, 0, 6))),
			do:   assignDirect(DirectChange{Remove: []int64{E3}}), wantErr: allot.EPrerequisiteMissing,
			wantMsg: []string{"would also take ADDON away", "Remove ADDON in the same call"},
		},
		{
			name: "removing the prerequisite and its add-on together works",
			snap: snap(products(e3(1, 1), addon(1, 1)), user(1, "US", grants(direct(E3), direct(ADDON)), active(E3, 0, 5), active(ADDON, 0, 6))),
			do:   assignDirect(DirectChange{Remove: []int64{E3, ADDON}}), want: map[int64]string{1: ""}, consumed: m{E3: -1, ADDON: -1},
		},
		{
			name: "removing a product the user does not have directly is invalid",
			snap: snap(products(visio(1, 0)), user(1, "US", nil)),
			do:   assignDirect(DirectChange{Remove: []int64{VISIO}}), wantErr: allot.EInvalid, wantMsg: []string{"does not have a direct assignment of VISIO"},
		},
		{
			name: "a direct assignment needs the user's usage location even for a product held through a group",
			snap: snap(products(visio(1, 1)), user(1, "", grants(via(sales, VISIO)), active(VISIO, sales, 5))),
			do:   add(direct(VISIO)), wantErr: allot.EUsageLocationNeeded,
		},
		{
			name: "adding a product the user holds through a group, with a usage location, takes no seat",
			snap: snap(products(visio(1, 1)), user(1, "US", grants(via(sales, VISIO)), active(VISIO, sales, 5))),
			do:   add(direct(VISIO)), want: map[int64]string{1: "4@0=Active 4@7=Active"}, consumed: m{},
		},
		{
			name: "changing the disabled plans of a direct assignment keeps its seat and place",
			snap: snap(products(visio(1, 1)), user(1, "US", grants(direct(VISIO)), active(VISIO, 0, 5))),
			do:   add(direct(VISIO, "VISIO-c")), want: map[int64]string{1: "4@0=Active"}, consumed: m{},
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				st := stateOf(p, 1, VISIO, 0)
				if st.Seq != 5 || st.UpdatedAt != now || !slices.Equal(st.DisabledPlans, []string{"VISIO-c"}) || !p.Users[0].Changed {
					t.Errorf("state %+v: want seq 5, updatedAt %d, disabled [VISIO-c], changed", st, now)
				}
			},
		},
		{
			name: "the user's group grants are decided with it: a failed group grant does not fail the call",
			snap: snap(products(visio(1, 0), e5(0, 0)), user(1, "US", grants(via(sales, E5)), failed(E5, sales, allot.ENoSeats, 3))),
			do:   add(direct(VISIO)), want: map[int64]string{1: "2@7=noSeatsAvailable 4@0=Active"}, unchanged: nil,
		},
		{
			// The user left Sales, which granted E3; group licensing has not
			// caught up. The direct change does not take E3: it is not refused
			// for it, and the plan applies what group licensing owes anyway.
			name: "a loss group licensing owes the user anyway does not refuse an unrelated change",
			snap: snap(products(e3(5, 1), visio(1, 0)), user(1, "US", nil, active(E3, sales, 1))),
			do:   add(direct(VISIO)), want: map[int64]string{1: "4@0=Active"}, lost: map[int64][]int64{1: ids(E3)}, consumed: m{E3: -1, VISIO: 1},
		},
		{
			name: "a loss the change itself causes is still refused while another is owed anyway",
			snap: snap(products(e3(5, 2), e5(5, 0), addon(5, 1), visio(5, 1)),
				user(1, "US", grants(direct(E3), direct(ADDON)), active(E3, 0, 1), active(ADDON, 0, 2), active(VISIO, sales, 3))),
			do: assignDirect(DirectChange{Remove: []int64{E3}}), wantErr: allot.EPrerequisiteMissing, wantMsg: []string{"would also take ADDON away"},
		},
		{
			name: "adding a product the tenant does not have is invalid",
			snap: snap(products(visio(1, 0)), user(1, "US", nil)),
			do:   add(direct(99)), wantErr: allot.EInvalid, wantMsg: []string{"Product 99 is not a product of this tenant"},
		},
		{
			name: "removing a product the tenant does not have is invalid",
			snap: snap(products(visio(1, 0)), user(1, "US", nil)),
			do:   assignDirect(DirectChange{Remove: []int64{99}}), wantErr: allot.EInvalid, wantMsg: []string{"Product 99 is not a product of this tenant"},
		},
		{
			name: "a snapshot of two users is refused",
			snap: snap(products(visio(1, 0)), user(1, "US", nil), user(2, "US", nil)),
			do:   add(direct(VISIO)), wantErr: allot.EInternal,
		},
	})
}

func TestRule2_BulkAssignmentIsDirectAssignmentPerUserWhileSeatsLast(t *testing.T) {
	prods := func() []*allot.Product { return products(e3(10, 1), addon(2, 0), visio(5, 0)) }
	base := func() *Snapshot {
		return snap(prods(),
			user(1, "US", grants(direct(E3)), active(E3, 0, 1)),
			user(2, "US", nil), // no E3: prerequisite missing
			user(3, "US", grants(via(sales, E3), via(sales, ADDON)), active(E3, sales, 2), active(ADDON, sales, 3)),
			user(4, "US", grants(via(sales, E3)), active(E3, sales, 4)),
			user(5, "US", grants(via(sales, E3)), active(E3, sales, 5)),
		)
	}
	results := func(want ...BulkResult) func(t *testing.T, _ *Snapshot, _ *Plan, extra any) {
		return func(t *testing.T, _ *Snapshot, _ *Plan, extra any) {
			got := extra.([]BulkResult)
			if len(got) != len(want) {
				t.Fatalf("results %+v, want %+v", got, want)
			}
			for i := range want {
				if got[i].Via != want[i].Via || got[i].Code != want[i].Code || (want[i].Message != "" && got[i].Message != want[i].Message) {
					t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
				}
			}
		}
	}
	runCases(t, []ruleCase{
		{
			name: "users get the product in order while seats last; a failing user keeps everything",
			snap: base(),
			do:   assignBulk(ADDON, nil, 0),
			want: map[int64]string{1: "1@0=Active 3@0=Active", 4: "1@7=Active 3@0=Active"},
			check: func(t *testing.T, s *Snapshot, p *Plan, extra any) {
				results(BulkResult{}, BulkResult{Code: allot.EPrerequisiteMissing}, BulkResult{Via: "Sales"}, BulkResult{}, BulkResult{Code: allot.ENoSeats})(t, s, p, extra)
				if len(p.Users) != 2 || p.Consumed[ADDON] != 2 || p.SeqsUsed != 2 {
					t.Errorf("want users 1 and 4 only, 2 seats, 2 seqs")
				}
				// The failed user 2 left no trace: user 4's state takes the next seq.
				if a, b := stateOf(p, 1, ADDON, 0).Seq, stateOf(p, 4, ADDON, 0).Seq; a != firstSeq || b != firstSeq+1 {
					t.Errorf("seqs %d %d, want %d %d", a, b, firstSeq, firstSeq+1)
				}
			},
		},
		{
			name: "seats reserved by earlier batches count as consumed",
			snap: base(),
			do:   assignBulk(ADDON, nil, 1),
			want: map[int64]string{1: "1@0=Active 3@0=Active"},
			check: func(t *testing.T, s *Snapshot, p *Plan, extra any) {
				results(BulkResult{}, BulkResult{Code: allot.EPrerequisiteMissing}, BulkResult{Via: "Sales"}, BulkResult{Code: allot.ENoSeats}, BulkResult{Code: allot.ENoSeats})(t, s, p, extra)
				if p.Consumed[ADDON] != 1 {
					t.Errorf("consumed %v: the reservation is not part of the plan", p.Consumed)
				}
			},
		},
		{
			name: "a user who holds it directly is left alone; an unnamed group is named by id",
			snap: func() *Snapshot {
				s := snap(prods(), user(1, "US", grants(direct(VISIO)), active(VISIO, 0, 1)), user(2, "US", grants(via(42, VISIO)), active(VISIO, 42, 2)),
					user(3, "US", grants(via(42, VISIO)), failed(VISIO, 42, allot.EOtherProductFailed, 3)))
				return s
			}(),
			do: assignBulk(VISIO, []string{"VISIO-a"}, 0),
			check: func(t *testing.T, s *Snapshot, p *Plan, extra any) {
				results(BulkResult{Via: "direct"}, BulkResult{Via: "group 42"}, BulkResult{})(t, s, p, extra)
				if d := stateOf(p, 3, VISIO, 0).DisabledPlans; !slices.Equal(d, []string{"VISIO-a"}) {
					t.Errorf("disabled plans %v", d)
				}
			},
		},
		{
			name: "a loss group licensing owes a user anyway does not fail its bulk assignment",
			snap: snap(prods(), user(1, "US", grants(direct(E3)), active(E3, 0, 1), active(VISIO, sales, 2))),
			do:   assignBulk(ADDON, nil, 0), want: map[int64]string{1: "1@0=Active 3@0=Active"}, lost: map[int64][]int64{1: ids(VISIO)},
		},
		{
			name: "bulk assignment ignores waiters",
			snap: func() *Snapshot {
				s := snap(prods(), user(1, "US", nil))
				s.WaitingOutside = map[int64]int{VISIO: 9}
				return s
			}(),
			do: assignBulk(VISIO, nil, 0), want: map[int64]string{1: "4@0=Active"},
		},
		{
			name: "a product the tenant does not have fails every user, changing nothing",
			snap: snap(prods(), user(1, "US", grants(direct(E3)), active(E3, 0, 1)), user(2, "US", nil)),
			do:   assignBulk(99, nil, 0),
			check: func(t *testing.T, s *Snapshot, p *Plan, extra any) {
				results(BulkResult{Code: allot.EInvalid}, BulkResult{Code: allot.EInvalid})(t, s, p, extra)
				if len(p.Users) != 0 {
					t.Errorf("plan %s", dump(p))
				}
			},
		},
		{
			name: "the message is the precise error's",
			snap: snap(products(visio(0, 0)), user(1, "US", nil)),
			do:   assignBulk(VISIO, nil, 0),
			check: results(BulkResult{Code: allot.ENoSeats,
				Message: "No VISIO seats left: 0 of 0 in use. Buy more seats or free some; waiting users get a seat automatically when one frees up."}),
		},
	})
}

func TestRule3_GroupAssignmentFollowsMembershipThroughRecompute(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "a new member of a licensed group gets its products",
			snap: snap(products(e3(5, 0), visio(5, 0)), user(1, "US", grants(via(sales, E3), via(sales, VISIO)))),
			want: map[int64]string{1: "1@7=Active 4@7=Active"}, consumed: m{E3: 1, VISIO: 1},
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				if st := stateOf(p, 1, E3, sales); st.UpdatedAt != now || st.Seq != firstSeq {
					t.Errorf("state %+v: want a new seq and the snapshot's time", st)
				}
			},
		},
		{
			name: "a member of a nested group gets what the parent group grants",
			snap: snap(products(e3(5, 0)), user(1, "US", grants(via(ops, E3)))), // the store lists ancestors' grants
			want: map[int64]string{1: "1@8=Active"},
		},
		{
			name: "a member who leaves the group loses its license and its state",
			snap: snap(products(e3(5, 2)), user(1, "US", nil, active(E3, sales, 5))),
			want: map[int64]string{1: ""}, lost: map[int64][]int64{1: ids(E3)}, consumed: m{E3: -1},
		},
		{
			name: "a member who leaves a group that failed for it clears the group's error",
			snap: snap(products(e3(0, 0)), user(1, "US", nil, failed(E3, sales, allot.ENoSeats, 5))),
			want: map[int64]string{1: ""}, waiting: m{E3: -1},
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				if !maps.Equal(p.GroupErrors, m{sales: -1}) {
					t.Errorf("group errors %v", p.GroupErrors)
				}
			},
		},
		{
			name:      "an unchanged member is unchanged, its states keep their place and time",
			snap:      snap(products(e3(5, 1)), user(1, "US", grants(via(sales, E3)), active(E3, sales, 5))),
			unchanged: []int64{1}, consumed: m{}, waiting: m{},
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				if st := stateOf(p, 1, E3, sales); st.Seq != 5 || st.UpdatedAt != 1 {
					t.Errorf("state %+v: want seq 5, updatedAt 1", st)
				}
			},
		},
		{
			name: "a group's new disabled plans apply to its members and keep their place",
			snap: snap(products(e3(5, 1)), user(1, "US", grants(via(sales, E3, "E3-a")), active(E3, sales, 5))),
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				st := stateOf(p, 1, E3, sales)
				if !p.Users[0].Changed || st.Seq != 5 || !slices.Equal(st.DisabledPlans, []string{"E3-a"}) {
					t.Errorf("state %+v", st)
				}
			},
		},
		{
			name: "grants and states of products the tenant does not have are dropped",
			snap: snap(products(e3(5, 0)), user(1, "US", grants(via(sales, 99)), active(99, sales, 3))),
			want: map[int64]string{1: ""}, lost: map[int64][]int64{1: ids(99)},
		},
		{
			name: "a single grant of a product the tenant does not have gives no state",
			snap: snap(products(e3(5, 0)), user(1, "US", grants(via(sales, 99)))),
			want: map[int64]string{1: ""}, unchanged: []int64{1},
		},
	})
}

func TestRule4_OverCapacityMembersWaitInOrderAndFreedSeatsGoFirstWaitingFirst(t *testing.T) {
	g := grants(via(sales, VISIO))
	runCases(t, []ruleCase{
		{
			name:     "members are licensed in membership order up to the seats; the rest wait",
			snap:     snap(products(visio(2, 0)), user(1, "US", g), user(2, "US", g), user(3, "US", g)),
			want:     map[int64]string{1: "4@7=Active", 2: "4@7=Active", 3: "4@7=noSeatsAvailable"},
			consumed: m{VISIO: 2}, waiting: m{VISIO: 1},
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				if st := stateOf(p, 3, VISIO, sales); st.State != allot.StateError || st.Code.LicenseError() != allot.LicenseErrCount {
					t.Errorf("waiting state %+v: want Error/CountViolation", st)
				}
				if !maps.Equal(p.GroupErrors, m{sales: 1}) {
					t.Errorf("group errors %v", p.GroupErrors)
				}
			},
		},
		{
			name: "a freed seat goes to the longest waiting member, not the first listed",
			snap: snap(products(visio(2, 1)),
				user(1, "US", g, failed(VISIO, sales, allot.ENoSeats, 20)),
				user(2, "US", g),
				user(3, "US", g, failed(VISIO, sales, allot.ENoSeats, 10))),
			want:  map[int64]string{1: "4@7=noSeatsAvailable", 2: "4@7=noSeatsAvailable", 3: "4@7=Active"},
			check: servedOrder(3, 1, 2),
		},
		{
			name:      "a waiter who still gets no seat keeps its place and is unchanged",
			snap:      snap(products(visio(1, 1)), user(1, "US", g, failed(VISIO, sales, allot.ENoSeats, 20))),
			unchanged: []int64{1}, consumed: m{}, waiting: m{},
		},
		{
			name: "a newcomer does not take a seat owed to users waiting outside the snapshot",
			snap: func() *Snapshot {
				s := snap(products(visio(3, 1)), user(1, "US", g))
				s.WaitingOutside = map[int64]int{VISIO: 2}
				return s
			}(),
			want: map[int64]string{1: "4@7=noSeatsAvailable"},
		},
		{
			name: "a newcomer takes what is left after the users waiting outside",
			snap: func() *Snapshot {
				s := snap(products(visio(3, 1)), user(1, "US", g))
				s.WaitingOutside = map[int64]int{VISIO: 1}
				return s
			}(),
			want: map[int64]string{1: "4@7=Active"},
		},
		{
			name: "a waiter waits behind users outside the snapshot who wait longer",
			snap: func() *Snapshot {
				s := snap(products(visio(2, 1)), user(1, "US", g, failed(VISIO, sales, allot.ENoSeats, 8)))
				s.WaitingOutside, s.Ahead = map[int64]int{VISIO: 1}, map[int64][]int64{VISIO: {5}}
				return s
			}(),
			unchanged: []int64{1},
		},
		{
			name: "a waiter goes before users outside the snapshot who wait less long",
			snap: func() *Snapshot {
				s := snap(products(visio(2, 1)), user(1, "US", g, failed(VISIO, sales, allot.ENoSeats, 8)))
				s.WaitingOutside, s.Ahead = map[int64]int{VISIO: 1}, map[int64][]int64{VISIO: {9}}
				return s
			}(),
			want: map[int64]string{1: "4@7=Active"},
		},
		{
			// User 1 is served first (it waits for E5 longer) and gives
			// VISIO back; user 2's wait is shorter than the outside one's.
			name: "a seat freed within the plan goes to users outside who wait longer",
			snap: func() *Snapshot {
				s := snap(products(e5(0, 0), visio(1, 1)),
					user(1, "US", grants(via(ops, E5)), failed(E5, ops, allot.ENoSeats, 5), active(VISIO, sales, 6)),
					user(2, "US", grants(via(dev, VISIO)), failed(VISIO, dev, allot.ENoSeats, 50)))
				s.WaitingOutside = map[int64]int{VISIO: 1} // no Ahead: no seat was free as loaded
				return s
			}(),
			want: map[int64]string{1: "2@8=noSeatsAvailable", 2: "4@9=noSeatsAvailable"}, consumed: m{VISIO: -1},
		},
		{
			name: "seats freed within the plan beyond the listed outside waiters still go to them",
			snap: func() *Snapshot {
				s := snap(products(e5(0, 0), visio(3, 2)),
					user(1, "US", grants(via(ops, E5)), failed(E5, ops, allot.ENoSeats, 5), active(VISIO, sales, 6)),
					user(3, "US", grants(via(ops, E5)), failed(E5, ops, allot.ENoSeats, 7), active(VISIO, sales, 8)),
					user(2, "US", grants(via(dev, VISIO)), failed(VISIO, dev, allot.ENoSeats, 50)))
				// Three wait outside, since 20, 30 and 40; the store lists the first free+1.
				s.WaitingOutside, s.Ahead = map[int64]int{VISIO: 3}, map[int64][]int64{VISIO: {20, 30}}
				return s
			}(),
			want: map[int64]string{2: "4@9=noSeatsAvailable"}, consumed: m{VISIO: -2},
		},
		{
			// User 2 is served first (it waits for E5 longer) and leaves
			// VISIO to user 1, who waits for it; user 1 cannot take it
			// (E5 of the same group has no seat), so it goes to user 2,
			// and user 1 keeps waiting for both, unchanged.
			name: "a seat a longer waiter does not take goes to the one who gave way",
			snap: snap(products(e5(0, 0), visio(1, 0)),
				user(1, "US", grants(via(ops, E5), via(ops, VISIO)), failed(VISIO, ops, allot.ENoSeats, 10), failed(E5, ops, allot.ENoSeats, 11)),
				user(2, "US", grants(via(dev, E5), via(sales, VISIO)), failed(E5, dev, allot.ENoSeats, 5))),
			want:      map[int64]string{2: "2@9=noSeatsAvailable 4@7=Active"},
			unchanged: []int64{1}, consumed: m{VISIO: 1}, waiting: m{},
		},
		{
			name: "a waiter outside who waits less long does not hold back one inside",
			snap: func() *Snapshot {
				s := snap(products(e5(0, 0), visio(1, 1)),
					user(1, "US", grants(via(ops, E5)), failed(E5, ops, allot.ENoSeats, 5), active(VISIO, sales, 6)),
					user(2, "US", grants(via(dev, VISIO)), failed(VISIO, dev, allot.ENoSeats, 50)))
				s.WaitingOutside, s.Ahead = map[int64]int{VISIO: 2}, map[int64][]int64{VISIO: {60}}
				return s
			}(),
			want: map[int64]string{2: "4@9=Active"}, consumed: m{},
		},
		{
			name: "a waiter whose seat was reduced keeps its code and place while waiting",
			snap: snap(products(visio(1, 1)), user(1, "US", grants(via(sales, VISIO), via(ops, VISIO)),
				failed(VISIO, sales, allot.ESeatsReduced, 4))),
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				if st := stateOf(p, 1, VISIO, sales); st.Code != allot.ESeatsReduced || st.Seq != 4 {
					t.Errorf("old state %+v: want seatsReducedBelowConsumption, seq 4", st)
				}
				if st := stateOf(p, 1, VISIO, ops); st.Code != allot.ESeatsReduced || st.Seq != firstSeq {
					t.Errorf("new state %+v: want seatsReducedBelowConsumption with a new seq", st)
				}
			},
		},
		{
			name: "a user waiting from two sources is in line from its earliest",
			snap: snap(products(visio(2, 1)),
				user(1, "US", g, failed(VISIO, sales, allot.ENoSeats, 20)),
				user(2, "US", grants(via(sales, VISIO), via(ops, VISIO)), failed(VISIO, sales, allot.ENoSeats, 30), failed(VISIO, ops, allot.ENoSeats, 10))),
			want: map[int64]string{1: "4@7=noSeatsAvailable", 2: "4@7=Active 4@8=Active"}, check: servedOrder(2, 1),
		},
		{
			name: "waiting from two sources counts as one waiting user",
			snap: snap(products(visio(0, 0)), user(1, "US", grants(via(sales, VISIO), via(ops, VISIO)))),
			want: map[int64]string{1: "4@7=noSeatsAvailable 4@8=noSeatsAvailable"}, waiting: m{VISIO: 1},
		},
		{
			// Rule 4 is per product: a user who waits for another product
			// longer is served first, but may not take the seat of this one
			// from someone who waits for it longer.
			name: "first waiting first served holds per product for users waiting for several",
			snap: snap(products(e5(1, 1), visio(1, 0)),
				user(1, "US", grants(via(sales, E5), via(ops, VISIO)), failed(E5, sales, allot.ENoSeats, 5), failed(VISIO, ops, allot.ENoSeats, 30)),
				user(2, "US", grants(via(ops, VISIO)), failed(VISIO, ops, allot.ENoSeats, 10))),
			want: map[int64]string{1: "2@7=noSeatsAvailable 4@8=noSeatsAvailable", 2: "4@8=Active"},
		},
		{
			name: "a newcomer served early for another product's wait does not take a seat owed to a waiter",
			snap: snap(products(e5(1, 1), visio(1, 0)),
				user(1, "US", grants(via(sales, E5), via(ops, VISIO)), failed(E5, sales, allot.ENoSeats, 5)),
				user(2, "US", grants(via(ops, VISIO)), failed(VISIO, ops, allot.ENoSeats, 10))),
			want: map[int64]string{1: "2@7=noSeatsAvailable 4@8=noSeatsAvailable", 2: "4@8=Active"},
		},
	})
}

// servedOrder checks the order in which Recompute served the users.
func servedOrder(want ...int64) func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
	return func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
		var got []int64
		for _, up := range p.Users {
			got = append(got, up.UserID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("served %v, want %v", got, want)
		}
	}
}

func TestRule5_AllOrNothingPerGroupForNewProductsNeverTakesAwayWhatIsHeld(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "a product without a seat: the group grants none of its new products",
			snap: snap(products(e3(5, 0), visio(0, 0)), user(1, "US", grants(via(sales, E3), via(sales, VISIO)))),
			want: map[int64]string{1: "1@7=otherProductInGroupFailed 4@7=noSeatsAvailable"},
			// The seat reserved for E3 before VISIO failed is given back.
			consumed: m{}, waiting: m{VISIO: 1},
		},
		{
			name: "the failing product keeps its specific error",
			snap: snap(products(e3(5, 0), visio(5, 0, usableIn("DE"))), user(1, "US", grants(via(sales, E3), via(sales, VISIO)))),
			want: map[int64]string{1: "1@7=otherProductInGroupFailed 4@7=usageLocationNotAllowed"}, consumed: m{},
		},
		{
			name: "a product added to the group does not take away what the member holds through it",
			snap: snap(products(e3(5, 1), visio(0, 0)), user(1, "US", grants(via(sales, E3), via(sales, VISIO)), active(E3, sales, 5))),
			want: map[int64]string{1: "1@7=Active 4@7=noSeatsAvailable"}, lost: map[int64][]int64{1: nil}, consumed: m{},
		},
		{
			name: "a failing new product does not take away a held one that needs the same group's prerequisite",
			snap: snap(products(e3(5, 1), addon(5, 1), visio(5, 0, soldIn("EUR"))),
				user(1, "US", grants(via(sales, E3), via(sales, ADDON), via(sales, VISIO)), active(E3, sales, 5), active(ADDON, sales, 6))),
			want: map[int64]string{1: "1@7=Active 3@7=Active 4@7=dataLocationNotAvailable"}, consumed: m{},
		},
		{
			name:      "another path into the same group keeps what the member holds",
			snap:      snap(products(e3(5, 1), visio(0, 0)), user(1, "US", grants(via(sales, E3), via(sales, VISIO)), active(E3, sales, 5), failed(VISIO, sales, allot.ENoSeats, 6))),
			unchanged: []int64{1},
		},
		{
			name: "another group's failure does not spread",
			snap: snap(products(e3(5, 0), visio(0, 0)), user(1, "US", grants(via(sales, E3), via(ops, VISIO)))),
			want: map[int64]string{1: "1@7=Active 4@8=noSeatsAvailable"}, consumed: m{E3: 1},
		},
		{
			name:      "direct assignments are not all or nothing",
			snap:      snap(products(e3(5, 1), visio(1, 1)), user(1, "US", grants(direct(E3), direct(VISIO)), active(E3, 0, 1), failed(VISIO, 0, allot.ENoSeats, 2))),
			unchanged: []int64{1},
		},
		{
			name: "a direct assignment that can apply again does so while another still fails",
			snap: snap(products(e3(5, 0), visio(0, 0)), user(1, "US", grants(direct(E3), direct(VISIO)),
				failed(E3, 0, allot.EUsageLocationNeeded, 1), failed(VISIO, 0, allot.ESeatsReduced, 2))),
			want: map[int64]string{1: "1@0=Active 4@0=seatsReducedBelowConsumption"}, consumed: m{E3: 1},
		},
		{
			name: "a product the group failed still comes from another group",
			snap: snap(products(e3(5, 0), visio(0, 0)), user(1, "US", grants(via(sales, E3), via(sales, VISIO), via(ops, E3)))),
			want: map[int64]string{1: "1@7=otherProductInGroupFailed 1@8=Active 4@7=noSeatsAvailable"}, consumed: m{E3: 1},
		},
		{
			name: "when the failing product gets its seat, the whole group applies",
			snap: snap(products(e3(5, 0), visio(1, 0)), user(1, "US", grants(via(sales, E3), via(sales, VISIO)),
				failed(E3, sales, allot.EOtherProductFailed, 5), failed(VISIO, sales, allot.ENoSeats, 6))),
			want: map[int64]string{1: "1@7=Active 4@7=Active"}, consumed: m{E3: 1, VISIO: 1}, waiting: m{VISIO: -1},
		},
		{
			name: "a bestEffort group grants the product that has a seat while the other waits",
			snap: bestEffort(snap(products(e3(5, 0), visio(0, 0)), user(1, "US", grants(via(sales, E3), via(sales, VISIO)))), sales),
			want: map[int64]string{1: "1@7=Active 4@7=noSeatsAvailable"}, consumed: m{E3: 1}, waiting: m{VISIO: 1},
		},
		{
			name: "a bestEffort group's add-on still needs its prerequisite",
			snap: bestEffort(snap(products(e3(0, 0), addon(5, 0)), user(1, "US", grants(via(sales, E3), via(sales, ADDON)))), sales),
			want: map[int64]string{1: "1@7=noSeatsAvailable 3@7=prerequisiteMissing"}, consumed: m{}, waiting: m{E3: 1},
		},
		{
			name: "bestEffort for one group leaves another group all or nothing",
			snap: bestEffort(snap(products(e3(5, 0), visio(0, 0), addon(5, 0)),
				user(1, "US", grants(via(sales, E3), via(ops, VISIO), via(ops, ADDON)))), sales),
			want:     map[int64]string{1: "1@7=Active 3@8=otherProductInGroupFailed 4@8=noSeatsAvailable"},
			consumed: m{E3: 1}, waiting: m{VISIO: 1},
		},
	})
}

// bestEffort makes the groups bestEffort in the snapshot.
func bestEffort(s *Snapshot, groups ...int64) *Snapshot {
	s.BestEffort = map[int64]bool{}
	for _, g := range groups {
		s.BestEffort[g] = true
	}
	return s
}

func TestRule6_UsageLocationDirectNeedsTheUsersGroupsFallBackToTheTenantDefault(t *testing.T) {
	noDefault := func(s *Snapshot) *Snapshot { s.DefaultUsageLocation = ""; return s }
	runCases(t, []ruleCase{
		{
			name: "direct assignment needs the user's own usage location",
			snap: snap(products(visio(1, 0)), user(1, "", nil)),
			do:   assignDirect(DirectChange{Add: []Grant{direct(VISIO)}}), wantErr: allot.EUsageLocationNeeded,
		},
		{
			name: "a direct assignment whose user lost the usage location fails on recompute",
			snap: snap(products(visio(1, 1)), user(1, "", grants(direct(VISIO)), active(VISIO, 0, 3))),
			want: map[int64]string{1: "4@0=usageLocationMissing"}, consumed: m{VISIO: -1},
		},
		{
			name: "group assignment falls back to the tenant's default",
			snap: snap(products(visio(1, 0)), user(1, "", grants(via(sales, VISIO)))),
			want: map[int64]string{1: "4@7=Active"},
		},
		{
			name: "group assignment without user or tenant location fails",
			snap: noDefault(snap(products(visio(1, 0)), user(1, "", grants(via(sales, VISIO))))),
			want: map[int64]string{1: "4@7=usageLocationMissing"},
		},
		{
			name: "a product restricted to other locations fails",
			snap: snap(products(visio(1, 0, usableIn("DE"))), user(1, "US", grants(via(sales, VISIO)))),
			want: map[int64]string{1: "4@7=usageLocationNotAllowed"},
		},
		{
			name: "allowed locations compare case-insensitively",
			snap: snap(products(visio(1, 0, usableIn("DE"))), user(1, "de", grants(via(sales, VISIO)))),
			want: map[int64]string{1: "4@7=Active"},
		},
		{
			name: "the tenant default must be allowed too",
			snap: snap(products(visio(1, 0, usableIn("DE"))), user(1, "", grants(via(sales, VISIO)))),
			want: map[int64]string{1: "4@7=usageLocationNotAllowed"},
		},
		{
			name: "the user's own location comes before the default",
			snap: snap(products(visio(1, 0, usableIn("FR"))), user(1, "FR", grants(via(sales, VISIO)))),
			want: map[int64]string{1: "4@7=Active"},
		},
		{
			name: "a move to a prohibited location takes the license away",
			snap: snap(products(visio(1, 1, usableIn("FR"))), user(1, "US", grants(via(sales, VISIO)), active(VISIO, sales, 3))),
			want: map[int64]string{1: "4@7=usageLocationNotAllowed"}, lost: map[int64][]int64{1: ids(VISIO)},
		},
	})
	t.Run("usage location errors are ProhibitedInUsageLocationViolation", func(t *testing.T) {
		for _, c := range []allot.Code{allot.EUsageLocationNeeded, allot.EUsageLocationDenied} {
			if c.LicenseError() != allot.LicenseErrUsageLocation {
				t.Errorf("%s: %s", c, c.LicenseError())
			}
		}
	})
}

func TestRule7_PrerequisitesAndExclusionsAreCheckedAfterAllSourcesMerge(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "a prerequisite from another group counts",
			snap: snap(products(e3(5, 0), addon(5, 0)), user(1, "US", grants(via(sales, ADDON), via(ops, E3)))),
			want: map[int64]string{1: "1@8=Active 3@7=Active"},
		},
		{
			name: "a direct prerequisite counts for a group add-on",
			snap: snap(products(e3(5, 1), addon(5, 0)), user(1, "US", grants(direct(E3), via(sales, ADDON)), active(E3, 0, 1))),
			want: map[int64]string{1: "1@0=Active 3@7=Active"},
		},
		{
			name: "any one of the prerequisites is enough",
			snap: snap(products(e3(5, 0), e5(5, 0), addon(5, 0)), user(1, "US", grants(via(sales, ADDON), via(ops, E5)))),
			want: map[int64]string{1: "2@8=Active 3@7=Active"},
		},
		{
			name: "a missing prerequisite fails the add-on",
			snap: snap(products(e3(5, 0), addon(5, 0)), user(1, "US", grants(via(sales, ADDON)))),
			want: map[int64]string{1: "3@7=prerequisiteMissing"},
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				if c := stateOf(p, 1, ADDON, sales).Code; c.LicenseError() != allot.LicenseErrDependency {
					t.Errorf("%s is %s", c, c.LicenseError())
				}
			},
		},
		{
			name: "a prerequisite without a seat fails the add-on and takes none of its seats",
			snap: snap(products(e3(0, 0), addon(5, 0)), user(1, "US", grants(via(sales, ADDON), via(ops, E3)))),
			want: map[int64]string{1: "1@8=noSeatsAvailable 3@7=prerequisiteMissing"}, consumed: m{}, waiting: m{E3: 1},
		},
		{
			name: "a prerequisite that is not in the tenant does not count",
			snap: snap(products(product(ADDON, "ADDON", 5, 0, requires("NOPE"))), user(1, "US", grants(via(sales, ADDON)))),
			want: map[int64]string{1: "3@7=prerequisiteMissing"},
		},
		{
			name: "losing the prerequisite takes the add-on away",
			snap: snap(products(e3(5, 1), addon(5, 1)), user(1, "US", grants(via(ops, ADDON)), active(E3, sales, 1), active(ADDON, ops, 2))),
			want: map[int64]string{1: "3@8=prerequisiteMissing"}, lost: map[int64][]int64{1: ids(E3, ADDON)}, consumed: m{E3: -1, ADDON: -1},
		},
		{
			name: "the product already held wins over a new exclusive one",
			snap: snap(products(e3(5, 0), e5(5, 1)), user(1, "US", grants(direct(E5), via(sales, E3)), active(E5, 0, 1))),
			want: map[int64]string{1: "1@7=mutuallyExclusive 2@0=Active"},
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				if c := stateOf(p, 1, E3, sales).Code; c.LicenseError() != allot.LicenseErrMutuallyExclusive {
					t.Errorf("%s is %s", c, c.LicenseError())
				}
			},
		},
		{
			name: "between two new exclusive products the lower id wins",
			snap: snap(products(e3(5, 0), e5(5, 0)), user(1, "US", grants(via(sales, E5), via(ops, E3)))),
			want: map[int64]string{1: "1@8=Active 2@7=mutuallyExclusive"},
		},
		{
			name: "an exclusion declared on the other side counts the same",
			snap: snap(products(product(E3, "E3", 5, 0), e5(5, 0, excludes("e3"))), user(1, "US", grants(via(sales, E5), via(ops, E3)))),
			want: map[int64]string{1: "1@8=Active 2@7=mutuallyExclusive"},
		},
		{
			name: "an exclusive product that failed for another reason does not block",
			snap: snap(products(e3(5, 0, usableIn("DE")), e5(5, 0)), user(1, "US", grants(via(sales, E5), via(ops, E3)))),
			want: map[int64]string{1: "1@8=usageLocationNotAllowed 2@7=Active"},
		},
		{
			name: "a group whose product is excluded grants none of its new products",
			snap: snap(products(e3(5, 1), e5(5, 0), visio(5, 0)), user(1, "US", grants(direct(E3), via(sales, E5), via(sales, VISIO)), active(E3, 0, 1))),
			want: map[int64]string{1: "1@0=Active 2@7=mutuallyExclusive 4@7=otherProductInGroupFailed"},
		},
		{
			name: "a plan that needs a disabled plan fails with servicePlanDependencyMissing",
			snap: snap(products(visio(5, 0, planNeeds("VISIO-a", "VISIO-b"))), user(1, "US", grants(via(sales, VISIO, "VISIO-b")))),
			want: map[int64]string{1: "4@7=servicePlanDependencyMissing"},
		},
		{
			name: "disabling the dependent plan as well is fine",
			snap: snap(products(visio(5, 0, planNeeds("VISIO-a", "VISIO-b"))), user(1, "US", grants(via(sales, VISIO, "visio-b", "VISIO-A")))),
			want: map[int64]string{1: "4@7=Active"},
		},
		{
			name: "a plan dependency is checked per grant, not on the union",
			snap: snap(products(visio(5, 0, planNeeds("VISIO-a", "VISIO-b"))), user(1, "US", grants(via(sales, VISIO), via(ops, VISIO, "VISIO-b")))),
			want: map[int64]string{1: "4@7=Active 4@8=servicePlanDependencyMissing"},
		},
	})
	t.Run("MissingPlanDependency names the missing plan", func(t *testing.T) {
		p := visio(1, 0, planNeeds("VISIO-a", "VISIO-c", "VISIO-b"))
		for _, c := range []struct {
			disabled []string
			want     string
		}{{nil, ""}, {[]string{"VISIO-b"}, "VISIO-b"}, {[]string{"VISIO-A", "VISIO-b"}, ""}, {[]string{"VISIO-c", "VISIO-b"}, "VISIO-c"}} {
			if got := MissingPlanDependency(p, c.disabled); got != c.want {
				t.Errorf("MissingPlanDependency(%v) = %q, want %q", c.disabled, got, c.want)
			}
		}
	})
}

func TestRule8_AnInheritedLicenseCannotBeRemovedDirectly(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "removing a product that comes from a group names the group",
			snap: snap(products(e3(5, 1)), user(1, "US", grants(via(sales, E3)), active(E3, sales, 1))),
			do:   assignDirect(DirectChange{Remove: []int64{E3}}), wantErr: allot.EInheritedLicense,
			wantMsg: []string{"E3 is assigned to this user by group 'Sales'"},
		},
		{
			name: "removing the direct assignment of a product also inherited keeps the seat",
			snap: snap(products(e3(1, 1)), user(1, "US", grants(direct(E3), via(sales, E3)), active(E3, 0, 1), active(E3, sales, 2))),
			do:   assignDirect(DirectChange{Remove: []int64{E3}}), want: map[int64]string{1: "1@7=Active"}, consumed: m{}, lost: map[int64][]int64{1: nil},
		},
		{
			name: "a group grant that failed still makes the product inherited",
			snap: snap(products(e3(0, 0)), user(1, "US", grants(via(ops, E3)), failed(E3, ops, allot.ENoSeats, 2))),
			do:   assignDirect(DirectChange{Remove: []int64{E3}}), wantErr: allot.EInheritedLicense, wantMsg: []string{"group 'Ops'"},
		},
	})
	if allot.EInheritedLicense.LicenseError() != allot.LicenseErrOther || !allot.EInheritedLicense.IsLicensing() {
		t.Errorf("licenseInheritedFromGroup is a licensing code of kind Other")
	}
}

func TestRule9_ReducingSeatsBelowConsumptionMakesTheNewestHoldersWait(t *testing.T) {
	holders := func(enabled int) *Snapshot {
		return snap(products(visio(enabled, 3)),
			user(1, "US", grants(via(sales, VISIO)), active(VISIO, sales, 10)),
			user(2, "US", grants(via(sales, VISIO)), active(VISIO, sales, 30)),
			user(3, "US", grants(via(sales, VISIO)), active(VISIO, sales, 20)))
	}
	runCases(t, []ruleCase{
		{
			name: "the newest holders go to CountViolation seatsReducedBelowConsumption",
			snap: holders(3), do: reduceSeats(VISIO, 1),
			want: map[int64]string{2: "4@7=seatsReducedBelowConsumption", 3: "4@7=seatsReducedBelowConsumption"},
			lost: map[int64][]int64{2: ids(VISIO), 3: ids(VISIO)}, consumed: m{VISIO: -2}, waiting: m{VISIO: 2},
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				if _, ok := userPlan(p, 1); ok {
					t.Errorf("the oldest holder is in the plan")
				}
				// They wait in the order they got their seats: user 3 (seq 20) before user 2 (seq 30).
				if a, b := stateOf(p, 3, VISIO, sales).Seq, stateOf(p, 2, VISIO, sales).Seq; a >= b {
					t.Errorf("user 3 waits at %d, user 2 at %d", a, b)
				}
				if st := stateOf(p, 2, VISIO, sales); st.UpdatedAt != now || st.State != allot.StateError {
					t.Errorf("state %+v", st)
				}
				if c := allot.ESeatsReduced; c.LicenseError() != allot.LicenseErrCount {
					t.Errorf("%s is %s", c, c.LicenseError())
				}
			},
		},
		{
			name: "they get seats back in the order they first got them",
			snap: func() *Snapshot {
				s := holders(3)
				p, _, _ := decide(t, s, reduceSeats(VISIO, 1))
				n := apply(s, p)
				n.Products[0].EnabledUnits = 2 // one seat comes back
				slices.Reverse(n.Users)
				return n
			}(),
			want: map[int64]string{3: "4@7=Active", 2: "4@7=seatsReducedBelowConsumption"},
		},
		{
			name: "an add-on that needed the product goes at once",
			snap: snap(products(e3(1, 1), addon(5, 1)), user(1, "US", grants(via(sales, E3), via(sales, ADDON)), active(E3, sales, 1), active(ADDON, sales, 2))),
			do:   reduceSeats(E3, 0),
			want: map[int64]string{1: "1@7=seatsReducedBelowConsumption 3@7=prerequisiteMissing"}, consumed: m{E3: -1, ADDON: -1}, waiting: m{E3: 1},
		},
		{
			name: "a product held through several sources waits from each",
			snap: snap(products(visio(1, 1)), user(1, "US", grants(direct(VISIO), via(sales, VISIO)), active(VISIO, 0, 4), active(VISIO, sales, 6))),
			do:   reduceSeats(VISIO, 0),
			want: map[int64]string{1: "4@0=seatsReducedBelowConsumption 4@7=seatsReducedBelowConsumption"}, consumed: m{VISIO: -1}, waiting: m{VISIO: 1},
		},
		{
			name: "a holder is as old as its oldest grant of the product",
			snap: snap(products(visio(2, 2)),
				user(1, "US", grants(via(sales, VISIO), via(ops, VISIO)), active(VISIO, sales, 30), active(VISIO, ops, 5)),
				user(2, "US", grants(via(sales, VISIO)), active(VISIO, sales, 20))),
			do: reduceSeats(VISIO, 1), want: map[int64]string{2: "4@7=seatsReducedBelowConsumption"},
		},
		{
			name: "a waiter whose other source was seat-reduced keeps its place under the new code",
			snap: snap(products(visio(1, 1)), user(1, "US", grants(via(sales, VISIO), via(ops, VISIO)),
				failed(VISIO, sales, allot.ENoSeats, 9), failed(VISIO, ops, allot.ESeatsReduced, 4))),
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				if st := stateOf(p, 1, VISIO, sales); st.Code != allot.ESeatsReduced || st.Seq != 9 || st.UpdatedAt != now {
					t.Errorf("state %+v: want seatsReducedBelowConsumption, seq 9, updated now", st)
				}
			},
		},
		{
			name: "reducing to the consumption or above decides nothing",
			snap: holders(5), do: reduceSeats(VISIO, 3),
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				if len(p.Users) != 0 || len(p.Consumed) != 0 || p.SeqsUsed != 0 {
					t.Errorf("plan %s", dump(p))
				}
			},
		},
		{
			name: "users who do not hold the product are never victims",
			snap: func() *Snapshot {
				s := holders(3)
				s.Users = append(s.Users, user(4, "US", grants(via(sales, VISIO)), failed(VISIO, sales, allot.ENoSeats, 5)))
				return s
			}(),
			do: reduceSeats(VISIO, 0), want: map[int64]string{1: "4@7=seatsReducedBelowConsumption"}, consumed: m{VISIO: -3}, waiting: m{VISIO: 3},
		},
	})

	t.Run("NewestHolders", func(t *testing.T) {
		hs := []Holder{{UserID: 1, Since: 10}, {UserID: 2, Since: 30}, {UserID: 3, Since: 20}, {UserID: 4, Since: 30}}
		orig := slices.Clone(hs)
		for _, c := range []struct {
			name string
			n    int
			want []int64
		}{
			{"newest first, ties: higher user id first", 3, []int64{4, 2, 3}},
			{"more than there are: all", 9, []int64{4, 2, 3, 1}},
			{"none", 0, []int64{}},
			{"a negative count is none", -1, []int64{}},
		} {
			if got := NewestHolders(hs, c.n); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
		if !slices.Equal(hs, orig) {
			t.Errorf("NewestHolders sorted its input")
		}
	})
}

func TestRule10_EveryMutationCanBePreviewedByItsOwnPlan(t *testing.T) {
	rich := func() *Snapshot {
		s := snap(products(e3(2, 2), e5(1, 0), addon(1, 1), visio(1, 0, usableIn("DE"))),
			user(1, "US", grants(direct(E3), via(sales, ADDON)), active(E3, 0, 1), active(ADDON, sales, 2)),
			user(2, "", grants(via(sales, ADDON), via(ops, E3)), active(E3, ops, 3), failed(ADDON, sales, allot.ENoSeats, 4)),
			user(3, "DE", grants(via(ops, E3), via(dev, VISIO)), failed(E3, ops, allot.ENoSeats, 5)),
		)
		s.WaitingOutside = map[int64]int{E3: 1}
		return s
	}
	cases := []struct {
		name string
		snap func() *Snapshot
		do   decision
	}{
		{"Recompute", rich, recompute},
		{"AssignDirect swap", func() *Snapshot { s := rich(); s.Users = s.Users[:1]; return s }, assignDirect(DirectChange{Add: []Grant{direct(E5)}, Remove: []int64{E3}})},
		{"AssignDirect refused", func() *Snapshot { s := rich(); s.Users = s.Users[:1]; return s }, assignDirect(DirectChange{Remove: []int64{E3}})},
		{"AssignBulk", rich, assignBulk(VISIO, nil, 0)},
		{"ChangeBulk replace", rich, changeBulk(BulkDirect{Add: []Grant{direct(E5)}, All: true})},
		{"ChangeBulk unassign all", rich, changeBulk(BulkDirect{All: true})},
		{"ChangeBulk unassign E3", rich, changeBulk(BulkDirect{Remove: []int64{E3}})},
		{"ReduceSeats", rich, reduceSeats(E3, 0)},
	}
	for _, c := range cases {
		t.Run(c.name+": computing the plan twice gives the same plan, consistent with Before and After", func(t *testing.T) {
			s := c.snap()
			p1, x1, e1 := decide(t, s, c.do) // decide compares preview and decision, and checks Gained/Lost against Before/After
			p2, x2, e2 := c.do(cloneSnapshot(s))
			if !reflect.DeepEqual(p1, p2) || !reflect.DeepEqual(x1, x2) || !reflect.DeepEqual(e1, e2) {
				t.Fatalf("two plans differ:\n%s\n%s", dump(p1), dump(p2))
			}
			if p1 == nil {
				return
			}
			var lost []allot.Loss
			for _, up := range p1.Users {
				for pid := range heldSet(up.Before) {
					if !heldSet(up.After)[pid] {
						lost = append(lost, allot.Loss{UserID: up.UserID, ProductID: pid})
					}
				}
			}
			if got := p1.Losses(nil); len(got) != len(lost) {
				t.Errorf("Losses %s, but Before→After loses %v", losses(got), lost)
			}
		})
	}
	t.Run("the plan's losses name the reason of the state left behind", func(t *testing.T) {
		s := snap(products(e3(1, 1), addon(5, 1), visio(5, 1)),
			user(1, "US", grants(via(sales, E3), via(sales, ADDON), via(ops, VISIO, "VISIO-b")), active(E3, sales, 1), active(ADDON, sales, 2), active(VISIO, ops, 3)))
		s.Products[2].Rules.PlanDependencies = map[string][]string{"VISIO-a": {"VISIO-b"}}
		p, _, _ := decide(t, s, reduceSeats(E3, 0))
		if got, want := losses(p.Losses(nil)), "1:1:seatsReducedBelowConsumption 1:3:prerequisiteMissing 1:4:servicePlanDependencyMissing"; got != want {
			t.Errorf("losses %s, want %s", got, want)
		}
	})
	t.Run("the specific reason wins over otherProductInGroupFailed, in either order", func(t *testing.T) {
		for _, order := range [][]Grant{
			{via(ops, VISIO), via(ops, E5), via(sales, VISIO, "VISIO-b")},
			{via(sales, VISIO, "VISIO-b"), via(ops, VISIO), via(ops, E5)},
		} {
			// VISIO was held through Sales; Sales now disables a plan VISIO-a
			// needs, and Ops's VISIO fails because Ops's E5 has no seat.
			s := snap(products(e5(0, 0), visio(5, 1, planNeeds("VISIO-a", "VISIO-b"))),
				user(1, "US", order, active(VISIO, sales, 1), failed(VISIO, ops, allot.EOtherProductFailed, 2), failed(E5, ops, allot.ENoSeats, 3)))
			p, _, _ := decide(t, s, recompute)
			if got := losses(p.Losses(nil)); got != "1:4:servicePlanDependencyMissing" {
				t.Errorf("grants %v: losses %s", order, got)
			}
		}
	})
}

func TestRule11_NoAccidentalLossSideEffectsNeedConfirmation(t *testing.T) {
	type lossCase struct {
		name        string
		snap        *Snapshot
		do          decision
		removed     Removed
		unconfirmed string // losses needing confirmation (see losses)
		all         string // every loss, explicit ones marked "!"
	}
	twoGroups := func(gs ...Grant) *Snapshot {
		return snap(products(e3(5, 1), addon(5, 1)),
			user(1, "US", gs, active(E3, sales, 1), active(ADDON, ops, 2)))
	}
	for _, c := range []lossCase{
		{
			name: "seats reduced below consumption need confirmation",
			snap: snap(products(visio(2, 2)), user(1, "US", grants(via(sales, VISIO)), active(VISIO, sales, 1)), user(2, "US", grants(via(sales, VISIO)), active(VISIO, sales, 2))),
			do:   reduceSeats(VISIO, 1), unconfirmed: "2:4:seatsReducedBelowConsumption", all: "2:4:seatsReducedBelowConsumption",
		},
		{
			name: "removing a product the admin named from a group is not a side effect",
			snap: snap(products(e3(5, 1)), user(1, "US", nil, active(E3, sales, 1))),
			do:   recompute, removed: Removed{{sales, E3}: true}, unconfirmed: "", all: "1:1:removed!",
		},
		{
			name: "removing a prerequisite from a group while another group's add-on needs it needs confirmation",
			snap: twoGroups(via(ops, ADDON)),
			do:   recompute, removed: Removed{{sales, E3}: true}, unconfirmed: "1:3:prerequisiteMissing", all: "1:1:removed! 1:3:prerequisiteMissing",
		},
		{
			name: "deleting a group whose parent licensed its members needs confirmation",
			snap: twoGroups(via(ops, ADDON)), // the members' grant of E3 came from Sales through the deleted group
			do:   recompute, removed: nil, unconfirmed: "1:1:removed 1:3:prerequisiteMissing", all: "1:1:removed 1:3:prerequisiteMissing",
		},
		{
			name: "removing a member from a group removes on purpose what came through it and its ancestors",
			snap: twoGroups(),
			do:   recompute, removed: Removed{{sales, 0}: true, {ops, 0}: true}, unconfirmed: "", all: "1:1:removed! 1:3:removed!",
		},
		{
			name: "a loss through a source the change did not remove is a side effect",
			snap: twoGroups(via(ops, ADDON)),
			do:   recompute, removed: Removed{{dev, 0}: true, {ops, E3}: true}, unconfirmed: "1:1:removed 1:3:prerequisiteMissing",
		},
		{
			name: "a removed source that did not actively grant the product does not explain its loss",
			snap: snap(products(e3(5, 1)), user(1, "US", nil, active(E3, ops, 1), failed(E3, sales, allot.EOtherProductFailed, 2))),
			do:   recompute, removed: Removed{{sales, 0}: true}, unconfirmed: "1:1:removed",
		},
		{
			name: "a loss is explicit only when every source that granted it was removed on purpose",
			snap: snap(products(e3(5, 1)), user(1, "US", nil, active(E3, sales, 1), active(E3, ops, 2))),
			do:   recompute, removed: Removed{{sales, 0}: true}, unconfirmed: "1:1:removed",
		},
		{
			name: "a direct removal the admin asked for is explicit",
			snap: snap(products(e3(5, 1)), user(1, "US", grants(direct(E3)), active(E3, 0, 1))),
			do:   assignDirect(DirectChange{Remove: []int64{E3}}), removed: Removed{{0, E3}: true}, unconfirmed: "", all: "1:1:removed!",
		},
		{
			name: "a change that loses nothing needs no confirmation",
			snap: snap(products(e3(5, 0)), user(1, "US", grants(via(sales, E3)))),
			do:   recompute, unconfirmed: "", all: "",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, _, err := decide(t, c.snap, c.do)
			if err != nil {
				t.Fatal(err)
			}
			if got := losses(p.Unconfirmed(c.removed)); got != c.unconfirmed {
				t.Errorf("Unconfirmed = %q, want %q", got, c.unconfirmed)
			}
			if c.all != "" || c.unconfirmed == "" {
				if got := losses(p.ExplicitLosses(c.removed)); got != c.all {
					t.Errorf("ExplicitLosses = %q, want %q", got, c.all)
				}
			}
			if got := losses(SideEffects(p.ExplicitLosses(c.removed))); got != c.unconfirmed {
				t.Errorf("SideEffects = %q, want %q", got, c.unconfirmed)
			}
		})
	}
	t.Run("LostThrough: every active grant of the product was removed", func(t *testing.T) {
		before := []allot.LicenseState{active(E3, sales, 1), failed(ADDON, ops, allot.EPrerequisiteMissing, 2), active(VISIO, sales, 3), active(VISIO, 0, 4)}
		for _, c := range []struct {
			pid     int64
			removed Removed
			want    bool
		}{
			{E3, Removed{{sales, E3}: true}, true},
			{E3, Removed{{sales, 0}: true}, true},
			{E3, Removed{{sales, ADDON}: true}, false},
			{E3, Removed{{ops, 0}: true}, false},
			{ADDON, Removed{{ops, 0}: true}, false},
			{E3, nil, false},
			{VISIO, Removed{{sales, 0}: true}, false},
			{VISIO, Removed{{sales, 0}: true, {0, VISIO}: true}, true},
			{VISIO, Removed{{dev, 0}: true}, false},
		} {
			if got := LostThrough(before, c.pid, c.removed); got != c.want {
				t.Errorf("LostThrough(%d, %v) = %v, want %v", c.pid, c.removed, got, c.want)
			}
		}
	})
}

func TestRule12_DecisionsArePureDeterministicAndAFixedPoint(t *testing.T) {
	snaps := map[string]func() *Snapshot{
		"over capacity with waiters": func() *Snapshot {
			g := grants(via(sales, VISIO), via(sales, E3))
			return snap(products(e3(3, 0), visio(2, 0)), user(1, "US", g), user(2, "", g), user(3, "US", g, failed(VISIO, sales, allot.ENoSeats, 1)), user(4, "DE", g))
		},
		"exclusions and prerequisites across groups": func() *Snapshot {
			return snap(products(e3(2, 1), e5(2, 0), addon(2, 0)),
				user(1, "US", grants(via(sales, E5), via(ops, E3), via(dev, ADDON)), active(E3, ops, 1)),
				user(2, "US", grants(via(sales, E5), via(ops, E3), via(dev, ADDON))),
				user(3, "US", grants(via(dev, ADDON))))
		},
		"mutual prerequisites granted together": func() *Snapshot {
			return snap(products(product(1, "A", 1, 0, requires("B")), product(2, "B", 1, 0, requires("A"))), user(1, "US", grants(via(sales, 1), via(ops, 2))))
		},
		"users waiting for several products": func() *Snapshot {
			return snap(products(e5(1, 0), visio(1, 0)),
				user(1, "US", grants(via(sales, E5), via(ops, VISIO)), failed(E5, sales, allot.ENoSeats, 5), failed(VISIO, ops, allot.ENoSeats, 30)),
				user(2, "US", grants(via(ops, VISIO)), failed(VISIO, ops, allot.ENoSeats, 10)),
				user(3, "US", grants(via(sales, E5)), failed(E5, sales, allot.ENoSeats, 8)))
		},
	}
	for name, mk := range snaps {
		t.Run(name+": Recompute of a Recompute's output changes nothing", func(t *testing.T) {
			s := mk()
			p, _, _ := decide(t, s, recompute) // decide deep-compares the snapshot before and after, and runs it twice
			n := apply(s, p)
			q, _, _ := decide(t, n, recompute)
			for _, up := range q.Users {
				if up.Changed || len(up.Gained)+len(up.Lost) > 0 {
					t.Errorf("second Recompute changed user %d: %s → %s", up.UserID, states(up.Before), states(up.After))
				}
			}
			if len(q.Consumed)+len(q.Waiting)+len(q.GroupErrors)+q.SeqsUsed > 0 {
				t.Errorf("second Recompute: %s", dump(q))
			}
		})
	}
}
