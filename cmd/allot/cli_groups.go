package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"allot"
	"allot/client"
)

func newGroups() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "groups",
		Aliases: []string{"group"},
		Short:   "List, show, create and delete security groups and manage their members",
		Example: `  allot groups list
  allot groups create --name "Insights Users"
  allot groups create --name "Dynamic Sales" --rule 'user.department -eq "Sales"'
  allot groups rule test 'user.department -eq "Sales"'
  allot groups members add "Insights Users" adele.vance1@contoso.com "Sales Team"`,
	}
	cmd.AddCommand(newGroupsList(), newGroupsShow(), newGroupsCreate(), newGroupsDelete(), newMembers(), newGroupsRule())
	return cmd
}

func groupTable() *table {
	return &table{head: []string{"NAME", "DESCRIPTION", "LICENSES", "PROCESSING", "ID"}}
}

func newGroupsList() *cobra.Command {
	var lf listFlags
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List groups",
		Example: `  allot groups list
  allot groups list --filter "hasMembersWithLicenseErrors eq true"
  allot groups list --filter "startswith(displayName,'Sales')" -o json`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(lf.out); err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			groups, more, err := c.Groups(cmd.Context(), lf.options())
			if err != nil {
				return err
			}
			names, err := loadSkuNames(cmd.Context(), c)
			if err != nil {
				return err
			}
			t := groupTable()
			for _, g := range groups {
				t.add(g.DisplayName, g.Description, names.list(g.AssignedLicenses), g.LicenseProcessingState.State, g.ID)
			}
			if err := render(cmd.OutOrStdout(), lf.out, t, orEmpty(groups)); err != nil {
				return err
			}
			lf.more(cmd, more, "groups")
			return nil
		}),
	}
	lf.add(cmd, "groups")
	return cmd
}

func newGroupsShow() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "show GROUP",
		Short: "Show a group: licenses, processing state and how many members have them",
		Example: `  allot groups show "Sales Team"
  allot groups show 2f7c0e5e-8d4b-4a53-9d0e-5b1f3f0c9a11 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			g, err := resolveGroup(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			sum, err := c.LicenseSummary(cmd.Context(), g.ID)
			if err != nil {
				return err
			}
			names, err := loadSkuNames(cmd.Context(), c)
			if err != nil {
				return err
			}
			switch out {
			case outJSON:
				return writeJSONOut(cmd.OutOrStdout(), map[string]any{"group": g, "licenseSummary": sum})
			case outCSV:
				t := groupTable()
				t.add(g.DisplayName, g.Description, names.list(g.AssignedLicenses), g.LicenseProcessingState.State, g.ID)
				return render(cmd.OutOrStdout(), out, t, nil)
			}
			kv(cmd.OutOrStdout(), "Name", g.DisplayName, "ID", g.ID, "Description", orDash(g.Description),
				"Licenses", orDash(names.list(g.AssignedLicenses)), "Processing", g.LicenseProcessingState.State,
				"Members", thousands(sum.Members), "License status", strings.TrimSuffix(sum.Message, ".")+errorBreakdown(sum)+".")
			return nil
		}),
	}
	addOutput(cmd, &out)
	return cmd
}

func newGroupsCreate() *cobra.Command {
	var ng client.NewGroup
	var out string
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create a security group",
		Example: `  allot groups create --name "Insights Users" --description "People who use Workplace Analytics Insights"`,
		Args:    cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			if ng.MembershipRule != "" {
				ng.GroupTypes = []string{"DynamicMembership"}
			}
			g, err := c.CreateGroup(cmd.Context(), ng)
			if err != nil {
				return err
			}
			switch out {
			case outJSON:
				return writeJSONOut(cmd.OutOrStdout(), g)
			case outCSV:
				t := groupTable()
				t.add(g.DisplayName, g.Description, "", g.LicenseProcessingState.State, g.ID)
				return render(cmd.OutOrStdout(), out, t, nil)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created group %q, id %s.\n", g.DisplayName, g.ID)
			return nil
		}),
	}
	cmd.Flags().StringVar(&ng.DisplayName, "name", "", "display name (required)")
	markRequired(cmd, "name")
	cmd.Flags().StringVar(&ng.Description, "description", "", "description")
	cmd.Flags().StringVar(&ng.MailNickname, "mail-nickname", "", "mail nickname")
	cmd.Flags().StringVar(&ng.MembershipRule, "rule", "", `membership rule: a dynamic group whose members the rule selects, e.g. 'user.department -eq "Sales"'`)
	addOutput(cmd, &out)
	return cmd
}

func newGroupsRule() *cobra.Command {
	cmd := &cobra.Command{Use: "rule", Short: "Try membership rules of dynamic groups",
		Example: `  allot groups rule test 'user.department -eq "Sales"'
  allot groups rule set "Dynamic Sales" 'user.department -in ["Sales","Presales"]'`}
	cmd.AddCommand(newGroupsRuleTest(), newGroupsRuleSet())
	return cmd
}

func newGroupsRuleSet() *cobra.Command {
	var lf lossFlag
	cmd := &cobra.Command{
		Use:   "set GROUP RULE",
		Short: "Set a dynamic group's membership rule, after showing who would join and leave",
		Long: `Set the membership rule of a group (making it dynamic). The command first previews the change
