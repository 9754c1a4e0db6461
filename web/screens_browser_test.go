package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"allot/store/sqlstore"
)

// screen is one admin center page the layout test visits.
type screen struct {
	name string // the screenshot is <name>-<width>.png
	path string
	nav  string // href of the navigation item that must be current ("" on the sign-in page)
	tab  bool   // the page has tabs: the current one must be on screen
	wait string // CSS selector of something the page shows once ready
	then func(b *tab)
}

// layoutJS measures the page in the window: whether it scrolls sideways
// (and the widest elements that make it), whether the current navigation
// item and tab are on screen, which table cells clip their content, and
// which user names break inside a word.
const layoutJS = `(function(){
	var W = window.innerWidth, out = {scroll: document.documentElement.scrollWidth, width: W, wide: [], nav: "", tab: "", clipped: [], upn: []};
	function sel(e) {
		var parts = [];
		for (var n = e; n && n.nodeType === 1 && parts.length < 4 && n !== document.body; n = n.parentElement) {
			var s = n.tagName.toLowerCase();
			if (n.id) { parts.unshift(s + "#" + n.id); break; }
			if (n.classList.length) s += "." + Array.from(n.classList).join(".");
			parts.unshift(s);
		}
		return parts.join(" > ");
	}
	function scrolled(e) { // inside a container that scrolls or clips on its own
		for (var n = e.parentElement; n && n !== document.body; n = n.parentElement) {
			var o = getComputedStyle(n).overflowX;
			if (o === "auto" || o === "scroll" || o === "hidden") return true;
		}
		return false;
	}
	var wide = [];
	document.querySelectorAll("body *").forEach(function(e) {
		var b = e.getBoundingClientRect(), r = b.right;
		if (getComputedStyle(e).overflowX === "visible") r = Math.max(r, b.left + e.scrollWidth); // text may overflow its box
		if (b.width === 0 || r <= W + 0.5 || scrolled(e)) return;
		wide.push({e: e, r: r});
	});
	// the innermost wide elements are the ones to fix
	wide = wide.filter(function(w) { return !wide.some(function(o) { return o.e !== w.e && w.e.contains(o.e); }); });
	wide.sort(function(a, b) { return b.r - a.r; });
	out.wide = wide.slice(0, 3).map(function(w) { return sel(w.e) + " (right edge " + Math.round(w.r) + "px)"; });
	function onScreen(e) {
		if (!e) return "missing";
		var r = e.getBoundingClientRect();
		if (r.width === 0) return "hidden";
		if (r.left < -0.5 || r.right > W + 0.5) return "off screen (" + Math.round(r.left) + "–" + Math.round(r.right) + "px)";
		return "";
	}
	var cur = document.querySelector("nav.side a[aria-current=page]");
	out.nav = onScreen(cur);
	out.navHref = cur ? cur.getAttribute("href") : "";
	out.tab = onScreen(document.querySelector(".tabs a[aria-current=page]"));
	document.querySelectorAll("td, th").forEach(function(c) {
		var s = getComputedStyle(c);
		if (s.display === "none") return;
		if (c.scrollWidth > c.clientWidth + 1 && s.overflowX !== "visible") out.clipped.push(sel(c) + ": " + c.innerText.trim().slice(0, 40));
	});
	// At desktop width a table fits its container: no column hides past its right edge.
	if (W >= 1200) document.querySelectorAll(".scroll").forEach(function(c) {
		if (c.scrollWidth > c.clientWidth + 1) out.clipped.push(sel(c) + " is " + c.scrollWidth + " px wide in " + c.clientWidth + " px");
	});
	// A user name may break only after "@", "." or "-", never inside a word.
	// Its text may be split by <wbr>: look at elements with only text and <wbr> in them.
	document.querySelectorAll("body *").forEach(function(e) {
		if (e.textContent.indexOf("@") < 0 || !e.getClientRects().length) return;
		if (Array.from(e.children).some(function(c) { return c.tagName !== "WBR"; })) return;
		var at = [], s = "";
		e.childNodes.forEach(function(n) {
			if (n.nodeType !== 3) return;
			for (var i = 0; i < n.nodeValue.length; i++) at.push([n, i]);
			s += n.nodeValue;
		});
		var re = /[a-z0-9.\-]+@[a-z0-9.\-]+\.[a-z]+/ig, m;
		while ((m = re.exec(s))) {
			var rg = document.createRange(), top = null;
			for (var i = m.index; i < m.index + m[0].length; i++) {
				rg.setStart(at[i][0], at[i][1]); rg.setEnd(at[i][0], at[i][1] + 1);
				var rs = rg.getClientRects();
				if (!rs.length) continue;
				var y = Math.round(rs[rs.length - 1].top);
				if (top !== null && y > top + 2 && "@.-".indexOf(s.charAt(i - 1)) < 0 && "@.".indexOf(s.charAt(i)) < 0) {
					out.upn.push(sel(e) + ": " + JSON.stringify(s.slice(m.index, i) + "⏎" + s.slice(i, m.index + m[0].length)));
				}
				top = y;
			}
		}
	});
	return JSON.stringify(out);
})()`

