package graphqlapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/progressive-profiling/bff/graph"
	"github.com/progressive-profiling/bff/profiling"
	"github.com/progressive-profiling/bff/resolvers"
)

// HandlerOptions tune the GraphQL endpoint.
type HandlerOptions struct {
	// Introspection lets clients ask for the schema (and get "did you
	// mean" suggestions); on in dev mode, off in production by default.
	Introspection bool
	// ComplexityLimit bounds the cost of one operation (gqlgen's count: one
	// per field plus its children, fragments expanded); default
	// DefaultComplexityLimit.
	ComplexityLimit int
	// MaxDepth bounds how deep fields nest, through fragments; default
	// DefaultMaxDepth.
	MaxDepth int
	// MaxAliases bounds the aliased fields of one operation, fragments
	// expanded; default DefaultMaxAliases.
	MaxAliases int
	// ParserTokenLimit bounds the tokens of one document; default
	// DefaultParserTokenLimit.
	ParserTokenLimit int
	// MaxBodyBytes caps a request body (413 above it); default
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// QueryCacheSize is how many parsed queries are kept; default 1000.
	QueryCacheSize int
	Logger         *slog.Logger
	// Metrics receives the endpoint's counters; nil registers nothing.
	Metrics prometheus.Registerer
	// PersistedQueries, when set, turns on automatic persisted queries
	// (Apollo's protocol: extensions.persistedQuery.sha256Hash) with this
	// store; shared across instances, it lets a mobile client send only
	// hashes. See persisted.go.
	PersistedQueries graphql.Cache[string]
	// TrustedDocuments, when set, resolves its manifest's hashes to their
	// documents and, in its Only mode, refuses every other document before
	// it is parsed. See trusted.go.
	TrustedDocuments *TrustedDocuments
}

// NewHandler returns the GraphQL endpoint. A body over MaxBodyBytes is
// refused with 413. Only two transports exist: POST
// with a JSON body (queries and mutations) and GET (queries only); form,
// multipart and text/plain posts are refused, so a cross-site form can never
// run a mutation. An operation over a limit (depth, aliases, complexity,
// tokens) is refused before any resolver runs; see limits.go.
func NewHandler(svc *profiling.Service, o HandlerOptions) http.Handler {
	if o.ComplexityLimit == 0 {
		o.ComplexityLimit = DefaultComplexityLimit
	}
	if o.MaxDepth == 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxAliases == 0 {
		o.MaxAliases = DefaultMaxAliases
	}
	if o.ParserTokenLimit == 0 {
		o.ParserTokenLimit = DefaultParserTokenLimit
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	metrics := newEndpointMetrics(o.Metrics)
	if o.QueryCacheSize == 0 {
		o.QueryCacheSize = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	srv := handler.New(graph.NewExecutableSchema(graph.Config{
		Resolvers: resolvers.New(svc, o.Logger),
	}))
	srv.AddTransport(transport.GET{})
	srv.AddTransport(post{}) // gqlgen's, writing the answer's data as it is; see post.go
	srv.SetQueryCache(lru.New[*ast.QueryDocument](o.QueryCacheSize))
	if o.Introspection {
		srv.Use(extension.Introspection{})
	} else {
		srv.SetDisableSuggestion(true)
	}
	if o.TrustedDocuments != nil { // before APQ: a manifest hash never reaches it
		srv.Use(trustedDocuments{td: o.TrustedDocuments, metrics: metrics})
	}
	if o.PersistedQueries != nil {
		srv.Use(persistedQueries{extension.AutomaticPersistedQuery{Cache: o.PersistedQueries}})
	}
	srv.SetParserTokenLimit(o.ParserTokenLimit)
	srv.SetValidationRulesFn(validationRules) // Int literals are 32-bit; see coercion.go
	srv.Use(&strictVariables{})               // so are Int variables, and a String is a string
	srv.Use(&operationLimits{
		maxDepth: o.MaxDepth, maxAliases: o.MaxAliases, maxComplexity: o.ComplexityLimit,
		introspection: o.Introspection, metrics: metrics,
	})
	srv.AroundRootFields(func(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
		metrics.rootCalls.WithLabelValues(graphql.GetRootFieldContext(ctx).Field.Name).Inc()
		return next(ctx)
	})
	srv.Use(staleExtension{}) // extensions.stale on answers from a stale copy; see staleness.go
	srv.Use(operationTelemetry{})
	srv.SetErrorPresenter(presentLimits(presentError(o.Logger), o.ParserTokenLimit, o.Introspection, metrics))
	srv.SetRecoverFunc(recoverPanic(o.Logger))

	var endpoint http.Handler = transportGuard(metrics, o.ParserTokenLimit, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The response's language: the rules' locale that best matches
		// Accept-Language, read once here and handed to the resolvers,
		// which pass it to the domain (see resolvers.WithLocale).
		loc := svc.MatchLocale(r.Header.Get("Accept-Language"))
		w.Header().Set("Content-Language", string(loc))
		w.Header().Add("Vary", "Accept-Language")
		// One request copy for everything the layers below read from the
		// context.
		ctx := context.WithValue(r.Context(), methodKey{}, r.Method)
		ctx = resolvers.WithLocale(resolvers.WithRequestMemo(ctx), loc)
		srv.ServeHTTP(w, r.WithContext(ctx))
	}))
	if o.TrustedDocuments != nil {
		endpoint = o.TrustedDocuments.http(metrics, endpoint)
	}
	return capBody(metrics, o.MaxBodyBytes, endpoint)
}

// ProfileInputSchema is what UpdateProfileInput accepts, read from the schema
// itself, so the rules loader can refuse a catalogue field the API cannot take.
func ProfileInputSchema() profiling.InputSchema {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	accepted := profiling.InputSchema{}
	for _, f := range schema.Types["UpdateProfileInput"].Fields {
		if f.Name == resolvers.ContextInputField {
			continue
		}
		switch f.Type.Name() {
		case "String":
			accepted[f.Name] = profiling.KindString
		case "Boolean":
			accepted[f.Name] = profiling.KindBoolean
		}
	}
	return accepted
}
