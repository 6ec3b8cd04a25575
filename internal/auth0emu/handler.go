package auth0emu

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// response is a fully computed answer, kept in memory so faults can delay,
// hold or corrupt it before it is written.
type response struct {
	status int
	header http.Header
	body   []byte
}

// jsonResponse encodes v as Auth0 does: compact, "&" and "<" unescaped.
func jsonResponse(status int, v any) response {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only JSON values built by this package reach here.
		panic("auth0emu: encode response: " + err.Error())
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	return response{status: status, header: h, body: bytes.TrimSuffix(buf.Bytes(), []byte("\n"))}
}

// request is what a route handler gets: the parsed request, its raw body and
// the unescaped user id for /api/v2/users/{id}.
type request struct {
	*http.Request
	body   []byte
	userID string
}

type routeHandler func(req request) response

// Handler serves every emulated endpoint and the /emulator admin routes.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.allowCORS(w, r)
	if r.Method == http.MethodOptions && r.Header.Get("Origin") != "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if s.URL() == "" {
		writeResponse(w, apiError(http.StatusInternalServerError, "the emulator has no base URL: set Config.PublicURL or use Listen", "").response())
		return
	}
	// Route on the escaped path: an id such as auth0|abc arrives as
	// auth0%7Cabc, and an escaped slash must stay inside its segment.
	path := r.URL.EscapedPath()
	switch {
	case path == "/oauth/token" && r.Method == http.MethodPost:
		s.handle(w, r, RouteToken, "", s.token)
	case path == "/.well-known/jwks.json" && r.Method == http.MethodGet:
		s.handle(w, r, RouteJWKS, "", s.jwks)
	case path == "/.well-known/openid-configuration" && r.Method == http.MethodGet:
		s.handle(w, r, RouteOpenIDConf, "", s.openIDConfiguration)
	case path == "/userinfo" && r.Method == http.MethodGet:
		s.handle(w, r, RouteUserinfo, "", s.userinfo)
	case path == "/authorize" && r.Method == http.MethodGet:
		s.handle(w, r, RouteAuthorize, "", s.authorizeEndpoint)
	case path == "/u/login" && r.Method == http.MethodGet:
		s.handle(w, r, RouteLoginPage, "", s.loginScreen("login"))
	case path == "/u/signup" && r.Method == http.MethodGet:
		s.handle(w, r, RouteSignupPage, "", s.loginScreen("signup"))
	case path == "/u/login" && r.Method == http.MethodPost:
		s.handle(w, r, RouteLogin, "", s.submitLogin)
	case path == "/u/signup" && r.Method == http.MethodPost:
		s.handle(w, r, RouteSignup, "", s.submitSignup)
	case path == "/v2/logout" && r.Method == http.MethodGet:
		s.handle(w, r, RouteLogout, "", s.logout)
	case path == "/api/v2/users" && r.Method == http.MethodPost:
		s.handle(w, r, RouteCreateUser, "", s.management("create:users", s.createUserHTTP))
	case strings.HasPrefix(path, "/api/v2/users/"):
		segment := strings.TrimPrefix(path, "/api/v2/users/")
		id, err := url.PathUnescape(segment)
		if segment == "" || strings.Contains(segment, "/") || err != nil {
			s.notFound(w, r)
			return
		}
		switch r.Method {
		case http.MethodGet:
			s.handle(w, r, RouteGetUser, id, s.management("read:users", s.getUserHTTP))
		case http.MethodPatch:
			s.handle(w, r, RoutePatchUser, id, s.management("update:users", s.patchUserHTTP))
		default:
			s.notFound(w, r)
		}
	case strings.HasPrefix(path, "/emulator/"):
		s.admin(w, r, strings.TrimPrefix(path, "/emulator/"))
	default:
		s.notFound(w, r)
	}
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	resp := apiError(http.StatusNotFound, "Not Found", "").response()
	if strings.HasPrefix(r.URL.Path, "/api/v2/") {
		s.rateLimitHeaders(resp.header)
	}
	writeResponse(w, resp)
	s.cfg.Logf("auth0emu: %s %s → %d", r.Method, r.URL.EscapedPath(), resp.status)
}

// handle runs one counted route: it reads the body, records the request,
// applies any fault and writes the answer.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, route Route, userID string, h routeHandler) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	s.observe(route, userID, body)
	s.traces.record(route, r.Header.Get("traceparent"))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeResponse(w, apiError(http.StatusRequestEntityTooLarge, "Request body larger than 1 MiB", "").response())
		}
		return // the client went away mid-body
	}
	fault, faulted, release := s.takeFault(route)
	ctx := r.Context()
	if faulted && fault.Hang {
		if !s.wait(ctx, nil, release) {
			return
		}
		faulted = false // released by ClearFaults: answer normally
	}
	var resp response
	switch {
	case faulted && fault.RateLimited:
		resp = s.rateLimitedResponse(isManagementRoute(route), fault.RetryAfter)
	case faulted && fault.Status != 0:
		resp = faultStatusResponse(route, fault.Status)
		if isManagementRoute(route) {
			s.rateLimitHeaders(resp.header)
		}
	default:
		resp = h(request{Request: r, body: body, userID: userID})
	}
	if faulted {
		if fault.MalformedJSON {
			resp.body = truncateJSON(resp.body)
		}
		if fault.Body != nil {
			resp.body = append([]byte(nil), fault.Body...)
		}
		if fault.Processed != nil {
			select {
			case fault.Processed <- struct{}{}:
			case <-ctx.Done():
				return
			case <-s.closed:
				return
			}
		}
		if fault.Latency > 0 && !s.sleep(ctx, fault.Latency, release) {
			return
		}
		if fault.Hold != nil && !s.wait(ctx, fault.Hold, release) {
			return
		}
	}
	writeResponse(w, resp)
	s.cfg.Logf("auth0emu: %s %s → %d", r.Method, r.URL.EscapedPath(), resp.status)
}

func isManagementRoute(r Route) bool {
	return r == RouteGetUser || r == RoutePatchUser || r == RouteCreateUser
}

// truncateJSON cuts a JSON body so no decoder accepts it.
func truncateJSON(b []byte) []byte {
	if len(b) < 4 {
		return []byte(`{"user_id":`)
	}
	return append([]byte(nil), b[:len(b)/2]...)
}

func faultStatusResponse(route Route, status int) response {
	if isManagementRoute(route) {
		return apiError(status, "Injected fault", "").response()
	}
	return jsonResponse(status, map[string]string{
		"error":             "server_error",
		"error_description": "Injected fault: " + http.StatusText(status),
	})
}

func writeResponse(w http.ResponseWriter, resp response) {
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// allowCORS lets browser apps on the allowed web origins (a React dev
// server) call the token endpoint and the APIs, as Auth0 does; any other
// origin gets no CORS headers, so its browser withholds the answer.
func (s *Server) allowCORS(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if !s.allowedWebOrigin(origin) {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Expose-Headers", "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Auth0-Client")
		h.Set("Access-Control-Max-Age", "86400")
	}
}
