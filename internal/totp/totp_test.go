package totp

import (
	"testing"
	"time"
)

// TestCodeMatchesRFC6238 checks the SHA-1 test vectors of RFC 6238
// Appendix B (8 digits; 6-digit codes are their last six).
func TestCodeMatchesRFC6238(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, c := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		st := Step(time.Unix(c.unix, 0))
		if got := Code(key, st, 8); got != c.want {
			t.Errorf("T=%d: got %s, want %s", c.unix, got, c.want)
		}
		if got := Code(key, st, 6); got != c.want[2:] {
			t.Errorf("T=%d 6 digits: got %s, want %s", c.unix, got, c.want[2:])
		}
	}
}

// TestMatchAcceptsOneStepEitherWayOnce checks the ±1 step window and that a
// step at or before the last used one is refused.
func TestMatchAcceptsOneStepEitherWayOnce(t *testing.T) {
	secret := b32.EncodeToString([]byte("12345678901234567890"))
	now := time.Unix(1111111111, 0)
	cur := Step(now)
	key := []byte("12345678901234567890")
	for _, c := range []struct {
		name string
		step int64
		last int64
		ok   bool
	}{
		{"current step", cur, 0, true},
		{"one step before", cur - 1, 0, true},
		{"one step after", cur + 1, 0, true},
		{"two steps before", cur - 2, 0, false},
		{"two steps after", cur + 2, 0, false},
		{"replay of the last used step", cur, cur, false},
		{"a step before the last used one", cur - 1, cur, false},
	} {
		st, ok := Match(secret, Code(key, c.step, Digits), now, c.last)
		if ok != c.ok || (ok && st != c.step) {
			t.Errorf("%s: got step %d ok %v", c.name, st, ok)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := Match(secret, bad, now, 0); ok {
			t.Errorf("%q matched", bad)
		}
	}
}
