package main

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The playground must work for a developer on a machine with no internet:
// this opens it in headless Chromium against a dev-mode server, runs a query
// as the pre-filled seeded user, and checks that the page fetched nothing
// from anywhere but the service itself.
func TestPlaygroundWorksOfflineInABrowser(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found on PATH: scripts/test installs it (apt-get install chromium)")
	}
	e := runService(t, map[string]string{"PORT": "0", "DEV_AUTH0_ADDR": "127.0.0.1:0"})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()

	var mu sync.Mutex
	var requested []string
	err = chromedp.Listen(tab, func(ev any) {
		var url string
		switch req := ev.(type) {
		case *network.EventRequestWillBeSent:
			url = req.Request.URL
		case network.EventRequestWillBeSent:
			url = req.Request.URL
		default:
			return
		}
		mu.Lock()
		requested = append(requested, url)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}

	err = chromedp.Do(tab,
		chromedp.Navigate(e.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(".graphiql-execute-button")),
	)
	if err != nil {
		t.Fatalf("playground did not load: %v\nservice log:\n%s", err, e.logs.String())
	}
	// The headers editor carries a seeded user's token.
	headers, err := chromedp.Run(tab, chromedp.Poll[string](`[...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')]
		.map(cm => cm.CodeMirror.getValue()).find(v => v.includes('Bearer ')) || null`))
	if err != nil {
		t.Fatalf("headers editor never showed a token: %v", err)
	}
	// Run the start page's Viewer query as a developer would: the page holds
	// several operations, so the run button asks which one.
	err = chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(".graphiql-execute-button")),
		chromedp.Click(chromedp.Search(`//*[@role="menuitem"][normalize-space()="Viewer"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	result, err := chromedp.Run(tab, chromedp.Poll[string](`(() => { const cm = document.querySelector('.result-window .CodeMirror');
		const v = cm && cm.CodeMirror.getValue(); return v && v.includes('"viewer"') ? v : null })()`))
	if err != nil {
		state, _ := chromedp.Run(tab, chromedp.Evaluate[string](`JSON.stringify([...document.querySelectorAll('.CodeMirror')].map(c => c.CodeMirror.getValue().slice(0, 200)))`))
		t.Fatalf("no result from the query: %v\neditors: %s\nservice log:\n%s", err, state, e.logs.String())
	}
	// The docs pane explains the API from the schema's descriptions.
	err = chromedp.Do(tab, chromedp.Click(chromedp.CSS(`[aria-label="Show Documentation Explorer"]`)))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(tab, chromedp.Click(chromedp.Search(`//a[contains(@class,"graphiql-doc-explorer-type-name")][normalize-space()="Query"]`)))
	if err != nil {
		t.Fatalf("docs pane did not list the Query type: %v", err)
	}
	docs, err := chromedp.Run(tab, chromedp.Poll[string](`(() => { const d = document.querySelector('.graphiql-doc-explorer');
		return d && d.innerText.includes('viewer') ? d.innerText : null })()`))
	if err != nil {
		t.Fatalf("docs pane did not show Query's fields: %v", err)
	}
	if !strings.Contains(docs, "The signed-in user") {
		t.Errorf("docs pane lacks Query.viewer's description:\n%s", docs)
	}
	if !strings.Contains(headers, `"Authorization": "Bearer ey`) {
		t.Errorf("headers editor = %q, want a pre-filled bearer token", headers)
	}
	for _, want := range []string{`"email": "new@example.com"`, `"stage": "signup"`, `"key": "firstName"`, `"reason": "Asked when you sign up"`} {
		if !strings.Contains(result, want) {
			t.Errorf("result lacks %s:\n%s", want, result)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range requested {
		if !strings.HasPrefix(u, e.url) && !strings.HasPrefix(u, "data:") {
			t.Errorf("the playground fetched %s: it must need nothing but the service", u)
		}
	}
	if len(requested) < 5 {
		t.Errorf("only %d requests recorded (%v); the listener is not working", len(requested), requested)
	}
}
