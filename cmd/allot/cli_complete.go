package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"allot/client"
)

// addCompletions completes product and group names from the server the
// user is signed in to: --sku everywhere, and a first argument named SKU or
// GROUP in the command's Use line.
func addCompletions(c *cobra.Command) {
	if c.Flags().Lookup("sku") != nil {
		c.RegisterFlagCompletionFunc("sku", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return completeSkus()
		})
	}
	if c.ValidArgsFunction != nil {
		return
	}
	fields := strings.Fields(c.Use)
	if len(fields) < 2 {
		return
	}
	first := strings.Trim(fields[1], "[].")
	switch {
	case first == "SKU":
		c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeSkus()
		}
	case first == "GROUP" || first == "USER|GROUP":
		c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 && !strings.HasSuffix(fields[1], "...") {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeGroups()
		}
	}
}

// completionClient is a client with a short deadline; nil when not signed in.
func completionClient() (*client.Client, context.Context, context.CancelFunc) {
	c, err := clientFromEnv()
	if err != nil {
		return nil, nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	return c, ctx, cancel
}

func completeSkus() ([]string, cobra.ShellCompDirective) {
	c, ctx, cancel := completionClient()
	if c == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer cancel()
	skus, err := c.Skus(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, s := range skus {
		out = append(out, s.SkuPartNumber+"\t"+s.DisplayName)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func completeGroups() ([]string, cobra.ShellCompDirective) {
	c, ctx, cancel := completionClient()
	if c == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer cancel()
	groups, _, err := c.Groups(ctx, client.ListOptions{Top: 999, Limit: 999})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, g := range groups {
		out = append(out, g.DisplayName+"\t"+g.Description)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
