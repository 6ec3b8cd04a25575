// Package playground serves GraphiQL for developers exploring the API. Its
// JavaScript and CSS are embedded in the binary (see vendor/README.md), so the
// playground works on a machine with no internet access.
package playground

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
)

//go:embed vendor/*.js vendor/*.css
var assets embed.FS

// AssetsPath is where the handler expects its assets to be mounted.
const AssetsPath = "/playground/assets/"

// Options configures the page.
type Options struct {
	// Title of the browser tab.
	Title string
	// Endpoint is the GraphQL endpoint's path, e.g. "/graphql".
	Endpoint string
	// Headers, when set, is called for each page load to pre-fill GraphiQL's
	// headers editor (dev mode puts a fresh token of a seeded user here).
	Headers func() map[string]string
	// Query is the editor's initial content.
	Query string
}

// Handler returns a handler for the page and, under AssetsPath, its assets.
func Handler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(AssetsPath, http.StripPrefix(AssetsPath, assetHandler()))
	mux.Handle("/", pageHandler(o))
	return mux
}

// pageData is what the page template needs.
type pageData struct {
	Title, Endpoint, Query, HeadersJSON string
	AssetsPath                          string
	JS, CSS, React, DOM                 string
}

func pageHandler(o Options) http.Handler {
	base := pageData{
		Title:      o.Title,
		Endpoint:   o.Endpoint,
		Query:      o.Query,
		AssetsPath: AssetsPath,
		JS:         integrity("vendor/graphiql.min.js"),
		CSS:        integrity("vendor/graphiql.min.css"),
		React:      integrity("vendor/react.production.min.js"),
		DOM:        integrity("vendor/react-dom.production.min.js"),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		data := base
		data.HeadersJSON = "{}"
		if o.Headers != nil {
			b, _ := json.MarshalIndent(o.Headers(), "", "  ")
			data.HeadersJSON = string(b)
		}
		var page bytes.Buffer
		if err := pageTemplate.Execute(&page, data); err != nil {
			http.Error(w, "playground page failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store") // the page may carry a dev token
		_, _ = w.Write(page.Bytes())
	})
}

func assetHandler() http.Handler {
	files := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ".js") && !strings.HasSuffix(r.URL.Path, ".css") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		r.URL.Path = "vendor/" + r.URL.Path
		files.ServeHTTP(w, r)
	})
}

// integrity is the Subresource Integrity value of an embedded asset, so the
// browser refuses a file that is not byte-for-byte the vendored one.
func integrity(name string) string {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

var pageTemplate = template.Must(template.New("graphiql").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{{.Title}}</title>
  <style>body{margin:0}#graphiql{height:100vh}</style>
  <link rel="stylesheet" href="{{.AssetsPath}}graphiql.min.css" integrity="{{.CSS}}">
  <script src="{{.AssetsPath}}react.production.min.js" integrity="{{.React}}"></script>
  <script src="{{.AssetsPath}}react-dom.production.min.js" integrity="{{.DOM}}"></script>
  <script src="{{.AssetsPath}}graphiql.min.js" integrity="{{.JS}}"></script>
</head>
<body>
  <div id="graphiql">Loading…</div>
  <script>
    const fetcher = GraphiQL.createFetcher({ url: location.origin + {{.Endpoint}} });
    ReactDOM.render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultQuery: {{.Query}},
        defaultHeaders: {{.HeadersJSON}},
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: false,
      }),
      document.getElementById('graphiql'),
    );
  </script>
</body>
</html>
`))
