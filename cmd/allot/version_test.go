package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersionLine: the version names the module version, the commit, its
// time and a modified tree when the build info has them, and says (devel)
// without a module version.
func TestVersionLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want []string
	}{
		{"tagged build with commit", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			[]string{"allot v1.2.3 (commit abc123, 2026-12-01T10:00:00Z, modified) go1.26.8"}},
		{"development build without VCS", &debug.BuildInfo{GoVersion: "go1.26.8"}, []string{"allot (devel) go1.26.8"}},
		{"no build info", nil, []string{"allot (no build information)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := versionLine(tc.bi)
			for _, w := range tc.want {
				if !strings.HasPrefix(got, w) {
					t.Errorf("versionLine = %q, want prefix %q", got, w)
				}
			}
		})
	}
}
