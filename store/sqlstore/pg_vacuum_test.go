package sqlstore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"allot/store/sqlstore"
	"allot/store/sqlstore/pgtest"
)

// TestPostgresVacuumsTheQueueItself: a marks table left with 40,000 dead
// rows and none live (the churn of 20,000 changes) is vacuumed by the store
// within seconds, whether or not the server runs autovacuum (CI's does
// not); while it held 20,000 live rows it was left alone (autovacuum's).
func TestPostgresVacuumsTheQueueItself(t *testing.T) {
	db := pgtest.NewDatabase(t)
	ctx := context.Background()
	st, err := sqlstore.OpenPostgres(ctx, db, sqlstore.WithVacuumEvery(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	exec := func(q string) {
		t.Helper()
		raw, err := sql.Open("pgx", db)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close() // a backend reports its table counts when it ends at the latest
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	stats, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer stats.Close()
	var dead, vacuums int64
	read := func() {
		t.Helper()
		if err := stats.QueryRow(`SELECT n_dead_tup, vacuum_count FROM pg_stat_user_tables WHERE relname = 'marks' AND schemaname = current_schema()`).Scan(&dead, &vacuums); err != nil {
			t.Fatal(err)
		}
	}
	// A large table (20,000 live rows) with as many dead ones is autovacuum's.
	exec(`INSERT INTO marks (kind, target_id, tenant_id, seq) SELECT 0, g, 1, g FROM generate_series(1, 20000) g`)
	exec(`UPDATE marks SET lease_until = 1`)
	for wait := time.Now().Add(2 * time.Second); time.Now().Before(wait); time.Sleep(200 * time.Millisecond) {
		if read(); vacuums > 0 {
			t.Fatalf("a table of 20,000 live rows was vacuumed by the store (%d dead rows)", dead)
		}
	}
	// Emptied, it is a small table with 40,000 dead rows: the store's.
	exec(`DELETE FROM marks`)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if read(); vacuums > 0 && dead < 1000 {
			t.Logf("marks vacuumed by the store: %d dead rows left, %d vacuums", dead, vacuums)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("marks not vacuumed within 30s: %d dead rows, %d vacuums", dead, vacuums)
}
