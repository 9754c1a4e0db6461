// Package testbin builds a program of the module for tests that run it as a
// child process, and tells go test's cache what the program is built from.
//
// go test caches a package's test run under the test binary and the files
// the tests opened or stat'ed (by size and modification time), and runs the
// tests again when one of them changes. A program built with `go build` in
// TestMain is invisible to it: the test binary does not contain it, and
// TestMain's file accesses before m.Run are not logged. After a change that
// breaks the program, its tests would still "pass" from the cache. Binary
// therefore lists the files the program is built from when it is built, and
// opens them all the first time a test asks for its path (tests run inside
// m.Run, where accesses are logged).
package testbin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
)

// Binary is a program built, or given, for the tests.
type Binary struct {
	path    string
	env     string   // the environment variable that gave path, if any
	sources []string // the files path was built from
	once    sync.Once
}

// Build builds the main package pkg (as `go build` names it: an import path
// or a directory relative to the working directory) into the file path and
// lists the files it is built from (Sources).
func Build(pkg, path string) (*Binary, error) {
	sources, err := Sources(pkg)
	if err != nil {
		return nil, fmt.Errorf("list the sources of %s: %w", pkg, err)
	}
	if out, err := exec.Command("go", "build", "-o", path, pkg).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return &Binary{path: path, sources: sources}, nil
}

// FromEnv returns the binary that the environment variable env names, or
// nil when it is unset. go test does not check a file outside the module
// again: run tests of such a binary with -count=1.
func FromEnv(env string) *Binary {
	p := os.Getenv(env)
	if p == "" {
		return nil
	}
	return &Binary{path: p, env: env, sources: []string{p}}
}

// Path returns the binary's path. The first call opens every file the
// binary is built from (and reads env, for a binary given by one), so that
// go test's cache records them; call it from tests, not from TestMain.
func (b *Binary) Path() string {
	b.once.Do(func() {
		if b.env != "" {
			os.Getenv(b.env)
		}
		for _, f := range b.sources {
			if fh, err := os.Open(f); err == nil {
				fh.Close()
			}
		}
	})
	return b.path
}

// Sources returns the files that the main module's packages among pkg and
// its dependencies are built from: Go files (also those that build
// constraints exclude: a changed constraint may take them in), embedded
// files, the directories of both (a file added to one changes its listing),
// go.mod and go.sum. Packages of other modules are pinned by go.sum.
func Sources(pkg string) ([]string, error) {
	cmd := exec.Command("go", "list", "-deps", "-json=Dir,Module,GoFiles,CgoFiles,IgnoredGoFiles,EmbedFiles", pkg)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var files []string
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			files = append(files, f)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		add(p.Module.GoMod)
		add(filepath.Join(filepath.Dir(p.Module.GoMod), "go.sum"))
		add(p.Dir)
		for _, f := range slices.Concat(p.GoFiles, p.CgoFiles, p.IgnoredGoFiles, p.EmbedFiles) {
			f = filepath.Join(p.Dir, f)
			add(filepath.Dir(f))
			add(f)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no package of the main module among %s and its dependencies", pkg)
	}
	return files, nil
}

// listedPackage is the part of `go list -json` that Sources reads.
type listedPackage struct {
	Dir    string
	Module *struct {
		Main  bool
		GoMod string
	}
	GoFiles, CgoFiles, IgnoredGoFiles, EmbedFiles []string
}
