package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"allot"
)

// dynamicGroup creates a dynamic group with the rule, processing On.
func (e *env) dynamicGroup(name, rule string) *allot.Group {
	e.t.Helper()
	g := &allot.Group{DisplayName: name, MembershipRule: rule, RuleState: allot.RuleOn}
	if err := e.st.CreateGroup(context.Background(), actor, e.tenant.ID, g); err != nil {
		e.t.Fatal(err)
	}
	return g
}

// memberUPNs returns the group's direct members' user names, sorted.
func (e *env) memberUPNs(g *allot.Group) []string {
	e.t.Helper()
	ms, _, err := e.st.Members(context.Background(), e.tenant.ID, g.GUID, 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.User != nil {
			out = append(out, m.User.UserPrincipalName)
		}
	}
	slices.Sort(out)
	return out
}

// upns returns the user names of the people, sorted.
func upns(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = upnOf(n)
	}
	slices.Sort(out)
	return out
}

// storedGroup reads the group again from the store.
func (e *env) storedGroup(g *allot.Group) *allot.Group {
	e.t.Helper()
	gg, err := e.st.Group(context.Background(), e.tenant.ID, g.GUID)
	if err != nil {
		e.t.Fatal(err)
	}
	return gg
}

// consumed returns the product's consumed units.
func (e *env) consumed(part string) int {
	e.t.Helper()
	p, err := e.st.Product(context.Background(), e.tenant.ID, e.skus[part].SkuID)
	if err != nil {
		e.t.Fatal(err)
	}
	return p.ConsumedUnits
}

