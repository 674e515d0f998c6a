package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is the headless browser the page tests drive: KEFU_CHROMIUM,
// else chromium on PATH (make test installs Debian's when absent).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KEFU_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium to check the pages with: `apt-get install -y chromium` (make test does) or set KEFU_CHROMIUM")
	return ""
}

// Browser starts a headless Chromium for the test (closed at its end) and
// returns a tab's context. The flags keep it off this machine's closed
// network: no background fetches, no QUIC, no component updates.
func Browser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts,
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1100),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	// The first call starts the browser; its context must not time out (that
	// would stop the browser), so the test's limit is derived after it.
	if err := chromedp.Do(tab); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancelTime := context.WithTimeout(tab, timeout)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	return ctx
}
