package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/telemetry"
)

// The query every React client sends on every page.
const promptQuery = `{ viewer { id stage completion firstName lastName company title } ` +
	`pendingFields { key label type required options { value label } placeholder stage reason } }`

// benchService is the service's real HTTP handler (newServer: CORS, auth
// middleware, deadline, GraphQL endpoint) assembled as run assembles it in
// production, against the emulator and a real redis-server, without a
// listener: what one request costs the service, net/http's connection
// handling aside (scripts/load measures that part).
type benchService struct {
	handler http.Handler
	emu     *auth0emu.Server
}

func newBenchService(tb testing.TB, extraEnv ...string) *benchService {
	tb.Helper()
	emu, _, env := testTenant(tb)
	env["LOG_LEVEL"] = "error"
	for _, kv := range extraEnv {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	c, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := assemble(ctx, c, log, telemetry.Disabled()) // as run wires it
	tb.Cleanup(a.close)
	if err != nil {
		tb.Fatal(err)
	}
	h := a.handler
	return &benchService{handler: h, emu: emu}
}

// token issues an access token for the seeded user with this email, without
// counting a login.
func (s *benchService) token(tb testing.TB, email string) string {
	tb.Helper()
	for _, u := range auth0emu.SeedUsers() {
		if u.Email == email {
			tok, err := s.emu.IssueAccessToken(u.ID)
			if err != nil {
				tb.Fatal(err)
			}
			return tok
		}
	}
	tb.Fatalf("no seeded user %s", email)
	return ""
}

// discard is a reusable http.ResponseWriter that keeps the last body.
type discard struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}
func (d *discard) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return d.body.Write(p)
}
func (d *discard) reset() { clear(d.h); d.status = 0; d.body.Reset() }

// request is one POST /graphql whose body can be replayed.
type request struct {
	req  *http.Request
	body *bytes.Reader
	raw  []byte
}

func newRequest(tb testing.TB, token, query string, vars map[string]any) *request {
	tb.Helper()
	raw, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		tb.Fatal(err)
	}
	r := &request{body: bytes.NewReader(raw), raw: raw}
	r.req, err = http.NewRequest(http.MethodPost, "http://127.0.0.1/graphql", io.NopCloser(r.body))
	if err != nil {
		tb.Fatal(err)
	}
	r.req.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.req.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

func (s *benchService) serve(r *request, w *discard) {
	w.reset()
	r.body.Reset(r.raw)
	r.req.Body = io.NopCloser(r.body)
	s.handler.ServeHTTP(w, r.req)
}

// mustServe serves r once and fails unless it is a 200 without errors.
func (s *benchService) mustServe(tb testing.TB, r *request) string {
	tb.Helper()
	w := &discard{h: http.Header{}}
	s.serve(r, w)
	if w.status != http.StatusOK || strings.Contains(w.body.String(), `"errors"`) {
		tb.Fatalf("status %d: %s", w.status, w.body.String())
	}
	return w.body.String()
}

// BenchmarkRequest is what users feel, one request at a time and in
// parallel: the cached prompt with a bearer token (verified once, then
// served from the verified-token cache; the user from Redis), and the
// cheapest request the endpoint serves, an anonymous {__typename}. The
// ratio of their ns/op is the cost of the prompt's real work.
func BenchmarkRequest(b *testing.B) {
	s := newBenchService(b)
	cases := []struct {
		name string
		req  *request
	}{
		{"prompt/returning", newRequest(b, s.token(b, "returning@example.com"), promptQuery, nil)},
		{"prompt/new", newRequest(b, s.token(b, "new@example.com"), promptQuery, nil)},
		{"typename", newRequest(b, "", `{ __typename }`, nil)},
	}
	for _, c := range cases {
		s.mustServe(b, c.req) // warm: token verified, user cached
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			w := &discard{h: http.Header{}}
			for b.Loop() {
				s.serve(c.req, w)
			}
			if w.status != http.StatusOK {
				b.Fatalf("status %d: %s", w.status, w.body.String())
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				// Each goroutine its own request (a body is read once).
				r := newRequest(b, "", "", nil)
				r.req.Header = c.req.req.Header.Clone()
				r.raw = c.req.raw
				w := &discard{h: http.Header{}}
				for pb.Next() {
					s.serve(r, w)
				}
			})
		})
	}
}

