package auth0emu

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// DevWebOrigins are the origins the dev tenant's application admits by
// default: the service's dev CORS origins, where a React dev server runs
// (Vite on 5173, Create React App and Next.js on 3000).
var DevWebOrigins = []string{
	"http://localhost:5173", "http://127.0.0.1:5173",
	"http://localhost:3000", "http://127.0.0.1:3000",
}

// RootURLs returns, for each origin, the origin itself and its root path
// ("http://localhost:5173" and "http://localhost:5173/"): the redirect_uri
// an SPA sends is usually window.location.origin, without the slash, and
// Auth0 compares URLs exactly, so both forms are listed.
func RootURLs(origins []string) []string {
	var out []string
	for _, o := range origins {
		o = strings.TrimRight(o, "/")
		out = append(out, o, o+"/")
	}
	return out
}

// checkURLs refuses allow-list entries that could never match a browser's
// request (relative URLs, other schemes), so a typo fails at start-up, not
// as a mysterious "Callback URL mismatch".
func checkURLs(callbacks, logouts, origins []string) error {
	for _, list := range []struct {
		name string
		urls []string
	}{{"CallbackURLs", callbacks}, {"LogoutURLs", logouts}} {
		for _, raw := range list.urls {
			u, err := url.Parse(raw)
			if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" {
				return fmt.Errorf("auth0emu: %s: %q is not an absolute URL without a fragment", list.name, raw)
			}
		}
	}
	for _, raw := range origins {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("auth0emu: WebOrigins: %q is not an origin like https://app.example.com", raw)
		}
	}
	return nil
}

// allowedWebOrigin reports whether browser code on origin may call the
// token and userinfo endpoints.
func (s *Server) allowedWebOrigin(origin string) bool {
	return origin != "" && slices.ContainsFunc(s.cfg.WebOrigins, func(o string) bool {
		return strings.TrimRight(o, "/") == origin
	})
}

// originOf is the origin ("scheme://host[:port]") of an absolute URL.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
