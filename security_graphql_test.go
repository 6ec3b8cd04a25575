package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/progressive-profiling/bff/graphqlapi"
	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/figures"
)

// Hostile GraphQL: every limit is tried against the
// running service with a valid token, so a request that got through would
// run resolvers and call Auth0. The proof that none did is the service's own
// counter of root-field resolver entries, read off /metrics, and the
// emulator's counters.

const graphqlValidationFailed = "GRAPHQL_VALIDATION_FAILED"

// echoMarker in a request body must never come back in the response.
const echoMarker = "ECHO-MARKER-5f3a"

// hostileRequest is one request the service must refuse before execution.
type hostileRequest struct {
	name   string
	req    func(base, token string) *http.Request
	status int
	// limit is the expected extensions.limit; "" for a plain validation
	// error (an unknown field or argument).
	limit string
}

// hostileTally counts the figure's requests across services.
type hostileTally struct{ tried, reached int }

func gqlPost(contentType string, body io.Reader) func(base, token string) *http.Request {
	return func(base, token string) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, base+"/graphql", body)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		return req
	}
}

func gqlJSON(query string) func(base, token string) *http.Request {
	return func(base, token string) *http.Request {
		body, _ := json.Marshal(map[string]any{"query": query})
		return gqlPost("application/json", bytes.NewReader(body))(base, token)
	}
}

func gqlGET(params url.Values) func(base, token string) *http.Request {
	return func(base, token string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, base+"/graphql?"+params.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return req
	}
}

func gqlMethod(method string) func(base, token string) *http.Request {
	return func(base, token string) *http.Request {
		req := gqlJSON(`{ viewer { id } }`)(base, token)
		req.Method = method
		return req
	}
}

// chunked sends body with no Content-Length: the client cannot say how big
// it is, and the cap must still hold.
func chunked(body []byte) func(base, token string) *http.Request {
	return func(base, token string) *http.Request {
		req := gqlPost("application/json", io.MultiReader(bytes.NewReader(body)))(base, token)
		req.ContentLength = -1
		return req
	}
}

func repeated(s string, n int) string { return strings.TrimSpace(strings.Repeat(s+" ", n)) }

// bigBody is a JSON GraphQL request of about n bytes, padded in a variable.
func bigBody(n int) []byte {
	b, _ := json.Marshal(map[string]any{"query": `{ __typename }`, "variables": map[string]any{"pad": strings.Repeat("x", n)}})
	return b
}

func doublingFragmentsQuery(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query { viewer { ...F%d } }\nfragment F0 on Viewer { id }\n", n)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "fragment F%d on Viewer { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

func aliased(field string, n int) string {
	var parts []string
	for i := 0; i < n; i++ {
		parts = append(parts, fmt.Sprintf("a%d: %s", i, field))
	}
	return strings.Join(parts, " ")
}

// tryHostile sends each request and checks the refusal: status, error code,
// the limit named, no schema suggestion, no resolver entered, no Auth0 call.
func (e *testEnv) tryHostile(t *testing.T, tally *hostileTally, token string, cases []hostileRequest) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.scrapeMetrics(t)
			reads, patches := e.emu.Count(auth0emu.RouteGetUser), len(e.emu.Patches())
			r := e.do(c.req(e.url, token))
			reached := int(e.scrapeMetrics(t).sum(graphqlapi.RootFieldCallsMetric) - before.sum(graphqlapi.RootFieldCallsMetric))
			tally.tried++
			tally.reached += reached
			if reached != 0 {
				t.Errorf("%d root-field resolvers ran", reached)
			}
			if n := e.emu.Count(auth0emu.RouteGetUser) - reads + len(e.emu.Patches()) - patches; n != 0 {
				t.Errorf("%d calls reached Auth0", n)
			}
			if r.Status != c.status {
				t.Errorf("status %d, want %d; body %.300s", r.Status, c.status, r.Raw)
			}
			if len(r.Errors) == 0 || r.code(0) != graphqlValidationFailed {
				t.Fatalf("want extensions.code %s; body %.300s", graphqlValidationFailed, r.Raw)
			}
			if got, _ := r.Errors[0].Extensions["limit"].(string); got != c.limit {
				t.Errorf("extensions.limit %q, want %q; body %.300s", got, c.limit, r.Raw)
			}
			if c.limit != "" && !strings.Contains(r.Errors[0].Message, "limit") && c.limit != graphqlapi.LimitIntrospection && c.limit != graphqlapi.LimitMethod && c.limit != graphqlapi.LimitContentType {
				t.Errorf("message does not name the limit: %q", r.Errors[0].Message)
			}
			if strings.Contains(r.Raw, echoMarker) {
				t.Errorf("the request body is echoed back: %.300s", r.Raw)
			}
			if strings.Contains(r.Raw, "Did you mean") {
				t.Errorf("production error suggests schema names: %.300s", r.Raw)
			}
		})
	}
}

