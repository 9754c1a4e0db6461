package main

import (
	"strings"
	"testing"
)

// TestBenchAssignVerifiesBothRuns: bench assign assigns every user over
// HTTP and writes every floor row, and prints the figure beside its HTTP
// floor.
func TestBenchAssignVerifiesBothRuns(t *testing.T) {
	out, err := runCmd(t, "bench", "assign", "--users", "300", "--clients", "8")
	if err != nil {
		t.Fatalf("bench assign: %v\n%s", err, out)
	}
	for _, want := range []string{"verified: 300 assignments, consumedUnits 300", "HTTP floor (same clients", "% of the HTTP floor"} {
		if !strings.Contains(out, want) {
			t.Fatalf("bench assign output lacks %q:\n%s", want, out)
		}
	}
}
