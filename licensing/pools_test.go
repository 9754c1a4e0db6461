package licensing

import (
	"testing"

	"allot"
)

const salesPool int64 = 501

// pooled gives a snapshot a pool of VISIO and puts users in it.
func pooled(s *Snapshot, allotted, held int, borrow bool, members ...int64) *Snapshot {
	s.Pools = append(s.Pools, Pool{ID: salesPool, ProductID: VISIO, AllottedUnits: allotted, Held: held, AllowsBorrowing: borrow})
	for i := range s.Users {
		for _, m := range members {
			if s.Users[i].UserID == m {
				s.Users[i].Pools = map[int64]int64{VISIO: salesPool}
			}
		}
	}
	return s
}

func named(s *Snapshot, name string) *Snapshot {
	s.Pools[len(s.Pools)-1].Name = name
	return s
}

func outside(s *Snapshot, l Line, n int, ahead ...int64) *Snapshot {
	if s.LineOutside == nil {
		s.LineOutside, s.LineAhead = map[Line]int{}, map[Line][]int64{}
	}
	s.LineOutside[l], s.LineAhead[l] = n, ahead
	return s
}

func TestPools_AMemberDrawsFromItsPoolThenBorrowsOnlyWhenThePoolLends(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "a pool member takes a pool seat while the remainder is full",
			// 3 seats: 2 in the pool (none used), the 1 remainder seat used.
			snap:   pooled(snap(products(visio(3, 1)), user(1, "US", grants(via(sales, VISIO)))), 2, 0, false, 1),
			want:   map[int64]string{1: "4@7=Active"},
			gained: map[int64][]int64{1: ids(VISIO)}, consumed: m{VISIO: 1},
		},
		{
			name: "a member of a full pool without borrowing waits though the remainder has seats",
			snap: pooled(snap(products(visio(5, 2)), user(1, "US", grants(via(sales, VISIO)))), 2, 2, false, 1),
			want: map[int64]string{1: "4@7=noSeatsAvailable"}, consumed: m{}, waiting: m{VISIO: 1},
		},
		{
			name:   "a member of a full pool that lends borrows a remainder seat",
			snap:   pooled(snap(products(visio(5, 2)), user(1, "US", grants(via(sales, VISIO)))), 2, 2, true, 1),
			want:   map[int64]string{1: "4@7=Active"},
			gained: map[int64][]int64{1: ids(VISIO)}, consumed: m{VISIO: 1},
		},
		{
			name: "a member of a full pool that lends waits when the remainder is full too",
			// 4 seats, 2 allotted and held, 1 borrowed, 1 used outside: none free for it.
			snap: pooled(snap(products(visio(4, 4)), user(1, "US", grants(via(sales, VISIO)))), 2, 3, true, 1),
			want: map[int64]string{1: "4@7=noSeatsAvailable"}, waiting: m{VISIO: 1},
		},
		{
			name: "a user outside every pool takes only remainder seats",
			// 3 seats, 2 allotted and free, the remainder seat used.
			snap: pooled(snap(products(visio(3, 1)), user(1, "US", grants(direct(VISIO)))), 2, 0, false),
			do:   assignDirect(DirectChange{Add: []Grant{direct(VISIO)}}), wantErr: allot.ENoSeats,
		},
		{
			name:   "a user outside every pool gets a remainder seat while pool members wait",
			snap:   outside(pooled(snap(products(visio(5, 2)), user(1, "US", grants(via(ops, VISIO)))), 2, 2, false), Line{VISIO, salesPool}, 4),
			want:   map[int64]string{1: "4@8=Active"},
			gained: map[int64][]int64{1: ids(VISIO)}, consumed: m{VISIO: 1},
		},
		{
			name: "the pool's last seat goes to one of two members, the other waits",
			snap: pooled(snap(products(visio(5, 0)), user(1, "US", grants(via(sales, VISIO))), user(2, "US", grants(via(sales, VISIO)))), 1, 0, false, 1, 2),
			want: map[int64]string{1: "4@7=Active", 2: "4@7=noSeatsAvailable"}, consumed: m{VISIO: 1}, waiting: m{VISIO: 1},
		},
		{
			name: "a direct assignment draws from the user's pool too, and the refusal names the pool",
			snap: named(pooled(snap(products(visio(5, 2, displayName("Visio Plan 2"))), user(1, "US", nil)), 2, 2, false, 1), "Sales Visio"),
			do:   assignDirect(DirectChange{Add: []Grant{direct(VISIO)}}), wantErr: allot.ENoSeats,
			wantMsg: []string{"Visio Plan 2", "the pool Sales Visio uses all 2 of its seats", "does not lend"},
		},
		{
			name: "a refusal outside every pool says the shared seats are in use",
			snap: pooled(snap(products(visio(5, 3, displayName("Visio Plan 2"))), user(1, "US", nil)), 2, 0, false),
			do:   assignDirect(DirectChange{Add: []Grant{direct(VISIO)}}), wantErr: allot.ENoSeats,
			wantMsg: []string{"in no pool", "the 3 seats outside the pools are in use"},
		},
	})
}

