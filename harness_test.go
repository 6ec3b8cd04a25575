package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/redistest"
	"github.com/progressive-profiling/bff/internal/syncbuf"
	"github.com/progressive-profiling/bff/internal/testkit"
)

// The test tenant's settings; the emulator and the service must agree.
const (
	testAudience     = "https://api.profiling.test/"
	testClientID     = "test-client"
	testClientSecret = "test-secret"
)

// testEnv is one running service with its own emulator and redis-server, all
// over real sockets: what a client talks to in production, minus the internet.
type testEnv struct {
	t     *testing.T
	emu   *auth0emu.Server
	redis *redistest.Server
	url   string // the service's base URL
	// internalURL is the internal listener's (METRICS_ADDR): /metrics, /debug/pprof.
	internalURL string
	out         *syncbuf.Buffer
	logs        *syncbuf.Buffer
	stop        func() error
}

type envOption func(map[string]string)

func withEnv(name, value string) envOption {
	return func(env map[string]string) { env[name] = value }
}

// startService starts an emulator seeded with the dev users, a redis-server,
// and the service pointed at both, as an operator would configure it.
func startService(t *testing.T, opts ...envOption) *testEnv {
	t.Helper()
	emu, rs, env := testTenant(t)
	for _, o := range opts {
		o(env)
	}
	e := runService(t, env)
	e.emu, e.redis = emu, rs
	return e
}

// testTenant starts an emulator seeded with the dev users and a
// redis-server, and returns the environment a service instance needs to
// use both, as startService would configure it.
func testTenant(t testing.TB) (*auth0emu.Server, *redistest.Server, map[string]string) {
	t.Helper()
	return testTenantWith(t, auth0emu.Config{})
}

// testTenantWith is testTenant with emulator settings beyond the test
// tenant's own (a custom domain, say).
func testTenantWith(t testing.TB, cfg auth0emu.Config) (*auth0emu.Server, *redistest.Server, map[string]string) {
	t.Helper()
	cfg.Audience, cfg.ClientID, cfg.ClientSecret = testAudience, testClientID, testClientSecret
	if cfg.RatePreset == "" && cfg.RateLimit == 0 {
		cfg.RateLimit, cfg.RateBurst = 10000, 10000 // tests measure the service, not Auth0's limit
	}
	emu, err := auth0emu.Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	for _, u := range auth0emu.SeedUsers() {
		if _, err := emu.CreateUser(u); err != nil {
			t.Fatal(err)
		}
	}
	rs := redistest.Start(t)
	return emu, rs, map[string]string{
		"PORT":                "0",
		"AUTH0_DOMAIN":        emu.URL(),
		"AUTH0_AUDIENCE":      testAudience,
		"AUTH0_CLIENT_ID":     testClientID,
		"AUTH0_CLIENT_SECRET": testClientSecret,
		"REDIS_URL":           rs.URL(),
		// Tests stop services all the time and have no load balancer.
		"SHUTDOWN_DELAY": "0",
	}
}

