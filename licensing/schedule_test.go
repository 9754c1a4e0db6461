package licensing

import (
	"strings"
	"testing"

	"allot"
)

func until(g Grant, endsAt int64) Grant {
	g.EndsAt = endsAt
	return g
}

func TestSchedule_AnEndedAssignmentGoesOnPurposeAndItsSeatGoesToTheFirstWaiter(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name:      "a direct assignment before its end keeps the seat",
			snap:      snap(products(visio(1, 1)), user(1, "US", grants(until(direct(VISIO), now+1)), active(VISIO, 0, 5))),
			unchanged: []int64{1},
		},
		{
			name: "a direct assignment at its end loses the license and the seat",
			snap: snap(products(visio(1, 1)), user(1, "US", grants(until(direct(VISIO), now)), active(VISIO, 0, 5))),
			want: map[int64]string{1: ""}, lost: map[int64][]int64{1: ids(VISIO)}, consumed: m{VISIO: -1},
			check: func(t *testing.T, s *Snapshot, p *Plan, _ any) {
				if ls := p.Unconfirmed(s.Ended()); len(ls) != 0 {
					t.Errorf("an ended assignment's loss needs confirmation: %v", ls)
				}
				if ls := p.Unconfirmed(nil); len(ls) != 1 {
					t.Errorf("without the end as intent the loss is a side effect; got %v", ls)
				}
			},
		},
		{
			name: "the seat it frees goes to the first waiting member when the waiters are recomputed",
			snap: snap(products(visio(1, 1)),
				user(2, "US", grants(via(sales, VISIO)), failed(VISIO, sales, allot.ENoSeats, 7)),
				user(3, "US", grants(via(sales, VISIO)), failed(VISIO, sales, allot.ENoSeats, 6)),
				user(1, "US", grants(until(direct(VISIO), now-5)), active(VISIO, 0, 5))),
			want: map[int64]string{1: ""}, consumed: m{VISIO: -1},
			check: func(t *testing.T, s *Snapshot, p *Plan, _ any) {
				// The store marks the waiters of a product whose seat was
				// freed (apply); their recompute is this one.
				next := snap(products(visio(1, 0)), s.Users[0], s.Users[1])
				p2, _, _ := decide(t, next, recompute)
				if up, _ := userPlan(p2, 3); states(up.After) != "4@7=Active" {
					t.Errorf("the first waiter (user 3) has %q, want the seat", states(up.After))
				}
				if up, _ := userPlan(p2, 2); states(up.After) != "4@7=noSeatsAvailable" {
					t.Errorf("the second waiter (user 2) has %q, want to wait", states(up.After))
				}
			},
		},
		{
			name: "a group assignment at its end takes the group's license from its members, another source keeps it",
			snap: snap(products(e5(5, 2)),
				user(1, "US", grants(until(via(sales, E5), now)), active(E5, sales, 5)),
				user(2, "US", grants(direct(E5), until(via(sales, E5), now)), active(E5, 0, 4), active(E5, sales, 6))),
			want: map[int64]string{1: "", 2: "2@0=Active"}, lost: map[int64][]int64{1: ids(E5), 2: nil}, consumed: m{E5: -1},
		},
		{
			name: "an ended grant that waited leaves the line",
			snap: snap(products(visio(0, 0)), user(1, "US", grants(until(via(sales, VISIO), now)), failed(VISIO, sales, allot.ENoSeats, 5))),
			want: map[int64]string{1: ""}, waiting: m{VISIO: -1},
		},
		{
			name: "a direct assignment whose end is past is refused",
			snap: snap(products(visio(1, 0)), user(1, "US", nil)),
			do:   assignDirect(DirectChange{Add: []Grant{until(direct(VISIO), now)}}), wantErr: allot.EInvalid, wantMsg: []string{"endDateTime"},
		},
		{
			name: "a direct assignment with a future end is assigned and keeps its end",
			snap: snap(products(visio(1, 0)), user(1, "US", nil)),
			do:   assignDirect(DirectChange{Add: []Grant{until(direct(VISIO), now+1000)}}), want: map[int64]string{1: "4@0=Active"},
		},
	})
}

func TestStart_AnAssignmentStartsLaterOnlyWithAStartToCome(t *testing.T) {
	p := &allot.Product{ProductDefinition: allot.ProductDefinition{DisplayName: "Microsoft 365 E5"}}
	for _, c := range []struct {
		name            string
		start, end, now int64
		later, refused  bool
	}{
		{"no start: now", 0, 0, 100, false, false},
		{"a start past: now", 50, 0, 100, false, false},
		{"a start at this instant: now", 100, 0, 100, false, false},
		{"a start to come: later", 150, 0, 100, true, false},
		{"ends after it starts", 150, 151, 100, true, false},
		{"ends when it starts: refused", 150, 150, 100, true, true},
		{"ends before it starts: refused", 150, 120, 100, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := StartsLater(c.start, c.now); got != c.later {
				t.Errorf("StartsLater = %v, want %v", got, c.later)
			}
			err := CheckStart(p, c.start, c.end)
			if (err != nil) != c.refused {
				t.Errorf("CheckStart = %v, want refused %v", err, c.refused)
			}
			if err != nil && !strings.Contains(err.Error(), "Microsoft 365 E5") {
				t.Errorf("the refusal does not name the product: %v", err)
			}
		})
	}
}
