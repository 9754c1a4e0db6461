package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// alertRow is one alert rule as /allot/v1/alertRules answers it.
type alertRow struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	Product     *string  `json:"product"`
	Metric      string   `json:"metric"`
	Threshold   float64  `json:"threshold"`
	WebhookURL  *string  `json:"webhookUrl"`
	Emails      []string `json:"emails"`
	Status      string   `json:"status"`
	Condition   string   `json:"condition"`
}

func newAlerts() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List the tenant's alert rules on seats and whether each is firing",
		Long: `List the alert rules (GET /allot/v1/alertRules): what each watches, where it sends, and its
status: firing from the check that saw the condition start until the one that saw it end.`,
		Example: `  allot alerts
  allot alerts create --name "Insights almost full" --product WORKPLACE_ANALYTICS_INSIGHTS --metric utilization --threshold 90 --email licensing@contoso.com
  allot alerts delete 5f0c…`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			var page struct {
				Value []alertRow `json:"value"`
			}
			if _, err := c.Do(cmd.Context(), "GET", "/allot/v1/alertRules", nil, &page); err != nil {
				return err
			}
			t := &table{head: []string{"NAME", "CONDITION", "STATUS", "SENDS TO", "ID"}}
			for _, a := range page.Value {
				to := append([]string(nil), a.Emails...)
				if a.WebhookURL != nil {
					to = append(to, *a.WebhookURL)
				}
				t.add(a.DisplayName, a.Condition, a.Status, strings.Join(to, " "), a.ID)
			}
			return render(cmd.OutOrStdout(), out, t, orEmpty(page.Value))
		}),
	}
	addOutput(cmd, &out)
	cmd.AddCommand(newAlertsCreate(), newAlertsDelete())
	return cmd
}

func newAlertsCreate() *cobra.Command {
	var name, product, metric, webhook, group string
	var threshold, forMinutes float64
	var emails []string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an alert rule: seats, waiting list, license errors, processing lag or reclamation notices",
		Long: `Create an alert rule. --metric availableSeats fires when available seats are at or below the
threshold, utilization when at least threshold percent of the seats are used; these fire when
above the threshold: waitingList (members waiting for a seat), licenseErrors (users with a license
in error; --group counts only the licenses that group assigns), oldestWaitMinutes (the longest wait
for a seat), processingLagMinutes (the oldest change not yet processed; the whole organization)
and reclamationNotices (users under a reclamation notice). Without --product it watches all the
tenant's products. With --for the condition must hold that many minutes before the rule fires.
It sends to --webhook (a JSON POST), to each --email (through the server's --smtp-addr), or
both, once when it fires and once when it resolves, with a link to the page that shows it.`,
		Example: `  allot alerts create --name "Insights ≥ 90% used" --product WORKPLACE_ANALYTICS_INSIGHTS --metric utilization --threshold 90 --webhook https://hooks.example.com/allot --email licensing@contoso.com
  allot alerts create --name "E5 line" --product SPE_E5 --metric waitingList --threshold 0 --email it@contoso.com
  allot alerts create --name "Sales licensing errors" --metric licenseErrors --group 0b7a…(group id) --threshold 0 --for 30 --email it@contoso.com`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			body := map[string]any{"displayName": name, "product": product, "metric": metric, "threshold": threshold,
				"webhookUrl": webhook, "emails": emails}
			if group != "" {
				body["group"] = group
			}
			if forMinutes > 0 {
				body["forMinutes"] = forMinutes
			}
			var a alertRow
			if _, err := c.Do(cmd.Context(), "POST", "/allot/v1/alertRules", body, &a); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created alert rule %q (%s): %s\n", a.DisplayName, a.ID, a.Condition)
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "what the alert is about (required)")
	f.StringVar(&product, "product", "", "skuPartNumber or skuId (default: all products)")
	f.StringVar(&metric, "metric", "utilization", "availableSeats, utilization, waitingList, licenseErrors, oldestWaitMinutes, processingLagMinutes or reclamationNotices")
	f.Float64Var(&threshold, "threshold", 90, "seats, users or minutes, or percent for utilization")
	f.StringVar(&group, "group", "", "licenseErrors only: the id of the group whose licenses to count")
	f.Float64Var(&forMinutes, "for", 0, "minutes the condition must hold before the rule fires")
	f.StringVar(&webhook, "webhook", "", "URL to POST the alert to as JSON")
	f.StringArrayVar(&emails, "email", nil, "e-mail address to send the alert to (repeat for more)")
	cmd.MarkFlagRequired("name")
	return cmd
}

func newAlertsDelete() *cobra.Command {
	return &cobra.Command{
		Use:     "delete ID",
		Short:   "Delete an alert rule",
		Example: `  allot alerts delete 5f0c2a6e-…`,
		Args:    cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			if _, err := c.Do(cmd.Context(), "DELETE", "/allot/v1/alertRules/"+args[0], nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Deleted alert rule "+args[0]+".")
			return nil
		}),
	}
}
