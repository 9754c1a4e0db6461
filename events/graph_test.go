package events

import (
	"testing"
	"time"

	"allot"
)

func TestParseResourceAcceptsGraphsSpellingsAndRefusesOthers(t *testing.T) {
	const id = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"users", "users", true},
		{"/Users", "users", true},
		{"groups", "groups", true},
		{"users/" + id, "users/3f2504e0-4f89-11d3-9a0c-0305e82c3301", true},
		{"groups/" + id + "/members", "groups/3f2504e0-4f89-11d3-9a0c-0305e82c3301/members", true},
		{"users/" + id + "/members", "", false},
		{"users/adele", "", false},
		{"me/messages", "", false},
		{"", "", false},
	} {
		r, err := ParseResource(tc.in)
		if (err == nil) != tc.ok || (tc.ok && r.String() != tc.want) {
			t.Errorf("ParseResource(%q) = %q, %v; want %q, ok %v", tc.in, r.String(), err, tc.want, tc.ok)
		}
		if err != nil && allot.ErrorCode(err) != CodeInvalidRequest {
			t.Errorf("ParseResource(%q): code %s, want InvalidRequest", tc.in, allot.ErrorCode(err))
		}
	}
}

func TestChangeTypeIsUpdatedOrDeletedForUsersAndGroups(t *testing.T) {
	for in, want := range map[string]string{"updated": "updated", "Deleted, updated": "deleted,updated", "updated,updated": "updated"} {
		if got, err := ParseChangeType(in); err != nil || got != want {
			t.Errorf("ParseChangeType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"created", "updated,created", "", "changed"} {
		if _, err := ParseChangeType(in); err == nil {
			t.Errorf("ParseChangeType(%q) accepted", in)
		}
	}
}

func TestExpirationIsInTheFutureAndAtMost41760Minutes(t *testing.T) {
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		after time.Duration
		ok    bool
	}{{time.Minute, true}, {41760 * time.Minute, true}, {41760*time.Minute + time.Second, false}, {0, false}, {-time.Hour, false}} {
		if err := CheckExpiration(now, now.Add(tc.after)); (err == nil) != tc.ok {
			t.Errorf("expiration now+%v: %v, want ok %v", tc.after, err, tc.ok)
		}
	}
}
