//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import "os"

// readNoEcho reads a line; on this system the input is echoed.
func readNoEcho(f *os.File, prompt func()) (string, error) {
	prompt()
	return readLine(f)
}
