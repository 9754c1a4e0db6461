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

func (f *storeFlags) open(ctx context.Context, log *slog.Logger) (*sqlstore.Store, error) {
	if f.db != "" {
		return sqlstore.OpenPostgres(ctx, f.db, sqlstore.WithLogger(log))
	}
	return sqlstore.OpenSQLite(ctx, f.data, sqlstore.WithLogger(log))
}
