package licensing

import (
	"slices"
	"strings"
	"testing"

	"allot"
)

// chained returns s with group sales's assignment of E5 falling back to
// the products of chain.
func chained(s *Snapshot, chain ...int64) *Snapshot {
	s.Fallbacks = map[[2]int64][]int64{{sales, E5}: chain}
	return s
}

func TestFallback_AMemberWithoutASeatOfTheProductGetsTheFirstFallbackTheRulesGrant(t *testing.T) {
	released := func(want ...int64) func(*testing.T, *Snapshot, *Plan, any) {
		return func(t *testing.T, s *Snapshot, p *Plan, _ any) {
			if !slices.Equal(p.Users[0].Released, want) {
				t.Errorf("released %v, want %v", p.Users[0].Released, want)
			}
			if ls := p.Unconfirmed(nil); len(ls) != 0 {
				t.Errorf("giving a fallback back for a better product needs confirmation: %v", ls)
			}
		}
	}
	runCases(t, []ruleCase{
		{
			name: "without an E5 seat the member gets E3 and waits for E5",
			snap: chained(snap(products(e3(5, 0), e5(1, 1)), user(1, "US", grants(via(sales, E5)))), E3),
			want: map[int64]string{1: "1@7=Active 2@7=noSeatsAvailable"}, gained: map[int64][]int64{1: ids(E3)},
			consumed: m{E3: 1}, waiting: m{E5: 1},
		},
		{
			name: "with an E5 seat the member gets E5 and no fallback",
			snap: chained(snap(products(e3(5, 0), e5(1, 0)), user(1, "US", grants(via(sales, E5)))), E3),
			want: map[int64]string{1: "2@7=Active"}, consumed: m{E5: 1},
		},
		{
			name: "when an E5 seat frees up the waiter takes it and gives E3 back in the same plan",
			snap: chained(snap(products(e3(5, 1), e5(1, 0)),
				user(1, "US", grants(via(sales, E5)), active(E3, sales, 5), failed(E5, sales, allot.ENoSeats, 4))), E3),
			want: map[int64]string{1: "2@7=Active"}, gained: map[int64][]int64{1: ids(E5)}, lost: map[int64][]int64{1: ids(E3)},
			consumed: m{E3: -1, E5: 1}, waiting: m{E5: -1}, check: released(E3),
		},
		{
			name: "while E5 has no seat the member keeps E3 and its place in line",
			snap: chained(snap(products(e3(5, 1), e5(1, 1)),
				user(1, "US", grants(via(sales, E5)), active(E3, sales, 5), failed(E5, sales, allot.ENoSeats, 4))), E3),
			unchanged: []int64{1},
		},
		{
			name: "a fallback without a seat waits too, and the next one is tried",
			snap: chained(snap(products(e3(1, 1), e5(1, 1), visio(1, 0)), user(1, "US", grants(via(sales, E5)))), E3, VISIO),
			want: map[int64]string{1: "1@7=noSeatsAvailable 2@7=noSeatsAvailable 4@7=Active"}, consumed: m{VISIO: 1}, waiting: m{E3: 1, E5: 1},
		},
		{
			name: "an E3 seat freed goes to the member on the last fallback, who gives that one back",
			snap: chained(snap(products(e3(1, 0), e5(1, 1), visio(1, 1)),
				user(1, "US", grants(via(sales, E5)), failed(E3, sales, allot.ENoSeats, 3), failed(E5, sales, allot.ENoSeats, 2), active(VISIO, sales, 4))), E3, VISIO),
			want:     map[int64]string{1: "1@7=Active 2@7=noSeatsAvailable"},
			consumed: m{E3: 1, VISIO: -1}, waiting: m{E3: -1}, check: released(VISIO),
		},
		{
			name: "a fallback refused by a rule of its own is not granted and ends the chain",
			snap: chained(snap(products(addon(5, 0), e5(1, 1), visio(5, 0)), user(1, "US", grants(via(sales, E5)))), ADDON, VISIO),
			want: map[int64]string{1: "2@7=noSeatsAvailable 3@7=prerequisiteMissing"}, waiting: m{E5: 1},
		},
		{
			name: "a chain only falls back for lack of seats: E5 refused for the usage location gives nothing",
			snap: chained(snap(products(e3(5, 0), e5(1, 0, usableIn("DE"))), user(1, "US", grants(via(sales, E5)))), E3),
			want: map[int64]string{1: "2@7=usageLocationNotAllowed"},
		},
		{
			name: "the group's other products go with the fallback (rule 5 counts the chain as granted)",
			snap: chained(snap(products(e3(5, 0), e5(1, 1), visio(5, 0)), user(1, "US", grants(via(sales, E5), via(sales, VISIO)))), E3),
			want: map[int64]string{1: "1@7=Active 2@7=noSeatsAvailable 4@7=Active"}, consumed: m{E3: 1, VISIO: 1},
		},
		{
			name: "without a chain the same member gets nothing of the group (rule 5)",
			snap: snap(products(e3(5, 0), e5(1, 1), visio(5, 0)), user(1, "US", grants(via(sales, E5), via(sales, VISIO)))),
			want: map[int64]string{1: "2@7=noSeatsAvailable 4@7=otherProductInGroupFailed"},
		},
		{
			name: "a fallback the group assigns itself is left out of the chain",
			snap: chained(snap(products(e3(5, 0), e5(1, 1), visio(5, 0)), user(1, "US", grants(via(sales, E5), via(sales, VISIO)))), VISIO),
			want: map[int64]string{1: "2@7=noSeatsAvailable 4@7=otherProductInGroupFailed"},
		},
		{
			name: "a seat reduction of E5 moves its newest holder to E3 at once",
			snap: chained(snap(products(e3(5, 0), e5(1, 1)), user(1, "US", grants(via(sales, E5)), active(E5, sales, 4))), E3),
			do:   reduceSeats(E5, 0),
			want: map[int64]string{1: "1@7=Active 2@7=seatsReducedBelowConsumption"}, consumed: m{E3: 1, E5: -1},
		},
		{
			name: "a direct E5 for a member on the E3 fallback is not refused for giving E3 back",
			snap: chained(snap(products(e3(5, 1), e5(2, 1)),
				user(1, "US", grants(via(sales, E5)), active(E3, sales, 5), failed(E5, sales, allot.ENoSeats, 4))), E3),
			do:   assignDirect(DirectChange{Add: []Grant{{ProductID: E5}}}),
			want: map[int64]string{1: "2@0=Active 2@7=Active"}, consumed: m{E3: -1, E5: 1}, check: released(E3),
		},
	})
}

