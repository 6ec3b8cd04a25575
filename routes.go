package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/cors"

	"github.com/progressive-profiling/bff/auth"
	"github.com/progressive-profiling/bff/dryrun"
	"github.com/progressive-profiling/bff/graphqlapi"
	"github.com/progressive-profiling/bff/playground"
	"github.com/progressive-profiling/bff/profiling"
)

// maxBodyBytes caps a GraphQL request body; real operations are a few KiB.
const maxBodyBytes = graphqlapi.DefaultMaxBodyBytes

// serverDeps is everything the HTTP layer needs, built by run.
type serverDeps struct {
	cfg     config
	log     *slog.Logger
	service *profiling.Service
	// rules are the service's rules, for the dry-run endpoint.
	rules    *profiling.Rules
	verifier *auth.Verifier
	// ready is /readyz's answer: status code and body (see readiness).
	ready func(context.Context) (int, map[string]string)
	// metrics is this instance's registry (served on the internal
	// listener, METRICS_ADDR, not here).
	metrics *prometheus.Registry
	// devUsers are the seeded users with fresh tokens (dev mode only).
	devUsers func() []devUser
	// persistedQueries is the automatic-persisted-query store (Redis).
	persistedQueries graphql.Cache[string]
}

// newServer returns the service's HTTP handler; every route is here.
func newServer(d serverDeps) http.Handler {
	mux := http.NewServeMux()

	api := graphqlapi.NewHandler(d.service, graphqlapi.HandlerOptions{
		Introspection:    d.cfg.Introspection,
		MaxDepth:         d.cfg.GraphQLMaxDepth,
		MaxAliases:       d.cfg.GraphQLMaxAliases,
		ComplexityLimit:  d.cfg.GraphQLMaxComplexity,
		ParserTokenLimit: d.cfg.GraphQLMaxTokens,
		MaxBodyBytes:     maxBodyBytes, // 413, counted on /metrics
		Logger:           d.log,
		Metrics:          d.metrics,
		PersistedQueries: d.persistedQueries,
		TrustedDocuments: d.cfg.TrustedDocuments,
	})
	mux.Handle("/graphql", withDeadline(requestDeadline, auth.Middleware(d.verifier, d.log, graphqlapi.RefuseToken, api)))

	// The contract in every mode, for client code generators (GraphQL Code
	// Generator, Apollo iOS/Kotlin): introspection stays off in production.
	mux.HandleFunc("GET /schema.graphql", serveSchema)

	// The rules' dry-run for the product team's trusted tools
	// (client-credentials tokens with the profiling:explain permission).
	mux.Handle("POST /rules/explain", withDeadline(requestDeadline, dryrun.Handler(dryrun.Options{
		Rules: d.rules, Schema: graphqlapi.ProfileInputSchema(), Verifier: d.verifier,
	})))

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		code, body := d.ready(ctx)
		writeJSON(w, code, body)
	})

	if d.cfg.Playground {
		mux.Handle("/", playground.Handler(playground.Options{
			Title:    "Progressive profiling API",
			Endpoint: "/graphql",
			Query:    playgroundQuery(d.devUsers != nil),
			Headers:  devHeaders(d.devUsers),
		}))
	}
	if d.devUsers != nil {
		mux.HandleFunc("GET /dev/tokens", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusOK, d.devUsers())
		})
	}

	return cors.New(cors.Options{
		AllowedOrigins: d.cfg.CORSOrigins,
		// rs/cors allows every origin when the list is empty; with no
		// CORS_ALLOWED_ORIGINS in production, no origin is allowed.
		AllowOriginFunc: noOriginWhenUnset(d.cfg.CORSOrigins),
		AllowedMethods:  []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:  corsAllowedHeaders,
		MaxAge:          600,
	}).Handler(mux)
}

// corsAllowedHeaders are the request headers real clients send: the token
// and JSON body, W3C trace context (OpenTelemetry's browser
// instrumentation), Apollo Client's client awareness, and a request id.
var corsAllowedHeaders = []string{
	"Authorization", "Content-Type",
	"traceparent", "tracestate",
	"apollographql-client-name", "apollographql-client-version",
	"x-request-id",
}

// requestDeadline bounds one GraphQL request end to end. Reads give up on
// Auth0 sooner (CACHE_UPSTREAM_WAIT) and writes within the lock wait plus the
// store's timeout; this is the backstop for anything slower.
const requestDeadline = 15 * time.Second

// withDeadline gives every request's context a deadline, so no upstream call
// made for it can outlive the client's patience.
func withDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// noOriginWhenUnset returns nil (rs/cors then uses the list) when origins
// are configured, and otherwise a check that refuses every origin.
func noOriginWhenUnset(origins []string) func(string) bool {
	if len(origins) > 0 {
		return nil
	}
	return func(string) bool { return false }
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// devHeaders pre-fills the playground with the first seeded user's token.
func devHeaders(users func() []devUser) func() map[string]string {
	if users == nil {
		return nil
	}
	return func() map[string]string {
		if u := users(); len(u) > 0 {
			return map[string]string{"Authorization": "Bearer " + u[0].Token}
		}
		return nil
	}
}

// playgroundQuery is the playground's start page: the operations a client runs.
func playgroundQuery(dev bool) string {
	q := `# Progressive profiling API. Open "Docs" for every type and field.
`
	if dev {
		q += `#
# DEV MODE: the headers below sign you in as new@example.com.
# Other seeded users: open /dev/tokens and paste a token into the Authorization
# header. To advance a user's logins_count, log in again through the emulator
# (see the command the server printed at start-up), then reload.
`
	}
	return q + `
query Viewer($context: String) {
  viewer {
    id
    email
    stage
    completion
    fields { key value source collectedAt }
    pendingFields(context: $context) {
      key label type required options { value label } placeholder stage reason
    }
  }
}

mutation Answer {
  updateProfile(input: { firstName: "Ada", lastName: "Lovelace" }) {
    viewer { firstName lastName completion }
    pendingFields { key label reason }
    userErrors { field message code }
  }
}

mutation NotNow {
  skipFields(input: { keys: ["company"] }) {
    pendingFields { key }
    userErrors { field message code }
  }
}
`
}
