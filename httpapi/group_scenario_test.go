package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"allot/reconcile"
)

// TestSeedGroupOverCapacityScenario is the seed's group scenario over HTTP
// with group-based licensing running in the background, as `allot serve`
// runs it: a group with more members than seats licenses its first members
// in group order, lists the rest with CountViolation, says how many have and
// do not have licenses, and licenses the waiting members as soon as more
// seats are bought, with no further call.
func TestSeedGroupOverCapacityScenario(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, open)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := reconcile.New(h.st, slog.New(h.logs))
		done := make(chan struct{})
		go func() { defer close(done); w.Run(ctx) }()
		defer func() { cancel(); <-done }()

		c := h.A
		e5, insights := c.sku("SPE_E5"), c.sku("WORKPLACE_ANALYTICS_INSIGHTS")
		holders := c.createGroup("E5 holders")
		pilot := c.createGroup("Insights Pilot")
		var users []string
		for i := 0; i < 30; i++ {
			id := c.createUser(fmt.Sprintf("pilot%02d@contoso.com", i), "US")
			users = append(users, id)
			c.addMember(holders, id)
			c.addMember(pilot, id)
		}
		c.must(202, "POST", "/v1.0/groups/"+holders+"/assignLicense", assignBody([]string{e5}, nil))
		// Assignment options: both Insights service plans on (no disabled plans).
		g := c.must(202, "POST", "/v1.0/groups/"+pilot+"/assignLicense", assignBody([]string{insights}, nil)).object(t)
		if st := g["licenseProcessingState"].(map[string]any)["state"]; st != "QueuedForProcessing" && st != "ProcessingInProgress" && st != "ProcessingComplete" {
			t.Fatalf("licenseProcessingState %v", st)
		}
		waitComplete(t, c, pilot)
		waitComplete(t, c, holders)
		waitFor(t, "25 Insights seats used", func() bool { n, _ := c.consumed(insights); return n == 25 })

		// The first 25 members in group order are licensed; the last 5 wait.
		for i, id := range users {
			has := contains(c.userSkus(id), insights)
			if has != (i < 25) {
				t.Errorf("member %d licensed = %v, want %v", i, has, i < 25)
			}
		}
		errs := c.listAll("/v1.0/groups/" + pilot + "/membersWithLicenseErrors")
		if len(errs) != 5 {
			t.Fatalf("membersWithLicenseErrors lists %d users, want 5", len(errs))
		}
		for i, u := range errs {
			if u["id"] != users[25+i] {
				t.Errorf("membersWithLicenseErrors[%d] = %v, want member %d", i, u["userPrincipalName"], 25+i)
			}
			found := false
			for _, s := range u["licenseAssignmentStates"].([]any) {
				st := s.(map[string]any)
				if st["assignedByGroup"] == pilot && st["skuId"] == insights {
					found = true
					if st["state"] != "Error" || st["error"] != "CountViolation" || st["allotErrorCode"] != "noSeatsAvailable" {
						t.Errorf("waiting member state %v", st)
					}
				}
			}
			if !found {
				t.Errorf("member %v has no state from the group", u["userPrincipalName"])
			}
		}
		sum := c.getJSON("/allot/v1/groups/" + pilot + "/licenseSummary")
		if sum["membersWithLicenses"] != 25.0 || sum["membersWithoutLicenses"] != 5.0 || sum["message"] != "25 members have licenses, 5 members do not." {
			t.Errorf("summary %v", sum)
		}
		flagged := c.listAll("/v1.0/groups?$filter=hasMembersWithLicenseErrors%20eq%20true")
		if len(flagged) != 1 || flagged[0]["id"] != pilot {
			t.Errorf("groups with license errors: %v", flagged)
		}

		// Buy 5 more seats: the waiting members get them with no other call.
		c.must(200, "PATCH", "/allot/v1/subscribedSkus/"+insights, map[string]any{"enabledUnits": 30})
		waitFor(t, "waiting members licensed after buying seats", func() bool {
			s := c.getJSON("/allot/v1/groups/" + pilot + "/licenseSummary")
			return s["membersWithLicenses"] == 30.0 && s["membersWithoutLicenses"] == 0.0
		})
		for _, id := range users[25:] {
			if !contains(c.userSkus(id), insights) {
				t.Errorf("user %s still unlicensed", id)
			}
		}
		if n, en := c.consumed(insights); n != 30 || en != 30 {
			t.Errorf("consumed %d of %d, want 30 of 30", n, en)
		}
		if flagged := c.listAll("/v1.0/groups?$filter=hasMembersWithLicenseErrors%20eq%20true"); len(flagged) != 0 {
			t.Errorf("groups still flagged with errors: %d", len(flagged))
		}
		// The audit log tells the story, actor included.
		fin := c.listAll("/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName%20eq%20'Finish%20applying%20group%20based%20license%20to%20users'")
		if len(fin) == 0 {
			t.Fatal("no Finish applying group based license event")
		}
		changes := c.listAll("/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName%20eq%20'Change%20user%20license'")
		system := 0
		for _, e := range changes {
			if app, ok := e["initiatedBy"].(map[string]any)["app"].(map[string]any); ok && app["displayName"] == "allot group-based licensing" {
				system++
			}
		}
		// One event per user change: at least the 30 first licenses and the
		// 5 licenses that followed the new seats.
		if system < 35 {
			t.Errorf("%d Change user license events by group-based licensing, want at least 35", system)
		}
	})
}

func waitComplete(t *testing.T, c *client, group string) {
	t.Helper()
	waitFor(t, "group "+group+" ProcessingComplete", func() bool {
		g := c.getJSON("/v1.0/groups/" + group)
		return g["licenseProcessingState"].(map[string]any)["state"] == "ProcessingComplete"
	})
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
