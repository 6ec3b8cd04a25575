package graphqlapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// The default limits on one operation. The clients' real operations (README,
// playground, end-to-end flows) nest at most 5 levels (the most the schema
// allows), use no aliases, cost at most 34 and parse into at most 57 tokens;
// GraphiQL's introspection query (dev mode) is 183 tokens. The defaults
// leave room for clients to grow (TestClientOperationsFitTheDefaultLimits)
// without letting one request cost the service or Auth0 much; the depth
// limit guards against a future schema with cycles.
const (
	DefaultMaxDepth         = 8
	DefaultMaxAliases       = 10
	DefaultComplexityLimit  = 200
	DefaultParserTokenLimit = 1000
	// DefaultMaxBodyBytes caps a request body; real operations are a few
	// KiB.
	DefaultMaxBodyBytes = 64 << 10
)

// Metric names of the GraphQL endpoint.
const (
	// RootFieldCallsMetric counts root-field resolver entries by field: an
	// operation refused for its shape never moves it.
	RootFieldCallsMetric = "bff_graphql_root_field_calls_total"
	// RefusedOperationsMetric counts operations refused before execution,
	// by limit.
	RefusedOperationsMetric = "bff_graphql_operations_refused_total"
)

// The reasons an operation is refused before it runs, the values of
// RefusedOperationsMetric's "limit" label and of an error's
// extensions.limit.
const (
	LimitDepth         = "depth"
	LimitAliases       = "aliases"
	LimitComplexity    = "complexity"
	LimitTokens        = "tokens"
	LimitIntrospection = "introspection"
	LimitMethod        = "method"
	LimitContentType   = "content_type"
	LimitBody          = "body"
	// LimitTrustedDocuments: a document not in the trusted-documents
	// manifest while only trusted documents run (see trusted.go).
	LimitTrustedDocuments = "trusted_documents"
)

// RefusalLimits lists every value of extensions.limit and of the refusal
// metric's "limit" label.
func RefusalLimits() []string {
	return []string{LimitDepth, LimitAliases, LimitComplexity, LimitTokens, LimitIntrospection, LimitMethod, LimitContentType, LimitBody, LimitTrustedDocuments}
}

// endpointMetrics are the GraphQL endpoint's counters.
type endpointMetrics struct {
	rootCalls *prometheus.CounterVec
	refused   *prometheus.CounterVec
}

func newEndpointMetrics(reg prometheus.Registerer) *endpointMetrics {
	m := &endpointMetrics{
		rootCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RootFieldCallsMetric,
			Help: "Root-field resolver entries, by field.",
		}, []string{"field"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RefusedOperationsMetric,
			Help: "GraphQL requests refused before any resolver ran, by limit: " + strings.Join(RefusalLimits(), ", ") + ".",
		}, []string{"limit"}),
	}
	for _, l := range RefusalLimits() {
		m.refused.WithLabelValues(l)
	}
	if reg != nil {
		reg.MustRegister(m.rootCalls, m.refused)
	}
	return m
}

// limitError is the error of a refused operation: GRAPHQL_VALIDATION_FAILED,
// as gqlgen's own validation errors, with the limit named in
// extensions.limit (and its value in extensions.max when it has one).
func limitError(limit string, max int, format string, args ...any) *gqlerror.Error {
	ext := map[string]any{"code": errcode.ValidationFailed, "limit": limit}
	if max > 0 {
		ext["max"] = max
	}
	return &gqlerror.Error{Message: fmt.Sprintf(format, args...), Extensions: ext}
}

