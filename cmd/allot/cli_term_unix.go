//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// readNoEcho turns echo off on the terminal f, then shows the prompt and
// reads a line: in that order, so that nothing typed right after the prompt
// appears on the screen.
func readNoEcho(f *os.File, prompt func()) (string, error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		prompt()
		return readLine(f)
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &quiet); err != nil {
		prompt()
		return readLine(f)
	}
	defer unix.IoctlSetTermios(fd, ioctlSetTermios, old)
	prompt()
	return readLine(f)
}
