package sqlstore_test

import (
	"context"
	"testing"

	"allot/store/sqlstore"
	"allot/store/storetest"
)

// openSQLite returns a fresh SQLite store in a temporary directory.
func openSQLite(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestSQLiteContract(t *testing.T) { storetest.Run(t, openSQLite) }
