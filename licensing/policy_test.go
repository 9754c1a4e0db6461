package licensing

import (
	"testing"

	"allot"
)

func policy(pol string) productOpt { return func(p *allot.Product) { p.AssignmentPolicy = pol } }

// assigning is snap with the groups that assign each product.
func assigning(s *Snapshot, by map[int64][]int64) *Snapshot {
	s.Assigning = by
	return s
}

func moveToGroup(pid, gid int64) decision {
	return func(s *Snapshot) (*Plan, any, error) {
		p, res := MoveToGroup(s, pid, gid)
		return p, res, nil
	}
}

func TestPolicy_GroupOnlyRefusesNewDirectAssignmentsNamingTheGroups(t *testing.T) {
	add := func(g ...Grant) decision { return assignDirect(DirectChange{Add: g}) }
	runCases(t, []ruleCase{
		{
			name: "a direct assignment of a groupOnly product is refused with the groups that assign it",
			snap: assigning(snap(products(visio(5, 0, policy(allot.PolicyGroupOnly))), user(1, "US", nil)), map[int64][]int64{VISIO: {7, 8}}),
			do:   add(direct(VISIO)), wantErr: allot.EAssignmentPolicy, wantMsg: []string{"groupOnly", "'Sales', 'Ops'"},
		},
		{
			name: "a groupOnly product no group assigns says so",
			snap: snap(products(visio(5, 0, policy(allot.PolicyGroupOnly))), user(1, "US", nil)),
			do:   add(direct(VISIO)), wantErr: allot.EAssignmentPolicy, wantMsg: []string{"no group assigns it yet"},
		},
		{
			name: "a refused groupOnly product fails the whole call",
			snap: snap(products(e5(5, 0), visio(5, 0, policy(allot.PolicyGroupOnly))), user(1, "US", nil)),
			do:   add(direct(E5), direct(VISIO)), wantErr: allot.EAssignmentPolicy,
		},
		{
			name: "an existing direct assignment of a groupOnly product stays and may change its plans",
			snap: snap(products(visio(5, 1, policy(allot.PolicyGroupOnly))), user(1, "US", grants(direct(VISIO)), active(VISIO, 0, 5))),
			do:   add(direct(VISIO, "VISIO-a")), want: map[int64]string{1: "4@0=Active"},
		},
		{
			name: "an existing direct assignment of a groupOnly product can be removed",
			snap: snap(products(visio(5, 1, policy(allot.PolicyGroupOnly))), user(1, "US", grants(direct(VISIO)), active(VISIO, 0, 5))),
			do:   assignDirect(DirectChange{Remove: []int64{VISIO}}), want: map[int64]string{1: ""}, lost: map[int64][]int64{1: ids(VISIO)},
		},
		{
			name: "directOnly and any products are assigned directly",
			snap: snap(products(visio(5, 0, policy(allot.PolicyDirectOnly)), e5(5, 0, policy(allot.PolicyAny))), user(1, "US", nil)),
			do:   add(direct(VISIO), direct(E5)), want: map[int64]string{1: "2@0=Active 4@0=Active"},
		},
		{
			name: "bulk assignment refuses a groupOnly product per user",
			snap: snap(products(visio(5, 0, policy(allot.PolicyGroupOnly))), user(1, "US", nil), user(2, "US", nil)),
			do:   assignBulk(VISIO, nil, 0), consumed: m{},
			check: func(t *testing.T, _ *Snapshot, p *Plan, extra any) {
				for i, r := range extra.([]BulkResult) {
					if r.Code != allot.EAssignmentPolicy {
						t.Errorf("user %d: code %q, want %q", i+1, r.Code, allot.EAssignmentPolicy)
					}
				}
			},
		},
	})
}

func TestPolicy_DirectOnlyRefusesGroupAssignments(t *testing.T) {
	for _, c := range []struct {
		pol     string
		refused bool
	}{{"", false}, {allot.PolicyAny, false}, {allot.PolicyGroupOnly, false}, {allot.PolicyDirectOnly, true}} {
		err := CheckGroupAssign(visio(1, 0, policy(c.pol)))
		if (err != nil) != c.refused || (err != nil && allot.ErrorCode(err) != allot.EAssignmentPolicy) {
			t.Errorf("policy %q: error %v, refused want %v", c.pol, err, c.refused)
		}
	}
	if p, err := ParsePolicy("GROUPONLY"); p != allot.PolicyGroupOnly || err != nil {
		t.Errorf("ParsePolicy(GROUPONLY) = %q, %v", p, err)
	}
	if _, err := ParsePolicy("sometimes"); allot.ErrorCode(err) != allot.EInvalid {
		t.Errorf("ParsePolicy(sometimes) error %v, want invalid", err)
	}
}

func TestPolicy_MoveToGroupNeverLeavesAnyoneUnlicensed(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "a direct holder who is in the group moves: the group grant takes the seat, no seat changes hands",
			snap: snap(products(e5(2, 2)), user(1, "US", grants(direct(E5), via(sales, E5)), active(E5, 0, 5)),
				user(2, "US", grants(direct(E5), via(sales, E5)), active(E5, 0, 6))),
			do:   moveToGroup(E5, sales),
			want: map[int64]string{1: "2@7=Active", 2: "2@7=Active"}, consumed: m{}, waiting: m{},
			check: func(t *testing.T, _ *Snapshot, p *Plan, extra any) {
				for _, r := range extra.([]MoveResult) {
					if !r.Moved {
						t.Errorf("user %d not moved: %s", r.UserID, r.Code)
					}
				}
				if ls := p.Losses(nil); len(ls) != 0 {
					t.Errorf("losses %v, want none", ls)
				}
			},
		},
		{
			name: "a user whose group grant fails keeps the direct assignment, and the result says why",
			snap: snap(products(e5(5, 1), visio(0, 0)), user(1, "US", grants(direct(E5), via(sales, E5), via(sales, VISIO)), active(E5, 0, 5))),
			do:   moveToGroup(E5, sales),
			want: map[int64]string{1: "2@0=Active 2@7=otherProductInGroupFailed 4@7=noSeatsAvailable"}, lost: map[int64][]int64{1: nil},
			check: func(t *testing.T, _ *Snapshot, p *Plan, extra any) {
				r := extra.([]MoveResult)[0]
				if r.Moved || r.Code != allot.EOtherProductFailed {
					t.Errorf("result %+v, want kept with %s", r, allot.EOtherProductFailed)
				}
			},
		},
		{
			name: "a user without the group's grant is decided as it is, not moved",
			snap: snap(products(e5(5, 1)), user(1, "US", grants(direct(E5)), active(E5, 0, 5))),
			do:   moveToGroup(E5, sales), unchanged: []int64{1},
			check: func(t *testing.T, _ *Snapshot, _ *Plan, extra any) {
				if r := extra.([]MoveResult)[0]; r.Moved || r.Code != "" {
					t.Errorf("result %+v, want untouched", r)
				}
			},
		},
		{
			name: "an add-on that needs the moved product stays: its prerequisite never goes",
			snap: snap(products(e5(5, 1), addon(5, 1)), user(1, "US", grants(direct(E5), direct(ADDON), via(sales, E5)), active(E5, 0, 5), active(ADDON, 0, 6))),
			do:   moveToGroup(E5, sales), want: map[int64]string{1: "2@7=Active 3@0=Active"}, consumed: m{},
		},
	})
}
