package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"allot"
)

// activityImport is the answer of POST /allot/v1/activityReports.
type activityImport struct {
	Imported int `json:"imported"`
	Failed   int `json:"failed"`
	Errors   []struct {
		Row     int    `json:"row"`
		Message string `json:"message"`
	} `json:"errors"`
}

func newImportActivity() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "activity FILE.csv",
		Short: "Import an activity report (who was last active on which product) for no-activity reclamation",
		Long: `Send an activity report to the server (POST /allot/v1/activityReports) in one request.

The file has the header userPrincipalName,skuPartNumber,lastActivityDate (userId and skuId are
accepted instead; any order), one row per user and product, dates such as 2026-09-01. A row that
names no user or product of the tenant, or has a bad or future date, is reported by its line and
skipped; the other rows are imported. A date older than the one the server knows is ignored.
FILE "-" reads standard input.

Exit status: 0 when every row is imported; 1 when a row failed.`,
		Example: `  allot import activity usage-2026-09.csv
  allot import activity - -o json < usage.csv`,
		Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			data, err := readImportFile(cmd, args[0])
			if err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			var res activityImport
			if _, err := c.DoRaw(cmd.Context(), "POST", "/allot/v1/activityReports", "text/csv", data, &res); err != nil {
				return err
			}
			if out == outJSON {
				if err := writeJSONOut(cmd.OutOrStdout(), res); err != nil {
					return err
				}
			} else {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "Imported %s; %s failed.\n", plural(res.Imported, "row", "rows"), plural(res.Failed, "row", "rows"))
				for _, e := range res.Errors {
					fmt.Fprintf(w, "  line %d: %s\n", e.Row, e.Message)
				}
				if n := res.Failed - len(res.Errors); n > 0 {
					fmt.Fprintf(w, "  … and %s more\n", plural(n, "row", "rows"))
				}
			}
			if res.Failed > 0 {
				return allot.Errorf("importRowsFailed", "%s failed.", plural(res.Failed, "row", "rows"))
			}
			return nil
		}),
	}
	cmd.Flags().StringVarP(&out, "output", "o", outTable, "output format: table or json")
	return cmd
}

// readImportFile reads FILE, or standard input for "-".
func readImportFile(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, allot.Errorf(allot.EInvalid, "Cannot open %s: %v", name, errors.Unwrap(err))
	}
	return data, nil
}
