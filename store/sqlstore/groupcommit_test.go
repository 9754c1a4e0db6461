package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"allot"
)

// TestGroupCommitCancelledWriteDoesNotAffectOthers: on SQLite, writes that
// arrive together share one transaction (group commit). 24 goroutines each
// make 40 writes: a write creates 1 to 300 users in one call
// (CreateUsersBulk, whose multi-row inserts take long enough to be cancelled
// while they run), and a third of the calls have a context that is cancelled
// after a random delay of up to 3 ms. Afterwards every write reported OK is
// in the database exactly once (all of its users, one audit event each) and
// every write reported failed is absent (none of its users, no audit event).
func TestGroupCommitCancelledWriteDoesNotAffectOthers(t *testing.T) {
	st := openSQLite(t)
	ctx := context.Background()
	ten, err := st.CreateTenant(ctx, "Cancel", "NAM", "US")
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 6, 50
	type write struct {
		prefix string
		n      int
		err    error
	}
	results := make(chan write, workers*perWorker)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for i := range perWorker {
				wr := write{prefix: fmt.Sprintf("w%02d-%03d-", w, i), n: 1 + rng.IntN(300)}
				users := make([]*allot.User, wr.n)
				for j := range users {
					upn := fmt.Sprintf("%s%03d@contoso.com", wr.prefix, j)
					users[j] = &allot.User{UserPrincipalName: upn, DisplayName: upn, UsageLocation: "US", AccountEnabled: true}
				}
				cctx, cancel := context.WithCancel(ctx)
				if rng.IntN(3) == 0 {
					time.AfterFunc(time.Duration(rng.IntN(40000))*time.Microsecond, cancel)
				}
				wr.err = st.CreateUsersBulk(cctx, allot.SystemActor, ten.ID, users)
				cancel()
				results <- wr
			}
		}()
	}
	wg.Wait()
	close(results)
	users := countByPrefix(t, st.DB(), `SELECT upn FROM users WHERE tenant_id = ?`, ten.ID)
	events := countByPrefix(t, st.DB(), `SELECT target_name FROM audit_events WHERE tenant_id = ? AND activity = '`+allot.ActAddUser+`'`, ten.ID)
	var ok, failed, lost, ghost int
	for r := range results {
		users, events := users[r.prefix], events[r.prefix]
		if r.err == nil {
			ok++
			if users != r.n || events != r.n {
				lost++
				t.Errorf("write %s: reported OK, but the database has %d of its %d users and %d audit events", r.prefix, users, r.n, events)
			}
			continue
		}
		failed++
		if users != 0 || events != 0 {
			ghost++
			t.Errorf("write %s: reported failed (%v), but the database has %d of its %d users and %d audit events", r.prefix, r.err, users, r.n, events)
		}
	}
	t.Logf("%d writes reported OK, %d failed; %d OK writes not (wholly) in the database, %d failed writes present", ok, failed, lost, ghost)
	if failed == 0 {
		t.Errorf("no write was cancelled: the test did not test anything")
	}
}

// countByPrefix runs query (one text column, one argument) and counts its
// values by the write they belong to: the prefix up to the second '-'.
func countByPrefix(t *testing.T, db *sql.DB, query string, arg any) map[string]int {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query, arg)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		if k, ok := writePrefix(v); ok {
			out[k]++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// writePrefix returns "wNN-NNN-" of a name "wNN-NNN-NNN@contoso.com".
func writePrefix(name string) (string, bool) {
	if len(name) < 8 || name[0] != 'w' || name[3] != '-' || name[7] != '-' {
		return "", false
	}
	return name[:8], true
}
