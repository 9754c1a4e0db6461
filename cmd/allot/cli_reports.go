package main

import (
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"allot"
)

func newReports() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reports",
		Short: "Seat history, license assignments, unused seats and cost reports",
		Long: `Reports of the tenant's seats: how many were bought and used over time, who holds which
product and through what, seats that buy nothing, and what they cost per department.`,
		Example: `  allot reports seat-history SPE_E5 --interval month --from 2026-01-01
  allot reports assignments --csv > assignments.csv
  allot reports cost --month 2026-11`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newReportsSeatHistory(), newReportsAssignments(), newReportsCost())
	return cmd
}

func newReportsSeatHistory() *cobra.Command {
	var out, interval, from, to string
	cmd := &cobra.Command{
		Use:   "seat-history SKU",
		Short: "A product's enabled, consumed and waiting seats per hour, day, week or month",
		Long: `Print a product's seat history: per interval the seats bought (enabled), in use (consumed),
waiting, available, and the highest number in use during the interval. The counts are those at
the end of each interval (now, for the current one).`,
		Example: `  allot reports seat-history SPE_E5
  allot reports seat-history WORKPLACE_ANALYTICS_INSIGHTS --interval week --from 2026-06-01 -o csv`,
		Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			s, err := resolveSku(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			pts, err := c.SeatHistory(cmd.Context(), s.SkuID, interval, from, to)
			if err != nil {
				return err
			}
			t := &table{head: []string{"FROM", "ENABLED", "CONSUMED", "WAITING", "AVAILABLE", "PEAK CONSUMED"}}
			for _, p := range pts {
				t.add(p.DateTime, strconv.Itoa(p.EnabledUnits), strconv.Itoa(p.ConsumedUnits), strconv.Itoa(p.WaitingUnits),
					strconv.Itoa(p.AvailableUnits), strconv.Itoa(p.PeakConsumedUnits))
			}
			return render(cmd.OutOrStdout(), out, t, orEmpty(pts))
		}),
	}
	addOutput(cmd, &out)
	cmd.Flags().StringVar(&interval, "interval", "day", "length of a point: hour, day, week or month")
	cmd.Flags().StringVar(&from, "from", "", "first day or time (2026-01-31 or 2026-01-31T08:00:00Z); default: 2 days, 30 days, 26 weeks or 12 months back")
	cmd.Flags().StringVar(&to, "to", "", "end (exclusive), a day or time; default: now")
	return cmd
}

func newReportsAssignments() *cobra.Command {
	var csvOut, disabled bool
	var sku string
	cmd := &cobra.Command{
		Use:   "assignments --csv",
		Short: "Every user's licenses with their sources (direct, groups), as CSV",
		Long: `Write one CSV row per user and product: the user, the product, its state, and every source
that grants it (Direct and the groups' names), streamed as the server sends it, so a tenant of
any size exports in constant memory. --disabled keeps the seats of disabled users only.`,
		Example: `  allot reports assignments --csv > assignments.csv
  allot reports assignments --csv --sku SPE_E5 --disabled`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if !csvOut {
				return allot.Errorf(allot.EInvalid, "This report is written as CSV: add --csv (and redirect it to a file).")
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			q := url.Values{}
			if sku != "" {
				s, err := resolveSku(cmd.Context(), c, sku)
				if err != nil {
					return err
				}
				q.Set("skuId", s.SkuID)
			}
			path := "/allot/v1/reports/licenseAssignments"
			if disabled {
				path = "/allot/v1/reports/unusedSeats"
			}
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			return c.StreamCSV(cmd.Context(), path, cmd.OutOrStdout())
		}),
	}
	cmd.Flags().BoolVar(&csvOut, "csv", false, "write CSV to standard output")
	cmd.Flags().StringVar(&sku, "sku", "", "only this product (skuPartNumber or skuId)")
	cmd.Flags().BoolVar(&disabled, "disabled", false, "only seats held by disabled users (unused spend)")
	return cmd
}

func newReportsCost() *cobra.Command {
	var month string
	cmd := &cobra.Command{
		Use:   "cost",
		Short: "Cost per department for a month, as CSV",
		Long: `Write the month's cost per department (the seats its users hold, at each product's unit price;
set prices with PUT /allot/v1/subscribedSkus/{id}/price) as CSV. The per-product statement with
billed, assigned and unused spend is GET /allot/v1/reports/cost.`,
		Example: `  allot reports cost
  allot reports cost --month 2026-11 > cost-2026-11.csv`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			path := "/allot/v1/reports/cost"
			if month != "" {
				path += "?month=" + url.QueryEscape(month)
			}
			return c.StreamCSV(cmd.Context(), path, cmd.OutOrStdout())
		}),
	}
	cmd.Flags().StringVar(&month, "month", "", "the month, such as 2026-11 (default: this month)")
	return cmd
}