// BenchmarkColdRequest is the prompt on a cold cache: every request is of
// another user (auth0emu.SeedLoadUsers) whose entry has expired (CACHE_TTL
// 1ms, never kept stale), so it misses and reads the user from the
// emulator's Management API, whose own work runs in this process too (its
// stacks in a profile are under auth0emu). Tokens are verified once in the
// warm-up, as scripts/load's cold phase does.
func BenchmarkColdRequest(b *testing.B) {
	const users = 256
	s := newBenchService(b, "CACHE_TTL=1ms", "CACHE_STALE_MAX=0")
	if err := s.emu.SeedLoadUsers(users); err != nil {
		b.Fatal(err)
	}
	reqs := make([]*request, users)
	for i := range reqs {
		tok, err := s.emu.IssueAccessToken(auth0emu.LoadUserID(i + 1))
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = newRequest(b, tok, promptQuery, nil)
		s.mustServe(b, reqs[i])
	}
	reads := s.emu.Count(auth0emu.RouteGetUser)
	b.ReportAllocs()
	n := 0
	w := &discard{h: http.Header{}}
	for b.Loop() {
		s.serve(reqs[n%users], w)
		n++
	}
	if w.status != http.StatusOK || strings.Contains(w.body.String(), `"errors"`) {
		b.Fatalf("status %d: %s", w.status, w.body.String())
	}
	if got := s.emu.Count(auth0emu.RouteGetUser) - reads; got < n*9/10 {
		b.Fatalf("%d Auth0 reads for %d requests: the cache answered, this is not the cold path", got, n)
	}
}

// TestDumpResponses answers the operations clients send for every seeded
// user (and anonymously) through the benchmarked handler, and checks each
// is a JSON answer with status 200. With $BFF_DUMP_RESPONSES set it also
// writes them there, timestamps masked: run it before and after a change to
// the resolvers or the rules engine and diff the files, which must be equal
// byte for byte.
func TestDumpResponses(t *testing.T) {
	out := os.Getenv("BFF_DUMP_RESPONSES")
	if out == "" {
		out = t.TempDir() + "/responses.txt"
	}
	s := newBenchService(t)
	ops := []struct {
		name, query string
		vars        map[string]any
	}{
		{"prompt", promptQuery, nil},
		{"prompt-article", `query P($context: String) { viewer { id stage completion pendingFields(context: $context) { key label type required options { value label } placeholder minLength maxLength stage reason } } }`, map[string]any{"context": "article"}},
		{"limit", `{ pendingFields(limit: 1) { key stage reason } }`, nil},
		{"profile", `{ viewer { id email emailVerified name picture loginsCount createdAt lastLogin roles firstName lastName company title phone subscribed stage completion fields { key label type known value source collectedAt collectedInStage collectedInContext } } }`, nil},
		{"bad-limit", `{ pendingFields(limit: 0) { key } }`, nil},
		{"bad-context", `{ viewer { pendingFields(context: "\u0007") { key } } }`, nil},
		{"user-errors", `mutation { updateProfile(input: { phone: "nope", firstName: "" }) { viewer { firstName } pendingFields { key } userErrors { field message code } } }`, nil},
		{"typename", `{ __typename }`, nil},
	}
	stamp := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	var dump bytes.Buffer
	emails := []string{"anonymous"}
	for _, u := range auth0emu.SeedUsers() {
		emails = append(emails, u.Email)
	}
	for _, email := range emails {
		tok := ""
		if email != "anonymous" {
			tok = s.token(t, email)
		}
		for _, op := range ops {
			w := &discard{h: http.Header{}}
			s.serve(newRequest(t, tok, op.query, op.vars), w)
			if w.status != http.StatusOK || !strings.HasPrefix(w.h.Get("Content-Type"), "application/json") {
				t.Errorf("%s %s: %d %s: %s", email, op.name, w.status, w.h.Get("Content-Type"), w.body.String())
			}
			dump.WriteString(email + " " + op.name + " " + http.StatusText(w.status) + " " + w.h.Get("Content-Type") + "\n")
			dump.Write(stamp.ReplaceAll(w.body.Bytes(), []byte("<time>")))
			dump.WriteString("\n")
		}
	}
	if err := os.WriteFile(out, dump.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
