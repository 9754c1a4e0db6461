// Command allot is the license-assignment service and its command-line tool:
// `allot serve` runs the server; operator commands (`tenant`, `token`,
// `bench`, `backup`, `check`) work on a data directory or database directly.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"allot"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	if err := root.ExecuteContext(ctx); err != nil {
		code := allot.ErrorCode(err)
		msg := allot.ErrorMessage(err)
		if code == allot.EInternal {
			msg = err.Error()
		}
		fmt.Fprintf(os.Stderr, "allot: %s\n", msg)
		os.Exit(exitCode(code))
	}
}

// exitCode maps an error code to the process exit status, once for the CLI.
func exitCode(c allot.Code) int {
	switch c {
	case allot.EInvalid, allot.EConflict:
		return 2
	case allot.ENotFound:
		return 3
	case allot.EUnauthorized, allot.EForbidden:
		return 4
	case allot.ELicenseLoss:
		return 5
	}
	return 1
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "allot",
		Short: "Self-hosted license assignment with a Microsoft Graph-compatible API",
		Long: `allot hands out seats of products (Microsoft 365 E3/E5, Workplace Analytics Insights, your own)
to users directly or through security groups, and keeps every user's licenses right as people
join and leave groups.

Start a server with a demo tenant:   allot serve --demo
Create another tenant and a token:   allot tenant create --data ./allot-data --name Fabrikam --data-location EUR`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServe(), newTenant(), newToken(), newBench(), newAccount(), newVersion(), newBackup(), newRestore(), newCheck(), newHealth())
	addClientCommands(root)
	return root
}
