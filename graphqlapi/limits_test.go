package graphqlapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/complexity"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/progressive-profiling/bff/graph"
)

// The operations clients really send (README, playground, the end-to-end
// flows): the limits' defaults must leave them ample room.
var clientOperations = map[string]string{
	"README Prompt": `query Prompt($context: String) {
  viewer { id stage completion
    pendingFields(context: $context) { key label type required options { value label } placeholder minLength maxLength stage reason } } }`,
	"README Answer": `mutation Answer($input: UpdateProfileInput!) {
  updateProfile(input: $input) {
    viewer { firstName lastName company title phone subscribed completion }
    pendingFields { key label type reason }
    userErrors { field message code } } }`,
	"README NotNow": `mutation NotNow($keys: [String!]!, $context: String) {
  skipFields(input: { keys: $keys, context: $context }) { pendingFields { key label } userErrors { field message code } } }`,
	"README whole profile": `{ viewer {
    email emailVerified name picture loginsCount createdAt lastLogin roles
    firstName lastName company title phone subscribed
    fields { key label known value source collectedAt collectedInStage collectedInContext } } }`,
	"flows viewerQuery": `query($context: String) {
  viewer {
    id email stage completion loginsCount
    firstName lastName company title phone subscribed roles
    fields { key known value source collectedAt collectedInStage collectedInContext }
    pendingFields(context: $context) { key label type required options { value label } placeholder minLength maxLength stage reason } } }`,
	"deepest the schema allows": `mutation { updateProfile(input: {}) { viewer { pendingFields { options { value label } } } } }`,
}

// graphiQLIntrospection is the query the playground (GraphiQL) sends in dev
// mode, with every optional part on.
const graphiQLIntrospection = `query IntrospectionQuery {
  __schema {
    description
    queryType { name kind } mutationType { name kind } subscriptionType { name kind }
    types { ...FullType }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL
  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } } }`

var es = graph.NewExecutableSchema(graph.Config{})

func loadOperation(t *testing.T, query string) *ast.OperationDefinition {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(es.Schema(), query)
	if len(errs) > 0 {
		t.Fatalf("invalid: %v", errs)
	}
	return doc.Operations[0]
}