(who would join and leave, what licenses would follow) and prints it, then applies it.

` + lossHelp,
		Example: `  allot groups rule set "Dynamic Sales" 'user.department -in ["Sales", "Inside Sales"]'`,
		Args:    cobra.ExactArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			g, err := resolveGroup(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			var pv struct {
				Summary     string `json:"summary"`
				Memberships []struct {
					JoinCount  int `json:"joinCount"`
					LeaveCount int `json:"leaveCount"`
				} `json:"memberships"`
			}
			dyn := []string{"DynamicMembership"}
			if _, err := c.Do(cmd.Context(), "POST", "/allot/v1/preview", map[string]any{"action": "updateGroup", "groupId": g.ID,
				"groupTypes": dyn, "membershipRule": args[1]}, &pv); err != nil {
				return err
			}
			w := cmd.ErrOrStderr()
			for _, m := range pv.Memberships {
				fmt.Fprintf(w, "%d users would join %q and %d leave it. ", m.JoinCount, g.DisplayName, m.LeaveCount)
			}
			fmt.Fprintln(w, pv.Summary)
			err = lf.confirmLoss(cmd, c, func(c *client.Client) error {
				_, err := c.Do(cmd.Context(), "PATCH", "/v1.0/groups/"+g.ID, map[string]any{"groupTypes": dyn, "membershipRule": args[1]}, nil)
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Set the membership rule of %q.\n", g.DisplayName)
			return nil
		}),
	}
	lf.add(cmd)
	return cmd
}

func newGroupsRuleTest() *cobra.Command {
	return &cobra.Command{
		Use:     "test RULE",
		Short:   "Say how many users a membership rule selects, with up to 10 of them (nothing changes)",
		Example: `  allot groups rule test 'user.department -eq "Sales" -and user.usageLocation -eq "US"'`,
		Args:    cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			var pv struct {
				Memberships []struct {
					JoinCount int `json:"joinCount"`
					Joins     []struct {
						UserPrincipalName string `json:"userPrincipalName"`
						DisplayName       string `json:"displayName"`
					} `json:"joins"`
				} `json:"memberships"`
			}
			// The preview of creating a group with the rule: the same
			// evaluation as the real create, rolled back.
			if _, err := c.Do(cmd.Context(), "POST", "/allot/v1/preview", map[string]any{"action": "createGroup",
				"membershipRule": args[0], "membersTop": 10}, &pv); err != nil {
				return err
			}
			if len(pv.Memberships) == 0 {
				return fmt.Errorf("the server evaluated no rule")
			}
			m := pv.Memberships[0]
			fmt.Fprintf(cmd.OutOrStdout(), "%d users match.\n", m.JoinCount)
			for _, u := range m.Joins {
				fmt.Fprintf(cmd.OutOrStdout(), "  %s (%s)\n", u.UserPrincipalName, u.DisplayName)
			}
			return nil
		}),
	}
}

func newGroupsDelete() *cobra.Command {
	var lf lossFlag
	cmd := &cobra.Command{
		Use:   "delete GROUP...",
		Short: "Delete groups (a group that still assigns licenses cannot be deleted)",
		Long: `Delete groups. A group that still assigns licenses cannot be deleted: remove its licenses first
(allot license remove-group). Deleting a group that is a member of a licensed group takes that
group's licenses away from its members, unless another source grants them.

` + lossHelp,
		Example: `  allot groups delete "Old Project"
  allot groups delete "Old Project" --yes   # even if its members lose licenses`,
		Args: cobra.MinimumNArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			for _, ref := range args {
				g, err := resolveGroup(cmd.Context(), c, ref)
				if err != nil {
					return err
				}
				if err := lf.confirmLoss(cmd, c, func(c *client.Client) error { return c.DeleteGroup(cmd.Context(), g.ID) }); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted group %q.\n", g.DisplayName)
			}
			return nil
		}),
	}
	lf.add(cmd)
	return cmd
}

