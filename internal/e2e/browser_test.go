package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// chromium finds Debian's Chromium.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("Chromium not found: install Debian's chromium package (scripts/test.sh does)")
	return ""
}

// newBrowser starts headless Chromium for the test; the context ends with
// the test or after a minute.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// TestLandingPageInABrowser submits the landing page's probe form in
// headless Chromium against the simulator, reads the result, then follows
// the recent-probes table to the probe's trace.
func TestLandingPageInABrowser(t *testing.T) {
	sim := testkit.StartSim(t, modemsim.Config{Password: modemPassword})
	_, cfgPath := fileSetup(t, sim, "")
	e := startExporter(t, []string{modemPassword}, "--config.file="+cfgPath)

	ctx := newBrowser(t)

	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("browser: %s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		step("read "+sel, err)
		return v
	}
	step("open the landing page", chromedp.Do(ctx, chromedp.Navigate(e.url("/")), chromedp.WaitVisible("#probe-form")))
	form, err := chromedp.Run(ctx, chromedp.OuterHTML("#probe-form"))
	step("read the form", err)
	step("submit the form", chromedp.Do(ctx, chromedp.SendKeys("#target", sim.Addr()), chromedp.Click("#submit")))
	waitFor := func(what, path string) {
		t.Helper()
		for {
			loc, err := chromedp.Run(ctx, chromedp.Location())
			step(what, err)
			if strings.Contains(loc, path) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("wait for the probe result", "/probe?")
	step("wait for the result text", chromedp.Do(ctx, chromedp.WaitReady("body")))
	result := text("body")
	step("back to the landing page", chromedp.Do(ctx, chromedp.Navigate(e.url("/")), chromedp.WaitVisible("#recent")))
	table := text("#recent")
	step("open the trace", chromedp.Do(ctx, chromedp.Click("#recent a.trace")))
	waitFor("wait for the trace", "/probes/")
	step("wait for the trace text", chromedp.Do(ctx, chromedp.WaitReady("body")))
	trace := text("body")
	if strings.Contains(strings.ToLower(form), "password") || strings.Contains(form, "pwd") {
		t.Fatalf("the form has a credential field:\n%s", form)
	}
	if !testkit.HasLine(result, "probe_success 1") || !strings.Contains(result, "hitron_downstream_power_dbmv") {
		t.Fatalf("probe result in the browser:\n%s", result)
	}
	if !strings.Contains(table, sim.Addr()) || !strings.Contains(table, "success") {
		t.Fatalf("recent probes table:\n%s", table)
	}
	if !strings.Contains(trace, "POST /goform/login") || !strings.Contains(trace, "<secret>") || strings.Contains(trace, modemPassword) {
		t.Fatalf("trace page:\n%s", trace)
	}
}
