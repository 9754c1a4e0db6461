package sqlstore

import (
	"strings"
	"testing"
)

func TestParseFailpoints(t *testing.T) {
	for _, spec := range []string{"", "  "} {
		fps, err := parseFailpoints(spec)
		if err != nil || fps != nil {
			t.Errorf("parseFailpoints(%q) = %v, %v; want none armed", spec, fps, err)
		}
	}
	fps, err := parseFailpoints("apply.states=0.25, apply.counters=3,apply.audit=0")
	if err != nil {
		t.Fatal(err)
	}
	if len(fps) != 3 || fps["apply.states"].prob != 0.25 || fps["apply.counters"].left.Load() != 3 || fps["apply.audit"].prob != 0 {
		t.Errorf("parsed %+v", fps)
	}
	for _, bad := range []string{"apply.states", "nope=1", "apply.states=1.5", "apply.states=-1", "apply.states=x", "apply.states=0.1,", "apply.audit=-0.1"} {
		if _, err := parseFailpoints(bad); err == nil || !strings.Contains(err.Error(), FailpointsEnv) {
			t.Errorf("parseFailpoints(%q): err %v, want an error naming %s", bad, err, FailpointsEnv)
		}
	}
}

// fires counts how many of n hits fire.
func fires(f *failpoint, n int) (count, first int) {
	for i := 1; i <= n; i++ {
		if f.fire() {
			if count == 0 {
				first = i
			}
			count++
		}
	}
	return count, first
}

func TestFailpointFires(t *testing.T) {
	for _, c := range []struct {
		val          string
		count, first int
	}{
		{"3", 1, 3},   // the 3rd hit, once
		{"1", 1, 1},   // the 1st
		{"0", 0, 0},   // never
		{"0.0", 0, 0}, // never
		{"1.0", 1000, 1},
	} {
		f, err := parseFailpoint(c.val)
		if err != nil {
			t.Fatal(err)
		}
		if count, first := fires(f, 1000); count != c.count || first != c.first {
			t.Errorf("%s: fired %d times, first at hit %d; want %d, %d", c.val, count, first, c.count, c.first)
		}
	}
	f, _ := parseFailpoint("0.1")
	if count, _ := fires(f, 10000); count < 800 || count > 1200 {
		t.Errorf("0.1: fired %d of 10000 hits", count)
	}
}

// TestFailpointUnarmed checks that a store without failpoints, and a
// failpoint reached with nothing uncommitted, do not fire (firing would
// kill the test process).
func TestFailpointUnarmed(t *testing.T) {
	s := &Store{}
	s.failpoint("apply.states", 250)
	fps, err := parseFailpoints("apply.states=1")
	if err != nil {
		t.Fatal(err)
	}
	s.fail = fps
	s.failpoint("apply.states", 0)
	s.failpoint("apply.counters", 250)
	if fps["apply.states"].left.Load() != 1 {
		t.Error("a hit with nothing uncommitted counted")
	}
}