func newMembers() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "members",
		Aliases: []string{"member"},
		Short:   "List, add and remove group members (users and groups)",
		Example: `  allot groups members list "Sales Team" --transitive
  allot groups members add "Sales Team" megan@contoso.com "Sales Leadership"
  allot groups members remove "Sales Team" megan@contoso.com`,
	}
	cmd.AddCommand(newMembersList(), newMembersAdd(), newMembersRemove())
	return cmd
}

func newMembersList() *cobra.Command {
	var lf listFlags
	var transitive bool
	cmd := &cobra.Command{
		Use:     "list GROUP",
		Aliases: []string{"ls"},
		Short:   "List a group's members in the order they were added",
		Example: `  allot groups members list "Sales Team"
  allot groups members list "Sales Team" --transitive --all -o csv`,
		Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(lf.out); err != nil {
				return err
			}
			if lf.filter != "" {
				return allot.Errorf(allot.EInvalid, "--filter is not supported on members; filter 'allot users list' instead.")
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			g, err := resolveGroup(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			ms, more, err := c.Members(cmd.Context(), g.ID, transitive, lf.options())
			if err != nil {
				return err
			}
			t := &table{head: []string{"TYPE", "NAME", "USER PRINCIPAL NAME", "ID"}}
			for _, m := range ms {
				kind := "user"
				if m.IsGroup() {
					kind = "group"
				}
				t.add(kind, m.DisplayName, m.UserPrincipalName, m.ID)
			}
			if err := render(cmd.OutOrStdout(), lf.out, t, orEmpty(ms)); err != nil {
				return err
			}
			lf.more(cmd, more, "members")
			return nil
		}),
	}
	lf.add(cmd, "members")
	cmd.Flags().BoolVar(&transitive, "transitive", false, "include members of nested groups")
	return cmd
}

func newMembersAdd() *cobra.Command {
	return &cobra.Command{
		Use:   "add GROUP MEMBER...",
		Short: "Add users (by userPrincipalName or id) and groups (by name or id) to a group",
		Long: `Add members to a group. A member with an @ is a user (userPrincipalName); an id is a user or a
group; anything else is a group's name. Licenses the group assigns follow automatically.`,
		Example: `  allot groups members add "Insights Users" adele.vance1@contoso.com alex.wilber2@contoso.com
  allot groups members add "Sales Team" "Sales Leadership"`,
		Args: cobra.MinimumNArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			return changeMembers(cmd, args, true, nil)
		}),
	}
}

func newMembersRemove() *cobra.Command {
	var lf lossFlag
	cmd := &cobra.Command{
		Use:     "remove GROUP MEMBER...",
		Aliases: []string{"rm"},
		Short:   "Remove users and groups from a group",
		Long: `Remove members from a group; they lose what the group assigned them.

` + lossHelp,
		Example: `  allot groups members remove "Insights Users" adele.vance1@contoso.com
  allot groups members remove "All Staff" adele.vance1@contoso.com --yes`,
		Args: cobra.MinimumNArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			return changeMembers(cmd, args, false, &lf)
		}),
	}
	lf.add(cmd)
	return cmd
}

func changeMembers(cmd *cobra.Command, args []string, add bool, lf ...*lossFlag) error {
	c, err := clientFromEnv()
	if err != nil {
		return err
	}
	g, err := resolveGroup(cmd.Context(), c, args[0])
	if err != nil {
		return err
	}
	for _, ref := range args[1:] {
		m, err := resolveObject(cmd.Context(), c, ref)
		if err != nil {
			return err
		}
		if add {
			err = c.AddMember(cmd.Context(), g.ID, m.ID)
		} else {
			err = lf[0].confirmLoss(cmd, c, func(c *client.Client) error { return c.RemoveMember(cmd.Context(), g.ID, m.ID) })
		}
		if err != nil {
			return prefixError(m.Kind+" "+m.Name, err)
		}
		if add {
			fmt.Fprintf(cmd.OutOrStdout(), "Added %s %s to %q.\n", m.Kind, m.Name, g.DisplayName)
		} else {
			fmt.Fprintf(cmd.OutOrStdout(), "Removed %s %s from %q.\n", m.Kind, m.Name, g.DisplayName)
		}
	}
	return nil
}
