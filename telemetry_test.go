package main

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/telemetry"
)

// The operator's routes are on the internal listener only: the public port
// answers /metrics and /debug/pprof with 404.
func TestMetricsAndPprofOnlyOnTheInternalListener(t *testing.T) {
	e := startService(t)
	for _, p := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/goroutine"} {
		resp, err := http.Get(e.url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("public GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	if e.internalURL == "" || e.internalURL == e.url {
		t.Fatalf("internal listener %q must exist and differ from the public %q", e.internalURL, e.url)
	}
	for _, p := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/goroutine?debug=1"} {
		resp, err := http.Get(e.internalURL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("internal GET %s: %d, want 200", p, resp.StatusCode)
		}
	}
}

// logLines parses every line of the service's log as JSON, failing on any
// line that is not.
func logLines(t *testing.T, e *testEnv) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// A valid incoming X-Request-Id is kept, an invalid one replaced; either is
// echoed and is on the request's access log line, with the operation, the
// status and the user hashed, never the raw user id.
func TestRequestIDAndAccessLog(t *testing.T) {
	e := startService(t)
	token := e.login("returning@example.com")
	userID := "auth0|65f0c0ffee00000000000003"
	send := func(requestID string) *gqlResponse {
		body, _ := json.Marshal(map[string]any{"query": "query Prompt { viewer { id stage } }"})
		req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		if requestID != "" {
			req.Header.Set("X-Request-Id", requestID)
		}
		r := e.do(req)
		r.mustData(t)
		return r
	}
	kept := send("client-req.42:abc_DEF")
	if got := kept.Header.Get("X-Request-Id"); got != "client-req.42:abc_DEF" {
		t.Errorf("valid X-Request-Id not echoed: %q", got)
	}
	var generated []string
	for _, bad := range []string{"", "has space", strings.Repeat("a", 129), "<script>", "é"} {
		got := send(bad).Header.Get("X-Request-Id")
		if got == bad || !telemetry.ValidRequestID(got) {
			t.Errorf("X-Request-Id %q: echoed %q, want a fresh valid id", bad, got)
		}
		generated = append(generated, got)
	}
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	access := map[string]map[string]any{}
	for _, l := range logLines(t, e) {
		if l["msg"] == "request" && l["path"] != "/healthz" { // the harness polls /healthz before the test starts
			id, _ := l["request_id"].(string)
			access[id] = l
		}
	}
	for _, id := range append([]string{"client-req.42:abc_DEF"}, generated...) {
		l, ok := access[id]
		if !ok {
			t.Fatalf("no access log line with request_id %q; lines: %v", id, access)
		}
		if l["method"] != "POST" || l["path"] != "/graphql" || l["status"] != float64(200) ||
			l["operation"] != "Prompt" || l["operation_type"] != "query" || l["outcome"] != "ok" {
			t.Errorf("access line %v", l)
		}
		if d, ok := l["duration_ms"].(float64); !ok || d <= 0 {
			t.Errorf("duration_ms %v", l["duration_ms"])
		}
		if l["user"] != telemetry.HashUserID(userID) {
			t.Errorf("user %v, want the hash of the user id", l["user"])
		}
	}
	if strings.Contains(e.logs.String(), userID) || strings.Contains(e.logs.String(), token) {
		t.Error("the raw user id or the token is in the log")
	}
}

// With ACCESS_LOG_USER_ID=omit the access log names no user.
func TestAccessLogOmitsTheUserWhenConfigured(t *testing.T) {
	e := startService(t, withEnv("ACCESS_LOG_USER_ID", "omit"))
	e.gql(e.login("new@example.com"), "{ viewer { id } }", nil).mustData(t)
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range logLines(t, e) {
		if l["msg"] == "request" && l["path"] != "/healthz" { // the harness polls /healthz before the test starts
			n++
			if _, ok := l["user"]; ok {
				t.Errorf("user logged: %v", l)
			}
			if l["operation"] != "anonymous" {
				t.Errorf("an unnamed operation is %v, want anonymous", l["operation"])
			}
		}
	}
	if n != 1 {
		t.Errorf("%d access lines, want 1", n)
	}
}

