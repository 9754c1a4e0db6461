package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// apiClientRow is an API client as GET /allot/v1/apiClients shows it.
type apiClientRow struct {
	ID               string   `json:"id"`
	DisplayName      string   `json:"displayName"`
	Scopes           []string `json:"scopes"`
	CreatedDateTime  string   `json:"createdDateTime"`
	LastUsedDateTime *string  `json:"lastUsedDateTime"`
	ExpiresDateTime  *string  `json:"expiresDateTime"`
	RevokedDateTime  *string  `json:"revokedDateTime"`
	IsActive         bool     `json:"isActive"`
}

func newClients() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:     "clients",
		Aliases: []string{"apiclients", "tokens"},
		Short:   "List the tenant's API clients (SCIM provisioning tokens among them) with their last use",
		Long: `List the API clients you may see (GET /allot/v1/apiClients): name, scopes, whether the token still
works, when it was created and last used. A SCIM provisioning client has the scope
SCIM.Provisioning. The last use is recorded at most once a minute per client, so it can be up to a
minute behind. Secrets are never shown; revoke with DELETE /allot/v1/apiClients/{id}.`,
		Example: `  allot clients
  allot clients -o json`,
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
				Value []apiClientRow `json:"value"`
			}
			if _, err := c.Do(cmd.Context(), "GET", "/allot/v1/apiClients", nil, &page); err != nil {
				return err
			}
			t := &table{head: []string{"NAME", "SCOPES", "ACTIVE", "CREATED", "LAST USED", "ID"}}
			for _, a := range page.Value {
				scopes := strings.Join(a.Scopes, " ")
				if a.Scopes == nil {
					scopes = "(operator token: its roles)"
				}
				active := "yes"
				switch {
				case a.RevokedDateTime != nil:
					active = "revoked"
				case !a.IsActive:
					active = "expired"
				}
				t.add(a.DisplayName, scopes, active, a.CreatedDateTime, orNever(a.LastUsedDateTime), a.ID)
			}
			return render(cmd.OutOrStdout(), out, t, orEmpty(page.Value))
		}),
	}
	addOutput(cmd, &out)
	return cmd
}

func orNever(s *string) string {
	if s == nil {
		return "never"
	}
	return *s
}
