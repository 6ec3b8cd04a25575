package auth0emu

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func adminHeader(s *Server) http.Header {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(s.Config().ClientID, s.Config().ClientSecret)
	h := req.Header
	h.Set("Content-Type", "application/json")
	return h
}

func TestAdminRoutes(t *testing.T) {
	s := start(t, Config{})
	h := adminHeader(s)

	if r := do(t, http.MethodPost, s.URL()+"/emulator/keys/rotate", nil, ""); r.status != http.StatusUnauthorized {
		t.Errorf("admin without credentials: %d", r.status)
	}

	oldKid, _ := s.SigningKey()
	r := do(t, http.MethodPost, s.URL()+"/emulator/keys/rotate", h, "")
	newKid, _ := r.json(t)["kid"].(string)
	if cur, _ := s.SigningKey(); r.status != http.StatusOK || newKid != cur || newKid == oldKid {
		t.Errorf("rotate: %d %s", r.status, r.body)
	}
	if r := do(t, http.MethodPost, s.URL()+"/emulator/keys/retire", h, `{"kid":"`+oldKid+`"}`); r.status != http.StatusOK || slices.Contains(s.KeyIDs(), oldKid) {
		t.Errorf("retire: %d %s", r.status, r.body)
	}
	if r := do(t, http.MethodPost, s.URL()+"/emulator/keys/retire", h, `{"kid":"`+newKid+`"}`); r.status != http.StatusConflict {
		t.Errorf("retiring the only key: %d", r.status)
	}

	r = do(t, http.MethodPost, s.URL()+"/emulator/users", h,
		`{"connection":"Username-Password-Authentication","email":"fe@example.com","password":"pw","given_name":"Front","user_metadata":{"a":1}}`)
	if r.status != http.StatusCreated || r.json(t)["given_name"] != "Front" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := r.json(t)["user_id"].(string)
	if r := do(t, http.MethodPost, s.URL()+"/emulator/users", h, `{"email":"x@example.com"}`); r.status != http.StatusBadRequest {
		t.Errorf("create without connection: %d %s", r.status, r.body)
	}

	r = do(t, http.MethodPost, s.URL()+"/emulator/tokens", h, `{"user_id":"`+id+`"}`)
	if r.status != http.StatusOK {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	if claims, err := verifyWithJWKS(t, s, r.json(t)["access_token"].(string), testAudience); err != nil || claims["sub"] != id {
		t.Errorf("admin token: %v %v", claims, err)
	}

	r = do(t, http.MethodPost, s.URL()+"/emulator/faults", h, `{"route":"GET /api/v2/users/{id}","status":503,"times":1}`)
	if r.status != http.StatusOK {
		t.Fatalf("fault: %d %s", r.status, r.body)
	}
	tok := bearer(managementToken(t, s, ""))
	if r := do(t, http.MethodGet, userURL(s, id), tok, ""); r.status != http.StatusServiceUnavailable {
		t.Errorf("fault set by admin not applied: %d", r.status)
	}
	for _, bad := range []string{
		`{"route":"GET /nowhere","status":503}`,
		`{"route":"GET /api/v2/users/{id}","latency":"soon"}`,
		`{"route":"GET /api/v2/users/{id}","status":200}`,
		`not json`,
	} {
		if r := do(t, http.MethodPost, s.URL()+"/emulator/faults", h, bad); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "error") {
			t.Errorf("bad fault %s: %d %s", bad, r.status, r.body)
		}
	}
	do(t, http.MethodPost, s.URL()+"/emulator/faults", h, `{"route":"GET /api/v2/users/{id}","hang":true}`)
	if r := do(t, http.MethodPost, s.URL()+"/emulator/faults/clear", h, ""); r.status != http.StatusOK {
		t.Errorf("clear: %d", r.status)
	}
	if r := do(t, http.MethodGet, userURL(s, id), tok, ""); r.status != http.StatusOK {
		t.Errorf("after clear: %d", r.status)
	}

	var counts map[Route]int
	if err := json.Unmarshal(do(t, http.MethodGet, s.URL()+"/emulator/counts", h, "").body, &counts); err != nil || counts[RouteGetUser] != 2 {
		t.Errorf("counts %v %v", counts, err)
	}
	do(t, http.MethodPost, s.URL()+"/emulator/counts/reset", h, "")
	if s.Count(RouteGetUser) != 0 {
		t.Errorf("counts not reset")
	}
	var conns struct{ Connections int64 }
	if err := json.Unmarshal(do(t, http.MethodGet, s.URL()+"/emulator/connections", h, "").body, &conns); err != nil ||
		conns.Connections < 1 || conns.Connections > s.Connections() {
		t.Errorf("connections %+v %v, Connections() %d", conns, err, s.Connections())
	}
	if r := do(t, http.MethodPost, s.URL()+"/emulator/nothing", h, ""); r.status != http.StatusNotFound {
		t.Errorf("unknown admin route: %d", r.status)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"negative ttl":   {TokenTTL: -time.Second},
		"negative burst": {RateBurst: -1},
		"bad public url": {PublicURL: "ftp://x"},
		"url with path":  {PublicURL: "http://x/y"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config()
	if c.Audience != DefaultAudience || c.ClientID != DefaultClientID || c.TokenTTL != 24*time.Hour || c.RateLimit != 16 || c.RateBurst != 50 {
		t.Errorf("defaults %+v", c)
	}
	// Serving Handler without a base URL explains itself.
	r := httptestServe(t, s.Handler(), http.MethodGet, "/.well-known/jwks.json")
	if r.status != http.StatusInternalServerError || !strings.Contains(string(r.body), "PublicURL") {
		t.Errorf("no base URL: %d %s", r.status, r.body)
	}
}

func TestListenOnWildcardAndPublicURL(t *testing.T) {
	s, err := Listen("0.0.0.0:0", Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || s.Issuer() != s.URL()+"/" || s.Domain() != strings.TrimPrefix(s.URL(), "http://") {
		t.Errorf("URL %q issuer %q domain %q", s.URL(), s.Issuer(), s.Domain())
	}
	if r := do(t, http.MethodGet, s.URL()+"/.well-known/openid-configuration", nil, ""); r.status != http.StatusOK {
		t.Errorf("%d", r.status)
	}
	p, err := Listen("127.0.0.1:0", Config{PublicURL: "https://auth.dev.example/"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Issuer() != "https://auth.dev.example/" {
		t.Errorf("issuer with PublicURL: %q", p.Issuer())
	}
}

func TestCORSAndBodyCap(t *testing.T) {
	s := start(t, Config{})
	r := do(t, http.MethodOptions, s.URL()+"/oauth/token", http.Header{
		"Origin": {"http://localhost:3000"}, "Access-Control-Request-Method": {"POST"},
	}, "")
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
	if s.Count(RouteToken) != 0 {
		t.Errorf("a preflight was counted as a token request")
	}
	huge := `{"user_metadata":{"x":"` + strings.Repeat("a", 2<<20) + `"}}`
	h := bearer(managementToken(t, s, ""))
	h.Set("Content-Type", "application/json")
	if r := do(t, http.MethodPatch, userURL(s, SeedNewUserID), h, huge); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body: %d", r.status)
	}
}

func TestCloseReleasesHungRequests(t *testing.T) {
	s, err := Listen("127.0.0.1:0", Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.SetFault(RouteJWKS, Fault{Hang: true})
	done := make(chan error, 1)
	go func() {
		_, err := doErr(http.MethodGet, s.URL()+"/.well-known/jwks.json", nil, "")
		done <- err
	}()
	waitFor(t, func() bool { return s.Count(RouteJWKS) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Close blocked on a hung request")
	}
	<-done
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
