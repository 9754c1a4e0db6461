//go:build !unix

package sqlstore

import (
	"os"
	"time"
)

// killSelf ends the process at once (TerminateProcess on Windows): no
// deferred function, commit or rollback runs.
func killSelf() {
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill()
	}
	time.Sleep(time.Minute)
	os.Exit(137)
}
