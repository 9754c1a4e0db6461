package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"allot"
	"allot/client"
)

func newLicense() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "license",
		Aliases: []string{"licenses", "lic"},
		Short:   "Assign, remove, show and troubleshoot licenses of users and groups",
		Example: `  allot license assign adele.vance1@contoso.com --sku WORKPLACE_ANALYTICS_INSIGHTS
  allot license show adele.vance1@contoso.com
  allot license assign-group "Insights Users" --sku WORKPLACE_ANALYTICS_INSIGHTS
  allot license errors "Insights Users"`,
	}
	cmd.AddCommand(newLicenseAssign(), newLicenseRemove(), newLicenseShow(), newLicenseAssignGroup(),
		newLicenseRemoveGroup(), newLicenseErrors(), newLicenseReprocess())
	return cmd
}

// userResult is one user's outcome of license assign or remove.
type userResult struct {
	User    string `json:"user"`
	UserID  string `json:"userId,omitempty"`
	Result  string `json:"result"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	err     error
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	for i := range x {
		x[i] = strings.ToLower(x[i])
	}
	for i := range y {
		y[i] = strings.ToLower(y[i])
	}
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func newLicenseAssign() *cobra.Command {
	var skuRef, out string
	var disable []string
	cmd := &cobra.Command{
		Use:   "assign USER... --sku SKU",
		Short: "Assign a product to users directly (at once, with a result per user)",
		Long: `Assign a product to one or more users directly. Each user gets the product at once or a clear
reason why not (no seats left, no usage location, a missing prerequisite such as E3/E5 for
Insights, a mutually exclusive product, a data location where the product is not sold).
--disable-plan switches service plans off (names or ids; repeat or separate with commas); giving
it for a user who has the product already changes the plans. The exit status is 0 only when every
user has the product.`,
		Example: `  allot license assign adele.vance1@contoso.com --sku WORKPLACE_ANALYTICS_INSIGHTS
  allot license assign a@contoso.com b@contoso.com --sku SPE_E5 --disable-plan EXCHANGE_S_ENTERPRISE
  allot license assign megan@contoso.com --sku SPE_E3 -o json`,
		Args: cobra.MinimumNArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
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
			var res []userResult
			for _, ref := range args {
				r := userResult{User: ref}
				u, err := resolveUser(cmd.Context(), c, ref)
				if err != nil {
					r.fail(err)
					res = append(res, r)
					continue
				}
				r.User, r.UserID = u.UserPrincipalName, u.ID
				had := false
				for _, st := range u.LicenseAssignmentStates {
					if strings.EqualFold(st.SkuID, sku.SkuID) && st.AssignedByGroup == "" && st.State == "Active" {
						had = true
						if sameSet(st.DisabledPlans, plans) {
							r.Result, r.Message = "already licensed", "Already has "+sku.SkuPartNumber+" directly."
						}
					}
				}
				if r.Result == "" {
					if _, err := c.AssignLicense(cmd.Context(), u.ID, []client.AddLicense{{SkuID: sku.SkuID, DisabledPlans: plans}}, nil); err != nil {
						r.fail(err)
					} else if had {
						r.Result, r.Message = "updated", "Service plans of "+sku.SkuPartNumber+" changed."
					} else {
						r.Result, r.Message = "licensed", "Assigned "+sku.SkuPartNumber+"."
					}
				}
				res = append(res, r)
			}
			return reportUsers(cmd, out, res)
		}),
	}
	cmd.Flags().StringVar(&skuRef, "sku", "", "product: skuPartNumber (such as SPE_E5) or skuId (required)")
	markRequired(cmd, "sku")
	cmd.Flags().StringArrayVar(&disable, "disable-plan", nil, "service plan to switch off, by name or id (repeatable)")
	addOutput(cmd, &out)
	return cmd
}

func (r *userResult) fail(err error) {
	err = cliError(err)
	r.err = err
	r.Result = "failed"
	r.Code = string(allot.ErrorCode(err))
	r.Message = allot.ErrorMessage(err)
}

// reportUsers prints per-user results and fails when any user failed.
func reportUsers(cmd *cobra.Command, out string, res []userResult) error {
	t := &table{head: []string{"USER", "RESULT", "DETAIL"}}
	var failed []userResult
	for _, r := range res {
		t.add(r.User, r.Result, r.Message)
		if r.err != nil {
			failed = append(failed, r)
		}
	}
	if err := render(cmd.OutOrStdout(), out, t, res); err != nil {
		return err
	}
	switch {
	case len(failed) == 0:
		return nil
	case len(res) == 1:
		return failed[0].err
	}
	code := allot.ErrorCode(failed[0].err)
	for _, f := range failed {
		if allot.ErrorCode(f.err) != code {
			code = "licenseAssignmentFailed"
		}
	}
	return allot.Errorf(code, "%s of %d users failed; see the table above.", thousands(len(failed)), len(res))
}

func newLicenseRemove() *cobra.Command {
	var skuRef, out string
	cmd := &cobra.Command{
		Use:   "remove USER... --sku SKU",
		Short: "Remove a directly assigned product from users (the seat is freed at once)",
		Long: `Remove a product assigned directly from one or more users. A product a user gets through a
group cannot be removed here: the error names the group; remove the user from the group or the
product from the group instead.`,
		Example: `  allot license remove adele.vance1@contoso.com --sku WORKPLACE_ANALYTICS_INSIGHTS
  allot license remove a@contoso.com b@contoso.com --sku SPE_E5`,
		Args: cobra.MinimumNArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			sku, err := resolveSku(cmd.Context(), c, skuRef)
			if err != nil {
				return err
			}
			var res []userResult
			for _, ref := range args {
				r := userResult{User: ref}
				u, err := resolveUser(cmd.Context(), c, ref)
				if err == nil {
					r.User, r.UserID = u.UserPrincipalName, u.ID
					_, err = c.AssignLicense(cmd.Context(), u.ID, nil, []string{sku.SkuID})
				}
				if err != nil {
					r.fail(err)
				} else {
					r.Result, r.Message = "removed", "Removed "+sku.SkuPartNumber+"."
				}
				res = append(res, r)
			}
			return reportUsers(cmd, out, res)
		}),
	}
	cmd.Flags().StringVar(&skuRef, "sku", "", "product: skuPartNumber or skuId (required)")
	markRequired(cmd, "sku")
	addOutput(cmd, &out)
	return cmd
}

// licenseRow is one source's grant of a product to a user, for display.
type licenseRow struct {
	SkuID         string   `json:"skuId"`
	SkuPartNumber string   `json:"skuPartNumber"`
	Source        string   `json:"source"` // "direct" or "group"
	GroupID       string   `json:"groupId,omitempty"`
	GroupName     string   `json:"groupName,omitempty"`
	State         string   `json:"state"`
	Error         string   `json:"error"`
	Code          string   `json:"code,omitempty"`
	Message       string   `json:"message,omitempty"`
	DisabledPlans []string `json:"disabledPlans"`
}

func (r licenseRow) sourceText() string {
	if r.Source == "direct" {
		return "direct"
	}
	return "group " + r.GroupName
}

// licenseRows describes a user's license states with product and group names.
func licenseRows(ctx context.Context, c *client.Client, u *client.User, names skuNames) []licenseRow {
	groupNames := map[string]string{}
	var rows []licenseRow
	for _, st := range u.LicenseAssignmentStates {
		r := licenseRow{SkuID: st.SkuID, SkuPartNumber: names.name(st.SkuID), Source: "direct", State: st.State, Error: st.Error,
			Code: st.AllotErrorCode, Message: st.AllotErrorMessage, DisabledPlans: orEmpty(st.DisabledPlans)}
		if st.AssignedByGroup != "" {
			r.Source, r.GroupID = "group", st.AssignedByGroup
			name, ok := groupNames[st.AssignedByGroup]
			if !ok {
				name = st.AssignedByGroup
				if g, err := c.Group(ctx, st.AssignedByGroup); err == nil {
					name = g.DisplayName
				}
				groupNames[st.AssignedByGroup] = name
			}
			r.GroupName = name
		}
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].SkuPartNumber < rows[j].SkuPartNumber })
	return rows
}

func newLicenseShow() *cobra.Command {
	var out, skuFilter string
	cmd := &cobra.Command{
		Use:   "show USER",
		Short: "Show a user's products, service plans and where each comes from (direct or which group)",
		Long: `Show a user's licenses: each product with every source that grants it (direct, or the group),
its state and error, and the provisioning status of every service plan — the check the seed does
with (Get-MsolUser).Licenses.ServiceStatus.`,
		Example: `  allot license show adele.vance1@contoso.com
  allot license show adele.vance1@contoso.com --sku WORKPLACE_ANALYTICS_INSIGHTS
  allot license show adele.vance1@contoso.com -o json`,
		Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			u, err := resolveUser(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			details, err := c.LicenseDetails(cmd.Context(), u.ID)
			if err != nil {
				return err
			}
			names, err := loadSkuNames(cmd.Context(), c)
			if err != nil {
				return err
			}
			rows := licenseRows(cmd.Context(), c, u, names)
			if skuFilter != "" {
				sku, err := resolveSku(cmd.Context(), c, skuFilter)
				if err != nil {
					return err
				}
				rows = slices.DeleteFunc(rows, func(r licenseRow) bool { return !strings.EqualFold(r.SkuID, sku.SkuID) })
				details = slices.DeleteFunc(details, func(d client.LicenseDetail) bool { return !strings.EqualFold(d.SkuID, sku.SkuID) })
			}
			lt := &table{head: []string{"PRODUCT", "SOURCE", "STATE", "ERROR", "DETAIL"}}
			for _, r := range rows {
				detail := r.Message
				if r.Code != "" {
					detail = r.Message + " (" + r.Code + ")"
				}
				lt.add(r.SkuPartNumber, r.sourceText(), r.State, r.Error, detail)
			}
			pt := &table{head: []string{"PRODUCT", "SERVICE PLAN", "SERVICE PLAN ID", "STATUS"}}
			for _, d := range details {
				for _, sp := range d.ServicePlans {
					pt.add(d.SkuPartNumber, sp.ServicePlanName, sp.ServicePlanID, sp.ProvisioningStatus)
				}
			}
			w := cmd.OutOrStdout()
			switch out {
			case outJSON:
				return writeJSONOut(w, map[string]any{
					"user": map[string]any{"id": u.ID, "userPrincipalName": u.UserPrincipalName, "displayName": u.DisplayName,
						"usageLocation": u.UsageLocation},
					"licenses": orEmpty(rows), "licenseDetails": orEmpty(details)})
			case outCSV:
				return render(w, out, pt, nil)
			}
			fmt.Fprintf(w, "%s (%s), usage location %s\n\n", u.UserPrincipalName, u.DisplayName, orDash(u.UsageLocation))
			if len(rows) == 0 && skuFilter != "" {
				fmt.Fprintf(w, "No %s license.\n", skuFilter)
				return nil
			}
			if len(rows) == 0 {
				fmt.Fprintln(w, "No licenses.")
				return nil
			}
			writeTable(w, lt)
			if len(pt.rows) > 0 {
				fmt.Fprintln(w)
				writeTable(w, pt)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&skuFilter, "sku", "", "show only this product (skuPartNumber or skuId)")
	addOutput(cmd, &out)
	return cmd
}

// groupWait are the flags of commands that wait for group processing.
type groupWait struct {
	noWait  bool
	timeout time.Duration
}

func (g *groupWait) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&g.noWait, "no-wait", false, "return at once instead of waiting for the members to be processed")
	cmd.Flags().DurationVar(&g.timeout, "timeout", 30*time.Minute, "how long to wait for processing to complete")
}

// waitForGroup polls the group's license summary until processing is
// complete, drawing progress on a terminal, and returns the final summary.
func waitForGroup(cmd *cobra.Command, c *client.Client, g *client.Group, timeout time.Duration) (*client.LicenseSummary, error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	p := newProgress(cmd.ErrOrStderr(), "Processing "+g.DisplayName)
	defer p.done()
	delay := 100 * time.Millisecond
	for {
		sum, err := c.LicenseSummary(ctx, g.ID)
		if err != nil {
			if ctx.Err() != nil && cmd.Context().Err() == nil {
				return nil, allot.Errorf(allot.EUnavailable, "Group %q is still being processed after %s; check later with 'allot groups show %q'.", g.DisplayName, timeout, g.DisplayName)
			}
			return nil, err
		}
		state := sum.LicenseProcessingState.State
		if state == "ProcessingComplete" {
			return sum, nil
		}
		if len(sum.AssignedSkus) > 0 {
			p.set(sum.MembersWithLicenses+sum.MembersWithoutLicenses, sum.Members, state)
		} else {
			p.set(0, 0, state)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			if cmd.Context().Err() != nil {
				return nil, cmd.Context().Err()
			}
			return nil, allot.Errorf(allot.EUnavailable, "Group %q is still being processed after %s; check later with 'allot groups show %q'.", g.DisplayName, timeout, g.DisplayName)
		}
		delay = min(delay*3/2, time.Second)
	}
}

// errorBreakdown renders " (CountViolation: 3, DependencyViolation: 1)".
func errorBreakdown(sum *client.LicenseSummary) string {
	if len(sum.ErrorCodes) == 0 {
		return ""
	}
	var parts []string
	for code, n := range sum.ErrorCodes {
		parts = append(parts, fmt.Sprintf("%s: %d", code, n))
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}

func printGroupSummary(cmd *cobra.Command, g *client.Group, sum *client.LicenseSummary) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "Group %q: %s%s.\n", g.DisplayName, strings.TrimSuffix(sum.Message, "."), errorBreakdown(sum))
	if sum.MembersWithoutLicenses > 0 {
		fmt.Fprintf(w, "See who and why: allot license errors %q\n", g.DisplayName)
	}
}

func newLicenseAssignGroup() *cobra.Command {
	var skuRef string
	var disable []string
	var gw groupWait
	var lf lossFlag
	cmd := &cobra.Command{
		Use:   "assign-group GROUP --sku SKU",
		Short: "Assign a product to a group; its members (also of nested groups) follow",
		Long: `Assign a product to a security group. Members, including members of nested groups, are licensed
in the order they joined while seats last; the rest wait with CountViolation and get a seat
automatically when one frees up. The command waits until processing completes, with progress on a
terminal, and prints how many members have the license and how many do not (--no-wait returns at
once).

` + lossHelp,
		Example: `  allot license assign-group "Insights Users" --sku WORKPLACE_ANALYTICS_INSIGHTS
  allot license assign-group "Sales Team" --sku SPE_E5 --disable-plan EXCHANGE_S_ENTERPRISE --no-wait
  allot license assign-group "Sales Team" --sku SPE_E3 --disable-plan EXCHANGE_S_ENTERPRISE --yes`,
		Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			g, err := resolveGroup(cmd.Context(), c, args[0])
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
			var g2 *client.Group
			if err := lf.confirmLoss(cmd, c, func(c *client.Client) (err error) {
				g2, err = c.AssignGroupLicense(cmd.Context(), g.ID, []client.AddLicense{{SkuID: sku.SkuID, DisabledPlans: plans}}, nil)
				return err
			}); err != nil {
				return err
			}
			g2.DisplayName = g.DisplayName
			if gw.noWait {
				fmt.Fprintf(cmd.OutOrStdout(), "Group %q assigns %s; members are %s. Follow with: allot groups show %q\n",
					g.DisplayName, sku.SkuPartNumber, g2.LicenseProcessingState.State, g.DisplayName)
				return nil
			}
			sum, err := waitForGroup(cmd, c, g2, gw.timeout)
			if err != nil {
				return err
			}
			printGroupSummary(cmd, g2, sum)
			return nil
		}),
	}
	cmd.Flags().StringVar(&skuRef, "sku", "", "product: skuPartNumber or skuId (required)")
	markRequired(cmd, "sku")
	cmd.Flags().StringArrayVar(&disable, "disable-plan", nil, "service plan to switch off, by name or id (repeatable)")
	gw.add(cmd)
	lf.add(cmd)
	return cmd
}

func newLicenseRemoveGroup() *cobra.Command {
	var skuRef string
	var gw groupWait
	var lf lossFlag
	cmd := &cobra.Command{
		Use:   "remove-group GROUP --sku SKU",
		Short: "Remove a product from a group; members lose it unless another source grants it",
		Long: `Remove a product from a group. Its members lose the product unless another source (a direct
assignment, another group) grants it; that is the point of the command and is not asked about.
Other products that need this one (Insights needs E3 or E5) would be lost as a side effect.

` + lossHelp,
		Example: `  allot license remove-group "Insights Users" --sku WORKPLACE_ANALYTICS_INSIGHTS
  allot license remove-group "Sales Team" --sku SPE_E5 --no-wait
  allot license remove-group "Analysts" --sku SPE_E3 --yes   # its members' Insights go too`,
		Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			g, err := resolveGroup(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			sku, err := resolveSku(cmd.Context(), c, skuRef)
			if err != nil {
				return err
			}
			var g2 *client.Group
			if err := lf.confirmLoss(cmd, c, func(c *client.Client) (err error) {
				g2, err = c.AssignGroupLicense(cmd.Context(), g.ID, nil, []string{sku.SkuID})
				return err
			}); err != nil {
				return err
			}
			g2.DisplayName = g.DisplayName
			if gw.noWait {
				fmt.Fprintf(cmd.OutOrStdout(), "Group %q no longer assigns %s; members are %s.\n", g.DisplayName, sku.SkuPartNumber, g2.LicenseProcessingState.State)
				return nil
			}
			sum, err := waitForGroup(cmd, c, g2, gw.timeout)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Group %q no longer assigns %s (%s processed).\n", g.DisplayName, sku.SkuPartNumber, plural(sum.Members, "member", "members"))
			if len(sum.AssignedSkus) > 0 {
				printGroupSummary(cmd, g2, sum)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&skuRef, "sku", "", "product: skuPartNumber or skuId (required)")
	markRequired(cmd, "sku")
	gw.add(cmd)
	lf.add(cmd)
	return cmd
}

func newLicenseErrors() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "errors [GROUP]",
		Short: "List members whose group license failed, with the reason (all groups, or one)",
		Example: `  allot license errors
  allot license errors "Insights Users" -o csv`,
		Args: cobra.MaximumNArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			var groups []client.Group
			if len(args) == 1 {
				g, err := resolveGroup(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				groups = []client.Group{*g}
			} else {
				groups, _, err = c.Groups(cmd.Context(), client.ListOptions{Filter: "hasMembersWithLicenseErrors eq true", All: true, Top: 999})
				if err != nil {
					return err
				}
			}
			names, err := loadSkuNames(cmd.Context(), c)
			if err != nil {
				return err
			}
			type errRow struct {
				Group         string `json:"group"`
				GroupID       string `json:"groupId"`
				User          string `json:"userPrincipalName"`
				UserID        string `json:"userId"`
				SkuPartNumber string `json:"skuPartNumber"`
				State         string `json:"state"`
				Error         string `json:"error"`
				Code          string `json:"code"`
				Message       string `json:"message"`
			}
			var rows []errRow
			t := &table{head: []string{"GROUP", "USER", "PRODUCT", "ERROR", "CODE", "DETAIL"}}
			for _, g := range groups {
				users, err := c.MembersWithLicenseErrors(cmd.Context(), g.ID)
				if err != nil {
					return err
				}
				for _, u := range users {
					for _, st := range u.LicenseAssignmentStates {
						if !strings.EqualFold(st.AssignedByGroup, g.ID) || st.State == "Active" {
							continue
						}
						r := errRow{Group: g.DisplayName, GroupID: g.ID, User: u.UserPrincipalName, UserID: u.ID, SkuPartNumber: names.name(st.SkuID),
							State: st.State, Error: st.Error, Code: st.AllotErrorCode, Message: st.AllotErrorMessage}
						rows = append(rows, r)
						t.add(r.Group, r.User, r.SkuPartNumber, r.Error, r.Code, r.Message)
					}
				}
			}
			if out == outTable && len(rows) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No license errors.")
				return nil
			}
			return render(cmd.OutOrStdout(), out, t, orEmpty(rows))
		}),
	}
	addOutput(cmd, &out)
	return cmd
}

