package licensing

import (
	"testing"

	"allot"
)

func TestReclaim_DisabledUsersGetANoticeThenLoseTheLicense(t *testing.T) {
	r := ReclaimRule{ID: 1, ProductID: VISIO, DisabledFor: 100, Notice: 50}
	cases := []struct {
		name string
		c    ReclaimCandidate
		now  int64
		want string
		at   int64
	}{
		{"an enabled user is left alone", ReclaimCandidate{UserID: 1, Enabled: true}, 1000, ReclaimNone, 0},
		{"a user disabled for less than the period waits", ReclaimCandidate{UserID: 1, DisabledSince: 950}, 1000, ReclaimNone, 1050},
		{"a user disabled for the period gets a notice", ReclaimCandidate{UserID: 1, DisabledSince: 900}, 1000, ReclaimNotify, 1050},
		{"a notice not yet run out waits", ReclaimCandidate{UserID: 1, DisabledSince: 800, NoticedAt: 960}, 1000, ReclaimNone, 1010},
		{"a notice run out reclaims", ReclaimCandidate{UserID: 1, DisabledSince: 800, NoticedAt: 950}, 1000, ReclaimTake, 0},
		{"a user enabled again after a notice has it withdrawn", ReclaimCandidate{UserID: 1, Enabled: true, NoticedAt: 900}, 1000, ReclaimCancel, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := DecideReclaim(r, []ReclaimCandidate{c.c}, c.now)[0]
			if got.Action != c.want || got.At != c.at {
				t.Errorf("action %q at %d, want %q at %d", got.Action, got.At, c.want, c.at)
			}
		})
	}
}

func TestReclaim_AReclaimedSeatGoesAndNothingElseIs(t *testing.T) {
	take := func(pid int64, users ...int64) decision {
		return func(s *Snapshot) (*Plan, any, error) {
			m := map[int64]bool{}
			for _, u := range users {
				m[u] = true
			}
			p, skipped := Reclaim(s, pid, m)
			return p, skipped, nil
		}
	}
	runCases(t, []ruleCase{
		{
			name: "the reclaimed direct license goes, a group's license of the same product stays",
			snap: snap(products(visio(2, 2), e5(5, 1)),
				user(1, "US", grants(direct(VISIO), direct(E5)), active(VISIO, 0, 5), active(E5, 0, 6)),
				user(2, "US", grants(direct(VISIO), via(sales, VISIO)), active(VISIO, 0, 7), active(VISIO, sales, 8))),
			do:   take(VISIO, 1, 2),
			want: map[int64]string{1: "2@0=Active", 2: "4@7=Active"}, lost: map[int64][]int64{1: ids(VISIO), 2: nil}, consumed: m{VISIO: -1},
			check: func(t *testing.T, _ *Snapshot, p *Plan, _ any) {
				if ls := p.Unconfirmed(Removed{{allot.DirectSource, VISIO}: true}); len(ls) != 0 {
					t.Errorf("a reclamation's loss needs confirmation: %v", ls)
				}
			},
		},
		{
			name: "a user whose add-on needs the reclaimed product keeps both and is skipped",
			snap: snap(products(e5(5, 1), addon(5, 1)), user(1, "US", grants(direct(E5), direct(ADDON)), active(E5, 0, 5), active(ADDON, 0, 6))),
			do:   take(E5, 1), unchanged: []int64{1},
			check: func(t *testing.T, _ *Snapshot, _ *Plan, extra any) {
				if s := extra.([]int64); len(s) != 1 || s[0] != 1 {
					t.Errorf("skipped %v, want user 1", s)
				}
			},
		},
	})
}

