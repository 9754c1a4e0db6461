package main

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"allot"
)

// newHealth is the container health check: it needs no shell or curl.
func newHealth() *cobra.Command {
	var url string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Ask a running server whether it is ready (exit 0) or not (exit 1)",
		Long: `Ask a running server's /readyz whether it is ready: exit status 0 on 200, 1 otherwise. The
Docker image's HEALTHCHECK runs it (the image has no shell or curl).`,
		Example: `  allot health
  allot health --url https://allot.example.com/readyz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c := &http.Client{Timeout: timeout}
			resp, err := c.Get(url)
			if err != nil {
				return allot.Errorf(allot.EUnavailable, "No answer from %s: %v.", url, err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			if resp.StatusCode != http.StatusOK {
				return allot.Errorf(allot.EUnavailable, "%s answered %d: %s", url, resp.StatusCode, b)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ready: %s\n", url)
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8080/readyz", "the server's readiness URL")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	return cmd
}
