package httpapi

import "allot/store/sqlstore/pgtest"

// Every API test runs on PostgreSQL too, each on a fresh database (see
// pgtest: skipped when no server is reachable, a failure under CI=true).
func init() {
	engines = append(engines, engine{name: "postgres", open: pgtest.Open})
}
