package main

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/progressive-profiling/bff/graphqlapi"
	"github.com/progressive-profiling/bff/internal/auth0emu"
)

// The smaller defects of the issue "Green on any date…" (point 7), each
// tried against the running service.

// refusedBeforeExecution sends req and checks that it was refused with
// status and a GRAPHQL_VALIDATION_FAILED error whose message holds every
// one of wants, and that no resolver ran and nothing reached Auth0.
func (e *testEnv) refusedBeforeExecution(t *testing.T, req *http.Request, status int, wants ...string) *gqlResponse {
	t.Helper()
	before := e.scrapeMetrics(t)
	reads, patches := e.emu.Count(auth0emu.RouteGetUser), len(e.emu.Patches())
	r := e.do(req)
	if d := e.scrapeMetrics(t).sum(graphqlapi.RootFieldCallsMetric) - before.sum(graphqlapi.RootFieldCallsMetric); d != 0 {
		t.Errorf("%v root-field resolvers ran", d)
	}
	if n := e.emu.Count(auth0emu.RouteGetUser) - reads; n != 0 {
		t.Errorf("%d user reads reached Auth0", n)
	}
	if n := len(e.emu.Patches()) - patches; n != 0 {
		t.Errorf("%d PATCHes reached Auth0: %s", n, patchBodies(e.emu.Patches()[patches:]))
	}
	if r.Status != status {
		t.Errorf("status %d, want %d; body %.400s", r.Status, status, r.Raw)
	}
	if len(r.Errors) == 0 || r.code(0) != graphqlValidationFailed {
		t.Fatalf("want extensions.code %s; body %.400s", graphqlValidationFailed, r.Raw)
	}
	for _, w := range wants {
		if !strings.Contains(r.Errors[0].Message, w) {
			t.Errorf("message %q does not say %q", r.Errors[0].Message, w)
		}
	}
	return r
}

