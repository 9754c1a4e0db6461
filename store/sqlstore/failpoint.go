package sqlstore

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// FailpointsEnv names the environment variable that arms failpoints: places
// inside write transactions where the process kills itself with SIGKILL, so
// that crash tests can stop it with uncommitted changes in flight. Its value
// is a comma-separated list of name=value, where value is a probability with
// a decimal point (apply.states=0.05: at each hit, die with probability 5%)
// or a whole number N (apply.audit=3: die at the 3rd hit). Unset, failpoints
// cost one nil check. The failpoints are apply.states, apply.audit and
// apply.counters (see FailpointNames).
const FailpointsEnv = "ALLOT_FAILPOINTS"

// FailpointNames returns the failpoints in the order a batch of license
// changes reaches them: after its license states are written, after its
// audit rows are written, and after its seat, waiting and group error
// counters are updated, all before the transaction commits.
func FailpointNames() []string {
	return []string{"apply.states", "apply.audit", "apply.counters"}
}

// failpoints are the armed failpoints by name; nil when none is armed.
type failpoints map[string]*failpoint

// failpoint decides, at each hit, whether the process dies there.
type failpoint struct {
	prob float64      // die with this probability at each hit, or
	left atomic.Int64 // die at the hit that takes this from 1 to 0
}

// fire reports whether the process must die at this hit.
func (f *failpoint) fire() bool {
	if f.prob > 0 {
		return rand.Float64() < f.prob
	}
	return f.left.Add(-1) == 0
}

// parseFailpoints parses the value of FailpointsEnv. An empty spec arms none.
func parseFailpoints(spec string) (failpoints, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	fps := failpoints{}
	for _, item := range strings.Split(spec, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || !slices.Contains(FailpointNames(), name) {
			return nil, fmt.Errorf("%s: %q is not name=value with a name among %s", FailpointsEnv, item, strings.Join(FailpointNames(), ", "))
		}
		f, err := parseFailpoint(val)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", FailpointsEnv, name, err)
		}
		fps[name] = f
	}
	return fps, nil
}

// parseFailpoint parses a probability ("0.05") or a countdown ("3").
func parseFailpoint(val string) (*failpoint, error) {
	f := &failpoint{}
	if !strings.ContainsAny(val, ".eE") {
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is neither a probability (0.05) nor a hit count (3)", val)
		}
		f.left.Store(n)
		return f, nil
	}
	p, err := strconv.ParseFloat(val, 64)
	if err != nil || p < 0 || p > 1 {
		return nil, fmt.Errorf("%q is not a probability between 0 and 1", val)
	}
	f.prob = p // 0: never (the countdown is 0 too)
	return f, nil
}

// failpoint kills the process with SIGKILL when the failpoint name is armed
// and fires. pending is how many users' changes the open transaction holds
// uncommitted: with none a crash could lose nothing, so it does not fire.
// Before dying it writes one line to stderr that names the failpoint, for
// the test that restarts the process.
func (s *Store) failpoint(name string, pending int) {
	if s.fail == nil || pending == 0 {
		return
	}
	f := s.fail[name]
	if f == nil || !f.fire() {
		return
	}
	fmt.Fprintf(os.Stderr, "allot: failpoint %s: SIGKILL with %d users' changes uncommitted\n", name, pending)
	killSelf()
}
