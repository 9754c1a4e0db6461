//go:build linux

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: the controlling side (what a
// terminal emulator reads and writes) and the terminal the program gets.
func openPTY(t *testing.T) (ctl, term *os.File) {
	t.Helper()
	ctl, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	fd := int(ctl.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		ctl.Close()
		t.Skipf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		ctl.Close()
		t.Skipf("pty number: %v", err)
	}
	term, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		ctl.Close()
		t.Skipf("open pty: %v", err)
	}
	t.Cleanup(func() { ctl.Close(); term.Close() })
	return ctl, term
}

// ttyRun runs allot with standard input and error on a terminal (standard
// output to a buffer); answer is typed once prompt appears on the terminal.
func (c *cli) ttyRun(prompt, answer string, args ...string) (stdout, screen string, code int) {
	c.t.Helper()
	ctl, term := openPTY(c.t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, allotBin(), args...)
	cmd.Env = cleanEnv(append(append([]string{}, c.env...), "TERM=xterm")...)
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = term, &out, term
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	var mu sync.Mutex
	var scr bytes.Buffer
	typed := false
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := ctl.Read(buf)
			mu.Lock()
			scr.Write(buf[:n])
			if !typed && prompt != "" && strings.Contains(scr.String(), prompt) {
				typed = true
				ctl.Write([]byte(answer + "\n"))
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	err := cmd.Wait()
	// Let the reader drain what is left, then stop it.
	time.Sleep(100 * time.Millisecond)
	term.Close()
	ctl.SetReadDeadline(time.Now().Add(time.Second))
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return out.String(), scr.String(), code
}

// TestTerminal: on a terminal, login asks for the token without echoing it,
// and import and assign-group draw a progress bar (which a pipe never gets).
func TestTerminal(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t, nil)
	out, screen, code := c.ttyRun("API token for", srv.Token, "login", "--url", srv.URL)
	if code != 0 || !strings.Contains(out, "Signed in to "+srv.URL) {
		t.Fatalf("login on a terminal: exit %d\nstdout: %s\nscreen: %q", code, out, screen)
	}
	if strings.Contains(screen, srv.Token) {
		t.Fatalf("the token was echoed: %q", screen)
	}
	if fi, err := os.Stat(filepath.Join(c.home, ".config", "allot", "config.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config after a terminal login: %v", err)
	}

	users := e5Users(c)
	var b strings.Builder
	b.WriteString("Email\n")
	for _, u := range users[:20] {
		b.WriteString(u.UserPrincipalName + "\n")
	}
	file := writeFile(t, "tty.csv", b.String())
	out, screen, code = c.ttyRun("", "", "import", file, "--sku", "SPE_E3", "--batch-size", "5")
	if code != 0 || !strings.Contains(out, "licensed          20") {
		t.Fatalf("import on a terminal: exit %d\nstdout: %s\nscreen: %q", code, out, screen)
	}
	if !strings.Contains(screen, "\rImporting [") || !strings.Contains(screen, "20/20") || !strings.Contains(screen, "\x1b[K") {
		t.Fatalf("no progress bar on the terminal: %q", screen)
	}
	if r := c.run("import", file, "--sku", "SPE_E3"); strings.Contains(r.stderr, "[#") || strings.Contains(r.stdout, "[#") {
		t.Fatalf("a progress bar on a pipe:\n%s", r)
	}

	c.ok("groups", "create", "--name", "TTY Group")
	args := []string{"groups", "members", "add", "TTY Group"}
	for _, u := range users[:10] {
		args = append(args, u.UserPrincipalName)
	}
	c.ok(args...)
	out, _, code = c.ttyRun("", "", "license", "assign-group", "TTY Group", "--sku", insights)
	if code != 0 || !strings.Contains(out, `Group "TTY Group": 10 members have licenses, 0 members do not.`) {
		t.Fatalf("assign-group on a terminal: exit %d\n%s", code, out)
	}
}

// TestTerminalAsksBeforeLicenseLoss: on a terminal, remove-group shows who
// would lose what and asks; "n" changes nothing (exit 5), "y" removes.
func TestTerminalAsksBeforeLicenseLoss(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t, srv)
	users := lossGroup(c, "TTY Loss", 2)
	ins := skus(c)[insights].SkuID
	const prompt = "Remove these licenses? [y/N]"

	out, screen, code := c.ttyRun(prompt, "n", "license", "remove-group", "TTY Loss", "--sku", "SPE_E3")
	if code != 5 || !strings.Contains(screen, "2 people would lose 2 licenses:") || !strings.Contains(screen, "Nothing changed") {
		t.Fatalf("answered no: exit %d\nstdout: %s\nscreen: %q", code, out, screen)
	}
	for _, u := range users {
		if !strings.Contains(screen, u.UserPrincipalName+" would lose "+insights) {
			t.Fatalf("the prompt does not list %s: %q", u.UserPrincipalName, screen)
		}
		if !holdsSku(c, u.UserPrincipalName, ins) {
			t.Fatalf("%s lost Insights after answering no", u.UserPrincipalName)
		}
	}
	if strings.Index(screen, users[0].UserPrincipalName) > strings.Index(screen, prompt) {
		t.Fatalf("the list comes after the question: %q", screen)
	}

	out, screen, code = c.ttyRun(prompt, "y", "license", "remove-group", "TTY Loss", "--sku", "SPE_E3")
	if code != 0 || !strings.Contains(out, "no longer assigns SPE_E3") {
		t.Fatalf("answered yes: exit %d\nstdout: %s\nscreen: %q", code, out, screen)
	}
	for _, u := range users {
		if holdsSku(c, u.UserPrincipalName, ins) {
			t.Fatalf("%s still holds Insights after answering yes", u.UserPrincipalName)
		}
	}
}