func TestInputCoercionIsStrict(t *testing.T) {
	e := startService(t)
	token, err := e.emu.IssueAccessToken(auth0emu.SeedNewUserID)
	if err != nil {
		t.Fatal(err)
	}
	const update = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { userErrors { code } } }`
	const skip = `mutation($input: SkipFieldsInput!) { skipFields(input: $input) { userErrors { code } } }`
	const pending = `query($limit: Int, $context: String) { pendingFields(limit: $limit, context: $context) { key } }`
	const viewerPending = `query($limit: Int) { viewer { pendingFields(limit: $limit) { key } } }`

	// Controls: the same operations with well-typed values run.
	if r := e.do(gqlRequest(e.url, token, pending, map[string]any{"limit": 1, "context": "article"})); len(keys(path(r.mustData(t), "pendingFields"))) != 1 {
		t.Fatalf("control: limit 1: %s", r.Raw)
	}
	if r := e.do(gqlRequest(e.url, token, `{ pendingFields(limit: 2147483647) { key } }`, nil)); r.Status != http.StatusOK || len(r.Errors) != 0 {
		t.Fatalf("control: limit 2^31-1 as a literal: %d %s", r.Status, r.Raw)
	}

	cases := []struct {
		name  string
		query string
		vars  map[string]any
		wants []string // in the message
	}{
		{"updateProfile firstName as a number", update, map[string]any{"input": map[string]any{"firstName": 42}}, []string{"firstName", "String", "number"}},
		{"updateProfile title as a number", update, map[string]any{"input": map[string]any{"title": 12345}}, []string{"title", "String"}},
		{"updateProfile phone as a number", update, map[string]any{"input": map[string]any{"phone": 14155550123}}, []string{"phone", "String"}},
		{"updateProfile context as a number", update, map[string]any{"input": map[string]any{"company": "Numbers Ltd", "context": 7}}, []string{"context", "String"}},
		{"updateProfile lastName as a fraction", update, map[string]any{"input": map[string]any{"lastName": 1.5}}, []string{"lastName", "String"}},
		{"skipFields key as a number", skip, map[string]any{"input": map[string]any{"keys": []any{"company", 42}}}, []string{"keys", "String"}},
		{"skipFields single key as a number", skip, map[string]any{"input": map[string]any{"keys": 42}}, []string{"keys", "String"}},
		{"skipFields context as a number", skip, map[string]any{"input": map[string]any{"keys": []any{"company"}, "context": 1}}, []string{"context", "String"}},
		{"pendingFields context as a number", pending, map[string]any{"context": 42}, []string{"$context", "String"}},
		{"pendingFields limit as a string", pending, map[string]any{"limit": "2"}, []string{"$limit", "Int"}},
		{"pendingFields limit above 2^31-1", pending, map[string]any{"limit": 3000000000}, []string{"$limit", "Int", "32-bit"}},
		{"pendingFields limit below -2^31", pending, map[string]any{"limit": -3000000000}, []string{"$limit", "Int", "32-bit"}},
		{"viewer pendingFields limit above 2^31-1", viewerPending, map[string]any{"limit": 2147483648}, []string{"$limit", "Int", "32-bit"}},
		{"limit default above 2^31-1", `query($limit: Int = 3000000000) { pendingFields(limit: $limit) { key } }`, nil, []string{"Int", "32-bit", "3000000000"}},
		{"limit literal above 2^31-1", `{ pendingFields(limit: 3000000000) { key } }`, nil, []string{"Int", "32-bit", "3000000000"}},
		{"viewer limit literal above 2^31-1", `{ viewer { pendingFields(limit: 9999999999) { key } } }`, nil, []string{"Int", "32-bit", "9999999999"}},
		{"limit literal below -2^31", `{ pendingFields(limit: -2147483649) { key } }`, nil, []string{"Int", "32-bit"}},
		{"updateProfile input default with a number", `mutation($input: UpdateProfileInput = {firstName: 42}) { updateProfile(input: $input) { userErrors { code } } }`, nil, []string{"String"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.refusedBeforeExecution(t, gqlRequest(e.url, token, c.query, c.vars), http.StatusUnprocessableEntity, c.wants...)
		})
	}
	// The same over GET, whose variables are decoded the same way.
	t.Run("GET limit above 2^31-1", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, e.url+"/graphql?"+url.Values{"query": {pending}, "variables": {`{"limit":3000000000}`}}.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		e.refusedBeforeExecution(t, req, http.StatusUnprocessableEntity, "$limit", "32-bit")
	})
	if u, _ := e.emu.User(auth0emu.SeedNewUserID); path(u, "user_metadata", "first_name") != nil {
		t.Errorf("a refused answer was stored: %v", u["user_metadata"])
	}
}

func TestTransportRefusals(t *testing.T) {
	e := startService(t)
	token, err := e.emu.IssueAccessToken(auth0emu.SeedReturningUserID)
	if err != nil {
		t.Fatal(err)
	}
	mutation := `mutation M { updateProfile(input: {company: "Trailing"}) { userErrors { code } } }`

	// README: the seeded returning user (3 logins, 45 days old) is already
	// in engaged, without another login.
	v := e.viewer(token, "")
	if v["stage"] != "engaged" || v["loginsCount"] != float64(3) || !equal(keys(v["pendingFields"]), []string{"company", "title", "phone"}) {
		t.Errorf("seeded returning@example.com: stage %v, loginsCount %v, pending %v; the README's table says engaged, 3, [company title phone]",
			v["stage"], v["loginsCount"], keys(v["pendingFields"]))
	}

	// Trailing bytes after the one JSON object.
	if r := e.do(postJSON(`{"query":"{ __typename }"}`+" \r\n\t ")(e.url, token)); r.Status != http.StatusOK || path(r.Data, "__typename") != "Query" {
		t.Fatalf("control: trailing white space is not data: %d %s", r.Status, r.Raw)
	}
	for name, body := range map[string]string{
		"garbage after the object":    `{"query":"{__typename}"} garbage`,
		"a second object":             `{"query":"{ viewer { id } }"}{"query":` + jsonString(mutation) + `}`,
		"a second object after space": `{"query":` + jsonString(mutation) + "}\n" + `{"query":"{ viewer { id } }"}`,
		"a stray bracket":             `{"query":` + jsonString(mutation) + `}]`,
		"a NUL byte":                  `{"query":"{__typename}"}` + "\x00",
	} {
		t.Run("trailing bytes/"+name, func(t *testing.T) {
			r := e.refusedBeforeExecution(t, postJSON(body)(e.url, token), http.StatusBadRequest, "one JSON object", "after")
			if strings.Contains(r.Raw, "garbage") {
				t.Errorf("the body is echoed back: %s", r.Raw)
			}
		})
	}

	// Methods (GraphQL over HTTP): 405 with Allow.
	methods := []struct {
		name  string
		req   *http.Request
		allow string
	}{
		{"GET mutation", getQuery(url.Values{"query": {mutation}})(e.url, token), "POST"},
		{"GET mutation chosen by operationName", getQuery(url.Values{"query": {`query Q { viewer { id } } ` + mutation}, "operationName": {"M"}})(e.url, token), "POST"},
	}
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, "PROPFIND"} {
		req := postJSON(`{"query":`+jsonString(mutation)+`}`)(e.url, token)
		req.Method = m
		methods = append(methods, struct {
			name  string
			req   *http.Request
			allow string
		}{m, req, "GET, POST"})
	}
	for _, m := range methods {
		t.Run("method/"+m.name, func(t *testing.T) {
			r := e.refusedBeforeExecution(t, m.req, http.StatusMethodNotAllowed)
			if got := r.Header.Get("Allow"); got != m.allow {
				t.Errorf("Allow %q, want %q", got, m.allow)
			}
			if got, _ := r.Errors[0].Extensions["limit"].(string); got != graphqlapi.LimitMethod {
				t.Errorf("extensions.limit %q, want %q", got, graphqlapi.LimitMethod)
			}
		})
	}

	// A body over the cap is counted on /metrics with the other refusals.
	const bodyRefusals = graphqlapi.RefusedOperationsMetric + `{limit="body"}`
	before := e.scrapeMetrics(t)
	if _, ok := before[bodyRefusals]; !ok {
		t.Errorf("%s is not exported before the first refusal", bodyRefusals)
	}
	for name, req := range map[string]*http.Request{
		"with Content-Length": gqlPost("application/json", strings.NewReader(string(bigBody(65<<10))))(e.url, token),
		"chunked":             chunked(bigBody(65<<10))(e.url, token),
	} {
		t.Run("413/"+name, func(t *testing.T) {
			r := e.refusedBeforeExecution(t, req, http.StatusRequestEntityTooLarge, "limit")
			if got, _ := r.Errors[0].Extensions["limit"].(string); got != "body" {
				t.Errorf("extensions.limit %q, want body", got)
			}
		})
	}
	if got := e.scrapeMetrics(t)[bodyRefusals] - before[bodyRefusals]; got != 2 {
		t.Errorf("%s moved by %v after two 413s, want 2", bodyRefusals, got)
	}

}

// TestREADMEListsEveryLimit: the README's table of extensions.limit holds
// every value the endpoint can produce.
func TestREADMEListsEveryLimit(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range graphqlapi.RefusalLimits() {
		if !strings.Contains(string(readme), "\n| `"+l+"` |") {
			t.Errorf("README.md's extensions.limit table has no row for %q", l)
		}
	}
}
