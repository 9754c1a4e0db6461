package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"allot"
	"allot/store/sqlstore"
)

func newBackup() *cobra.Command {
	var sf storeFlags
	var to string
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Write a consistent copy of a SQLite store to a file, also while a server runs",
		Long: `Write a consistent copy of the SQLite store in --data to a new file (SQLite's VACUUM INTO: the
state of one moment; a server on the same data keeps serving and writing meanwhile). To restore,
use 'allot restore'. A PostgreSQL store is backed up with pg_dump (docs/operations.md).`,
		Example: `  allot backup --data /var/lib/allot --to /backup/allot-$(date +%F).db
  allot restore --from /backup/allot-2026-12-02.db --data /restore-test && allot check --data /restore-test`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return allot.Errorf(allot.EInvalid, "Name the backup file with --to FILE.")
			}
			st, err := sf.open(cmd.Context(), slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.BackupTo(cmd.Context(), to); err != nil {
				return err
			}
			fi, err := os.Stat(to)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backed up to %s (%d bytes)\n", to, fi.Size())
			return nil
		},
	}
	sf.add(cmd)
	cmd.Flags().StringVar(&to, "to", "", "the new backup file (must not exist)")
	return cmd
}

func newRestore() *cobra.Command {
	var sf storeFlags
	var from string
	var force bool
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Put a backup file written by 'allot backup' in place as the SQLite store of --data",
		Long: `Put a backup file written by 'allot backup' in place as the SQLite store of --data, migrated to
this version's schema, then verify it as 'allot check' does. The file is checked first (an intact
SQLite database with allot's schema). A directory that holds a store already is refused unless
--force; even with --force, a store that a running server has open is refused: stop the server
first. Group licensing that was running when the backup was taken goes on when a server starts
on the restored store. A PostgreSQL store is restored with pg_restore (docs/operations.md).`,
		Example: `  allot restore --from /backup/allot-2026-12-02.db --data /var/lib/allot-restored
  systemctl stop allot && allot restore --from /backup/allot-2026-12-02.db --data /var/lib/allot --force`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" {
				return allot.Errorf(allot.EInvalid, "Name the backup file with --from FILE.")
			}
			if sf.db != "" {
				return allot.Errorf(allot.EInvalid, "A PostgreSQL store is restored with pg_restore (docs/operations.md), not 'allot restore'; pass --data DIR for an SQLite store.")
			}
			if err := sqlstore.RestoreSQLite(cmd.Context(), from, sf.data, force); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %s into %s\n", from, sf.data)
			return runCheck(cmd, sf)
		},
	}
	cmd.Flags().StringVar(&sf.data, "data", "./allot-data", "data directory of the SQLite store to restore into")
	cmd.Flags().StringVar(&sf.db, "db", "", "refused: a PostgreSQL store is restored with pg_restore")
	cmd.Flags().StringVar(&from, "from", "", "the backup file written by 'allot backup'")
	cmd.Flags().BoolVar(&force, "force", false, "replace the store in --data (the server must be stopped)")
	return cmd
}

func newCheck() *cobra.Command {
	var sf storeFlags
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Verify the invariants of a store and print what would repair it (changes nothing)",
		Long: `Verify the invariants of a store: every product's consumedUnits equals the users holding it and
stays within enabledUnits; no mark, license state or group license points at a user, group or
product that does not exist. Each finding is printed with what would repair it; nothing is
changed. Exit status 0 when the store is consistent, 2 when something was found.`,
		Example: `  allot check --data /var/lib/allot
  allot check --db postgres://postgres@127.0.0.1:5432/allot`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runCheck(cmd, sf) },
	}
	sf.add(cmd)
	return cmd
}

// runCheck runs 'allot check' on the store of sf.
func runCheck(cmd *cobra.Command, sf storeFlags) error {
	st, err := sf.open(cmd.Context(), slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	defer st.Close()
	fs, err := st.Check(cmd.Context())
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	for _, f := range fs {
		fmt.Fprintf(w, "%s: %s\n  repair: %s\n", f.Check, f.Detail, f.Repair)
	}
	if len(fs) > 0 {
		return allot.Errorf(allot.EConflict, "The store has %d inconsistencies (listed above).", len(fs))
	}
	fmt.Fprintln(w, "consistent: consumedUnits = holders ≤ enabledUnits for every product; no mark, license state or group license points at nothing")
	return nil
}
