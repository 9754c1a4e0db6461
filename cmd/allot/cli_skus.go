package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"allot"
	"allot/client"
)

func newSkus() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:     "skus",
		Aliases: []string{"sku", "products"},
		Short:   "List the tenant's products with enabled, consumed and available seats",
		Long: `List the products (subscribedSkus) of the tenant with their seats: enabled (bought), consumed
(assigned), available, and the capability status, like Get-MsolAccountSku.`,
		Example: `  allot skus
  allot skus -o json
  allot skus show WORKPLACE_ANALYTICS_INSIGHTS`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			skus, err := c.Skus(cmd.Context())
			if err != nil {
				return err
			}
			t := &table{head: []string{"SKU", "NAME", "ENABLED", "CONSUMED", "AVAILABLE", "STATUS", "SKU ID"}}
			for _, s := range skus {
				t.add(s.SkuPartNumber, s.DisplayName, strconv.Itoa(s.PrepaidUnits.Enabled), strconv.Itoa(s.ConsumedUnits),
					strconv.Itoa(s.Available()), s.CapabilityStatus, s.SkuID)
			}
			return render(cmd.OutOrStdout(), out, t, orEmpty(skus))
		}),
	}
	addOutput(cmd, &out)
	cmd.AddCommand(newSkusShow(), newSkusSetSeats())
	return cmd
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func newSkusShow() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "show SKU",
		Short: "Show a product: seats, service plans and licensing rules",
		Example: `  allot skus show SPE_E5
  allot skus show e173a6fe-1e14-567e-b977-d1c53120a8d1 -o json`,
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
			t := &table{head: []string{"SERVICE PLAN", "SERVICE PLAN ID", "APPLIES TO"}}
			for _, sp := range s.ServicePlans {
				t.add(sp.ServicePlanName, sp.ServicePlanID, sp.AppliesTo)
			}
			if out != outTable {
				if out == outJSON {
					return writeJSONOut(cmd.OutOrStdout(), s)
				}
				return render(cmd.OutOrStdout(), out, t, nil)
			}
			w := cmd.OutOrStdout()
			kv(w, "Product", s.SkuPartNumber+" ("+s.DisplayName+")", "SKU ID", s.SkuID, "Status", s.CapabilityStatus,
				"Seats", fmt.Sprintf("%d enabled, %d consumed, %d available", s.PrepaidUnits.Enabled, s.ConsumedUnits, s.Available()),
				"Requires one of", orDash(strings.Join(s.Rules.RequiresAnyOf, ", ")),
				"Exclusive with", orDash(strings.Join(s.Rules.MutuallyExclusiveWith, ", ")),
				"Data locations", orDefault(strings.Join(s.Rules.AvailableDataLocations, ", "), "any"),
				"Usage locations", orDefault(strings.Join(s.Rules.AllowedUsageLocations, ", "), "any"))
			fmt.Fprintln(w)
			writeTable(w, t)
			return nil
		}),
	}
	addOutput(cmd, &out)
	return cmd
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func newSkusSetSeats() *cobra.Command {
	var lf lossFlag
	cmd := &cobra.Command{
		Use:   "set-seats SKU N",
		Short: "Change the number of enabled (bought) seats of a product",
		Long: `Change the number of enabled seats of a product. More seats license waiting members at once.
Fewer seats than are in use take the product away from the newest assignments, which then wait
with CountViolation until a seat frees up.

` + lossHelp,
		Example: `  allot skus set-seats WORKPLACE_ANALYTICS_INSIGHTS 100
  allot skus set-seats WORKPLACE_ANALYTICS_INSIGHTS 10 --yes   # fewer than in use, no question`,
		Args: cobra.ExactArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 0 {
				return allot.Errorf(allot.EInvalid, "N must be a whole number of seats, not '%s'.", args[1])
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			s, err := resolveSku(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			var s2 *client.Sku
			if err := lf.confirmLoss(cmd, c, func(c *client.Client) (err error) {
				s2, err = c.SetSeats(cmd.Context(), s.SkuID, n)
				return err
			}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d enabled, %d consumed, %d available (was %d enabled).\n",
				s2.SkuPartNumber, s2.PrepaidUnits.Enabled, s2.ConsumedUnits, s2.Available(), s.PrepaidUnits.Enabled)
			return nil
		}),
	}
	lf.add(cmd)
	return cmd
}
