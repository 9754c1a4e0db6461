package httpapi

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestConcurrentAssignExactSeats: 64 goroutines assign one product with 10
// seats to 500 distinct users through the HTTP API. Exactly 10 succeed, the
// other 490 get noSeatsAvailable, and consumedUnits is 10. Each round uses a
// fresh product, and the test runs concurrencyRounds rounds (also under -race).
func TestConcurrentAssignExactSeats(t *testing.T) {
	const (
		workers = 64
		users   = 500
		seats   = 10
	)
	rounds := concurrencyRounds
	if testing.Short() {
		rounds = 5
	}
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		// A tenant of its own, whose only products are the race products: the
		// cost of an assignment does not depend on the catalog.
		c := h.newTenant("Race", "NAM", "US", nil)
		ids := make([]string, users)
		for i := range ids {
			ids[i] = c.createUser(fmt.Sprintf("seat%03d@contoso.com", i), "US")
		}
		start := time.Now()
		for round := 0; round < rounds; round++ {
			sku := c.must(201, "POST", "/allot/v1/subscribedSkus", map[string]any{
				"skuPartNumber": fmt.Sprintf("CONTOSO_RACE_%02d", round), "displayName": "Race product", "enabledUnits": seats,
				"servicePlans": []map[string]any{{"servicePlanName": "RACE_PLAN"}},
			}).object(t)["skuId"].(string)

			jobs := make(chan string)
			type result struct {
				user   string
				status int
				code   string
				err    error
			}
			results := make(chan result, users)
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for u := range jobs {
						r, err := c.send("POST", "/v1.0/users/"+u+"/assignLicense", assignBody([]string{sku}, nil))
						res := result{user: u, err: err}
						if err == nil {
							res.status = r.Status
							if r.Status != 200 {
								res.code = errorCode(r.Body)
							}
						}
						results <- res
					}
				}()
			}
			for _, u := range ids {
				jobs <- u
			}
			close(jobs)
			wg.Wait()
			close(results)

			ok, noSeats := 0, 0
			winners := map[string]bool{}
			for r := range results {
				switch {
				case r.err != nil:
					t.Fatalf("round %d: %v", round, r.err)
				case r.status == 200:
					ok++
					winners[r.user] = true
				case r.status == 400 && r.code == "noSeatsAvailable":
					noSeats++
				default:
					t.Errorf("round %d: user %s got %d %s", round, r.user, r.status, r.code)
				}
			}
			consumed, enabled := c.consumed(sku)
			if ok != seats || noSeats != users-seats || consumed != seats || enabled != seats {
				t.Fatalf("round %d: %d succeeded, %d noSeatsAvailable, consumedUnits %d of %d; want %d, %d, %d of %d",
					round, ok, noSeats, consumed, enabled, seats, users-seats, seats, seats)
			}
			// The users that hold the product are exactly the winners.
			holders := c.listAll("/v1.0/users?$top=999&$select=id&$filter=assignedLicenses/any(x:x/skuId%20eq%20" + sku + ")")
			if len(holders) != seats {
				t.Fatalf("round %d: %d users hold the product, want %d", round, len(holders), seats)
			}
			for _, u := range holders {
				if !winners[u["id"].(string)] {
					t.Fatalf("round %d: user %v holds the product but its call failed", round, u["id"])
				}
			}
		}
		t.Logf("%d rounds of %d concurrent assignments: %v", rounds, users, time.Since(start).Round(time.Millisecond))
	})
}

// errorCode returns the Graph error code of an error body, or "".
func errorCode(body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if jsonUnmarshal(body, &e) != nil {
		return ""
	}
	return e.Error.Code
}
