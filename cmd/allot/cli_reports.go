package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"allot"
	"allot/client"
)

// newReports is `allot report` (also `allot reports`): seat history, cost,
// license assignments and unused seats, as a table, JSON or CSV.
func newReports() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "report",
		Aliases: []string{"reports"},
		Short:   "Seat history, cost, license assignments and unused seats",
		Long: `Reports of the tenant's seats: how many were bought and used over time, what they cost per
department, who holds which product and through what, and seats held by disabled users. Each
prints a table, JSON (-o json) or CSV (-o csv, streamed for assignments and unused seats).`,
		Example: `  allot report seats SPE_E5 --interval month --from 2026-01-01
  allot report cost --from 2026-09 --to 2026-11 -o csv
  allot report assignments -o csv > assignments.csv
  allot report unused`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newReportSeats(), newReportAssignments("assignments", false), newReportAssignments("unused", true), newReportCost())
	return cmd
}

func newReportSeats() *cobra.Command {
	var out, interval, from, to, sku string
	cmd := &cobra.Command{
		Use:     "seats [SKU]",
		Aliases: []string{"seat-history"},
		Short:   "Enabled, consumed and waiting seats per hour, day, week or month",
		Long: `Print the seat history of a product (every product without one): per interval the seats bought
(enabled), in use (consumed), waiting, available, and the highest number in use during the
interval. The counts are those at the end of each interval (now, for the current one).`,
		Example: `  allot report seats SPE_E5
  allot report seats --interval week --from 2026-06-01 --to 2026-09-01 -o csv`,
		Args: cobra.MaximumNArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			if len(args) == 1 {
				sku = args[0]
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			skus, err := reportSkus(cmd.Context(), c, sku)
			if err != nil {
				return err
			}
			type row struct {
				SkuPartNumber string `json:"skuPartNumber"`
				client.SeatPoint
			}
			var rows []row
			t := &table{head: []string{"PRODUCT", "FROM", "ENABLED", "CONSUMED", "WAITING", "AVAILABLE", "PEAK CONSUMED"}}
			for _, s := range skus {
				pts, err := c.SeatHistory(cmd.Context(), s.SkuID, interval, from, to)
				if err != nil {
					return err
				}
				for _, p := range pts {
					rows = append(rows, row{s.SkuPartNumber, p})
					t.add(s.SkuPartNumber, p.DateTime, strconv.Itoa(p.EnabledUnits), strconv.Itoa(p.ConsumedUnits), strconv.Itoa(p.WaitingUnits),
						strconv.Itoa(p.AvailableUnits), strconv.Itoa(p.PeakConsumedUnits))
				}
			}
			return render(cmd.OutOrStdout(), out, t, orEmpty(rows))
		}),
	}
	addOutput(cmd, &out)
	cmd.Flags().StringVar(&sku, "sku", "", "only this product (skuPartNumber or skuId); default: every product")
	cmd.Flags().StringVar(&interval, "interval", "day", "length of a point: hour, day, week or month")
	cmd.Flags().StringVar(&from, "from", "", "first day or time (2026-01-31 or 2026-01-31T08:00:00Z); default: 2 days, 30 days, 26 weeks or 12 months back")
	cmd.Flags().StringVar(&to, "to", "", "end (exclusive), a day or time; default: now")
	return cmd
}

// reportSkus returns the product ref names, or every product.
func reportSkus(ctx context.Context, c *client.Client, ref string) ([]client.Sku, error) {
	if ref != "" {
		s, err := resolveSku(ctx, c, ref)
		if err != nil {
			return nil, err
		}
		return []client.Sku{*s}, nil
	}
	return c.Skus(ctx)
}

func newReportAssignments(name string, unused bool) *cobra.Command {
	var out, sku string
	var csvOut bool
	short, path := "Every user's licenses with their sources (direct, groups)", "/allot/v1/reports/licenseAssignments"
	if unused {
		short, path = "Seats held by disabled users: spend that buys nothing", "/allot/v1/reports/unusedSeats"
	}
	cmd := &cobra.Command{
		Use:   name,
		Short: short,
		Long: short + `: one row per user and product with its state and every source
that grants it (Direct and the groups' names). With -o csv the rows are streamed as the server
sends them, so a tenant of any size exports in constant memory.`,
		Example: "  allot report " + name + "\n  allot report " + name + " --sku SPE_E5 -o csv > " + name + ".csv",
		Args:    cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if csvOut {
				out = outCSV
			}
			if err := checkOutput(out); err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			p := path
			if sku != "" {
				s, err := resolveSku(cmd.Context(), c, sku)
				if err != nil {
					return err
				}
				p += "?" + url.Values{"skuId": {s.SkuID}}.Encode()
			}
			if out == outCSV {
				return c.StreamCSV(cmd.Context(), p, cmd.OutOrStdout())
			}
			recs, err := readCSV(cmd.Context(), c, p)
			if err != nil {
				return err
			}
			return renderCSVRecords(cmd.OutOrStdout(), out, recs, []string{"userPrincipalName", "skuPartNumber", "state", "sources", "errors"})
		}),
	}
	addOutput(cmd, &out)
	cmd.Flags().StringVar(&sku, "sku", "", "only this product (skuPartNumber or skuId)")
	cmd.Flags().BoolVar(&csvOut, "csv", false, "the same as -o csv")
	cmd.Flags().MarkHidden("csv")
	return cmd
}

