package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print allot's version, the commit it was built from and the Go version",
		Example: `  allot version`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			bi, _ := debug.ReadBuildInfo()
			fmt.Fprintln(cmd.OutOrStdout(), versionLine(bi))
			return nil
		},
	}
}

// versionLine describes the build: the module version (a tag, a
// pseudo-version or "(devel)"), the VCS revision and time, whether the
// working tree had uncommitted changes, and the Go version and platform.
func versionLine(bi *debug.BuildInfo) string {
	if bi == nil {
		return "allot (no build information) " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var vcs []string
	set := map[string]string{}
	for _, s := range bi.Settings {
		set[s.Key] = s.Value
	}
	if rev := set["vcs.revision"]; rev != "" {
		vcs = append(vcs, "commit "+rev)
	}
	if t := set["vcs.time"]; t != "" {
		vcs = append(vcs, t)
	}
	if set["vcs.modified"] == "true" {
		vcs = append(vcs, "modified")
	}
	detail := ""
	if len(vcs) > 0 {
		detail = " (" + strings.Join(vcs, ", ") + ")"
	}
	return fmt.Sprintf("allot %s%s %s %s/%s", version, detail, bi.GoVersion, runtime.GOOS, runtime.GOARCH)
}
