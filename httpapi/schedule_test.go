package httpapi

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"allot/reconcile"
)

// runReconciler runs a reconcile worker, as allot serve does, until the
// test ends.
func (h *harness) runReconciler() {
	ctx, cancel := context.WithCancel(context.Background())
	w := reconcile.New(h.st, slog.New(h.logs))
	w.Poll = 100 * time.Millisecond
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	h.t.Cleanup(func() {
		cancel()
		<-done
	})
}

func TestSchedule_AnAssignmentEndsOnTimeAndItsSeatGoesToTheFirstWaiter(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		visio := c.sku("ENTERPRISEPACK")
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/ENTERPRISEPACK", map[string]any{"enabledUnits": 1})
		a := c.createUser("temp@contoso.com", "US")
		first := c.createUser("first@contoso.com", "US")
		second := c.createUser("second@contoso.com", "US")
		end := time.Now().Add(3 * time.Second)
		body := map[string]any{"addLicenses": []map[string]any{{"skuId": visio, "disabledPlans": []string{}, "endDateTime": end.UTC().Format(time.RFC3339Nano)}}, "removeLicenses": []string{}}
		c.must(200, "POST", "/v1.0/users/"+a+"/assignLicense", body)
		g := c.createGroup("Waiting room")
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", assignBody([]string{visio}, nil))
		c.addMember(g, first)
		c.addMember(g, second)
		h.drain()
		if got := c.userSkus(first); len(got) != 0 {
			t.Fatalf("first waiter holds %v before the end", got)
		}
		// An end in the past is refused and changes nothing.
		past := map[string]any{"addLicenses": []map[string]any{{"skuId": c.sku("SPE_E5"), "endDateTime": "2020-01-01T00:00:00Z"}}, "removeLicenses": []string{}}
		c.expectError(400, "invalid", "POST", "/v1.0/users/"+second+"/assignLicense", past)
		c.expectError(400, "invalid", "POST", "/v1.0/users/"+second+"/assignLicense",
			map[string]any{"addLicenses": []map[string]any{{"skuId": visio, "endDateTime": "tomorrow"}}, "removeLicenses": []string{}})
		h.runReconciler()
		var gone time.Time
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if !slices.Contains(c.userSkus(a), visio) {
				gone = time.Now()
				break
			}
		}
		if gone.IsZero() {
			t.Fatalf("the assignment is still there 60 s after its end")
		}
		if gone.Before(end) {
			t.Fatalf("the assignment went %v before its end", end.Sub(gone))
		}
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !slices.Contains(c.userSkus(first), visio); {
			time.Sleep(100 * time.Millisecond)
		}
		if !slices.Contains(c.userSkus(first), visio) {
			t.Fatalf("the first waiting member did not get the freed seat")
		}
		if slices.Contains(c.userSkus(second), visio) {
			t.Errorf("the second waiting member got the seat")
		}
		if used, _ := c.consumed("ENTERPRISEPACK"); used != 1 {
			t.Errorf("consumedUnits %d, want 1", used)
		}
		ended := 0
		for _, e := range c.listAll("/v1.0/auditLogs/directoryAudits?$top=999") {
			if e["activityDisplayName"] == "License assignment ended" {
				ended++
			}
		}
		if ended != 1 {
			t.Errorf("%d 'License assignment ended' audit events, want 1", ended)
		}
		t.Logf("ended %v after its endDateTime", gone.Sub(end).Round(10*time.Millisecond))
	})
}

func TestSchedule_AGroupAssignmentEndsForEveryMember(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		c := h.A
		e5 := c.sku("SPE_E5")
		u := c.createUser("m@contoso.com", "US")
		keep := c.createUser("k@contoso.com", "US")
		c.assign(keep, []string{e5}, nil)
		g := c.createGroup("Trial")
		c.addMember(g, u)
		c.addMember(g, keep)
		end := time.Now().Add(1500 * time.Millisecond)
		c.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", map[string]any{"addLicenses": []map[string]any{{"skuId": e5, "endDateTime": end.UTC().Format(time.RFC3339Nano)}}, "removeLicenses": []string{}})
		h.drain()
		if !slices.Contains(c.userSkus(u), e5) {
			t.Fatalf("member lacks E5 before the end")
		}
		time.Sleep(time.Until(end) + 100*time.Millisecond)
		h.drain()
		if slices.Contains(c.userSkus(u), e5) {
			t.Errorf("member still holds E5 after the group assignment ended")
		}
		if !slices.Contains(c.userSkus(keep), e5) {
			t.Errorf("the member with a direct E5 lost it")
		}
		if lic := c.getJSON("/v1.0/groups/" + g)["assignedLicenses"].([]any); len(lic) != 0 {
			t.Errorf("group still assigns %v", lic)
		}
	})
}