// With Redis stopped, every line of the log stays JSON (go-redis's own
// lines included, routed through slog), and every line logged for a
// request carries its request id.
func TestLogsStayJSONWithRedisStopped(t *testing.T) {
	e := startService(t)
	token := e.login("new@example.com")
	e.redis.Stop()
	ids := map[string]bool{}
	for i := range 10 {
		body, _ := json.Marshal(map[string]any{"query": "query Viewer { viewer { id } }"})
		req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		id := "redis-down-" + string(rune('a'+i))
		req.Header.Set("X-Request-Id", id)
		ids[id] = true
		e.do(req).mustData(t)
	}
	// The breaker's background probe dials the stopped Redis once its
	// cool-down passes: go-redis logs that failure itself.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.logs.String(), `"component":"go-redis"`) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	lines := logLines(t, e)
	var goRedis, redisFailures, access int
	for _, l := range lines {
		if l["component"] == "go-redis" {
			goRedis++
		}
		msg, _ := l["msg"].(string)
		if msg == "request" && l["path"] == "/healthz" {
			continue // the harness's readiness polls, before the test starts
		}
		if msg == "request" || strings.HasPrefix(msg, "cache: redis read failed") {
			if msg == "request" {
				access++
			} else {
				redisFailures++
			}
			if id, _ := l["request_id"].(string); !ids[id] {
				t.Errorf("request's line without its request id: %v", l)
			}
		}
	}
	if goRedis == 0 {
		t.Errorf("no go-redis line in the service's log (it went elsewhere); log:\n%s", e.logs.String())
	}
	if access != 10 || redisFailures == 0 {
		t.Errorf("%d access lines (want 10), %d Redis read failures logged (want some)", access, redisFailures)
	}
}

// The metrics move by exactly the requests sent: a miss then a hit, one
// fill, the histogram by operation and outcome, the Management API calls by
// route and status class, and a 429 forced through the emulator.
func TestMetricsMoveByTheRequestsSent(t *testing.T) {
	e := startService(t)
	tokenA, tokenB := e.login("new@example.com"), e.login("social@example.com")
	// Tokens issued in an earlier second than the reads, so one cached
	// copy satisfies them (see the README's "Logins and stages").
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	before := e.scrapeMetrics(t)
	gets := e.emu.Count(auth0emu.RouteGetUser)

	const q = "query Prompt { viewer { id } }"
	e.gql(tokenA, q, nil).mustData(t) // miss, fill
	e.gql(tokenA, q, nil).mustData(t) // hit
	e.emu.SetFault(auth0emu.RouteGetUser, auth0emu.Fault{RateLimited: true, RetryAfter: 3 * time.Second, Times: 1})
	if r := e.gql(tokenB, q, nil); r.code(0) != "UPSTREAM_UNAVAILABLE" {
		t.Fatalf("rate-limited uncached read: %s", r.Raw)
	}
	after := e.scrapeMetrics(t)
	delta := func(series string) float64 { return after[series] - before[series] }

	for series, want := range map[string]float64{
		"bff_cache_hits_total":                                                        1,
		"bff_cache_misses_total":                                                      2,
		`bff_cache_fills_total{outcome="ok"}`:                                         1,
		`bff_cache_fills_total{outcome="error"}`:                                      1,
		"bff_cache_fill_duration_seconds_count":                                       2,
		`bff_graphql_request_duration_seconds_count{operation="Prompt",outcome="ok"}`: 2,
		`bff_graphql_request_duration_seconds_count{operation="Prompt",outcome="upstream_unavailable"}`: 1,
		`bff_auth0_requests_total{route="GET /api/v2/users/{id}",status_class="2xx"}`:                   1,
		`bff_auth0_requests_total{route="GET /api/v2/users/{id}",status_class="4xx"}`:                   1,
		`bff_auth0_rate_limited_total{route="GET /api/v2/users/{id}"}`:                                  1,
		`bff_auth0_retries_total{route="GET /api/v2/users/{id}"}`:                                       0,
		`bff_auth_tokens_accepted_total{via="signature"}`:                                               2,
		`bff_auth_tokens_accepted_total{via="memo"}`:                                                    1,
	} {
		if got := delta(series); got != want {
			t.Errorf("%s moved by %v, want %v", series, got, want)
		}
	}
	if got := e.emu.Count(auth0emu.RouteGetUser) - gets; got != 2 {
		t.Errorf("emulator saw %d GETs, want 2", got)
	}
	if after["bff_auth0_ratelimit_remaining"] != 0 || after["bff_auth0_ratelimit_reset_timestamp_seconds"] < float64(time.Now().Unix()) {
		t.Errorf("rate-limit gauges after a 429: remaining %v, reset %v",
			after["bff_auth0_ratelimit_remaining"], after["bff_auth0_ratelimit_reset_timestamp_seconds"])
	}
	if after["bff_auth_jwks_fetches_total{outcome=\"ok\"}"] < 1 {
		t.Error("no JWKS fetch counted")
	}
}

