package main

// Operator commands for people's accounts, working on the data directory (or
// database) directly: set a password, grant a directory role. They bootstrap
// the first administrator who signs in to the admin center; after that,
// administrators use the API (PATCH /v1.0/users/{id} with passwordProfile,
// POST /v1.0/roleManagement/directory/roleAssignments).

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"allot"
	"allot/httpapi"
	"allot/store"
	"allot/store/sqlstore"
)

var operatorActor = allot.Actor{Kind: "system", ID: "operator", Name: "allot operator"}

func newAccount() *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Operator commands for people's sign-in: passwords and roles (work on the data directory directly)"}
	cmd.AddCommand(newSetPassword(), newGrantRole())
	return cmd
}

func openTenant(ctx context.Context, sf storeFlags, tenant string) (*sqlstore.Store, *allot.Tenant, error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := sf.open(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	var t *allot.Tenant
	if tenant == "" {
		t, err = st.DefaultTenant(ctx)
	} else {
		t, err = st.TenantByGUID(ctx, tenant)
	}
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, t, nil
}

func newSetPassword() *cobra.Command {
	var sf storeFlags
	var tenant, user string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "set-password",
		Short: "Set a user's password (read from the terminal, not echoed, or from stdin)",
		Long: `Set the password a user signs in with (POST /allot/v1/signin or the admin center). The password
is read from the terminal without echo (twice), or with --password-stdin from the first line of
standard input. It is stored as an Argon2id hash; the user's sessions end.`,
		Example: `  allot account set-password --data ./allot-data --user admin@contoso.com
  printf '%s\n' "$PASSWORD" | allot account set-password --user admin@contoso.com --password-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var pw string
			var err error
			if fromStdin {
				pw, err = readLine(os.Stdin)
			} else {
				pw, err = readNoEcho(os.Stdin, func() { fmt.Fprint(cmd.ErrOrStderr(), "New password: ") })
				fmt.Fprintln(cmd.ErrOrStderr())
				if err == nil {
					var again string
					again, err = readNoEcho(os.Stdin, func() { fmt.Fprint(cmd.ErrOrStderr(), "Again: ") })
					fmt.Fprintln(cmd.ErrOrStderr())
					if err == nil && again != pw {
						return allot.Errorf(allot.EInvalid, "The two passwords differ; nothing changed.")
					}
				}
			}
			if err != nil {
				return err
			}
			if err := sqlstore.ValidatePassword(pw); err != nil {
				return err
			}
			st, t, err := openTenant(cmd.Context(), sf, tenant)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.SetPassword(cmd.Context(), operatorActor, t.ID, user, pw); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Password set for %s.\n", user)
			return nil
		},
	}
	sf.add(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant id (GUID); default: the default tenant")
	cmd.Flags().StringVar(&user, "user", "", "the user's userPrincipalName or id (required)")
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	cmd.MarkFlagRequired("user")
	return cmd
}

func newGrantRole() *cobra.Command {
	var sf storeFlags
	var tenant, user, role string
	names := make([]string, 0, len(store.RoleIDs))
	for n := range store.RoleIDs {
		names = append(names, n)
	}
	sort.Strings(names)
	cmd := &cobra.Command{
		Use:     "grant-role",
		Short:   "Give a user or API client a directory role",
		Example: `  allot account grant-role --data ./allot-data --user admin@contoso.com --role "Global Administrator"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, ok := store.RoleIDs[role]
			if !ok {
				for n, rid := range store.RoleIDs {
					if strings.EqualFold(n, role) || strings.EqualFold(rid, role) {
						id, ok = rid, true
					}
				}
			}
			if !ok {
				return allot.Errorf(allot.EInvalid, "--role must be one of: %s.", strings.Join(names, ", "))
			}
			st, t, err := openTenant(cmd.Context(), sf, tenant)
			if err != nil {
				return err
			}
			defer st.Close()
			if _, err := st.AddRoleAssignment(cmd.Context(), operatorActor, t.ID, user, id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is now %s.\n", user, role)
			return nil
		},
	}
	sf.add(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant id (GUID); default: the default tenant")
	cmd.Flags().StringVar(&user, "user", "", "the user's userPrincipalName or id, or an API client's id (required)")
	cmd.Flags().StringVar(&role, "role", "", "role: "+strings.Join(names, ", ")+" (required)")
	cmd.MarkFlagRequired("user")
	cmd.MarkFlagRequired("role")
	return cmd
}

// authFlags are serve's sign-in options.
type authFlags struct {
	oidcIssuer, oidcClientID, oidcRedirect, oidcTenant string
	oidcClaims                                         []string
}

func (f *authFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.oidcIssuer, "oidc-issuer", os.Getenv("ALLOT_OIDC_ISSUER"), "OpenID Connect issuer URL for single sign-on (env ALLOT_OIDC_ISSUER); the client secret is read from ALLOT_OIDC_CLIENT_SECRET")
	cmd.Flags().StringVar(&f.oidcClientID, "oidc-client-id", os.Getenv("ALLOT_OIDC_CLIENT_ID"), "OpenID Connect client id (env ALLOT_OIDC_CLIENT_ID)")
	cmd.Flags().StringVar(&f.oidcRedirect, "oidc-redirect-url", os.Getenv("ALLOT_OIDC_REDIRECT_URL"), "this server's callback URL as the provider knows it: https://HOST/allot/v1/sso/callback (env ALLOT_OIDC_REDIRECT_URL)")
	cmd.Flags().StringVar(&f.oidcTenant, "oidc-tenant", "", "tenant id (GUID) whose users sign in with single sign-on; default: the default tenant")
	cmd.Flags().StringSliceVar(&f.oidcClaims, "oidc-user-claims", nil, "ID token claims matched against userPrincipalName on a first sign-in (default email, when verified; Entra ID: upn)")
}

// configure applies the sign-in options to the API server.
func (f *authFlags) configure(api *httpapi.Server) error {
	if f.oidcIssuer == "" {
		return nil
	}
	return api.ConfigureAuth(httpapi.AuthConfig{OIDC: &httpapi.OIDCConfig{Issuer: f.oidcIssuer, ClientID: f.oidcClientID,
		ClientSecret: os.Getenv("ALLOT_OIDC_CLIENT_SECRET"), RedirectURL: f.oidcRedirect, TenantID: f.oidcTenant, UserClaims: f.oidcClaims}})
}

// serveAuth holds serve's sign-in flags.
var serveAuth authFlags
