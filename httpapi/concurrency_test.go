package httpapi

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"allot"
)

// TestConcurrencyAssignExactSeats: 64 goroutines assign one product with 10
// seats to 500 distinct users through the HTTP API. Exactly 10 succeed, the
// other 490 get noSeatsAvailable, consumedUnits is 10, and exactly the 10
// winners hold the product. Then the winners' licenses are removed (seats
// reset to 0 consumed) and the next round starts: concurrencyRounds() rounds
// (50; 10 under -race unless ALLOT_TEST_ROUNDS says otherwise).
func TestConcurrencyAssignExactSeats(t *testing.T) {
	const (
		workers = 64
		users   = 500
		seats   = 10
	)
	rounds := concurrencyRounds()
	if testing.Short() {
		rounds = min(rounds, 5)
	}
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		// A tenant of its own whose only product is the race product: the
		// cost of an assignment does not depend on the catalog.
		c := h.newTenant("Race", "NAM", "US", nil)
		// The users are set-up, not under test: created in the store directly.
		ids := make([]string, users)
		for i := range ids {
			u := &allot.User{UserPrincipalName: fmt.Sprintf("seat%03d@contoso.com", i), DisplayName: fmt.Sprintf("Seat %03d", i),
				UsageLocation: "US", AccountEnabled: true}
			if err := h.st.CreateUser(context.Background(), allot.SystemActor, c.Tenant.ID, u); err != nil {
				t.Fatal(err)
			}
			ids[i] = u.GUID
		}
		sku := c.must(201, "POST", "/allot/v1/subscribedSkus", map[string]any{
			"skuPartNumber": "CONTOSO_RACE", "displayName": "Race product", "enabledUnits": seats,
			"servicePlans": []map[string]any{{"servicePlanName": "RACE_PLAN"}},
		}).object(t)["skuId"].(string)
		body := fmt.Sprintf(`{"addLicenses":[{"skuId":%q,"disabledPlans":[]}],"removeLicenses":[]}`, sku)

		start := time.Now()
		for round := 0; round < rounds; round++ {
			type result struct {
				user   string
				status int
				code   string
				err    error
			}
			jobs := make(chan string)
			results := make(chan result, users)
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for u := range jobs {
						r, err := c.send("POST", "/v1.0/users/"+u+"/assignLicense", body)
						res := result{user: u, err: err}
						if err == nil {
							res.status = r.Status
							if r.Status != 200 {
								res.code = preciseCode(r.Body)
							}
						}
						results <- res
					}
				}()
			}
			// Each round hands the users out in another order.
			for i := range ids {
				jobs <- ids[(i*7+round*31)%users]
			}
			close(jobs)
			wg.Wait()
			close(results)

			ok, noSeats := 0, 0
			var winners []string
			for r := range results {
				switch {
				case r.err != nil:
					t.Fatalf("round %d: %v", round, r.err)
				case r.status == 200:
					ok++
					winners = append(winners, r.user)
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
			holders := ids2set(c.listAll("/v1.0/users?$top=999&$select=id&$filter=assignedLicenses/any(x:x/skuId%20eq%20" + sku + ")"))
			if len(holders) != seats {
				t.Fatalf("round %d: %d users hold the product, want %d", round, len(holders), seats)
			}
			for _, w := range winners {
				if !holders[w] {
					t.Fatalf("round %d: user %s's call succeeded but it does not hold the product", round, w)
				}
			}
			// Reset: the winners give their seats back.
			for _, w := range winners {
				c.must(200, "POST", "/v1.0/users/"+w+"/assignLicense", assignBody(nil, []string{sku}))
			}
			if n, _ := c.consumed(sku); n != 0 {
				t.Fatalf("round %d: consumedUnits %d after every holder gave its seat back", round, n)
			}
		}
		t.Logf("%d rounds of %d concurrent assignments by %d clients: %v", rounds, users, workers, time.Since(start).Round(time.Millisecond))
	})
}

func ids2set(items []map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, it := range items {
		out[it["id"].(string)] = true
	}
	return out
}

// preciseCode returns allot's precise code of an error body
// (error.details[0].code), or "".
func preciseCode(body []byte) string {
	var e struct {
		Error struct {
			Details []struct {
				Code string `json:"code"`
			} `json:"details"`
		} `json:"error"`
	}
	if jsonUnmarshal(body, &e) != nil || len(e.Error.Details) == 0 {
		return ""
	}
	return e.Error.Details[0].Code
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