func TestFallback_AnAdminsChainIsRefusedWhenItCannotWork(t *testing.T) {
	cat := NewCatalog(products(e3(1, 0, displayName("Microsoft 365 E3")), e5(1, 0, displayName("Microsoft 365 E5")), visio(1, 0, displayName("Visio Plan 2"))))
	cases := []struct {
		name      string
		pid       int64
		fallbacks []int64
		assigned  []int64
		others    map[int64][]int64
		want      allot.Code
		words     string
	}{
		{"a chain of products the tenant has is accepted", E5, ids(E3, VISIO), ids(E5), nil, "", ""},
		{"an empty chain is accepted (it removes the chain)", E5, nil, ids(E5), nil, "", ""},
		{"a product the tenant does not own is refused", E5, ids(99), ids(E5), nil, allot.EInvalid, "not a product this organization subscribes to"},
		{"the product itself is refused", E5, ids(E5), ids(E5), nil, allot.EInvalid, "Microsoft 365 E5 cannot be its own fallback"},
		{"a product listed twice is refused", E5, ids(E3, E3), ids(E5), nil, allot.EInvalid, "Microsoft 365 E3 is listed twice"},
		{"a product the group assigns itself is refused (no cycle can form)", E5, ids(E3), ids(E5, E3), nil, allot.EInvalid, "already assigns Microsoft 365 E3 itself"},
		{"a product that is another chain's fallback is refused", E5, ids(VISIO), ids(E5, E3), map[int64][]int64{E3: ids(VISIO)}, allot.EInvalid, "already a fallback of Microsoft 365 E3"},
		{"a product the group does not assign cannot get a chain", E5, ids(E3), ids(VISIO), nil, allot.EInvalid, "does not assign Microsoft 365 E5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := FallbackProblem(cat, c.pid, c.fallbacks, c.assigned, c.others)
			if allot.ErrorCode(err) != c.want {
				t.Fatalf("error %v, want code %q", err, c.want)
			}
			if c.words != "" && !strings.Contains(allot.ErrorMessage(err), c.words) {
				t.Errorf("message %q does not say %q", allot.ErrorMessage(err), c.words)
			}
		})
	}
}