// operationLimits refuses, before execution, an operation that is too deep,
// uses too many aliases, costs too much, introspects while introspection is
// off, or is a mutation sent with GET.
type operationLimits struct {
	maxDepth, maxAliases, maxComplexity int
	introspection                       bool
	metrics                             *endpointMetrics
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = &operationLimits{}

func (*operationLimits) ExtensionName() string { return "OperationLimits" }

func (*operationLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l *operationLimits) MutateOperationContext(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	err := l.check(ctx, opCtx)
	if err != nil {
		l.metrics.refused.WithLabelValues(err.Extensions["limit"].(string)).Inc()
	}
	return err
}

func (l *operationLimits) check(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	op := opCtx.Operation
	if method, _ := ctx.Value(methodKey{}).(string); method != http.MethodPost && op.Operation != ast.Query {
		return limitError(LimitMethod, 0, "A %s must be sent with POST and a JSON body, not %s.", op.Operation, method)
	}
	s := measure(op.SelectionSet)
	switch {
	case s.introspects && !l.introspection:
		return limitError(LimitIntrospection, 0, "Introspection is disabled on this server.")
	case s.depth > l.maxDepth:
		return limitError(LimitDepth, l.maxDepth, "The operation nests fields %d levels deep, more than the depth limit of %d.", s.depth, l.maxDepth)
	case s.aliases > l.maxAliases:
		return limitError(LimitAliases, l.maxAliases, "The operation uses %d aliases, more than the alias limit of %d.", s.aliases, l.maxAliases)
	case s.cost > l.maxComplexity:
		return limitError(LimitComplexity, l.maxComplexity, "The operation has complexity %d, more than the complexity limit of %d.", s.cost, l.maxComplexity)
	}
	return nil
}

// shape is what the limits look at in a selection set, with every fragment
// spread and inline fragment expanded in place.
type shape struct {
	// depth is the deepest chain of nested fields, outside introspection
	// (whose depth gqlparser's MaxIntrospectionDepth rule bounds).
	depth int
	// aliases counts fields that carry an alias, once per expansion.
	aliases int
	// cost is gqlgen's complexity count (complexity.Calculate): one per
	// field, plus its children; __schema costs nothing, as gqlgen counts
	// it. The schema has no custom complexity functions (gqlgen.yml
	// omit_complexity), so that count is all there is, and measuring it
	// here, memoised, spares gqlgen's walk of every expansion per request.
	cost        int
	introspects bool
}

// saturate caps counts: a few fragments spread twice each can describe 2^n
// fields, and the sums must not overflow on the way to being refused.
const saturate = 1 << 30

func add(a, b int) int { return min(a+b, saturate) }

// measure expands fragments once each (memoised by name), so a document of
// a few hundred bytes that describes millions of fields is measured in time
// linear in its size.
func measure(set ast.SelectionSet) shape {
	m := measurer{fragments: map[string]*shape{}}
	return m.selectionSet(set)
}

type measurer struct {
	fragments map[string]*shape
}

func (m *measurer) selectionSet(set ast.SelectionSet) shape {
	var total shape
	for _, sel := range set {
		var s shape
		switch sel := sel.(type) {
		case *ast.Field:
			s = m.field(sel)
		case *ast.InlineFragment:
			s = m.selectionSet(sel.SelectionSet)
		case *ast.FragmentSpread:
			s = m.fragment(sel)
		}
		total.depth = max(total.depth, s.depth)
		total.aliases = add(total.aliases, s.aliases)
		total.cost = add(total.cost, s.cost)
		total.introspects = total.introspects || s.introspects
	}
	return total
}

func (m *measurer) field(f *ast.Field) shape {
	if f.Name == "__schema" || f.Name == "__type" {
		s := shape{introspects: true}
		if f.Name == "__type" {
			s.cost = add(1, m.selectionSet(f.SelectionSet).cost)
		}
		return s
	}
	child := m.selectionSet(f.SelectionSet)
	s := shape{depth: child.depth + 1, aliases: child.aliases, cost: add(1, child.cost), introspects: child.introspects}
	if f.Alias != "" && f.Alias != f.Name {
		s.aliases = add(s.aliases, 1)
	}
	return s
}

func (m *measurer) fragment(spread *ast.FragmentSpread) shape {
	if s, ok := m.fragments[spread.Name]; ok {
		return *s
	}
	// Validation has refused fragment cycles; the placeholder makes a
	// cycle cost nothing rather than recurse, should one ever get here.
	m.fragments[spread.Name] = &shape{}
	var s shape
	if spread.Definition != nil {
		s = m.selectionSet(spread.Definition.SelectionSet)
	}
	m.fragments[spread.Name] = &s
	return s
}

// methodKey carries the HTTP method (put in the context by NewHandler's
// endpoint) to operationLimits, which refuses any operation but a query
// unless it came by POST: a second line behind transportGuard's own check
// of GET requests.
type methodKey struct{}

// transportGuard lets through only what the GraphQL transports are meant
// for: GET for queries and POST with one JSON object as the body. Form,
// multipart and text/plain posts, which a cross-site page can send without
// a CORS preflight, are refused before gqlgen reads them, as is a mutation
// sent with GET. The statuses are GraphQL over HTTP's: 405 with Allow for a
// method the request may not use (POST for a mutation; GET or POST for
// anything else), 400 for a body that is not one JSON object; each with an
// error code and a message saying what to send.
func transportGuard(m *endpointMetrics, tokenLimit int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			if r.Header.Get("Upgrade") != "" { // gqlgen would say "transport not supported", without a code
				m.refused.WithLabelValues(LimitMethod).Inc()
				WriteError(w, http.StatusBadRequest, limitError(LimitMethod, 0,
					"This endpoint offers no WebSocket transport; send GraphQL with POST."))
				return
			}
			if op := getOperation(r, tokenLimit); op != "" && op != ast.Query {
				m.refused.WithLabelValues(LimitMethod).Inc()
				w.Header().Set("Allow", http.MethodPost)
				WriteError(w, http.StatusMethodNotAllowed, limitError(LimitMethod, 0,
					"A %s must be sent with POST and a JSON body, not GET.", op))
				return
			}
		case http.MethodPost:
			if !isJSON(r.Header.Get("Content-Type")) {
				m.refused.WithLabelValues(LimitContentType).Inc()
				WriteError(w, http.StatusBadRequest, limitError(LimitContentType, 0,
					"A GraphQL POST must have Content-Type: application/json."))
				return
			}
			if !oneJSONValue(r) {
				WriteError(w, http.StatusBadRequest, &gqlerror.Error{
					Message:    bodyShape + ", and nothing after it.",
					Extensions: map[string]any{"code": errcode.ValidationFailed},
				})
				return
			}
		default:
			m.refused.WithLabelValues(LimitMethod).Inc()
			w.Header().Set("Allow", "GET, POST")
			WriteError(w, http.StatusMethodNotAllowed, limitError(LimitMethod, 0,
				"Send GraphQL with POST (or GET for queries), not %s.", r.Method))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isJSON reports whether a Content-Type is application/json, with or
// without parameters.
func isJSON(contentType string) bool {
	if contentType == "application/json" { // what clients send: no parse (and its map) needed
		return true
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && mediaType == "application/json"
}

// bodyShape is what a POST body must be.
const bodyShape = `The request body must be one JSON object with a "query" string (and optional "variables" and "operationName")`

// oneJSONValue reports whether the body (already read into memory by
// capBody) holds nothing after its first JSON value but white space: gqlgen
// decodes the first value and ignores the rest, so a second object or
// trailing garbage would otherwise pass unseen. A body whose first value
// does not decode is left to gqlgen, which refuses it (see presentLimits).
func oneJSONValue(r *http.Request) bool {
	if r.Body == nil {
		return true
	}
	body, err := bodyBytes(r)
	if err != nil || json.Valid(body) { // json.Valid: exactly one value, white space around it
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var first json.RawMessage
	if err := dec.Decode(&first); err != nil {
		return true
	}
	_, err = dec.Token()
	return err == io.EOF
}

// memoryBody is a request body capBody read into memory. The layers after
// it that need the body's bytes take them (bodyBytes) instead of reading
// and replacing the reader, which gqlgen reads last.
type memoryBody struct {
	bytes.Reader
	data []byte
}

func newMemoryBody(data []byte) *memoryBody {
	b := &memoryBody{data: data}
	b.Reset(data)
	return b
}

func (*memoryBody) Close() error { return nil }

// bodyBytes returns the request's body: the bytes capBody read, or else
// (a handler built without capBody, as in some tests) the body read into
// memory and put back.
func bodyBytes(r *http.Request) ([]byte, error) {
	if b, ok := r.Body.(*memoryBody); ok {
		return b.data, nil
	}
	data, err := io.ReadAll(r.Body)
	r.Body = newMemoryBody(data)
	return data, err
}

// capBody refuses a body over max bytes with 413 before anything reads a
// byte of it, whether or not the client declared its length, and counts
// the refusal; it hands on the body read into memory (memoryBody).
func capBody(m *endpointMetrics, max int64, next http.Handler) http.Handler {
	tooLarge := func(w http.ResponseWriter) {
		m.refused.WithLabelValues(LimitBody).Inc()
		WriteError(w, http.StatusRequestEntityTooLarge, limitError(LimitBody, int(max),
			"The request body is larger than %d bytes, the body size limit.", max))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			tooLarge(w)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
			if err != nil {
				var over *http.MaxBytesError
				if errors.As(err, &over) {
					tooLarge(w)
					return
				}
				// The client went away or stalled past ReadTimeout.
				WriteError(w, http.StatusBadRequest, &gqlerror.Error{
					Message:    "The request body could not be read.",
					Extensions: map[string]any{"code": errcode.ValidationFailed},
				})
				return
			}
			r.Body = newMemoryBody(body)
		}
		next.ServeHTTP(w, r)
	})
}

// getOperation returns the kind of operation a GET request selects, or ""
// when the document does not parse or names no operation (gqlgen then
// answers with the parse or validation error).
func getOperation(r *http.Request, tokenLimit int) ast.Operation {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return ""
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: params.Get("query")}, tokenLimit)
	if err != nil {
		return ""
	}
	if op := doc.Operations.ForName(params.Get("operationName")); op != nil {
		return op.Operation
	}
	return ""
}

