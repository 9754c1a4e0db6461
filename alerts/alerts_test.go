package alerts

import (
	"testing"
	"time"

	"allot/internal/egress"
	"allot/store/sqlstore"
)

func TestRulesFireAtTheirThresholds(t *testing.T) {
	seats := func(enabled, consumed, waiting int) sqlstore.AlertSeats {
		return sqlstore.AlertSeats{Enabled: enabled, Consumed: consumed, Waiting: waiting}
	}
	for _, tc := range []struct {
		name      string
		metric    int
		threshold float64
		c         sqlstore.AlertSeats
		want      bool
	}{
		{"22 of 25 is 88%: below 90%", Utilization, 90, seats(25, 22, 0), false},
		{"23 of 25 is 92%: fires at 90%", Utilization, 90, seats(25, 23, 0), true},
		{"exactly the percent fires", Utilization, 80, seats(25, 20, 0), true},
		{"23 of 30 after buying seats resolves", Utilization, 90, seats(30, 23, 0), false},
		{"no seats, none used: 0%", Utilization, 90, seats(0, 0, 0), false},
		{"2 available fires at ≤ 2", AvailableSeats, 2, seats(25, 23, 0), true},
		{"3 available does not fire at ≤ 2", AvailableSeats, 2, seats(25, 22, 0), false},
		{"over-consumed counts 0 available", AvailableSeats, 0, seats(10, 12, 0), true},
		{"5 waiting fires above 4", WaitingList, 4, seats(10, 10, 5), true},
		{"4 waiting does not fire above 4", WaitingList, 4, seats(10, 10, 4), false},
		{"one user in error fires above 0", LicenseErrors, 0, sqlstore.AlertSeats{Errors: 1}, true},
		{"no user in error does not fire", LicenseErrors, 0, sqlstore.AlertSeats{Errors: 0, Waiting: 3}, false},
		{"a wait of 61 minutes fires above 60", OldestWait, 60, sqlstore.AlertSeats{OldestWait: 61 * time.Minute}, true},
		{"a wait of 59 minutes does not fire above 60", OldestWait, 60, sqlstore.AlertSeats{OldestWait: 59 * time.Minute, Waiting: 99}, false},
		{"processing 6 minutes behind fires above 5", ProcessingLag, 5, sqlstore.AlertSeats{Lag: 6 * time.Minute}, true},
		{"processing up to date does not fire", ProcessingLag, 0, sqlstore.AlertSeats{}, false},
		{"3 notices fire above 2", ReclamationNotices, 2, sqlstore.AlertSeats{Notices: 3}, true},
		{"2 notices do not fire above 2", ReclamationNotices, 2, sqlstore.AlertSeats{Notices: 2}, false},
	} {
		if got := Breached(tc.metric, tc.threshold, tc.c); got != tc.want {
			t.Errorf("%s: Breached = %v, want %v (value %v)", tc.name, got, tc.want, Value(tc.metric, tc.c))
		}
	}
}

func TestRuleChecksRefuseBadThresholdsAndDestinations(t *testing.T) {
	for name, err := range map[string]error{
		"percent over 100": CheckRule(egress.Policy{}, Utilization, 101, "https://h.example.com/", nil, false),
		"negative":         CheckRule(egress.Policy{}, WaitingList, -1, "https://h.example.com/", nil, false),
		"nowhere to send":  CheckRule(egress.Policy{}, WaitingList, 0, "", nil, false),
		"relative URL":     CheckRule(egress.Policy{}, WaitingList, 0, "/hook", nil, false),
		"not an address":   CheckRule(egress.Policy{}, WaitingList, 0, "", []string{"Ops <ops@example.com>"}, false),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := CheckRule(egress.Policy{}, Utilization, 90, "", []string{"ops@example.com"}, false); err != nil {
		t.Errorf("a good rule: %v", err)
	}
}

func TestMetricsParseByTheirAPINames(t *testing.T) {
	for i := AvailableSeats; i <= ReclamationNotices; i++ {
		if got, err := ParseMetric(MetricName(i)); err != nil || got != i {
			t.Errorf("ParseMetric(%q) = %d, %v; want %d", MetricName(i), got, err, i)
		}
	}
	if _, err := ParseMetric("seatsLow"); err == nil {
		t.Error("an unknown metric parsed")
	}
}