// waitProcessed waits until the group's licenses are processed.
func (e *env) waitProcessed(g *allot.Group) {
	e.t.Helper()
	deadline := time.Now().Add(browserWait)
	for e.storedGroup(g).ProcessingState != allot.ProcessingComplete {
		if time.Now().After(deadline) {
			e.t.Fatalf("group %s never processed", g.DisplayName)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// previewRule types a rule (and processing state) on the group page and
// previews it.
func (b *tab) previewRule(g *allot.Group, rule, state string) {
	b.t.Helper()
	b.open("/groups/" + g.GUID)
	b.do(chromedp.SetValue(chromedp.ID("rule-text"), rule))
	if state != "" {
		b.do(chromedp.SetValue(chromedp.ID("rule-state-pick"), state))
	}
	b.click(`form.rule-preview button`)
	b.waitPath("/groups/" + g.GUID + "/rule/preview")
}

// sales are the people of department Sales: every person of the env.
func sales() []string {
	var out []string
	for _, p := range people {
		out = append(out, p.name)
	}
	return out
}

// Saving a rule that takes no license away: one click, and the group page
// shows the new rule and the members it computed, who get the group's
// licenses. Pausing processing keeps the members.
func TestBrowserSaveRuleNoLoss(t *testing.T) {
	e := newEnv(t, 25)
	g := e.dynamicGroup("Dynamic A", `user.displayName -startsWith "A"`)
	e.assignGroup(g.GUID, "SPE_E5")
	e.waitHolds("SPE_E5", true, "Adele Vance", "Alex Wilber")
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	rule := `user.department -eq "Sales"`
	b.previewRule(g, rule, "")
	if got := b.text("#review-no-loss"); got != "No one would lose a license." {
		t.Errorf("losses line: %q", got)
	}
	if n := b.count("#confirm-loss"); n != 0 {
		t.Errorf("a loss confirmation on a rule that takes nothing away")
	}
	if got := b.text("#rule-save"); got != "Save rule" {
		t.Errorf("button: %q", got)
	}
	b.click("#rule-save")
	b.waitPath("/groups/" + g.GUID + "?saved=rule")
	if got := b.text("code[data-rule]"); got != rule {
		t.Errorf("rule shown after saving: %q", got)
	}
	want := upns(sales()...)
	if got := b.text("[data-member-count]"); got != fmt.Sprint(len(want)) {
		t.Errorf("member count shown: %q, want %d", got, len(want))
	}
	if got := e.memberUPNs(g); !slices.Equal(got, want) {
		t.Errorf("members after saving: %v, want %v", got, want)
	}
	if got := e.storedGroup(g).MembershipRule; got != rule {
		t.Errorf("stored rule: %q", got)
	}
	b.screenshot("rule-saved")
	e.waitHolds("SPE_E5", true, "Diego Siciliani", "Lee Gu")

	// Paused: a changed rule is kept, the members stay as they are.
	b.previewRule(g, `user.displayName -startsWith "Z"`, allot.RulePaused)
	b.waitText("[data-rule-summary]", "members stay as they are")
	b.click("#rule-save")
	b.waitPath("/groups/" + g.GUID + "?saved=rule")
	b.waitText(".msg.ok", "Processing is paused: the members stay as they are.")
	if got := b.text("[data-rule-state]"); got != allot.RulePaused {
		t.Errorf("state shown: %q", got)
	}
	if gg := e.storedGroup(g); gg.RuleState != allot.RulePaused || gg.MembershipRule != `user.displayName -startsWith "Z"` {
		t.Errorf("stored: %q %q", gg.RuleState, gg.MembershipRule)
	}
	if got := e.memberUPNs(g); !slices.Equal(got, want) {
		t.Errorf("members after pausing: %v, want %v", got, want)
	}
}

// Saving a rule that would take licenses away: the preview lists who
// loses what first; a save without the confirmation is refused and changes
// nothing; with it, the rule applies.
func TestBrowserSaveRuleLossNeedsConfirm(t *testing.T) {
	e := newEnv(t, 25)
	g := e.dynamicGroup("Dynamic A", `user.displayName -startsWith "A"`)
	e.assignGroup(g.GUID, "SPE_E5")
	e.waitHolds("SPE_E5", true, "Adele Vance", "Alex Wilber")
	e.waitProcessed(g)
	before, used := e.memberUPNs(g), e.consumed("SPE_E5")
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	rule := `user.displayName -startsWith "D"`
	b.previewRule(g, rule, "")
	wantLoss := []string{upnOf("Adele Vance") + " SPE_E5", upnOf("Alex Wilber") + " SPE_E5"}
	if got := sorted(b.reviewedLosses()); !slices.Equal(got, wantLoss) {
		t.Errorf("losses on the preview: %v, want %v", got, wantLoss)
	}
	if got := b.text("#rule-save"); got != "Save rule and take 2 licenses away" {
		t.Errorf("button: %q", got)
	}
	b.screenshot("rule-save-losses")
	// A browser that ignores the required box sends no confirmation.
	b.evalBool(`(function(){document.getElementById("confirm-loss").required=false;return true})()`)
	b.click("#rule-save")
	b.waitText("[data-rule-refused]", "tick the box to confirm")
	if got := sorted(b.reviewedLosses()); !slices.Equal(got, wantLoss) {
		t.Errorf("losses after the refusal: %v, want %v", got, wantLoss)
	}
	if gg := e.storedGroup(g); gg.MembershipRule != `user.displayName -startsWith "A"` {
		t.Errorf("a refused save stored the rule %q", gg.MembershipRule)
	}
	if got := e.memberUPNs(g); !slices.Equal(got, before) {
		t.Errorf("members after a refused save: %v, want %v", got, before)
	}
	if got := e.consumed("SPE_E5"); got != used {
		t.Errorf("consumed units of E5 after a refused save: %d, want %d", got, used)
	}
	b.click("#confirm-loss")
	b.click("#rule-save")
	b.waitPath("/groups/" + g.GUID + "?saved=rule")
	if got := b.text("code[data-rule]"); got != rule {
		t.Errorf("rule shown after saving: %q", got)
	}
	if got, want := e.memberUPNs(g), upns("Diego Siciliani"); !slices.Equal(got, want) {
		t.Errorf("members after the confirmed save: %v, want %v", got, want)
	}
	if got := b.text("[data-member-count]"); got != "1" {
		t.Errorf("member count shown: %q", got)
	}
	e.waitHolds("SPE_E5", false, "Adele Vance", "Alex Wilber")
	e.waitHolds("SPE_E5", true, "Diego Siciliani")
}

// A rule with a syntax error shows the parser's message (position and
// what was expected) on the preview page, offers no Save, and a save of it
// changes nothing.
func TestBrowserSaveRuleSyntaxError(t *testing.T) {
	e := newEnv(t, 25)
	old := `user.displayName -startsWith "A"`
	g := e.dynamicGroup("Dynamic A", old)
	before := e.memberUPNs(g)
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.previewRule(g, `user.department -eq`, "")
	const msg = "at column 20: expected a value after -eq"
	if got := b.text("[data-rule-error]"); !strings.Contains(got, msg) {
		t.Errorf("bad rule: %q", got)
	}
	if n := b.count("#rule-save-form"); n != 0 {
		t.Errorf("a Save form for a rule that does not parse")
	}
	status, body := postRule(t, e, adminUPN, g, url.Values{"rule": {`user.department -eq`}})
	if status != http.StatusBadRequest || !strings.Contains(body, "data-rule-error") || !strings.Contains(body, msg) {
		t.Errorf("save of a bad rule: %d, want 400 with the message on the preview page", status)
	}
	if gg := e.storedGroup(g); gg.MembershipRule != old {
		t.Errorf("a bad rule was stored: %q", gg.MembershipRule)
	}
	if got := e.memberUPNs(g); !slices.Equal(got, before) {
		t.Errorf("members after a bad rule: %v, want %v", got, before)
	}
}

// Only people whose roles may write groups see Save and may save.
func TestSaveRuleNeedsGroupsWrite(t *testing.T) {
	e := newEnv(t, 25)
	old := `user.displayName -startsWith "A"`
	g := e.dynamicGroup("Dynamic A", old)
	c := e.client(readerUPN)
	resp, err := c.Get(e.srv.URL + "/groups/" + g.GUID + "/rule/preview?rule=" + url.QueryEscape(`user.displayName -startsWith "D"`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "rule-save-form") || !strings.Contains(string(body), "data-rule-readonly") {
		t.Errorf("a Global Reader's preview: %d, Save form shown: %v", resp.StatusCode, strings.Contains(string(body), "rule-save-form"))
	}
	status, _ := postRule(t, e, readerUPN, g, url.Values{"rule": {`user.displayName -startsWith "D"`}})
	if status != http.StatusForbidden {
		t.Errorf("a Global Reader's save: %d, want 403", status)
	}
	if gg := e.storedGroup(g); gg.MembershipRule != old {
		t.Errorf("a Global Reader saved the rule %q", gg.MembershipRule)
	}
}

// postRule posts the save form as upn, from the site itself, and returns
// the status and page.
func postRule(t *testing.T, e *env, upn string, g *allot.Group, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/groups/"+g.GUID+"/rule", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := e.client(upn).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
