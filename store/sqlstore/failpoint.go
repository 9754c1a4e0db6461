package sqlstore

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// failpoints are crash hooks for tests: ALLOT_FAILPOINTS=name=probability,...
// makes the process kill itself (SIGKILL) at the named point with that
// probability. Unset, they cost a nil map lookup.
type failpoints map[string]float64

func parseFailpoints(spec string) failpoints {
	if spec == "" {
		return nil
	}
	fp := failpoints{}
	for _, kv := range strings.Split(spec, ",") {
		name, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if p, err := strconv.ParseFloat(v, 64); err == nil && name != "" {
			fp[name] = p
		}
	}
	return fp
}

// failpoint kills the process at the named point when a test asked for it.
func (s *Store) failpoint(name string) {
	if p, ok := s.fail[name]; ok && rand.Float64() < p {
		os.Stderr.WriteString("allot: failpoint " + name + " fired\n")
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
}
