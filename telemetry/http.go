package telemetry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

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
	h := &httpHandler{next: next, o: o, m: m}
	if !o.Tracing.Enabled {
		// No span to record: only carry the caller's trace context on, so
		// it still reaches Auth0, without otelhttp's per-request work.
		h.propagate = o.Tracing.Propagator
		for _, f := range o.Tracing.Propagator.Fields() {
			h.propagated = append(h.propagated, http.CanonicalHeaderKey(f))
		}
		return h
	}
	return otelhttp.NewHandler(h, "http.server",
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

// httpHandler is Middleware's own part, around the service's handler: the
// request id, the request's info for the layers below (one context value,
// one copy of the request), and after the response the access log line and
// the latency histogram.
type httpHandler struct {
	next http.Handler
	o    HTTPOptions
	m    *httpMetrics
	// With tracing off, propagate extracts the caller's trace context
	// (otelhttp does it otherwise) from requests that carry any of the
	// canonical header names in propagated: a propagator reads the fields
	// it writes, so a request without them has none.
	propagate  propagation.TextMapPropagator
	propagated []string
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	if h.propagate != nil && hasAny(r.Header, h.propagated) {
		ctx = h.propagate.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	info := &requestInfo{id: requestIDOf(r.Header)}
	w.Header().Set(RequestIDHeader, info.id)
	ctx = context.WithValue(ctx, requestInfoKey{}, info)
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("bff.request_id", info.id))
	}
	rec := &statusRecorder{ResponseWriter: w}
	h.next.ServeHTTP(rec, r.WithContext(ctx))
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	elapsed := time.Since(start)
	operation, opType, userID, codes := info.snapshot()
	var label, result string
	graphQL := r.URL.Path == h.o.GraphQLPath
	if graphQL {
		label = h.m.names.label(operation)
		result = outcome(status, codes)
		h.m.duration.WithLabelValues(label, result).Observe(elapsed.Seconds())
		if operation != "" && span.IsRecording() {
			span.SetAttributes(attribute.String("graphql.operation.name", label), attribute.String("graphql.operation.type", opType))
		}
	}
	if !h.o.Log.Enabled(ctx, slog.LevelInfo) {
		return // no line to build
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs,
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
	)
	if graphQL {
		attrs = append(attrs, slog.String("operation", label), slog.String("outcome", result))
		if opType != "" {
			attrs = append(attrs, slog.String("operation_type", opType))
		}
	}
	if userID != "" && h.o.UserID == UserIDHash {
		attrs = append(attrs, slog.String("user", HashUserID(userID)))
	}
	h.o.Log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
}

func hasAny(h http.Header, canonicalNames []string) bool {
	for _, name := range canonicalNames {
		if len(h[name]) > 0 {
			return true
		}
	}
	return false
}

// statusRecorder notes the response's status for the access log: the first
// one written, 200 with the first byte of a body. http.ResponseController
// reaches the writer beneath through Unwrap.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

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
