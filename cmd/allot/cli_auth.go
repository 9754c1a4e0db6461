package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"allot"
	"allot/client"
)

// readLine reads one line from f, byte by byte so nothing after it is consumed.
func readLine(f io.Reader) (string, error) {
	var b []byte
	var one [1]byte
	for {
		n, err := f.Read(one[:])
		if n > 0 {
			if one[0] == '\n' {
				break
			}
			b = append(b, one[0])
			if len(b) > 64<<10 {
				return "", allot.Errorf(allot.EInvalid, "The token is longer than 64 KiB.")
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	return strings.TrimSpace(string(b)), nil
}

func newLogin() *cobra.Command {
	var urlFlag string
	var tokenStdin bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in to an allot server with an API token and remember it",
		Long: `Sign in to an allot server with an API token. The token comes from --token-stdin, else from
ALLOT_TOKEN, else from a prompt (not echoed). It is checked against the server, then stored with
the URL in your config directory (` + "`allot/config.json`" + `, readable only by you). Later commands use
it unless ALLOT_URL / ALLOT_TOKEN are set, which always win.`,
		Example: `  allot login --url https://allot.example.com
  echo "$TOKEN" | allot login --url http://127.0.0.1:8080 --token-stdin
  ALLOT_TOKEN=allot_... allot login --url http://127.0.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			cfg, _, err := loadConfig()
			if err != nil {
				cfg = &cliConfig{}
			}
			base := urlFlag
			if base == "" {
				base = os.Getenv("ALLOT_URL")
			}
			if base == "" {
				base = cfg.URL
			}
			if base == "" {
				return allot.Errorf(allot.EInvalid, "Give the server with --url, for example: allot login --url https://allot.example.com")
			}
			base, err = normalizeURL(base)
			if err != nil {
				return err
			}
			var tok string
			switch {
			case tokenStdin:
				data, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<10))
				if err != nil {
					return err
				}
				tok = strings.TrimSpace(string(data))
			case os.Getenv("ALLOT_TOKEN") != "":
				tok = strings.TrimSpace(os.Getenv("ALLOT_TOKEN"))
			default:
				in, ok := cmd.InOrStdin().(*os.File)
				if !ok || !isTerminal(in) {
					return allot.Errorf(allot.EInvalid, "No token: pipe it with --token-stdin, set ALLOT_TOKEN, or run 'allot login' in a terminal to be asked for it.")
				}
				tok, err = readNoEcho(in, func() { fmt.Fprintf(cmd.ErrOrStderr(), "API token for %s: ", base) })
				fmt.Fprintln(cmd.ErrOrStderr())
				if err != nil {
					return err
				}
			}
			if tok == "" {
				return allot.Errorf(allot.EInvalid, "The token is empty.")
			}
			c := client.New(base, tok)
			me, err := c.Me(cmd.Context())
			if err != nil {
				var ce *client.Error
				if errors.As(err, &ce) && ce.Status == 401 {
					return allot.Errorf(allot.EUnauthorized, "%s rejected the token: %s (%s)", base, ce.Message, shownCode(ce))
				}
				return err
			}
			p, err := saveConfig(&cliConfig{URL: base, Token: tok, TenantID: me.TenantID, TenantName: me.TenantName, Role: me.Role})
			if err != nil {
				return fmt.Errorf("save %s: %w", p, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Signed in to %s: tenant %s (%s) as %q, %s.\n", base, me.TenantName, me.TenantID, me.Name, me.Role)
			fmt.Fprintf(cmd.ErrOrStderr(), "Token saved in %s.\n", p)
			return nil
		}),
	}
	cmd.Flags().StringVar(&urlFlag, "url", "", "server URL, such as https://allot.example.com (default: ALLOT_URL or the last login)")
	cmd.Flags().BoolVar(&tokenStdin, "token-stdin", false, "read the token from standard input")
	return cmd
}

func newLogout() *cobra.Command {
	return &cobra.Command{
		Use:     "logout",
		Short:   "Forget the stored token",
		Example: `  allot logout`,
		Args:    cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			cfg, p, err := loadConfig()
			if err != nil {
				return err
			}
			if cfg.Token == "" {
				fmt.Fprintln(cmd.OutOrStdout(), "Not signed in.")
			} else {
				if err := os.Remove(p); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Signed out of %s.\n", cfg.URL)
			}
			if os.Getenv("ALLOT_TOKEN") != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "Note: ALLOT_TOKEN is set in your environment and still signs you in.")
			}
			return nil
		}),
	}
}

func newWhoami() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show the server, tenant and role you are signed in with",
		Example: `  allot whoami
  allot whoami -o json`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			c, err := clientFromEnv()
			if err != nil {
				return err
			}
			me, err := c.Me(cmd.Context())
			if err != nil {
				return err
			}
			t := &table{head: []string{"URL", "TENANT", "TENANT ID", "NAME", "ROLE"}}
			t.add(c.BaseURL, me.TenantName, me.TenantID, me.Name, me.Role)
			if out == outTable {
				kv(cmd.OutOrStdout(), "URL", c.BaseURL, "Tenant", me.TenantName+" ("+me.TenantID+")", "Signed in as", me.Name, "Role", me.Role)
				return nil
			}
			return render(cmd.OutOrStdout(), out, t, map[string]string{"url": c.BaseURL, "tenantId": me.TenantID,
				"tenantName": me.TenantName, "name": me.Name, "role": me.Role})
		}),
	}
	addOutput(cmd, &out)
	return cmd
}
