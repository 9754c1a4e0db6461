package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"allot"
	"allot/client"
)

// listFlags are the paging and filter flags of a listing.
type listFlags struct {
	filter string
	top    int
	all    bool
	out    string
}

func (f *listFlags) add(cmd *cobra.Command, what string) {
	cmd.Flags().StringVar(&f.filter, "filter", "", "OData $filter, such as \"department eq 'Sales'\" or \"startswith(displayName,'A')\"")
	cmd.Flags().IntVar(&f.top, "top", 100, "show at most this many "+what)
	cmd.Flags().BoolVar(&f.all, "all", false, "show all "+what+" (follow every page)")
	addOutput(cmd, &f.out)
}

func (f *listFlags) options() client.ListOptions {
	if f.all {
		return client.ListOptions{Filter: f.filter, All: true, Top: 999}
	}
	return client.ListOptions{Filter: f.filter, Limit: max(f.top, 1), All: true}
}

func (f *listFlags) more(cmd *cobra.Command, more bool, what string) {
	if more && !f.all {
		fmt.Fprintf(cmd.ErrOrStderr(), "Showing the first %d %s; use --all or --top N for more.\n", max(f.top, 1), what)
	}
}

func newUsers() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "users",
		Aliases: []string{"user"},
		Short:   "List, show, create, update, delete and restore users",
		Example: `  allot users list --filter "department eq 'Sales'"
  allot users show adele.vance1@contoso.com
  allot users create --upn megan@contoso.com --name "Megan Bowen" --usage-location US`,
	}
	cmd.AddCommand(newUsersList(), newUsersShow(), newUsersCreate(), newUsersUpdate(), newUsersDelete(), newUsersDeleted(), newUsersRestore())
	return cmd
}

func newUsersList() *cobra.Command {
	var lf listFlags
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List users",
		Example: `  allot users list
  allot users list --filter "usageLocation eq 'US' and department eq 'Sales'" --all -o csv
  allot users list --filter "assignedLicenses/any(x:x/skuId eq 06ebc4ee-1bb5-47dd-8120-11324bc54e06)"`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(lf.out); err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			users, more, err := c.Users(cmd.Context(), lf.options())
			if err != nil {
				return err
			}
			names, err := loadSkuNames(cmd.Context(), c)
			if err != nil {
				return err
			}
			t := &table{head: []string{"USER PRINCIPAL NAME", "DISPLAY NAME", "USAGE LOCATION", "DEPARTMENT", "ENABLED", "LICENSES", "ID"}}
			for _, u := range users {
				t.add(u.UserPrincipalName, u.DisplayName, u.UsageLocation, u.Department, yesNo(u.AccountEnabled), names.list(u.AssignedLicenses), u.ID)
			}
			if err := render(cmd.OutOrStdout(), lf.out, t, orEmpty(users)); err != nil {
				return err
			}
			lf.more(cmd, more, "users")
			return nil
		}),
	}
	lf.add(cmd, "users")
	return cmd
}

func newUsersShow() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "show USER",
		Short: "Show a user: properties, licenses and groups",
		Example: `  allot users show adele.vance1@contoso.com
  allot users show 3c2f5a0e-6a43-4d55-9c1d-2a9d8e0f7b21 -o json`,
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
			if out == outJSON {
				return writeJSONOut(cmd.OutOrStdout(), u)
			}
			names, err := loadSkuNames(cmd.Context(), c)
			if err != nil {
				return err
			}
			if out == outCSV {
				t := userTable()
				t.add(u.UserPrincipalName, u.DisplayName, u.UsageLocation, u.Department, yesNo(u.AccountEnabled), names.list(u.AssignedLicenses), u.ID)
				return render(cmd.OutOrStdout(), out, t, nil)
			}
			groups, err := c.MemberOf(cmd.Context(), "users", u.ID)
			if err != nil {
				return err
			}
			var gn []string
			for _, g := range groups {
				gn = append(gn, g.DisplayName)
			}
			kv(cmd.OutOrStdout(), "User principal name", u.UserPrincipalName, "Display name", u.DisplayName, "ID", u.ID,
				"Mail", orDash(u.Mail), "Proxy addresses", orDash(strings.Join(u.ProxyAddresses, ", ")),
				"Department", orDash(u.Department), "Job title", orDash(u.JobTitle), "Usage location", orDash(u.UsageLocation),
				"Account enabled", yesNo(u.AccountEnabled), "Created", u.CreatedDateTime,
				"Licenses", orDash(names.list(u.AssignedLicenses)), "Groups", orDash(strings.Join(gn, ", ")))
			return nil
		}),
	}
	addOutput(cmd, &out)
	return cmd
}

func userTable() *table {
	return &table{head: []string{"USER PRINCIPAL NAME", "DISPLAY NAME", "USAGE LOCATION", "DEPARTMENT", "ENABLED", "LICENSES", "ID"}}
}