type layout struct {
	Scroll, Width int
	Wide          []string
	Nav, Tab      string
	NavHref       string
	Clipped, UPN  []string
}

// Every page of the admin center at 1366 and 390 px wide: a screenshot of
// each (docs/images/<page>-<width>.png with ALLOT_SCREENSHOTS=docs/images),
// no sideways scroll at 390 px, the current navigation item and tab on
// screen, no table cell that clips its content, and user names that break
// at "@" or ".", not inside a word.
func TestBrowserEveryPageLayout(t *testing.T) {
	e := newEnv(t, 25)
	ctx := context.Background()
	e.addUser("Maximiliane Oberhauser-Lindqvist", "US")
	e.addUser("Bartholomew Featherstonehaugh", "US")
	sales := e.group("Sales Team", "Adele Vance", "Alex Wilber", "Megan Bowen", "Maximiliane Oberhauser-Lindqvist")
	e.group("Finance", "Diego Siciliani", "Grady Archie")
	e.group("Marketing Department Europe and Middle East", "Lidia Holloway")
	dyn := e.dynamicGroup("Everyone in Sales", `user.department -eq "Sales"`)
	e.assignGroup(sales.GUID, "SPE_E3")
	e.assign("Megan Bowen", "SPE_E5")
	e.assign("Maximiliane Oberhauser-Lindqvist", "SPE_E5", "ENTERPRISEPACK")
	e.assign("Bartholomew Featherstonehaugh", "ENTERPRISEPACK")
	e.assign("Patti Fernandez", "SPE_E5", "WORKPLACE_ANALYTICS_INSIGHTS")
	e.waitProcessed(sales)
	e.newClient("Provisioning robot", "User.ReadWrite.All")
	ep := &sqlstore.WebhookEndpoint{GUID: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", TenantID: e.tenant.ID,
		URL: "https://siem.contoso.example/hooks/allot/license-events", Description: "SIEM", Secret: "whsec_test"}
	if err := e.st.CreateWebhookEndpoint(ctx, actor, ep); err != nil {
		t.Fatal(err)
	}

	e3, e5, ins := e.skus["SPE_E3"].SkuID, e.skus["SPE_E5"].SkuID, e.skus["WORKPLACE_ANALYTICS_INSIGHTS"].SkuID
	megan, max := e.users["Megan Bowen"], e.users["Maximiliane Oberhauser-Lindqvist"]
	screens := []screen{
		{name: "users", path: "/users", nav: "/users", wait: "#users-table"},
		{name: "user-panel", path: "/users", nav: "/users", wait: "#users-table", then: func(b *tab) {
			b.click(`#row-` + max.GUID + ` a`)
			b.waitText("#panel h2", max.DisplayName)
		}},
		{name: "user", path: "/users/" + max.GUID, nav: "/users", wait: "#panel h2"},
		{name: "assign-more", path: "/assign-more?user=" + megan.GUID + "&user=" + max.GUID, nav: "/users", wait: "#assign-more-form"},
		{name: "licenses", path: "/licenses", nav: "/licenses", wait: "main table"},
		{name: "product-users", path: "/licenses/" + e3 + "?tab=users", nav: "/licenses", tab: true, wait: ".tab-body"},
		{name: "product-groups", path: "/licenses/" + e3 + "?tab=groups", nav: "/licenses", tab: true, wait: ".tab-body"},
		{name: "assign-pick", path: "/licenses/" + e5 + "/assign?q=a", nav: "/licenses", wait: "main form"},
		{name: "assign-options", path: "/licenses/" + e5 + "/assign/options?pick=u:" + max.GUID + "&pick=g:" + sales.GUID, nav: "/licenses", wait: "main h1"},
		{name: "assign-review", path: "/licenses/" + e5 + "/assign/review?pick=u:" + max.GUID + "&pick=g:" + sales.GUID, nav: "/licenses", wait: "main h1"},
		{name: "seats", path: "/licenses/" + ins + "/seats?enabledUnits=0", nav: "/licenses", wait: "main h1"},
		{name: "waiting-room", path: "/licenses/" + ins + "/waiting-room", nav: "/licenses", wait: "#waiting-table"},
		{name: "groups", path: "/groups", nav: "/groups", wait: "main table"},
		{name: "group", path: "/groups/" + sales.GUID, nav: "/groups", wait: "main h1"},
		{name: "group-dynamic", path: "/groups/" + dyn.GUID, nav: "/groups", wait: "main h1"},
		{name: "roles", path: "/roles", nav: "/roles", wait: "main h1"},
		{name: "reports", path: "/reports", nav: "/reports", wait: "main h1"},
		{name: "audit", path: "/audit", nav: "/audit", wait: "#audit-table"},
		{name: "clients", path: "/clients", nav: "/clients", wait: "main h1"},
		{name: "alerts", path: "/alerts", nav: "/alerts", wait: "main h1"},
		{name: "reclamation", path: "/reclamation", nav: "/reclamation", wait: "#reclaim-rules"},
		{name: "schedules", path: "/schedules", nav: "/schedules", wait: "#schedules-table"},
		{name: "webhooks", path: "/webhooks", nav: "/webhooks", wait: "#webhooks-table"},
		{name: "webhook", path: "/webhooks/" + ep.GUID, nav: "/webhooks", wait: "main h1"},
	}

	for _, w := range []struct{ width, height int64 }{{1366, 900}, {390, 844}} {
		// The sign-in page, signed out.
		out := e.browser()
		out.do(chromedp.EmulateViewport(w.width, w.height))
		out.open("/signin")
		out.text("#userName")
		out.checkLayout(screen{name: "signin"}, w.width)

		b := e.browser()
		b.do(chromedp.EmulateViewport(w.width, w.height))
		b.signIn(adminUPN, password)
		b.waitPath("/users")
		for _, s := range screens {
			b.open(s.path)
			b.text(s.wait)
			if s.then != nil {
				s.then(b)
			}
			b.checkLayout(s, w.width)
		}
	}
}