func newLicenseReprocess() *cobra.Command {
	var gw groupWait
	cmd := &cobra.Command{
		Use:   "reprocess USER|GROUP",
		Short: "Recompute the licenses of a user, or of every member of a group",
		Long: `Recompute licenses from all their sources. allot does this by itself whenever something changes
(seats freed, memberships, usage location), so this is rarely needed; it is here for the habit
and for scripts. A group is processed in the background and the command waits for it unless
--no-wait.`,
		Example: `  allot license reprocess adele.vance1@contoso.com
  allot license reprocess "Insights Users"`,
		Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			obj, err := resolveObject(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if obj.Kind == "user" {
				u, err := c.ReprocessUser(cmd.Context(), obj.ID)
				if err != nil {
					return err
				}
				names, err := loadSkuNames(cmd.Context(), c)
				if err != nil {
					return err
				}
				var parts []string
				for _, r := range licenseRows(cmd.Context(), c, u, names) {
					s := r.SkuPartNumber + " " + r.State + " (" + r.sourceText() + ")"
					if r.Code != "" {
						s += " " + r.Code
					}
					parts = append(parts, s)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Reprocessed %s: %s.\n", u.UserPrincipalName, orDefault(strings.Join(parts, "; "), "no licenses"))
				return nil
			}
			g, err := c.ReprocessGroup(cmd.Context(), obj.ID)
			if err != nil {
				return err
			}
			g.DisplayName = obj.Name
			if gw.noWait {
				fmt.Fprintf(cmd.OutOrStdout(), "Group %q queued for processing (%s).\n", obj.Name, g.LicenseProcessingState.State)
				return nil
			}
			sum, err := waitForGroup(cmd, c, g, gw.timeout)
			if err != nil {
				return err
			}
			printGroupSummary(cmd, g, sum)
			return nil
		}),
	}
	gw.add(cmd)
	return cmd
}