// userFields are the flags of users create and users update.
type userFields struct {
	upn, name, given, surname, mail, job, dept, loc string
	proxies                                         []string
	disabled                                        bool
}

func (f *userFields) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.upn, "upn", "", "userPrincipalName (sign-in name, such as megan@contoso.com); required to create")
	fl.StringVar(&f.name, "name", "", "display name; required to create")
	fl.StringVar(&f.given, "given-name", "", "given name")
	fl.StringVar(&f.surname, "surname", "", "surname")
	fl.StringVar(&f.mail, "mail", "", "email address")
	fl.StringVar(&f.job, "job-title", "", "job title")
	fl.StringVar(&f.dept, "department", "", "department")
	fl.StringVar(&f.loc, "usage-location", "", "usage location: two-letter country code such as US (needed for direct licenses)")
	fl.StringArrayVar(&f.proxies, "proxy-address", nil, "proxy address such as smtp:alias@contoso.com (repeat for several)")
	fl.BoolVar(&f.disabled, "disabled", false, "account disabled (cannot sign in)")
}

func newUsersCreate() *cobra.Command {
	var f userFields
	var out string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a user",
		Example: `  allot users create --upn megan@contoso.com --name "Megan Bowen" --usage-location US --department Marketing
  allot users create --upn lee@contoso.com --name "Lee Gu" --proxy-address SMTP:lee@contoso.com --proxy-address smtp:lgu@contoso.onmicrosoft.com`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			nu := client.NewUser{UserPrincipalName: f.upn, DisplayName: f.name, GivenName: f.given, Surname: f.surname,
				Mail: f.mail, JobTitle: f.job, Department: f.dept, UsageLocation: f.loc, ProxyAddresses: f.proxies}
			if f.disabled {
				no := false
				nu.AccountEnabled = &no
			}
			u, err := c.CreateUser(cmd.Context(), nu)
			if err != nil {
				return err
			}
			if out == outJSON {
				return writeJSONOut(cmd.OutOrStdout(), u)
			}
			if out == outCSV {
				t := userTable()
				t.add(u.UserPrincipalName, u.DisplayName, u.UsageLocation, u.Department, yesNo(u.AccountEnabled), "", u.ID)
				return render(cmd.OutOrStdout(), out, t, nil)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created user %s (%s), id %s.\n", u.UserPrincipalName, u.DisplayName, u.ID)
			return nil
		}),
	}
	f.add(cmd)
	addOutput(cmd, &out)
	markRequired(cmd, "upn", "name")
	return cmd
}

func newUsersUpdate() *cobra.Command {
	var f userFields
	var enabled bool
	cmd := &cobra.Command{
		Use:   "update USER",
		Short: "Change a user's properties (only the flags given)",
		Example: `  allot users update megan@contoso.com --usage-location GB --department Sales
  allot users update megan@contoso.com --enabled=false`,
		Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			var p client.UserPatch
			fl := cmd.Flags()
			set := func(name string, v *string, dst **string) {
				if fl.Changed(name) {
					s := *v
					*dst = &s
				}
			}
			set("upn", &f.upn, &p.UserPrincipalName)
			set("name", &f.name, &p.DisplayName)
			set("given-name", &f.given, &p.GivenName)
			set("surname", &f.surname, &p.Surname)
			set("mail", &f.mail, &p.Mail)
			set("job-title", &f.job, &p.JobTitle)
			set("department", &f.dept, &p.Department)
			set("usage-location", &f.loc, &p.UsageLocation)
			if fl.Changed("proxy-address") {
				pa := f.proxies
				p.ProxyAddresses = &pa
			}
			if fl.Changed("enabled") {
				p.AccountEnabled = &enabled
			}
			if fl.Changed("disabled") {
				v := !f.disabled
				p.AccountEnabled = &v
			}
			if p == (client.UserPatch{}) {
				return allot.Errorf(allot.EInvalid, "Nothing to change: give at least one flag, such as --usage-location US.")
			}
			u, err := resolveUser(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if err := c.UpdateUser(cmd.Context(), u.ID, p); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Updated user %s.\n", u.UserPrincipalName)
			return nil
		}),
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&enabled, "enabled", true, "account enabled (--enabled=false to block sign-in)")
	return cmd
}

func newUsersDelete() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete USER...",
		Short: "Delete users (their seats are freed)",
		Example: `  allot users delete megan@contoso.com
  allot users delete a@contoso.com b@contoso.com`,
		Args: cobra.MinimumNArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			for _, ref := range args {
				u, err := resolveUser(cmd.Context(), c, ref)
				if err != nil {
					return err
				}
				if err := c.DeleteUser(cmd.Context(), u.ID); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted user %s.\n", u.UserPrincipalName)
			}
			return nil
		}),
	}
	return cmd
}
