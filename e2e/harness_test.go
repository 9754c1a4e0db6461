// Package e2e runs the real allot binary: `allot serve` as a child process on
// a temporary data directory and a free port, and the client commands
// against it, each in its own config directory.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"allot/internal/testbin"
)

// allotProgram is the allot binary under test: built by TestMain, or given in
// ALLOT_E2E_BIN.
var allotProgram *testbin.Binary

// allotBin returns the path of the allot binary. Its first call makes go
// test's cache depend on the files the binary is built from (testbin).
func allotBin() string { return allotProgram.Path() }

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if allotProgram = testbin.FromEnv("ALLOT_E2E_BIN"); allotProgram != nil {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "allot-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if allotProgram, err = testbin.Build("../cmd/allot", filepath.Join(dir, "allot")); err != nil {
		fmt.Fprintln(os.Stderr, "building allot:", err)
		return 1
	}
	return m.Run()
}

const adminToken = "e2e-admin-token-0123456789abcdef0123456789"

// logText returns what the server printed so far.
func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// server is a running `allot serve --demo`.
type server struct {
	URL   string
	Token string
	Data  string
	cmd   *exec.Cmd
	mu    sync.Mutex
	log   bytes.Buffer
}

var servingRE = regexp.MustCompile(`at (https?://127\.0\.0\.1:\d+)`)

// startServer starts `allot serve --demo` on a fresh data directory and a
// free port; it stops when the test ends.
func startServer(t *testing.T) *server { return startServerWith(t, nil) }

// startServerWith starts `allot serve --demo` with more environment
// variables and arguments.
func startServerWith(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	s := &server{Token: adminToken, Data: t.TempDir()}
	s.cmd = exec.Command(allotBin(), append([]string{"serve", "--demo", "--data", s.Data, "--addr", "127.0.0.1:0"}, args...)...)
	s.cmd.Env = cleanEnv(append([]string{"ALLOT_ADMIN_TOKEN=" + adminToken}, env...)...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if m := servingRE.FindStringSubmatch(line); m != nil && strings.Contains(line, "allot serving") {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			s.mu.Lock()
			t.Logf("server log:\n%s", s.log.String())
			s.mu.Unlock()
		}
	})
	select {
	case s.URL = <-found:
	case <-time.After(30 * time.Second):
		s.mu.Lock()
		defer s.mu.Unlock()
		t.Fatalf("allot serve did not start in 30 s:\n%s", s.log.String())
	}
	return s
}

// cleanEnv is the environment without any ALLOT_ variable, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ALLOT_") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// cli runs allot client commands with its own config directory.
type cli struct {
	t    *testing.T
	home string
	env  []string
}

// newCLI returns a CLI with an empty config directory and, when srv is
// given, ALLOT_URL and ALLOT_TOKEN set for it.
func newCLI(t *testing.T, srv *server) *cli {
	home := t.TempDir()
	c := &cli{t: t, home: home, env: []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}}
	if srv != nil {
		c.env = append(c.env, "ALLOT_URL="+srv.URL, "ALLOT_TOKEN="+srv.Token)
	}
	return c
}

// result is the outcome of one command.
type result struct {
	args   []string
	stdout string
	stderr string
	code   int
}

func (r result) String() string {
	return fmt.Sprintf("allot %s → exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// runIn runs allot with stdin and extra environment.
func (c *cli) runIn(stdin string, env []string, args ...string) result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, allotBin(), args...)
	cmd.Env = cleanEnv(append(append([]string{}, c.env...), env...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{args: args, stdout: out.String(), stderr: errb.String()}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else {
			c.t.Fatalf("allot %v: %v", args, err)
		}
	}
	return r
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	return c.runIn("", nil, args...)
}

// ok runs a command that must succeed and returns its standard output.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("unexpected failure:\n%s", r)
	}
	return r.stdout
}

// fail runs a command that must exit with code and mention every want in
// its standard error.
func (c *cli) fail(code int, want []string, args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != code {
		c.t.Fatalf("exit %d, want %d:\n%s", r.code, code, r)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			c.t.Fatalf("stderr does not mention %q:\n%s", w, r)
		}
	}
	return r
}

// okJSON runs a command with -o json and decodes its output into v.
func (c *cli) okJSON(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("allot %v -o json: %v\n%s", args, err, out)
	}
}

func contains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Fatalf("output does not contain %q:\n%s", w, out)
		}
	}
}

// lineWith returns the first line of out that contains every part.
func lineWith(t *testing.T, out string, parts ...string) string {
	t.Helper()
next:
	for _, l := range strings.Split(out, "\n") {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		return l
	}
	t.Fatalf("no line with %q in:\n%s", parts, out)
	return ""
}

// fields splits a table line into its cells (separated by 2+ spaces).
func fields(line string) []string {
	return regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
