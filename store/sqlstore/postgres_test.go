package sqlstore_test

import (
	"testing"

	"allot/store/sqlstore/pgtest"
	"allot/store/storetest"
)

func TestPostgresContract(t *testing.T) { storetest.Run(t, pgtest.Open) }
