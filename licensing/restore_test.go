package licensing

import (
	"reflect"
	"slices"
	"testing"

	"allot"
)

func TestRestore(t *testing.T) {
	cases := []struct {
		name string
		s    *Snapshot
		// want: per (source, product), the state and code after.
		want   map[[2]int64]allot.Code
		gained []int64
	}{
		{"direct and group grants come back with free seats",
			snap(products(product(1, "E3", 10, 0), product(2, "E5", 10, 0)), user(100, "US", grants(via(7, 2)))),
			map[[2]int64]allot.Code{{0, 1}: "", {7, 2}: ""}, []int64{1, 2}},
		{"without a free seat the grant waits",
			snap(products(product(1, "E3", 1, 1), product(2, "E5", 10, 0)), user(100, "US", grants(via(7, 2)))),
			map[[2]int64]allot.Code{{0, 1}: allot.ENoSeats, {7, 2}: ""}, []int64{2}},
		{"a free seat owed to a waiter outside is not taken",
			func() *Snapshot {
				s := snap(products(product(1, "E3", 1, 0)), user(100, "US", nil))
				s.WaitingOutside = map[int64]int{1: 1}
				return s
			}(),
			map[[2]int64]allot.Code{{0, 1}: allot.ENoSeats}, nil},
		{"a direct grant the user also has through a group is kept once",
			snap(products(product(1, "E3", 10, 0)), user(100, "US", grants(direct(1), via(7, 1)))),
			map[[2]int64]allot.Code{{0, 1}: "", {7, 1}: ""}, []int64{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := cloneSnapshot(c.s)
			p, err := Restore(c.s, []Grant{direct(1, "E3-b")})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(before, c.s) {
				t.Error("Restore changed its snapshot")
			}
			up := p.Users[0]
			if len(up.After) != len(c.want) {
				t.Fatalf("after %+v, want %v", up.After, c.want)
			}
			for _, st := range up.After {
				code, ok := c.want[[2]int64{st.Source, st.ProductID}]
				if !ok || st.Code != code || (code == "") != (st.State == allot.StateActive) {
					t.Errorf("state %+v, want code %q", st, code)
				}
				if st.Source == allot.DirectSource && !slices.Equal(st.DisabledPlans, []string{"E3-b"}) {
					t.Errorf("direct state lost its disabled plans: %+v", st)
				}
			}
			if !slices.Equal(up.Gained, c.gained) {
				t.Errorf("gained %v, want %v", up.Gained, c.gained)
			}
		})
	}
}
