package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"allot/store/sqlstore"
)

// storeFlags are the flags that choose a store.
type storeFlags struct {
	data string
	db   string
}

func (f *storeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.data, "data", "./allot-data", "data directory of the embedded SQLite store")
	cmd.Flags().StringVar(&f.db, "db", os.Getenv("ALLOT_DB"), "PostgreSQL URL (postgres://...); overrides --data (env ALLOT_DB)")
}

// addScratch adds the flags of a command that writes scratch data
// (benchmarks): no default from ALLOT_DB, so that it never reaches a
// production database by accident.
func (f *storeFlags) addScratch(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.data, "data", "", "data directory of an embedded SQLite store (default: a temporary one, removed afterwards)")
	cmd.Flags().StringVar(&f.db, "db", "", "PostgreSQL URL (postgres://...) of a scratch database; ALLOT_DB is not read")
}

func (f *storeFlags) open(ctx context.Context, log *slog.Logger) (*sqlstore.Store, error) {
	if f.db != "" {
		return sqlstore.OpenPostgres(ctx, f.db, sqlstore.WithLogger(log))
	}
	return sqlstore.OpenSQLite(ctx, f.data, sqlstore.WithLogger(log))
}