func TestHostileGraphQL(t *testing.T) {
	tally := &hostileTally{}

	// Production defaults: introspection off, default limits.
	e := startService(t)
	token := e.login("returning@example.com")
	before := e.scrapeMetrics(t)
	e.viewer(token, "")
	if d := e.scrapeMetrics(t).sum(graphqlapi.RootFieldCallsMetric) - before.sum(graphqlapi.RootFieldCallsMetric); d != 1 {
		t.Fatalf("a real query moved %s by %v, want 1: the counter would prove nothing", graphqlapi.RootFieldCallsMetric, d)
	}
	if r := e.do(gqlGET(url.Values{"query": {`{ viewer { id } }`}})(e.url, token)); path(r.Data, "viewer", "id") != auth0emu.SeedReturningUserID {
		t.Fatalf("control: GET query: %d %s", r.Status, r.Raw)
	}
	if r := e.do(gqlPost("application/json", bytes.NewReader(bigBody(60<<10)))(e.url, token)); r.Status != http.StatusOK {
		t.Fatalf("control: a 60 KiB body: %d %.300s", r.Status, r.Raw)
	}

	mutation := `mutation M { updateProfile(input: { company: "Hostile" }) { userErrors { code } } }`
	var multipartBody bytes.Buffer
	mw := multipart.NewWriter(&multipartBody)
	_ = mw.WriteField("operations", `{"query":`+jsonOf(mutation)+`}`)
	_ = mw.WriteField("map", `{}`)
	_ = mw.Close()
	e.tryHostile(t, tally, token, []hostileRequest{
		{"complexity: one field 250 times", gqlJSON(`{ viewer { ` + repeated("id", 250) + ` } }`), 422, graphqlapi.LimitComplexity},
		{"complexity: fragments describing 2^30 fields in 1 KB", gqlJSON(doublingFragmentsQuery(30)), 422, graphqlapi.LimitComplexity},
		{"aliases: 11 viewers", gqlJSON(`{ ` + aliased("viewer { id }", 11) + ` }`), 422, graphqlapi.LimitAliases},
		{"aliases: counted per fragment expansion", gqlJSON(`{ a: viewer { ...N } b: viewer { ...N } } fragment N on Viewer { ` + aliased("id", 5) + ` }`), 422, graphqlapi.LimitAliases},
		{"aliases: 11 mutations batched in one request", gqlJSON(`mutation { ` + aliased(`updateProfile(input: { company: "Batch" }) { userErrors { code } }`, 11) + ` }`), 422, graphqlapi.LimitAliases},
		{"tokens: one field 1100 times", gqlJSON(`{ viewer { ` + repeated("id", 1100) + ` } }`), 422, graphqlapi.LimitTokens},
		{"tokens: 1001 comments", gqlJSON(strings.Repeat("#\n", 1001) + `{ viewer { id } }`), 422, graphqlapi.LimitTokens},
		{"introspection: __schema", gqlJSON(`{ __schema { types { name } } }`), 422, graphqlapi.LimitIntrospection},
		{"introspection: __type", gqlJSON(`{ __type(name: "Viewer") { fields { name } } }`), 422, graphqlapi.LimitIntrospection},
		{"introspection: inside a fragment", gqlJSON(`{ ...I } fragment I on Query { __schema { queryType { name } } }`), 422, graphqlapi.LimitIntrospection},
		{"GET mutation", gqlGET(url.Values{"query": {mutation}}), 405, graphqlapi.LimitMethod},
		{"GET mutation chosen by operationName", gqlGET(url.Values{"query": {`query Q { viewer { id } } ` + mutation}, "operationName": {"M"}}), 405, graphqlapi.LimitMethod},
		{"form-urlencoded POST", gqlPost("application/x-www-form-urlencoded", strings.NewReader(url.Values{"query": {mutation}}.Encode())), 400, graphqlapi.LimitContentType},
		{"multipart POST", gqlPost(mw.FormDataContentType(), bytes.NewReader(multipartBody.Bytes())), 400, graphqlapi.LimitContentType},
		{"text/plain POST (no CORS preflight)", gqlPost("text/plain", strings.NewReader(`{"query":`+jsonOf(mutation)+`}`)), 400, graphqlapi.LimitContentType},
		{"application/graphql POST", gqlPost("application/graphql", strings.NewReader(mutation)), 400, graphqlapi.LimitContentType},
		{"POST without Content-Type", gqlPost("", strings.NewReader(`{"query":`+jsonOf(mutation)+`}`)), 400, graphqlapi.LimitContentType},
		{"WebSocket upgrade", func(base, token string) *http.Request {
			req := gqlGET(url.Values{"query": {`{ viewer { id } }`}})(base, token)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			return req
		}, 400, graphqlapi.LimitMethod},
		{"body not JSON (not echoed back)", gqlPost("application/json", strings.NewReader(`query=`+echoMarker)), 400, ""},
		{"trailing bytes after the body (not echoed back)", gqlPost("application/json", strings.NewReader(`{"query":"{ __typename }"} `+echoMarker)), 400, ""},
		{"a second JSON object after the first", gqlPost("application/json", strings.NewReader(`{"query":"{ __typename }"}{"query":`+jsonOf(mutation)+`}`)), 400, ""},
		{"batched array body", gqlPost("application/json", strings.NewReader(`[{"query":`+jsonOf(mutation)+`},{"query":"{ viewer { id } }"}]`)), 400, ""},
		{"PUT", gqlMethod(http.MethodPut), 405, graphqlapi.LimitMethod},
		{"DELETE", gqlMethod(http.MethodDelete), 405, graphqlapi.LimitMethod},
		{"PATCH", gqlMethod(http.MethodPatch), 405, graphqlapi.LimitMethod},
		{"body over 64 KiB", gqlPost("application/json", bytes.NewReader(bigBody(65<<10))), 413, "body"},
		{"chunked body over 64 KiB, no Content-Length", chunked(bigBody(65 << 10)), 413, "body"},
		{"unknown argument gets no suggestion", gqlJSON(`{ pendingFields(limt: 1) { key } }`), 422, ""},
		{"unknown input field gets no suggestion", gqlJSON(`mutation { updateProfile(input: { firstNam: "Ada" }) { userErrors { code } } }`), 422, ""},
		{"unknown type gets no suggestion", gqlJSON(`query($i: UpdateProfileInpt) { viewer { id } }`), 422, ""},
		{"unknown field gets no suggestion", gqlJSON(`{ viewer { firstNam } }`), 422, ""},
		{"unknown root field gets no suggestion", gqlJSON(`{ viewr { id } }`), 422, ""},
	})

	// A lower depth limit, so the schema's own depth (5) is over it, and
	// introspection on as in dev mode.
	d := startService(t, withEnv("GRAPHQL_MAX_DEPTH", "4"), withEnv("INTROSPECTION", "true"))
	dtoken := d.login("returning@example.com")
	if r := d.gql(dtoken, `{ viewer { pendingFields { options { value } } } }`, nil); r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("control: depth 4 at a limit of 4: %d %s", r.Status, r.Raw)
	}
	if r := d.gql(dtoken, `{ __schema { queryType { name } } }`, nil); path(r.Data, "__schema", "queryType", "name") != "Query" {
		t.Fatalf("control: introspection on: %s", r.Raw)
	}
	if r := d.gql(dtoken, `{ pendingFields(limt: 1) { key } }`, nil); !strings.Contains(r.Raw, "Did you mean") {
		t.Fatalf("control: with introspection on, suggestions stay (else the check above proves nothing): %s", r.Raw)
	}
	d.tryHostile(t, tally, dtoken, []hostileRequest{
		{"depth 5 in plain fields", gqlJSON(`mutation { updateProfile(input: { company: "Deep" }) { viewer { pendingFields { options { value } } } } }`), 422, graphqlapi.LimitDepth},
		{"depth 5 through named and inline fragments", gqlJSON(`mutation { updateProfile(input: { company: "Deep" }) { ...P } }
			fragment P on UpdateProfilePayload { viewer { ... on Viewer { pendingFields { ...O } } } }
			fragment O on ProfileField { options { value } }`), 422, graphqlapi.LimitDepth},
	})

	figures.Report(t, "hostile GraphQL: %d tried, %d reached a resolver", tally.tried, tally.reached)
}