func TestPools_WaitersAreServedFirstComeFirstServedWithinTheirLine(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "a freed pool seat goes to the pool's longest waiter, not to a remainder waiter",
			snap: pooled(snap(products(visio(3, 2)),
				user(1, "US", grants(via(ops, VISIO)), failed(VISIO, ops, allot.ENoSeats, 3)),
				user(2, "US", grants(via(sales, VISIO)), failed(VISIO, sales, allot.ENoSeats, 6)),
				user(3, "US", grants(via(sales, VISIO)), failed(VISIO, sales, allot.ENoSeats, 5))), 1, 0, false, 2, 3),
			want:     map[int64]string{1: "4@8=noSeatsAvailable", 2: "4@7=noSeatsAvailable", 3: "4@7=Active"},
			consumed: m{VISIO: 1}, waiting: m{VISIO: -1},
		},
		{
			name: "a newcomer to a pool leaves its seat to the pool's waiters outside the snapshot",
			snap: outside(pooled(snap(products(visio(3, 2)), user(1, "US", grants(via(sales, VISIO)))), 1, 0, false, 1), Line{VISIO, salesPool}, 1),
			want: map[int64]string{1: "4@7=noSeatsAvailable"}, waiting: m{VISIO: 1},
		},
		{
			name: "remainder waiters of another line do not hold back a pool member",
			snap: outside(pooled(snap(products(visio(3, 2)), user(1, "US", grants(via(sales, VISIO)))), 1, 0, false, 1), Line{VISIO, 0}, 3),
			want: map[int64]string{1: "4@7=Active"}, consumed: m{VISIO: 1},
		},
		{
			name: "a user served early for another product leaves the pool seat to the pool member waiting longer",
			snap: pooled(snap(products(visio(3, 2), e5(0, 0)),
				user(1, "US", grants(via(sales, VISIO), via(ops, E5)), failed(VISIO, sales, allot.ENoSeats, 10), failed(E5, ops, allot.ENoSeats, 1)),
				user(2, "US", grants(via(sales, VISIO)), failed(VISIO, sales, allot.ENoSeats, 5))), 1, 0, false, 1, 2),
			want: map[int64]string{1: "2@8=noSeatsAvailable 4@7=noSeatsAvailable", 2: "4@7=Active"}, consumed: m{VISIO: 1},
		},
		{
			name: "a borrower leaves the remainder seat to a remainder waiter who waits longer",
			snap: pooled(snap(products(visio(3, 2)),
				user(1, "US", grants(via(ops, VISIO)), failed(VISIO, ops, allot.ENoSeats, 3)),
				user(2, "US", grants(via(sales, VISIO)), failed(VISIO, sales, allot.ENoSeats, 6))), 1, 1, true, 2),
			want: map[int64]string{1: "4@8=Active", 2: "4@7=noSeatsAvailable"}, consumed: m{VISIO: 1}, waiting: m{VISIO: -1},
		},
	})
}

func TestPools_ABorrowedSeatReturnsToTheRemainderWithoutUnlicensingAnyone(t *testing.T) {
	// 4 seats, a pool of 2. Users 1, 2 and 3 are in the pool and hold a
	// seat: 3 borrows one of the 2 remainder seats, a user outside every
	// pool holds the other. User 4, outside every pool, waits.
	s := pooled(snap(products(visio(4, 4)),
		user(1, "US", nil, active(VISIO, sales, 1)),
		user(3, "US", grants(via(sales, VISIO)), active(VISIO, sales, 3)),
		user(4, "US", grants(via(ops, VISIO)), failed(VISIO, ops, allot.ENoSeats, 4))), 2, 3, true, 1, 3)
	p := Recompute(s)
	if up, _ := userPlan(p, 3); up.Changed {
		t.Fatalf("the borrower changed: %s → %s", states(up.Before), states(up.After))
	}
	if got := states(stateOf1(p, 4)); got != "4@8=noSeatsAvailable" {
		t.Fatalf("user 4 has %q before the seat came back", got)
	}
	// User 1 left the pool's seat: 2 and 3 now use the pool's 2 seats, so
	// the remainder seat user 3 borrowed is free, and goes to user 4.
	next := apply(s, p)
	next.Pools[0].Held = 2
	p = Recompute(next)
	if up, _ := userPlan(p, 3); up.Changed {
		t.Fatalf("the borrower changed when its seat moved to the pool: %s → %s", states(up.Before), states(up.After))
	}
	if got := states(stateOf1(p, 4)); got != "4@8=Active" {
		t.Fatalf("the remainder waiter has %q once the borrowed seat went back, want 4@8=Active\n%s", got, dump(p))
	}
}

func stateOf1(p *Plan, uid int64) []allot.LicenseState {
	up, _ := userPlan(p, uid)
	return up.After
}

func TestPools_AccountingSplitsHoldersBetweenPoolAndRemainder(t *testing.T) {
	cases := []struct {
		name                       string
		enabled, consumed          int
		pools                      []Pool
		poolUsed, borrowed, remain int
	}{
		{"within the allotment nothing is borrowed", 50, 12, []Pool{{AllottedUnits: 10, Held: 8}}, 8, 0, 36},
		{"holders beyond the allotment borrow", 50, 14, []Pool{{AllottedUnits: 10, Held: 12, AllowsBorrowing: true}}, 10, 2, 36},
		{"two pools leave the rest as the remainder", 50, 20, []Pool{{AllottedUnits: 10, Held: 10}, {AllottedUnits: 5, Held: 1}}, 10, 0, 26},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.pools[0].Consumed(); got != c.poolUsed {
				t.Errorf("pool consumed %d, want %d", got, c.poolUsed)
			}
			if got := c.pools[0].Borrowed(); got != c.borrowed {
				t.Errorf("borrowed %d, want %d", got, c.borrowed)
			}
			if got := RemainderFree(c.enabled, c.consumed, c.pools); got != c.remain {
				t.Errorf("remainder free %d, want %d", got, c.remain)
			}
		})
	}
}