// A Management API failure is logged once per cause (route, status, Auth0
// error code), not once per request or retry, and the retries are counted.
func TestUpstreamFailuresLoggedOncePerCause(t *testing.T) {
	e := startService(t)
	tokens := []string{e.login("new@example.com"), e.login("social@example.com"), e.login("enriched@example.com")}
	before := e.scrapeMetrics(t)
	e.emu.SetFault(auth0emu.RouteGetUser, auth0emu.Fault{Status: http.StatusServiceUnavailable})
	for _, tok := range tokens {
		if r := e.gql(tok, "{ viewer { id } }", nil); r.code(0) != "UPSTREAM_UNAVAILABLE" {
			t.Fatalf("read during a 503: %s", r.Raw)
		}
	}
	e.emu.ClearFaults()
	after := e.scrapeMetrics(t)
	attempts := after[`bff_auth0_requests_total{route="GET /api/v2/users/{id}",status_class="5xx"}`] -
		before[`bff_auth0_requests_total{route="GET /api/v2/users/{id}",status_class="5xx"}`]
	retries := after[`bff_auth0_retries_total{route="GET /api/v2/users/{id}"}`] - before[`bff_auth0_retries_total{route="GET /api/v2/users/{id}"}`]
	if attempts != 6 || retries != 3 {
		t.Errorf("%v attempts and %v retries counted, want 6 and 3 (one retry per read)", attempts, retries)
	}
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	var failures []map[string]any
	for _, l := range logLines(t, e) {
		if l["msg"] == "auth0: Management API request failed" {
			failures = append(failures, l)
		}
	}
	if len(failures) != 1 {
		t.Fatalf("%d failure lines for one cause, want 1: %v", len(failures), failures)
	}
	if f := failures[0]; f["status"] != float64(503) || f["route"] != "GET /api/v2/users/{id}" || f["request_id"] == nil {
		t.Errorf("failure line %v", f)
	}
}

