package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"allot"
	"allot/store"
	"allot/store/sqlstore"
)

func newTenant() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Operator commands for tenants (work on the data directory directly)"}
	var sf storeFlags
	var name, geo, usage string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a tenant and print its id and a Global Administrator token",
		Long: `Create a tenant and print its id and a Global Administrator API token. The token is shown
once and stored hashed. This works while a server runs on the same data.`,
		Example: `  allot tenant create --data ./allot-data --name Fabrikam --data-location EUR --usage-location DE`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			st, err := sf.open(cmd.Context(), log)
			if err != nil {
				return err
			}
			defer st.Close()
			t, err := st.CreateTenant(cmd.Context(), name, geo, usage)
			if err != nil {
				return err
			}
			tok := sqlstore.NewToken()
			if err := st.CreateToken(cmd.Context(), t.ID, "tenant create", store.RoleGlobalAdmin, tok); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tenant %s\ntoken  %s\n", t.GUID, tok)
			fmt.Fprintln(cmd.ErrOrStderr(), "The token is shown once; store it now.")
			return nil
		},
	}
	sf.add(create)
	create.Flags().StringVar(&name, "name", "", "display name of the tenant (required)")
	create.Flags().StringVar(&geo, "data-location", "", "data location (geo) such as NAM, EUR, APC, GBR (required)")
	create.Flags().StringVar(&usage, "usage-location", "", "default usage location for group licenses (ISO country code such as US)")
	create.MarkFlagRequired("name")
	create.MarkFlagRequired("data-location")
	cmd.AddCommand(create)
	return cmd
}

func newToken() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Operator commands for API tokens (work on the data directory directly)"}
	var sf storeFlags
	var tenant, role, name string
	create := &cobra.Command{
		Use:     "create",
		Short:   "Create an API token for a tenant (the default tenant unless --tenant) and print it once",
		Example: `  allot token create --data ./allot-data --role "Global Reader" --name auditor`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			st, err := sf.open(cmd.Context(), log)
			if err != nil {
				return err
			}
			defer st.Close()
			var t *allot.Tenant
			if tenant == "" {
				t, err = st.DefaultTenant(cmd.Context())
			} else {
				t, err = st.TenantByGUID(cmd.Context(), tenant)
			}
			if err != nil {
				return err
			}
			if _, ok := store.RoleIDs[role]; !ok {
				return allot.Errorf(allot.EInvalid, "--role must be one of %q, %q, %q, %q, %q, %q.", store.RoleGlobalAdmin, store.RoleLicenseAdmin,
					store.RoleUserAdmin, store.RoleGlobalReader, store.RoleInsightsAdmin, store.RoleInsightsLeader)
			}
			tok := sqlstore.NewToken()
			if err := st.CreateToken(cmd.Context(), t.ID, name, role, tok); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	sf.add(create)
	create.Flags().StringVar(&tenant, "tenant", "", "tenant id (GUID); default: the default tenant")
	create.Flags().StringVar(&role, "role", store.RoleGlobalAdmin, "role of the token")
	create.Flags().StringVar(&name, "name", "operator token", "name shown in the audit log")
	cmd.AddCommand(create)
	return cmd
}
