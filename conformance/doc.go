// Package conformance drives a real `allot serve` with Microsoft's Graph SDK
// for Go (msgraph-sdk-go), unmodified: its default HTTP pipeline
// (compression, retry, redirect, telemetry), its page iterator, its batch
// request helper and its delta request builders, through the flows that
// allot promises existing Graph scripts can run.
//
// It is a module of its own so that the main module's build stays light:
// the SDK takes minutes to compile. Run it with
//
//	cd conformance && go test -count=1 ./...
//
// It builds ../cmd/allot with the go command and starts it on a free port
// with a fresh data directory (SQLite) and the demo tenant.
package conformance