// otlpReceiver is an OTLP/HTTP trace endpoint: it decodes the protobuf
// export requests the SDK's exporter sends, as a collector would.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	names map[string]string // resource service.name per span name, last seen
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "not an OTLP/HTTP protobuf trace export", http.StatusBadRequest)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, _ := io.ReadAll(body)
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				o.spans = append(o.spans, s)
				o.names[s.GetName()] = service
			}
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// One trace spans the client's request, the GraphQL operation, the lock
// wait, the Redis commands and the Auth0 calls, continuing the client's
// traceparent, exported through the real OTLP configuration path; the
// emulator received the same trace id. No span holds the token or secret.
func TestOneTraceFromClientToRedisAndAuth0(t *testing.T) {
	recv := &otlpReceiver{names: map[string]string{}}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	// The SDK reads these itself from the process environment; run's
	// environment says tracing is on.
	otel := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL,
		"OTEL_SERVICE_NAME":           "bff-under-test",
		"OTEL_TRACES_SAMPLER":         "parentbased_always_on",
	}
	opts := []envOption{}
	for k, v := range otel {
		t.Setenv(k, v)
		opts = append(opts, withEnv(k, v))
	}
	e := startService(t, opts...)
	token := e.login("new@example.com")
	const traceID, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	body, _ := json.Marshal(map[string]any{
		"query":     `mutation Answer { updateProfile(input: {firstName: "Ada"}) { userErrors { code } } }`,
		"variables": map[string]any{},
	})
	req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("traceparent", "00-"+traceID+"-"+clientSpan+"-01")
	resp := e.do(req)
	resp.mustData(t)
	requestID := resp.Header.Get("X-Request-Id")
	if err := e.stop(); err != nil { // flushes the spans
		t.Fatal(err)
	}

	recv.mu.Lock()
	defer recv.mu.Unlock()
	byID := map[string]*tracepb.Span{}
	var inTrace []*tracepb.Span
	for _, s := range recv.spans {
		if hex.EncodeToString(s.GetTraceId()) == traceID {
			inTrace = append(inTrace, s)
			byID[hex.EncodeToString(s.GetSpanId())] = s
		}
	}
	find := func(pred func(*tracepb.Span) bool) []*tracepb.Span {
		var out []*tracepb.Span
		for _, s := range inTrace {
			if pred(s) {
				out = append(out, s)
			}
		}
		return out
	}
	// descends reports whether s has ancestor a within the trace.
	descends := func(s, a *tracepb.Span) bool {
		for p := hex.EncodeToString(s.GetParentSpanId()); p != ""; {
			if p == hex.EncodeToString(a.GetSpanId()) {
				return true
			}
			parent, ok := byID[p]
			if !ok {
				return false
			}
			p = hex.EncodeToString(parent.GetParentSpanId())
		}
		return false
	}
	attr := func(s *tracepb.Span, key string) string {
		for _, a := range s.GetAttributes() {
			if a.GetKey() == key {
				v := a.GetValue()
				if v.GetStringValue() != "" {
					return v.GetStringValue()
				}
				return strings.TrimPrefix(v.String(), "int_value:")
			}
		}
		return ""
	}
	names := func() []string {
		var out []string
		for _, s := range inTrace {
			out = append(out, s.GetName())
		}
		return out
	}

	servers := find(func(s *tracepb.Span) bool { return s.GetKind() == tracepb.Span_SPAN_KIND_SERVER })
	if len(servers) != 1 || hex.EncodeToString(servers[0].GetParentSpanId()) != clientSpan {
		t.Fatalf("want one server span, child of the client's span %s; spans in trace: %v", clientSpan, names())
	}
	server := servers[0]
	if attr(server, "bff.request_id") != requestID || requestID == "" {
		t.Errorf("server span request id %q, response's %q", attr(server, "bff.request_id"), requestID)
	}
	ops := find(func(s *tracepb.Span) bool { return s.GetName() == "mutation Answer" })
	if len(ops) != 1 || !descends(ops[0], server) || attr(ops[0], "graphql.operation.type") != "mutation" || attr(ops[0], "graphql.operation.name") != "Answer" {
		t.Fatalf("want the GraphQL operation span under the server span; spans: %v", names())
	}
	op := ops[0]
	locks := find(func(s *tracepb.Span) bool { return s.GetName() == "userlock.wait" })
	if len(locks) != 1 || !descends(locks[0], op) || attr(locks[0], "userlock.outcome") != "acquired" {
		t.Errorf("want the lock wait under the operation; spans: %v", names())
	}
	redisSpans := find(func(s *tracepb.Span) bool {
		return attr(s, "db.system") == "redis" || attr(s, "db.system.name") == "redis"
	})
	if len(redisSpans) == 0 {
		t.Errorf("no Redis span in the trace; spans: %v", names())
	}
	for _, s := range redisSpans {
		if !descends(s, op) {
			t.Errorf("Redis span %q is not under the operation", s.GetName())
		}
	}
	if len(locks) == 1 && len(find(func(s *tracepb.Span) bool { return descends(s, locks[0]) && s.GetName() == "set" })) != 1 {
		t.Errorf("the lock's SET NX is not a child of the lock wait; spans: %v", names())
	}
	for _, route := range []string{"auth0 GET /api/v2/users/{id}", "auth0 PATCH /api/v2/users/{id}"} {
		calls := find(func(s *tracepb.Span) bool { return s.GetName() == route })
		if len(calls) == 0 {
			t.Errorf("no %q span; spans: %v", route, names())
			continue
		}
		for _, c := range calls {
			if c.GetKind() != tracepb.Span_SPAN_KIND_CLIENT || !descends(c, op) {
				t.Errorf("%q is not a client span under the operation", route)
			}
			if attr(c, "http.response.status_code") != "200" || attr(c, "auth0.x_ratelimit_remaining") == "" {
				t.Errorf("%q lacks the status or the rate-limit headers: %v", route, c.GetAttributes())
			}
		}
	}
	if recv.names["mutation Answer"] != "bff-under-test" {
		t.Errorf("service.name %q, want OTEL_SERVICE_NAME's", recv.names["mutation Answer"])
	}
	for _, route := range []auth0emu.Route{auth0emu.RouteGetUser, auth0emu.RoutePatchUser} {
		seen := false
		for _, tp := range e.emu.Traceparents(route) {
			seen = seen || strings.HasPrefix(tp, "00-"+traceID+"-")
		}
		if !seen {
			t.Errorf("the emulator's %s received no traceparent of the trace: %v", route, e.emu.Traceparents(route))
		}
	}
	for _, s := range recv.spans {
		dump := s.String()
		for _, secret := range []string{token, testClientSecret, "Bearer", "Ada"} {
			if strings.Contains(dump, secret) {
				t.Errorf("span %q holds %q", s.GetName(), secret)
			}
		}
	}
}

// With tracing off the service records no span, but a client's trace
// context still reaches Auth0, so a trace the client or an ingress started
// is not cut at this service.
func TestTraceContextReachesAuth0WithTracingOff(t *testing.T) {
	e := startService(t)
	token := e.login("enriched@example.com") // not cached yet: the read goes to Auth0
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	body, _ := json.Marshal(map[string]any{"query": "{ viewer { id } }"})
	req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	e.do(req).mustData(t)
	for _, tp := range e.emu.Traceparents(auth0emu.RouteGetUser) {
		if strings.Contains(tp, traceID) {
			return
		}
	}
	t.Fatalf("the emulator's GET received no traceparent of the client's trace: %v", e.emu.Traceparents(auth0emu.RouteGetUser))
}
