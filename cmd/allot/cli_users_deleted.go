package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"allot"
	"allot/client"
)

func newUsersDeleted() *cobra.Command {
	var lf listFlags
	cmd := &cobra.Command{
		Use:   "deleted",
		Short: "List deleted users that can still be restored",
		Example: `  allot users deleted
  allot users deleted --filter "startswith(userPrincipalName,'megan')" -o json`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(lf.out); err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			users, more, err := c.DeletedUsers(cmd.Context(), lf.options())
			if err != nil {
				return err
			}
			names, err := loadSkuNames(cmd.Context(), c)
			if err != nil {
				return err
			}
			t := &table{head: []string{"USER PRINCIPAL NAME", "DISPLAY NAME", "DELETED", "DIRECT LICENSES", "ID"}}
			for _, u := range users {
				t.add(u.UserPrincipalName, u.DisplayName, u.DeletedDateTime, names.list(u.AssignedLicenses), u.ID)
			}
			if err := render(cmd.OutOrStdout(), lf.out, t, orEmpty(users)); err != nil {
				return err
			}
			lf.more(cmd, more, "deleted users")
			return nil
		}),
	}
	lf.add(cmd, "deleted users")
	return cmd
}

func newUsersRestore() *cobra.Command {
	var r client.RestoreRequest
	cmd := &cobra.Command{
		Use:   "restore ID",
		Short: "Restore a deleted user with its groups and licenses (seats permitting, else it waits)",
		Example: `  allot users restore 3c2f5a0e-6a43-4d55-9c1d-2a9d8e0f7b21
  allot users restore 3c2f5a0e-6a43-4d55-9c1d-2a9d8e0f7b21 --new-upn megan.old@contoso.com`,
		Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			u, err := c.RestoreUser(cmd.Context(), args[0], r)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Restored user %s.\n", u.UserPrincipalName)
			var waiting []client.AssignedLicense
			for _, s := range u.LicenseAssignmentStates {
				if s.State != allot.StateActive {
					waiting = append(waiting, client.AssignedLicense{SkuID: s.SkuID})
				}
			}
			if len(waiting) == 0 {
				return nil
			}
			names, err := loadSkuNames(cmd.Context(), c)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Not licensed yet, waiting or failed (allot users show %s): %s\n", u.UserPrincipalName, names.list(waiting))
			return nil
		}),
	}
	cmd.Flags().StringVar(&r.NewUserPrincipalName, "new-upn", "", "restore under this userPrincipalName (when its own is taken)")
	cmd.Flags().BoolVar(&r.AutoReconcileProxyConflict, "drop-conflicting-addresses", false, "drop the proxy addresses another user has taken meanwhile")
	return cmd
}
