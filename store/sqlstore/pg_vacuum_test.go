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

// TestPostgresVacuumsTheQueueItself: a marks table left with 20,000 dead
// rows (the churn of 20,000 changes) is vacuumed by the store within
// seconds, whether or not the server runs autovacuum (CI's does not).
func TestPostgresVacuumsTheQueueItself(t *testing.T) {
	db := pgtest.NewDatabase(t)
	ctx := context.Background()
	st, err := sqlstore.OpenPostgres(ctx, db, sqlstore.WithVacuumEvery(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	raw, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO marks (kind, target_id, tenant_id, seq) SELECT 0, g, 1, g FROM generate_series(1, 20000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DELETE FROM marks`); err != nil {
		t.Fatal(err)
	}
	raw.Close() // a backend reports its table counts when it ends at the latest
	stats, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer stats.Close()
	deadline := time.Now().Add(30 * time.Second)
	var dead, vacuums int64
	for time.Now().Before(deadline) {
		if err := stats.QueryRow(`SELECT n_dead_tup, vacuum_count FROM pg_stat_user_tables WHERE relname = 'marks' AND schemaname = current_schema()`).Scan(&dead, &vacuums); err != nil {
			t.Fatal(err)
		}
		if vacuums > 0 && dead < 1000 {
			t.Logf("marks vacuumed by the store: %d dead rows left, %d vacuums", dead, vacuums)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("marks not vacuumed within 30s: %d dead rows, %d vacuums", dead, vacuums)
}
