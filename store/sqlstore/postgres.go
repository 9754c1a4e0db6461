package sqlstore

import (
	"context"

	"allot"
)

// OpenPostgres opens the PostgreSQL store at url and migrates it.
func OpenPostgres(ctx context.Context, url string, opts ...Option) (*Store, error) {
	return nil, allot.Errorf(allot.EInvalid, "PostgreSQL support is not built yet; use --data.")
}