func TestCORSAllowList(t *testing.T) {
	const allowed, other = "https://app.example.com", "https://evil.example"
	preflight := func(e *testEnv, origin string) http.Header {
		req, _ := http.NewRequest(http.MethodOptions, e.url+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header
	}
	corsHeaders := func(h http.Header) []string {
		var out []string
		for k := range h {
			if strings.HasPrefix(k, "Access-Control-Allow-") {
				out = append(out, k+": "+h.Get(k))
			}
		}
		return out
	}

	e := startService(t, withEnv("CORS_ALLOWED_ORIGINS", allowed))
	h := preflight(e, allowed)
	if h.Get("Access-Control-Allow-Origin") != allowed || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Errorf("preflight from the allowed origin: %v", corsHeaders(h))
	}
	if got := corsHeaders(preflight(e, other)); len(got) != 0 {
		t.Errorf("preflight from %s got %v", other, got)
	}
	req := gqlJSON(`{ __typename }`)(e.url, e.login("new@example.com"))
	req.Header.Set("Origin", other)
	if r := e.do(req); len(corsHeaders(r.Header)) != 0 {
		t.Errorf("a POST from %s got %v", other, corsHeaders(r.Header))
	}

	// Production without CORS_ALLOWED_ORIGINS: no origin at all (rs/cors
	// would allow every one for an empty list).
	closed := startService(t)
	for _, origin := range []string{allowed, other, "http://localhost:3000"} {
		if got := corsHeaders(preflight(closed, origin)); len(got) != 0 {
			t.Errorf("no CORS_ALLOWED_ORIGINS, preflight from %s got %v", origin, got)
		}
	}
}