func TestReclaim_InactiveUsersGetANoticeThenLoseTheLicense(t *testing.T) {
	const sales = 7
	r := ReclaimRule{ID: 1, ProductID: VISIO, Kind: ReclaimNoActivity, InactiveFor: 100, Notice: 50, ExemptGroups: []int64{sales}}
	cases := []struct {
		name string
		c    ReclaimCandidate
		now  int64
		want string
		at   int64
	}{
		{"a user active within the period is left alone until it ends", ReclaimCandidate{UserID: 1, Enabled: true, LastActive: 950, AssignedAt: 100}, 1000, ReclaimNone, 1050},
		{"a user inactive for the period gets a notice", ReclaimCandidate{UserID: 1, Enabled: true, LastActive: 900, AssignedAt: 100}, 1000, ReclaimNotify, 1050},
		{"a user never active counts from the assignment", ReclaimCandidate{UserID: 1, Enabled: true, AssignedAt: 950}, 1000, ReclaimNone, 1050},
		{"a user never active since an old assignment gets a notice", ReclaimCandidate{UserID: 1, Enabled: true, AssignedAt: 850}, 1000, ReclaimNotify, 1050},
		{"activity before the assignment does not shorten a new license's period", ReclaimCandidate{UserID: 1, Enabled: true, LastActive: 100, AssignedAt: 950}, 1000, ReclaimNone, 1050},
		{"a notice run out reclaims", ReclaimCandidate{UserID: 1, Enabled: true, LastActive: 800, NoticedAt: 950}, 1000, ReclaimTake, 0},
		{"a notice not yet run out waits", ReclaimCandidate{UserID: 1, Enabled: true, LastActive: 800, NoticedAt: 980}, 1000, ReclaimNone, 1030},
		{"activity after the notice withdraws it", ReclaimCandidate{UserID: 1, Enabled: true, LastActive: 990, NoticedAt: 950}, 1000, ReclaimCancel, 0},
		{"a keep answer withdraws the notice", ReclaimCandidate{UserID: 1, Enabled: true, LastActive: 800, NoticedAt: 950, KeptAt: 960}, 1000, ReclaimCancel, 0},
		{"a keep answer starts the period again", ReclaimCandidate{UserID: 1, Enabled: true, LastActive: 100, KeptAt: 960}, 1000, ReclaimNone, 1060},
		{"a member of an exempt group is never noticed", ReclaimCandidate{UserID: 1, Enabled: true, LastActive: 100, Groups: []int64{3, sales}}, 1000, ReclaimNone, 0},
		{"a notice of a member who joined an exempt group is withdrawn", ReclaimCandidate{UserID: 1, LastActive: 100, NoticedAt: 950, Groups: []int64{sales}}, 1000, ReclaimCancel, 0},
		{"a member of another group is not exempt", ReclaimCandidate{UserID: 1, Enabled: true, LastActive: 100, Groups: []int64{3}}, 1000, ReclaimNotify, 1050},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := DecideReclaim(r, []ReclaimCandidate{c.c}, c.now)[0]
			if got.Action != c.want || got.At != c.at {
				t.Errorf("action %q at %d, want %q at %d", got.Action, got.At, c.want, c.at)
			}
		})
	}
}

func TestReclaim_DisabledRulesHonourExemptGroupsAndKeepAnswers(t *testing.T) {
	r := ReclaimRule{ID: 1, ProductID: VISIO, DisabledFor: 100, Notice: 50, ExemptGroups: []int64{9}}
	cases := []struct {
		name string
		c    ReclaimCandidate
		want string
		at   int64
	}{
		{"a disabled member of an exempt group keeps the license", ReclaimCandidate{UserID: 1, DisabledSince: 100, Groups: []int64{9}}, ReclaimNone, 0},
		{"a keep answer after the notice withdraws it", ReclaimCandidate{UserID: 1, DisabledSince: 100, NoticedAt: 950, KeptAt: 970}, ReclaimCancel, 0},
		{"a keep answer counts the period from the answer", ReclaimCandidate{UserID: 1, DisabledSince: 100, KeptAt: 970}, ReclaimNone, 1070},
		{"a user disabled again after a notice starts over", ReclaimCandidate{UserID: 1, DisabledSince: 990, NoticedAt: 900}, ReclaimCancel, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := DecideReclaim(r, []ReclaimCandidate{c.c}, 1000)[0]
			if got.Action != c.want || got.At != c.at {
				t.Errorf("action %q at %d, want %q at %d", got.Action, got.At, c.want, c.at)
			}
		})
	}
}
