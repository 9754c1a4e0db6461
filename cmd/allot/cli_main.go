package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"allot"
)

// addClientCommands adds the commands that talk to a running server over
// HTTP (login, skus, users, groups, license, import, completion), and
// `bench import` under the bench command.
func addClientCommands(root *cobra.Command) {
	mine := []*cobra.Command{newLogin(), newLogout(), newWhoami(), newSkus(), newUsers(), newGroups(), newLicense(), newClients(), newAlerts(), newImport(), newReports(), newCompletion(root)}
	root.AddCommand(mine...)
	// --help lists the client commands apart from the server's and the operator's.
	root.AddGroup(&cobra.Group{ID: "client", Title: "Commands that talk to a server (allot login first):"},
		&cobra.Group{ID: "operator", Title: "Server and operator commands (on the data directory or database):"})
	for _, c := range root.Commands() {
		switch {
		case c.GroupID != "":
		case slices.Contains(mine, c) && c.Name() != "completion":
			c.GroupID = "client"
		case c.Name() != "completion" && c.Name() != "help":
			c.GroupID = "operator"
		}
	}
	var usage func(c *cobra.Command)
	usage = func(c *cobra.Command) {
		// Wrong arguments are invalid usage (exit 2) with a pointer to --help.
		if orig := c.Args; orig != nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := orig(cmd, args); err != nil {
					return allot.Errorf(allot.EInvalid, "%v. See '%s --help'.", err, cmd.CommandPath())
				}
				return nil
			}
		}
		addCompletions(c)
		c.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
			return allot.Errorf(allot.EInvalid, "%v. See '%s --help'.", err, cmd.CommandPath())
		})
		for _, sub := range c.Commands() {
			usage(sub)
		}
	}
	for _, c := range mine {
		usage(c)
	}
	for _, c := range root.Commands() {
		if c.Name() == "bench" {
			bi := newBenchImport()
			usage(bi)
			c.AddCommand(bi)
		}
	}
}

func newCompletion(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print the completion script for your shell. Load it in the current shell, or install it:

  bash:        source <(allot completion bash)
               allot completion bash > /etc/bash_completion.d/allot
  zsh:         allot completion zsh > "${fpath[1]}/_allot"
  fish:        allot completion fish > ~/.config/fish/completions/allot.fish
  PowerShell:  allot completion powershell | Out-String | Invoke-Expression`,
		Example: `  source <(allot completion bash)
  allot completion zsh > "${fpath[1]}/_allot"
  allot completion fish > ~/.config/fish/completions/allot.fish`,
		ValidArgs:             []string{"bash", "zsh", "fish", "powershell"},
		Args:                  cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(w, true)
			case "zsh":
				return root.GenZshCompletion(w)
			case "fish":
				return root.GenFishCompletion(w, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(w)
			}
			return allot.Errorf(allot.EInvalid, "%s", fmt.Sprintf("Unknown shell '%s': use bash, zsh, fish or powershell.", args[0]))
		},
	}
}
