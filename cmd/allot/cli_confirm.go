package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"allot"
	"allot/client"
)

// maxLossLines is how many of the licenses a change would take away the
// CLI lists one by one; the rest are counted.
const maxLossLines = 20

// lossFlag is --yes of the commands that can take licenses away from people.
type lossFlag struct{ yes bool }

func (f *lossFlag) add(cmd *cobra.Command) {
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false,
		"take licenses away from people without asking, if the change does that as a side effect")
}

// lossHelp is the --help paragraph of those commands.
const lossHelp = `When the change would take licenses away from people as a side effect (a product whose
prerequisite goes, fewer seats than are in use, a nested group's members losing what its parent
assigns), the server refuses it and lists who would lose what. On a terminal the command shows
that list and asks "Remove these licenses? [y/N]"; elsewhere (scripts, pipes) it changes nothing
and exits with status 5: run it again with --yes to go ahead.`

// confirmLoss runs change and, when the server refuses it because people
// would lose licenses, shows who would lose what and asks on a terminal
// before sending it again confirmed; without a terminal it fails, telling
// the person to pass --yes. With yes, the change is confirmed up front.
func (f *lossFlag) confirmLoss(cmd *cobra.Command, c *client.Client, change func(c *client.Client) error) error {
	if f.yes {
		return change(c.Confirming())
	}
	err := change(c)
	refusal, ok := client.LicenseLoss(err)
	if !ok {
		return err
	}
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !isTerminal(in) {
		return allot.Errorf(allot.ELicenseLoss, "%s\n%sNothing changed. Run the command again with --yes to take these licenses away.",
			strings.TrimSpace(refusal.Message), lossList(refusal.Details))
	}
	w := cmd.ErrOrStderr()
	fmt.Fprint(w, lossList(refusal.Details))
	if !ask(w, in, "Remove these licenses? [y/N] ") {
		return allot.Errorf(allot.ELicenseLoss, "Nothing changed: no license was taken away.")
	}
	return change(c.Confirming())
}

// ask shows a yes/no question on w and reads the answer from in; only an
// explicit yes counts.
func ask(w io.Writer, in io.Reader, question string) bool {
	fmt.Fprint(w, question)
	ans, err := readLine(in)
	if err != nil {
		fmt.Fprintln(w)
		return false
	}
	switch strings.ToLower(strings.TrimSpace(ans)) {
	case "y", "yes":
		return true
	}
	return false
}

// lossList says who would lose what: a count, the first maxLossLines of the
// server's details, and how many more.
func lossList(details []client.ErrorDetail) string {
	if len(details) == 0 {
		return ""
	}
	people := map[string]bool{}
	for _, d := range details {
		people[d.Target] = true
	}
	var b strings.Builder
	if len(details) >= client.MaxErrorDetails {
		b.WriteString("At least ")
	}
	fmt.Fprintf(&b, "%s would lose %s:\n", plural(len(people), "person", "people"), plural(len(details), "license", "licenses"))
	for _, d := range details[:min(len(details), maxLossLines)] {
		msg := d.Message
		if msg == "" {
			msg = d.Target + " would lose a license (" + d.Code + ")"
		}
		fmt.Fprintf(&b, "  %s\n", msg)
	}
	if more := len(details) - maxLossLines; more > 0 {
		fmt.Fprintf(&b, "  ...and %s more.\n", thousands(more))
	}
	return b.String()
}