// presentLimits finishes the presentation of errors for the limits: the
// parser's token-limit error gets the same code and shape as the other
// limits; gqlgen's undecodable-body error, which quotes the JSON decoder and
// echoes the body, says plainly what was wrong; and with introspection off
// no validation message suggests a field, argument or type name ("Did you
// mean ...?"), which would reveal the schema piece by piece.
func presentLimits(next graphql.ErrorPresenterFunc, tokenLimit int, introspection bool, m *endpointMetrics) graphql.ErrorPresenterFunc {
	tokenLimitMessage := fmt.Sprintf("exceeded token limit of %d", tokenLimit)
	return func(ctx context.Context, err error) *gqlerror.Error {
		e := next(ctx, err)
		if e.Message == tokenLimitMessage {
			m.refused.WithLabelValues(LimitTokens).Inc()
			limited := limitError(LimitTokens, tokenLimit, "The document has more than %d tokens, the parser token limit.", tokenLimit)
			limited.Path, limited.Locations = e.Path, e.Locations
			return limited
		}
		if strings.HasPrefix(e.Message, "json request body could not be decoded") {
			return &gqlerror.Error{
				Message:    bodyShape + ".",
				Extensions: map[string]any{"code": errcode.ValidationFailed},
			}
		}
		if !introspection {
			if i := strings.Index(e.Message, " Did you mean "); i >= 0 {
				e.Message = e.Message[:i]
			}
		}
		return e
	}
}
