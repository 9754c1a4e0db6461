package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"allot"
	"allot/csvimport"
)

func newImport() *cobra.Command {
	var skuRef, report, column, out string
	var disable []string
	var dryRun bool
	var batch int
	cmd := &cobra.Command{
		Use:   "import FILE.csv --sku SKU",
		Short: "License every user a CSV file names (by Email), in batches, with a report",
		Long: `License every address of a CSV file with one product — the seed's bulk PowerShell script, done right.

The file needs a header row with an Email column (other columns are ignored; --column picks
another name). UTF-8 with or without a byte-order mark; comma-, semicolon- or tab-separated.
FILE "-" reads standard input.

Each address is matched to a user by userPrincipalName, then by proxy address (smtp:...), without
regard to case. Matched users are licensed in batches (one server transaction per batch; each user
gets the product fully or not at all, with the same rules as 'allot license assign'), first rows
first while seats last. A progress bar shows on a terminal. The report counts the rows licensed,
already licensed (directly or through a group), not found and failed (with the reason);
--report writes every row's outcome to a CSV file. --dry-run shows what would happen and changes
nothing.

Exit status: 0 when every row is licensed or already licensed; 1 when a row failed; 3 when rows
were not found (and none failed).`,
		Example: `  allot import insights-users.csv --sku WORKPLACE_ANALYTICS_INSIGHTS
  allot import staff.csv --sku SPE_E5 --dry-run
  allot import staff.csv --sku SPE_E5 --disable-plan EXCHANGE_S_ENTERPRISE --report outcome.csv
  cut -d, -f3 hr-export.csv | allot import - --sku SPE_E3 --column mail -o json`,
		Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if out != outTable && out != outJSON {
				return allot.Errorf(allot.EInvalid, "--output must be table or json for import (use --report FILE.csv for CSV).")
			}
			name := args[0]
			var in io.Reader
			if name == "-" {
				in, name = cmd.InOrStdin(), "standard input"
			} else {
				f, err := os.Open(name)
				if err != nil {
					return allot.Errorf(allot.EInvalid, "Cannot open %s: %v", name, errors.Unwrap(err))
				}
				defer f.Close()
				in = f
			}
			file, err := csvimport.Parse(in, csvimport.Options{Column: column})
			if err != nil {
				return allot.Errorf(allot.EInvalid, "%s: %v", name, err)
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			sku, err := resolveSku(cmd.Context(), c, skuRef)
			if err != nil {
				return err
			}
			plans, err := resolvePlans(sku, disable)
			if err != nil {
				return err
			}
			label := "Importing"
			if dryRun {
				label = "Checking"
			}
			p := newProgress(cmd.ErrOrStderr(), label)
			im := &csvimport.Importer{Client: c, SkuID: sku.SkuID, DisabledPlans: plans, DryRun: dryRun, BatchSize: batch,
				Progress: func(done, total int) { p.set(done, total, "rows") }}
			rep, runErr := im.Run(cmd.Context(), file.Rows)
			p.done()
			if rep != nil && rep.SkuPartNumber == "" {
				rep.SkuPartNumber = sku.SkuPartNumber
				rep.SeatsAvailable = sku.Available()
			}
			if report != "" && rep != nil {
				if err := writeReportFile(report, rep); err != nil {
					return err
				}
			}
			if out == outJSON {
				if err := writeJSONOut(cmd.OutOrStdout(), rep); err != nil {
					return err
				}
			} else {
				printImportReport(cmd.OutOrStdout(), name, rep, report)
			}
			if runErr != nil {
				return prefixError(fmt.Sprintf("The import stopped after %s of %s rows", thousands(rep.Licensed+rep.AlreadyLicensed+rep.NotFound+rep.Failed), thousands(rep.Rows)), runErr)
			}
			switch {
			case rep.Failed > 0:
				return allot.Errorf("importRowsFailed", "%s failed.", plural(rep.Failed, "row", "rows"))
			case rep.NotFound > 0:
				return allot.Errorf(allot.ENotFound, "%s matched no user.", plural(rep.NotFound, "row", "rows"))
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&skuRef, "sku", "", "product: skuPartNumber (such as WORKPLACE_ANALYTICS_INSIGHTS) or skuId (required)")
	markRequired(cmd, "sku")
	cmd.Flags().StringArrayVar(&disable, "disable-plan", nil, "service plan to switch off, by name or id (repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would happen; change nothing")
	cmd.Flags().StringVar(&report, "report", "", "write every row's outcome to this CSV file")
	cmd.Flags().StringVar(&column, "column", "Email", "name of the column with the addresses")
	cmd.Flags().IntVar(&batch, "batch-size", 2000, "users per server transaction (at most 5000)")
	cmd.Flags().StringVarP(&out, "output", "o", outTable, "output format: table or json")
	cmd.AddCommand(newImportActivity())
	return cmd
}

func writeReportFile(path string, rep *csvimport.Report) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return allot.Errorf(allot.EInvalid, "Cannot write the report %s: %v", path, errors.Unwrap(err))
	}
	if err := rep.WriteCSV(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func printImportReport(w io.Writer, name string, rep *csvimport.Report, reportPath string) {
	if rep == nil {
		return
	}
	verb, note := "Imported", ""
	lic, already := "licensed", "already licensed"
	if rep.DryRun {
		verb, note = "Dry run of", " (nothing was changed)"
		lic = "would be licensed"
	}
	rate := ""
	if rep.Seconds > 0 && rep.Rows > 0 {
		rate = fmt.Sprintf(", %s rows/s", thousands(int(float64(rep.Rows)/rep.Seconds)))
	}
	fmt.Fprintf(w, "%s %s into %s%s: %s in %.1f s%s\n", verb, filepath.Base(name), rep.SkuPartNumber, note, plural(rep.Rows, "row", "rows"), rep.Seconds, rate)
	kvIndent(w, lic, thousands(rep.Licensed), already, thousands(rep.AlreadyLicensed), "not found", thousands(rep.NotFound), "failed", thousands(rep.Failed))
	list := func(title, result string, n int) {
		if n == 0 {
			return
		}
		fmt.Fprintf(w, "%s:\n", title)
		t := &table{}
		shown := 0
		for _, o := range rep.Outcomes {
			if o.Result != result {
				continue
			}
			if shown == 20 {
				break
			}
			shown++
			t.add(fmt.Sprintf("  line %d", o.Line), orDash(o.Email), o.Code, o.Message)
		}
		writeRows(w, t)
		if n > shown {
			more := "see --report FILE.csv"
			if reportPath != "" {
				more = "see " + reportPath
			}
			fmt.Fprintf(w, "  … and %s more; %s\n", thousands(n-shown), more)
		}
	}
	list("Failed", csvimport.Failed, rep.Failed)
	list("Not found", csvimport.NotFound, rep.NotFound)
	fmt.Fprintf(w, "%s seats available: %s\n", rep.SkuPartNumber, thousands(rep.SeatsAvailable))
	if reportPath != "" {
		fmt.Fprintf(w, "Every row's outcome: %s\n", reportPath)
	}
}

func kvIndent(w io.Writer, pairs ...string) {
	t := &table{}
	for i := 0; i+1 < len(pairs); i += 2 {
		t.add("  "+pairs[i], pairs[i+1])
	}
	writeRows(w, t)
}

// writeRows writes aligned rows without a header.
func writeRows(w io.Writer, t *table) { writeTable(w, &table{rows: t.rows}) }
