package web_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestBrowserChartPNGDownloadIsThePNGOfTheChart clicks "Download PNG" under
// the seat history chart and checks the file the browser downloads (the
// same bytes as the blob of the page's download link, caught at
// URL.createObjectURL): a PNG of the chart's size (its viewBox, 720 ×
// 220), with the chart drawn in it, under the chart's file name.
func TestBrowserChartPNGDownloadIsThePNGOfTheChart(t *testing.T) {
	e := newEnv(t, 25)
	for _, n := range []string{"Adele Vance", "Alex Wilber"} {
		e.assign(n, "SPE_E5")
	}
	b := e.browser()
	b.signIn(adminUPN, password)
	b.waitPath("/users")
	b.open("/reports?interval=hour&sku=" + e.skus["SPE_E5"].SkuID)
	b.waitText("#history-title", "Microsoft 365 E5")
	b.evalBool(`(() => {
		window.__png = null; window.__pngName = null;
		const make = URL.createObjectURL;
		URL.createObjectURL = blob => {
			blob.arrayBuffer().then(buf => { let s = ''; new Uint8Array(buf).forEach(c => s += String.fromCharCode(c)); window.__png = btoa(s); });
			return make(blob);
		};
		const click = HTMLAnchorElement.prototype.click;
		HTMLAnchorElement.prototype.click = function () { window.__pngName = this.download; return click.call(this); };
		return true;
	})()`)
	// The browser saves downloads into dir, named by their GUID, and says
	// when one completes.
	dir := t.TempDir()
	saved := make(chan string, 4)
	if err := chromedp.ListenBrowser(b.ctx, func(ev any) {
		if d, ok := ev.(*cdpbrowser.EventDownloadProgress); ok && d.State == cdpbrowser.DownloadProgressStateCompleted {
			saved <- d.GUID
		}
	}); err != nil {
		t.Fatal(err)
	}
	yes := true
	if err := chromedp.FromContext(b.ctx).Browser.Call(b.ctx, cdpbrowser.CommandSetDownloadBehavior, &cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: chromedp.FromContext(b.ctx).BrowserContextID, DownloadPath: dir, EventsEnabled: &yes}, nil); err != nil {
		t.Fatal(err)
	}
	b.click(`section[aria-labelledby="history-title"] button[data-png-src]`)
	var raw string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b.evalBool(`window.__png !== null`) {
			var err error
			if raw, err = chromedp.Run(b.ctx, chromedp.Evaluate[string](`window.__png`)); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if raw == "" {
		t.Fatal("clicking Download PNG handed no file to the browser")
	}
	data, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case guid := <-saved:
		file, err := os.ReadFile(filepath.Join(dir, guid))
		if err != nil || !bytes.Equal(file, data) {
			t.Fatalf("the downloaded file (%d bytes, %v) is not the page's PNG (%d bytes)", len(file), err, len(data))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the browser downloaded no file")
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("not a PNG: % x", data[:min(16, len(data))])
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != 720 || r.Dy() != 220 {
		t.Errorf("PNG of %d × %d, the chart is 720 × 220", r.Dx(), r.Dy())
	}
	drawn := 0
	for y := 0; y < img.Bounds().Dy(); y += 2 {
		for x := 0; x < img.Bounds().Dx(); x += 2 {
			if r, g, bl, _ := img.At(x, y).RGBA(); r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				drawn++
			}
		}
	}
	if drawn < 100 {
		t.Errorf("the PNG is blank (%d drawn pixels sampled)", drawn)
	}
	name, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`String(window.__pngName)`))
	if name != "seat-history-SPE_E5-hour.png" {
		t.Errorf("file name %q", name)
	}
}
