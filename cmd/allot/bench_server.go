package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"

	"allot/httpapi"
	"allot/reconcile"
	"allot/scim"
	"allot/store/sqlstore"
)

// benchServer is an allot server in this process on a loopback port, with
// the Graph and SCIM surfaces mounted as `allot serve` mounts them and,
// when asked, the reconcile worker running. The per-token rate limit would
// cap a benchmark's one client; benchmarks measure the service, so it is
// off.
type benchServer struct {
	// URL is the server's base URL, such as http://127.0.0.1:40123.
	URL  string
	stop func()
}

// startBenchServer starts a benchServer on st; withWorker also runs the
// reconcile worker (group licensing, waiters) until Close.
func startBenchServer(ctx context.Context, st *sqlstore.Store, withWorker bool) (*benchServer, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	limits := httpapi.DefaultLimits
	limits.RatePerSecond = 0
	api := httpapi.New(st, log, limits)
	api.MountSCIM(scim.Prefix, scim.New(st, log))
	base, stopHTTP, err := serveLoopback(api.Handler())
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	wdone := make(chan struct{})
	if withWorker {
		w := reconcile.New(st, log)
		go func() { defer close(wdone); w.Run(wctx) }()
	} else {
		close(wdone)
	}
	return &benchServer{URL: base, stop: func() {
		stopHTTP()
		cancel()
		<-wdone
	}}, nil
}

// Close stops the server and the worker.
func (b *benchServer) Close() { b.stop() }

// newBenchWorker is a reconcile worker on st that logs nothing, for a
// benchmark's set-up to drain.
func newBenchWorker(st *sqlstore.Store) *reconcile.Worker {
	return reconcile.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// loadAverage is the first three fields of /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}