// runService runs the service with env as the whole environment and waits
// until it listens (runNotifying's hook) and answers /healthz.
//
// Unless env names one, the internal listener (METRICS_ADDR) takes a free
// loopback port, so services running at once never share one.
func runService(t *testing.T, env map[string]string) *testEnv {
	t.Helper()
	if _, ok := env["METRICS_ADDR"]; !ok {
		env["METRICS_ADDR"] = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &testEnv{t: t, out: &syncbuf.Buffer{}, logs: &syncbuf.Buffer{}}
	done := make(chan error, 1)
	listens := make(chan listening, 1)
	go func() {
		done <- runNotifying(ctx, func(k string) string { return env[k] }, e.out, e.logs, func(l listening) { listens <- l })
	}()
	var once sync.Once
	var stopErr error
	e.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(20 * time.Second):
				stopErr = errors.New("service did not stop within 20s")
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := e.stop(); err != nil {
			t.Errorf("service stopped with: %v\nlogs:\n%s", err, e.logs.String())
		}
	})
	select {
	case l := <-listens:
		e.url = loopbackURL(l.public)
		if l.internal != nil {
			e.internalURL = loopbackURL(l.internal)
		}
	case err := <-done:
		t.Fatalf("service exited before listening: %v\nlogs:\n%s", err, e.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("service did not listen within 30s; stdout:\n%s\nlogs:\n%s", e.out.String(), e.logs.String())
	}
	testkit.Eventually(t, "the service to answer /healthz", func() bool {
		resp, err := http.Get(e.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return e
}

// loopbackURL is the http URL of a listener, over loopback when it listens
// on every interface.
func loopbackURL(a net.Addr) string {
	tcp := a.(*net.TCPAddr)
	if tcp.IP.IsUnspecified() {
		return fmt.Sprintf("http://127.0.0.1:%d", tcp.Port)
	}
	return "http://" + tcp.String()
}

// login runs the password grant against the emulator, as a client's login
// code would; it counts as a login.
//
// It first waits for the next wall-clock second: a token's iat has whole
// seconds, so two logins (or a read and a login) within one second are
// indistinguishable to the service, which is harmless for people but not for
// a test that logs in several times a second.
func (e *testEnv) login(email string) string {
	e.t.Helper()
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	return passwordLogin(e.t, e.emu.URL(), email)
}

func passwordLogin(t *testing.T, emulatorURL, email string) string {
	t.Helper()
	resp, err := http.PostForm(emulatorURL+"/oauth/token", url.Values{
		"grant_type": {"password"},
		"username":   {email},
		"password":   {auth0emu.SeedPassword},
		"client_id":  {testClientID},
		"audience":   {testAudience},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		t.Fatalf("login %s: status %d, err %v", email, resp.StatusCode, err)
	}
	return body.AccessToken
}

// gqlResponse is a GraphQL response as a client sees it.
type gqlResponse struct {
	Status int
	Header http.Header
	Data   map[string]any
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	}
	Extensions map[string]any
	Raw        string
}

// code returns the i-th error's extensions.code.
func (r *gqlResponse) code(i int) string {
	if i >= len(r.Errors) {
		return ""
	}
	c, _ := r.Errors[i].Extensions["code"].(string)
	return c
}

// gql posts one operation with an optional bearer token.
func (e *testEnv) gql(token, query string, vars map[string]any) *gqlResponse {
	e.t.Helper()
	return e.do(gqlRequest(e.url, token, query, vars))
}

// gqlRequest is a client's POST of query with vars, signed in with token
// ("" for anonymous); allowlist_test.go's operation builds it.
func gqlRequest(base, token, query string, vars map[string]any) *http.Request {
	return operation(query, vars)(base, token)
}

func (e *testEnv) do(req *http.Request) *gqlResponse {
	e.t.Helper()
	r, _, err := sendGQL(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// sendGQL sends req and decodes a GraphQL response; isJSON is false when
// the body is not JSON (the response then has only its status and body).
// Safe on any goroutine: failures are returned, not fatal.
func sendGQL(req *http.Request) (r *gqlResponse, isJSON bool, err error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, false, err
	}
	out := &gqlResponse{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	var decoded struct {
		Data       map[string]any  `json:"data"`
		Errors     json.RawMessage `json:"errors"`
		Extensions map[string]any  `json:"extensions"`
	}
	if err := json.Unmarshal(raw, &decoded); err != nil {
		return out, false, nil
	}
	out.Data, out.Extensions = decoded.Data, decoded.Extensions
	if len(decoded.Errors) > 0 {
		_ = json.Unmarshal(decoded.Errors, &out.Errors)
	}
	return out, true, nil
}

// mustData fails the test unless the response has data and no errors.
func (r *gqlResponse) mustData(t *testing.T) map[string]any {
	t.Helper()
	if r.Status != http.StatusOK || len(r.Errors) > 0 || r.Data == nil {
		t.Fatalf("want data and no errors; status %d, body %s", r.Status, r.Raw)
	}
	return r.Data
}

// keys lists the "key" of each object in a JSON list.
func keys(list any) []string {
	var out []string
	for _, item := range list.([]any) {
		out = append(out, item.(map[string]any)["key"].(string))
	}
	return out
}

// path walks nested JSON objects.
func path(v any, steps ...string) any {
	for _, s := range steps {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[s]
	}
	return v
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// scrapedMetrics is one scrape of a running service's /metrics: each sample
// line's "name{labels}" to its value, as Prometheus would read them.
type scrapedMetrics map[string]float64

func (e *testEnv) scrapeMetrics(t *testing.T) scrapedMetrics {
	t.Helper()
	resp, err := http.Get(e.internalURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	out := scrapedMetrics{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sum adds every series of the metric name (all label values).
func (m scrapedMetrics) sum(name string) float64 {
	var total float64
	for series, v := range m {
		if series == name || strings.HasPrefix(series, name+"{") {
			total += v
		}
	}
	return total
}
