package telemetry

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/felixge/httpsnoop"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Operation label values that are not an operation's own name.
const (
	// AnonymousOperation is an operation sent without a name.
	AnonymousOperation = "anonymous"
	// OtherOperation is any name beyond the bounded set the histogram keeps.
	OtherOperation = "other"
	// NoOperation is a GraphQL request refused before an operation was
	// chosen (a bad token, a body too large, a parse or validation error).
	NoOperation = "none"
)

// Outcome label values of bff_graphql_request_duration_seconds.
const (
	OutcomeOK                  = "ok"
	OutcomeUnauthenticated     = "unauthenticated"      // 401, or UNAUTHENTICATED in the answer
	OutcomeRefused             = "refused"              // another 4xx, or BAD_USER_INPUT / validation errors
	OutcomeUpstreamUnavailable = "upstream_unavailable" // UPSTREAM_UNAVAILABLE in the answer
	OutcomeError               = "error"                // 5xx, INTERNAL or any other error code
)

// UserIDMode is how the access log shows the signed-in user.
type UserIDMode string

// User id modes (ACCESS_LOG_USER_ID).
const (
	// UserIDHash logs the first 16 hex digits of the id's SHA-256: lines of
	// one user join up, and the id itself is not in the log.
	UserIDHash UserIDMode = "hash"
	// UserIDOmit logs no user at all.
	UserIDOmit UserIDMode = "omit"
)

// HTTPOptions configure Middleware.
type HTTPOptions struct {
	Log     *slog.Logger
	Tracing *Tracing
	// Metrics receives bff_graphql_request_duration_seconds; nil registers
	// nothing.
	Metrics prometheus.Registerer
	// GraphQLPath is the GraphQL endpoint, whose requests the histogram
	// measures. Default "/graphql".
	GraphQLPath string
	// UserID is how the access log shows the user. Default UserIDHash.
	UserID UserIDMode
	// Operations, when not empty, is the allow-list of operation names the
	// histogram labels; any other is OtherOperation. When empty, the first
	// MaxOperations distinct names seen are kept.
	Operations    []string
	MaxOperations int
}

// DefaultMaxOperations bounds the operation label without an allow-list.
const DefaultMaxOperations = 50

// Middleware wraps the service's handler: an OpenTelemetry server span per
// request (otelhttp, continuing an incoming W3C traceparent), the request
// id, one access log line per request and, for the GraphQL endpoint, the
// latency histogram by operation and outcome.
func Middleware(next http.Handler, o HTTPOptions) http.Handler {
	if o.GraphQLPath == "" {
		o.GraphQLPath = "/graphql"
	}
	if o.UserID == "" {
		o.UserID = UserIDHash
	}
	if o.MaxOperations == 0 {
		o.MaxOperations = DefaultMaxOperations
	}
	if o.Tracing == nil {
		o.Tracing = Disabled()
	}
	m := &httpMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bff_graphql_request_duration_seconds",
			Help: "GraphQL requests from arrival to the last byte of the answer, by operation name (bounded; anonymous, other, none) and outcome (ok, unauthenticated, refused, upstream_unavailable, error).",
			// From a cache hit (a few ms) to the 15 s request deadline.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}, []string{"operation", "outcome"}),
		names: &operationNames{allow: o.Operations, max: o.MaxOperations, seen: map[string]bool{}},
	}
	if o.Metrics != nil {
		o.Metrics.MustRegister(m.duration)
	}
	access := requestID(accessLog(next, o, m))
	if !o.Tracing.Enabled {
		// No span to record: only carry the caller's trace context on, so
		// it still reaches Auth0, without otelhttp's per-request work.
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := o.Tracing.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			access.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	return otelhttp.NewHandler(access, "http.server",
		otelhttp.WithTracerProvider(o.Tracing.Provider),
		otelhttp.WithPropagators(o.Tracing.Propagator),
		otelhttp.WithMeterProvider(o.Tracing.meters),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if r.Pattern != "" {
				return r.Pattern
			}
			return r.Method
		}),
	)
}

type httpMetrics struct {
	duration *prometheus.HistogramVec
	names    *operationNames
}

// operationNames bounds the operation label: an allow-list, or the first
// max distinct names.
type operationNames struct {
	allow []string
	max   int
	mu    sync.Mutex
	seen  map[string]bool
}

func (n *operationNames) label(name string) string {
	switch name {
	case "":
		return NoOperation
	case AnonymousOperation:
		return name
	}
	if len(n.allow) > 0 {
		if slices.Contains(n.allow, name) {
			return name
		}
		return OtherOperation
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen[name] {
		return name
	}
	if len(n.seen) < n.max {
		n.seen[name] = true
		return name
	}
	return OtherOperation
}

// outcome classifies a request by its status and its answer's error codes.
func outcome(status int, codes []string) string {
	switch {
	case status == http.StatusUnauthorized:
		return OutcomeUnauthenticated
	case status >= 500:
		return OutcomeError
	case status >= 400:
		return OutcomeRefused
	}
	result := OutcomeOK
	for _, c := range codes {
		switch c {
		case "INTERNAL":
			return OutcomeError
		case "UPSTREAM_UNAVAILABLE":
			result = OutcomeUpstreamUnavailable
		case "UNAUTHENTICATED":
			if result == OutcomeOK || result == OutcomeRefused {
				result = OutcomeUnauthenticated
			}
		default:
			if result == OutcomeOK {
				result = OutcomeRefused
			}
		}
	}
	return result
}

func accessLog(next http.Handler, o HTTPOptions, m *httpMetrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, info := withRequestInfo(r.Context())
		span := trace.SpanFromContext(ctx)
		span.SetAttributes(attribute.String("bff.request_id", RequestIDFrom(ctx)))
		status := 0
		w = httpsnoop.Wrap(w, httpsnoop.Hooks{
			WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
				return func(code int) {
					if status == 0 {
						status = code
					}
					next(code)
				}
			},
			Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
				return func(b []byte) (int, error) {
					if status == 0 {
						status = http.StatusOK
					}
					return next(b)
				}
			},
		})
		next.ServeHTTP(w, r.WithContext(ctx))
		if status == 0 {
			status = http.StatusOK
		}
		elapsed := time.Since(start)
		operation, opType, userID, codes := info.snapshot()
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		}
		if r.URL.Path == o.GraphQLPath {
			label := m.names.label(operation)
			result := outcome(status, codes)
			m.duration.WithLabelValues(label, result).Observe(elapsed.Seconds())
			attrs = append(attrs, slog.String("operation", label), slog.String("outcome", result))
			if opType != "" {
				attrs = append(attrs, slog.String("operation_type", opType))
			}
			if operation != "" {
				span.SetAttributes(attribute.String("graphql.operation.name", label), attribute.String("graphql.operation.type", opType))
			}
		}
		if userID != "" && o.UserID == UserIDHash {
			attrs = append(attrs, slog.String("user", HashUserID(userID)))
		}
		o.Log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
	})
}

// HashUserID is how the access log names a user in UserIDHash mode.
func HashUserID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:8])
}

// String renders a mode for the configuration log.
func (m UserIDMode) String() string { return string(m) }

// ParseUserIDMode reads ACCESS_LOG_USER_ID.
func ParseUserIDMode(v string) (UserIDMode, error) {
	switch UserIDMode(v) {
	case "", UserIDHash:
		return UserIDHash, nil
	case UserIDOmit:
		return UserIDOmit, nil
	}
	return "", strconv.ErrSyntax
}
