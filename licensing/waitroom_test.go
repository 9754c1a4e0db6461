package licensing

import (
	"maps"
	"testing"

	"allot"
)

func TestWaitingRoom_AVIPGroupsMemberWaitsAheadOfOrdinaryWaiters(t *testing.T) {
	runCases(t, []ruleCase{
		{
			name: "a member who starts waiting through a VIP group takes a place ahead of the ordinary ones",
			snap: func() *Snapshot {
				s := snap(products(visio(1, 1)), user(1, "US", grants(via(ops, VISIO))))
				s.VIP = map[int64]bool{ops: true}
				return s
			}(),
			want: map[int64]string{1: "4@8=noSeatsAvailable"},
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				if st := stateOf(p, 1, VISIO, ops); st.Seq != firstSeq-VIPShift || !IsVIPPlace(st.Seq) {
					t.Errorf("place %d, want %d (a VIP place)", st.Seq, firstSeq-VIPShift)
				}
			},
		},
		{
			name: "a member of an ordinary group takes an ordinary place",
			snap: func() *Snapshot {
				s := snap(products(visio(1, 1)), user(1, "US", grants(via(sales, VISIO))))
				s.VIP = map[int64]bool{ops: true}
				return s
			}(),
			want: map[int64]string{1: "4@7=noSeatsAvailable"},
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				if st := stateOf(p, 1, VISIO, sales); st.Seq != firstSeq {
					t.Errorf("place %d, want %d", st.Seq, firstSeq)
				}
			},
		},
		{
			name: "the freed seat goes to the VIP who started waiting later",
			snap: snap(products(visio(1, 0)),
				user(1, "US", grants(via(sales, VISIO)), failed(VISIO, sales, allot.ENoSeats, 5)),
				user(2, "US", grants(via(ops, VISIO)), failed(VISIO, ops, allot.ENoSeats, Replace(9, true)))),
			want: map[int64]string{1: "4@7=noSeatsAvailable", 2: "4@8=Active"},
		},
	})
}

func TestWaitingRoom_PlacesMoveWithTheGroupsVIPMark(t *testing.T) {
	cases := []struct {
		name string
		seq  int64
		vip  bool
		want int64
	}{
		{"marked VIP: an ordinary place moves ahead", 9, true, 9 - VIPShift},
		{"marked VIP: a VIP place stays", 9 - VIPShift, true, 9 - VIPShift},
		{"unmarked: a VIP place moves back", 9 - VIPShift, false, 9},
		{"unmarked: an ordinary place stays", 9, false, 9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Replace(c.seq, c.vip); got != c.want {
				t.Errorf("Replace(%d, %v) = %d, want %d", c.seq, c.vip, got, c.want)
			}
		})
	}
}

func TestWaitingRoom_MoveUpHandsThePlacesRound(t *testing.T) {
	line := []Waiter{{UserID: 4, Place: 40}, {UserID: 1, Place: 10}, {UserID: 3, Place: 30}, {UserID: 2, Place: 20 - VIPShift}}
	// In line: 2 (VIP), 1, 3, 4.
	cases := []struct {
		name     string
		user     int64
		position int
		want     map[int64]int64
		wantErr  allot.Code
	}{
		{"the last waiter moved to the head takes the head's place, the others move one back", 4, 1,
			map[int64]int64{4: 20 - VIPShift, 2: 10, 1: 30, 3: 40}, ""},
		{"a waiter moved up one swaps places with the one ahead", 3, 2, map[int64]int64{3: 10, 1: 30}, ""},
		{"a waiter already at the position is refused", 1, 2, nil, allot.EInvalid},
		{"a waiter ahead of the position is refused (moving up never moves back)", 2, 3, nil, allot.EInvalid},
		{"position 0 is refused", 4, 0, nil, allot.EInvalid},
		{"a user who does not wait is refused", 9, 1, nil, allot.ENotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := MoveUp(line, c.user, c.position)
			if allot.ErrorCode(err) != c.wantErr {
				t.Fatalf("error %v, want code %q", err, c.wantErr)
			}
			if !maps.Equal(got, c.want) {
				t.Errorf("places %v, want %v", got, c.want)
			}
		})
	}
	if got := InLine(line); got[0].UserID != 2 || got[1].UserID != 1 || got[2].UserID != 3 || got[3].UserID != 4 {
		t.Errorf("line %v, want users 2, 1, 3, 4", got)
	}
}
