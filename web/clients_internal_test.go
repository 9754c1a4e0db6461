package web

import (
	"testing"
	"time"

	"allot/store/sqlstore"
)

func TestAgo(t *testing.T) {
	now := time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second: "just now", time.Minute: "1 minute ago", 59 * time.Minute: "59 minutes ago",
		time.Hour: "1 hour ago", 47 * time.Hour: "47 hours ago", 72 * time.Hour: "3 days ago",
	} {
		if got := ago(now.Add(-d), now); got != want {
			t.Errorf("ago(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestClientState(t *testing.T) {
	now := time.Now()
	for want, c := range map[string]*sqlstore.APIClient{
		"Active":  {ExpiresAt: now.Add(time.Hour)},
		"Expired": {ExpiresAt: now.Add(-time.Hour)},
		"Revoked": {RevokedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)},
	} {
		if got := clientState(c, now); got != want {
			t.Errorf("state %q, want %q", got, want)
		}
	}
}