// tokensOf is the least parser token limit the document parses under.
func tokensOf(t *testing.T, query string) int {
	t.Helper()
	lo, hi := 1, 100000
	for lo < hi {
		mid := (lo + hi) / 2
		if _, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, mid); err != nil {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

func TestClientOperationsFitTheDefaultLimits(t *testing.T) {
	ops := map[string]string{"GraphiQL introspection": graphiQLIntrospection}
	for name, q := range clientOperations {
		ops[name] = q
	}
	for name, q := range ops {
		op := loadOperation(t, q)
		s := measure(op.SelectionSet)
		cost := complexity.Calculate(context.Background(), es, op, nil)
		tokens := tokensOf(t, q)
		t.Logf("%-26s depth %d, aliases %d, complexity %d (memoised %d), tokens %d", name, s.depth, s.aliases, cost, s.cost, tokens)
		if s.cost != cost {
			t.Errorf("%s: memoised cost %d differs from gqlgen's complexity %d", name, s.cost, cost)
		}
		// Half of each limit at most: room for clients to grow.
		if s.depth > DefaultMaxDepth/2+1 || s.aliases > DefaultMaxAliases/2 || cost > DefaultComplexityLimit/2 || tokens > DefaultParserTokenLimit/2 {
			t.Errorf("%s is too close to the default limits", name)
		}
	}
}

func TestMeasureExpandsFragments(t *testing.T) {
	cases := []struct {
		name                 string
		query                string
		depth, aliases, cost int
	}{
		{"plain", `{ viewer { id pendingFields { key } } }`, 3, 0, 4},
		{"fragment adds its depth",
			`{ viewer { ...V } } fragment V on Viewer { pendingFields { options { value } } }`, 4, 0, 4},
		{"inline fragment adds its depth",
			`{ viewer { ... on Viewer { pendingFields { ... { options { value } } } } } }`, 4, 0, 4},
		{"nested named and inline fragments",
			`mutation { updateProfile(input: {}) { ...P } }
			 fragment P on UpdateProfilePayload { viewer { ... on Viewer { pendingFields { ...O } } } }
			 fragment O on ProfileField { options { value } }`, 5, 0, 5},
		{"aliases counted per expansion",
			`{ a: viewer { ...N } b: viewer { ...N } } fragment N on Viewer { x: id y: email }`, 2, 6, 6},
		{"alias equal to the field name is no alias", `{ viewer: viewer { id } }`, 2, 0, 2},
		{"__typename is a field", `{ viewer { __typename } }`, 2, 0, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := loadOperation(t, tc.query)
			s := measure(op.SelectionSet)
			if s.depth != tc.depth || s.aliases != tc.aliases || s.cost != tc.cost {
				t.Fatalf("depth %d, aliases %d, cost %d; want %d, %d, %d", s.depth, s.aliases, s.cost, tc.depth, tc.aliases, tc.cost)
			}
			if c := complexity.Calculate(context.Background(), es, op, nil); c != s.cost {
				t.Fatalf("memoised cost %d, gqlgen's complexity %d", s.cost, c)
			}
		})
	}
}

// doublingFragments describes 2^n fields in O(n) bytes: F_i spreads F_(i-1)
// twice. gqlgen's complexity count walks every expansion, so before the
// memoised bound a 1 KB document of this shape cost seconds of CPU (n=22:
// 3.5s) and n=40 would never finish; now it is refused after a linear walk.
func doublingFragments(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query { viewer { ...F%d } }\nfragment F0 on Viewer { id }\n", n)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "fragment F%d on Viewer { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

func TestExponentialFragmentsAreRefusedByAMemoisedCount(t *testing.T) {
	if s := measure(loadOperation(t, doublingFragments(20)).SelectionSet); s.cost != 1+1<<20 {
		t.Fatalf("2^20 fields: memoised cost %d, want 2^20+1", s.cost)
	}
	if s := measure(loadOperation(t, doublingFragments(80)).SelectionSet); s.cost != saturate {
		t.Fatalf("2^80 fields: cost %d, want the saturated %d", s.cost, saturate)
	}
	resp := serve(t, NewHandler(nil, HandlerOptions{}), doublingFragments(40))
	if resp.code != http.StatusUnprocessableEntity || resp.limit != LimitComplexity {
		t.Fatalf("status %d, limit %q: %s", resp.code, resp.limit, resp.raw)
	}
}

type served struct {
	code        int
	limit, raw  string
	errorCode   string
	firstDetail string
}

func serve(t *testing.T, h http.Handler, query string) served {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var out struct {
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	s := served{code: w.Code, raw: w.Body.String()}
	if len(out.Errors) > 0 {
		s.limit, _ = out.Errors[0].Extensions["limit"].(string)
		s.errorCode, _ = out.Errors[0].Extensions["code"].(string)
		s.firstDetail = out.Errors[0].Message
	}
	return s
}

func TestIntrospectionQueryPassesInDevMode(t *testing.T) {
	resp := serve(t, NewHandler(nil, HandlerOptions{Introspection: true}), graphiQLIntrospection)
	if resp.code != http.StatusOK || resp.errorCode != "" || !strings.Contains(resp.raw, `"UpdateProfileInput"`) {
		t.Fatalf("GraphiQL's introspection in dev mode: status %d, %.300s", resp.code, resp.raw)
	}
	resp = serve(t, NewHandler(nil, HandlerOptions{}), graphiQLIntrospection)
	if resp.limit != LimitIntrospection || resp.errorCode != "GRAPHQL_VALIDATION_FAILED" {
		t.Fatalf("introspection in production: status %d, %.300s", resp.code, resp.raw)
	}
}