// checkLayout measures the page, reports what is wrong with its layout and
// saves its screenshot.
func (b *tab) checkLayout(s screen, width int64) {
	b.t.Helper()
	b.settle("body")
	js, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](layoutJS))
	if err != nil {
		b.fatal("measure %s: %v", s.name, err)
	}
	var l layout
	if err := json.Unmarshal([]byte(js), &l); err != nil {
		b.t.Fatal(err)
	}
	at := fmt.Sprintf("%s at %d px (%s)", s.name, width, s.path)
	if width <= 700 && l.Scroll > l.Width {
		b.t.Errorf("%s scrolls sideways: %d px wide in a %d px window; widest: %s", at, l.Scroll, l.Width, strings.Join(l.Wide, "; "))
	}
	if s.nav != "" && l.NavHref != s.nav {
		b.t.Errorf("%s: the current navigation item is %q, want %q", at, l.NavHref, s.nav)
	}
	if s.nav != "" && l.Nav != "" {
		b.t.Errorf("%s: the current navigation item is %s", at, l.Nav)
	}
	if s.tab && l.Tab != "" {
		b.t.Errorf("%s: the current tab is %s", at, l.Tab)
	}
	for _, c := range l.Clipped {
		b.t.Errorf("%s: a table cell clips its content: %s", at, c)
	}
	for _, u := range l.UPN {
		b.t.Errorf("%s: a user name breaks inside a word: %s", at, u)
	}
	b.screenshot(fmt.Sprintf("%s-%d", s.name, width))
}