func newReportCost() *cobra.Command {
	var out, month, from, to string
	cmd := &cobra.Command{
		Use:   "cost",
		Short: "Cost per department, month by month",
		Long: `Print the cost per department (the seats its users hold, at each product's unit price; set
prices with PUT /allot/v1/subscribedSkus/{id}/price) for a month (--month, default this one) or
every month from --from to --to (both included). The per-product statement with billed,
assigned and unused spend is GET /allot/v1/reports/cost.`,
		Example: `  allot report cost
  allot report cost --from 2026-09 --to 2026-11 -o csv > cost.csv`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			months, err := costMonths(month, from, to, time.Now().UTC())
			if err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			var all [][]string
			for i, m := range months {
				recs, err := readCSV(cmd.Context(), c, "/allot/v1/reports/cost?month="+m)
				if err != nil {
					return err
				}
				if i > 0 && len(recs) > 0 {
					recs = recs[1:] // one header
				}
				all = append(all, recs...)
			}
			return renderCSVRecords(cmd.OutOrStdout(), out, all, nil)
		}),
	}
	addOutput(cmd, &out)
	cmd.Flags().StringVar(&month, "month", "", "one month, such as 2026-11 (default: this month)")
	cmd.Flags().StringVar(&from, "from", "", "first month (2026-09, or a day in it)")
	cmd.Flags().StringVar(&to, "to", "", "last month, included (default: this month)")
	return cmd
}

// costMonths lists the months a cost report covers, as 2006-01.
func costMonths(month, from, to string, now time.Time) ([]string, error) {
	if month != "" && (from != "" || to != "") {
		return nil, allot.Errorf(allot.EInvalid, "Give --month, or --from and --to, not both.")
	}
	if month != "" {
		return []string{month}, nil
	}
	cur := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	parse := func(flag, v string, def time.Time) (time.Time, error) {
		if v == "" {
			return def, nil
		}
		for _, layout := range []string{"2006-01", "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC), nil
			}
		}
		return time.Time{}, allot.Errorf(allot.EInvalid, "--%s must be a month such as 2026-11, not '%s'.", flag, v)
	}
	f, err := parse("from", from, cur)
	if err != nil {
		return nil, err
	}
	t, err := parse("to", to, cur)
	if err != nil {
		return nil, err
	}
	if f.After(t) {
		return nil, allot.Errorf(allot.EInvalid, "--from must not be after --to.")
	}
	var out []string
	for m := f; !m.After(t); m = m.AddDate(0, 1, 0) {
		if len(out) == 120 {
			return nil, allot.Errorf(allot.EInvalid, "Ask for at most 120 months at a time.")
		}
		out = append(out, m.Format("2006-01"))
	}
	return out, nil
}

// readCSV reads a CSV report whole (for a table or JSON).
func readCSV(ctx context.Context, c *client.Client, path string) ([][]string, error) {
	var buf bytes.Buffer
	if err := c.StreamCSV(ctx, path, &buf); err != nil {
		return nil, err
	}
	return csv.NewReader(&buf).ReadAll()
}

// renderCSVRecords prints CSV records (a header, then rows) as out asks: a
// table of the columns cols (all when nil), JSON objects keyed by the
// header, or the CSV itself.
func renderCSVRecords(w io.Writer, out string, recs [][]string, cols []string) error {
	if len(recs) == 0 {
		recs = [][]string{{}}
	}
	head := recs[0]
	if cols == nil {
		cols = head
	}
	idx := make([]int, 0, len(cols))
	t := &table{}
	for _, c := range cols {
		for i, h := range head {
			if h == c {
				idx = append(idx, i)
				t.head = append(t.head, tableHeader(c))
			}
		}
	}
	objs := []map[string]string{}
	for _, r := range recs[1:] {
		o := map[string]string{}
		for i, h := range head {
			if i < len(r) {
				o[h] = r[i]
			}
		}
		objs = append(objs, o)
		cells := make([]string, len(idx))
		for j, i := range idx {
			cells[j] = r[i]
		}
		t.add(cells...)
	}
	if out == outCSV {
		cw := csv.NewWriter(w)
		cw.WriteAll(recs)
		return cw.Error()
	}
	return render(w, out, t, objs)
}

// tableHeader turns a camelCase column name into a table header
// ("userPrincipalName" → "USER PRINCIPAL NAME").
func tableHeader(s string) string {
	var b []rune
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b = append(b, ' ')
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		b = append(b, r)
	}
	return string(b)
}