func TestConfigGraphQLLimits(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.GraphQLMaxDepth != graphqlapi.DefaultMaxDepth || c.GraphQLMaxAliases != graphqlapi.DefaultMaxAliases ||
		c.GraphQLMaxComplexity != graphqlapi.DefaultComplexityLimit || c.GraphQLMaxTokens != graphqlapi.DefaultParserTokenLimit {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = loadConfig(envOf(map[string]string{"GRAPHQL_MAX_DEPTH": "6", "GRAPHQL_MAX_TOKENS": "500"}))
	if err != nil || c.GraphQLMaxDepth != 6 || c.GraphQLMaxTokens != 500 {
		t.Fatalf("set: %+v, %v", c, err)
	}
	_, err = loadConfig(envOf(map[string]string{"GRAPHQL_MAX_DEPTH": "0", "GRAPHQL_MAX_ALIASES": "-1", "GRAPHQL_MAX_COMPLEXITY": "lots", "GRAPHQL_MAX_TOKENS": "1e3"}))
	for _, name := range []string{"GRAPHQL_MAX_DEPTH", "GRAPHQL_MAX_ALIASES", "GRAPHQL_MAX_COMPLEXITY", "GRAPHQL_MAX_TOKENS"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("bad %s not reported: %v", name, err)
		}
	}
}
