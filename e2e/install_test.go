package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestReadmeInstallsBeforeUse: the README's first shell command that runs
// `allot` comes after `go install ./cmd/allot`, and that command, run as
// written from the module root, installs a binary whose `allot version`
// names the build (a newcomer following the README in order never meets
// "command not found").
func TestReadmeInstallsBeforeUse(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	install, firstUse, inSh := 0, 0, false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "```"):
			inSh = line == "```sh"
		case !inSh:
		case line == "go install ./cmd/allot" && install == 0:
			install = n
		case (strings.HasPrefix(line, "allot ") || strings.Contains(line, " allot ")) && !strings.HasPrefix(line, "#") && firstUse == 0:
			firstUse = n
		}
	}
	if install == 0 || firstUse == 0 || firstUse < install {
		t.Fatalf("README: `go install ./cmd/allot` on line %d, first allot command on line %d; the install must come first", install, firstUse)
	}
	bin := t.TempDir()
	cmd := exec.Command("go", "install", "./cmd/allot")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install ./cmd/allot: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(bin, "allot"), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("allot version: %v\n%s", err, out)
	}
	if v := string(out); !strings.HasPrefix(v, "allot ") || !strings.Contains(v, runtime.Version()) {
		t.Fatalf("allot version = %q, want 'allot VERSION … %s'", v, runtime.Version())
	}
}
