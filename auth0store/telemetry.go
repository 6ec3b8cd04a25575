package auth0store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"golang.org/x/time/rate"
)

// Route label values: the Management API routes this store calls, as
// templates, so a user id never becomes a label.
const (
	RouteGetUser   = "GET /api/v2/users/{id}"
	RoutePatchUser = "PATCH /api/v2/users/{id}"
	RouteToken     = "POST /oauth/token"
	RouteOther     = "other"
)

// routeOf names a request by its route template (bounded).
func routeOf(req *http.Request) string {
	p := req.URL.Path
	switch {
	case p == "/oauth/token" && req.Method == http.MethodPost:
		return RouteToken
	case strings.HasPrefix(p, "/api/v2/users/") && !strings.Contains(strings.TrimPrefix(p, "/api/v2/users/"), "/"):
		switch req.Method {
		case http.MethodGet:
			return RouteGetUser
		case http.MethodPatch:
			return RoutePatchUser
		}
	}
	return RouteOther
}

func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "error" // no answer: a timeout, a refused connection
	}
	return strconv.Itoa(status/100) + "xx"
}

// storeMetrics are the Management API calls as an on-call engineer reads
// them: every attempt by route and status class, the 429s, the retries,
// and the rate-limit headers last seen.
type storeMetrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
	retries     *prometheus.CounterVec
	limit       prometheus.Gauge
	remaining   prometheus.Gauge
	reset       prometheus.Gauge
}

func newStoreMetrics(reg prometheus.Registerer) (*storeMetrics, error) {
	m := &storeMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bff_auth0_requests_total",
			Help: "Management API requests (each attempt, retries included) by route template and status class (2xx, 4xx, 5xx, error for no answer).",
		}, []string{"route", "status_class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bff_auth0_request_duration_seconds",
			Help:    "Management API request attempts, by route template, until the answer's headers.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bff_auth0_rate_limited_total",
			Help: "Management API answers 429 Too Many Requests, by route template: the tenant's budget was exhausted.",
		}, []string{"route"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bff_auth0_retries_total",
			Help: "Management API requests repeated within one call (the SDK's retries on 5xx and transport errors, the repeat after a 401 with a fresh token), by route template.",
		}, []string{"route"}),
		limit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bff_auth0_ratelimit_limit",
			Help: "X-RateLimit-Limit of the last Management API answer that had one: the tenant's burst.",
		}),
		remaining: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bff_auth0_ratelimit_remaining",
			Help: "X-RateLimit-Remaining of the last Management API answer that had one: requests left before a 429.",
		}),
		reset: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bff_auth0_ratelimit_reset_timestamp_seconds",
			Help: "X-RateLimit-Reset of the last Management API answer that had one (Unix seconds): when the budget is full again.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.duration, m.rateLimited, m.retries, m.limit, m.remaining, m.reset} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("auth0store: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

// observe records one attempt's answer (resp nil: no answer).
func (m *storeMetrics) observe(req *http.Request, resp *http.Response, took time.Duration) {
	route := routeOf(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	m.requests.WithLabelValues(route, statusClass(status)).Inc()
	m.duration.WithLabelValues(route).Observe(took.Seconds())
	if status == http.StatusTooManyRequests {
		m.rateLimited.WithLabelValues(route).Inc()
	}
	if calls := callFrom(req.Context()); calls != nil && calls.attempts.Add(1) > 1 {
		m.retries.WithLabelValues(route).Inc()
	}
	if resp == nil {
		return
	}
	for _, g := range []struct {
		header string
		gauge  prometheus.Gauge
	}{{"X-RateLimit-Limit", m.limit}, {"X-RateLimit-Remaining", m.remaining}, {"X-RateLimit-Reset", m.reset}} {
		if v, err := strconv.ParseFloat(resp.Header.Get(g.header), 64); err == nil {
			g.gauge.Set(v)
		}
	}
}

// callState is one Store call's, shared by its attempts through the
// request context, so a retry can be told from a first attempt.
type callState struct{ attempts atomic.Int32 }

type callKey struct{}

func withCall(ctx context.Context) context.Context {
	return context.WithValue(ctx, callKey{}, &callState{})
}

func callFrom(ctx context.Context) *callState {
	c, _ := ctx.Value(callKey{}).(*callState)
	return c
}

// auth0ErrorCode reads Auth0's errorCode (Management API) or error
// (Authentication API) from an error answer, and puts the body back.
func auth0ErrorCode(resp *http.Response) string {
	if resp.Body == nil {
		return ""
	}
	const peek = 4 << 10
	b, err := io.ReadAll(io.LimitReader(resp.Body, peek))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
	if err != nil {
		return ""
	}
	var body struct {
		ErrorCode string `json:"errorCode"`
		Error     string `json:"error"`
	}
	if json.Unmarshal(b, &body) != nil {
		return ""
	}
	code := body.ErrorCode
	if code == "" {
		code = body.Error
	}
	if len(code) > 64 {
		code = code[:64]
	}
	return code
}

// failureLog logs an upstream failure once per cause (route, status,
// Auth0 error code) per interval, with how many like it were not logged:
// a retry storm or a 429 flood is one line a minute, not one per request.
type failureLog struct {
	log      *slog.Logger
	interval time.Duration
	mu       sync.Mutex
	causes   map[string]*failureCause
}

type failureCause struct {
	limiter    *rate.Limiter
	suppressed int
}

// maxFailureCauses bounds the causes remembered; past it, new causes share
// one limiter.
const maxFailureCauses = 64

func (l *failureLog) failed(ctx context.Context, route string, status int, code string, cause error) {
	if l == nil || l.log == nil || errors.Is(cause, context.Canceled) {
		return // nothing to log to, or the caller left: not an upstream failure
	}
	key := fmt.Sprintf("%s|%d|%s", route, status, code)
	l.mu.Lock()
	c, ok := l.causes[key]
	if !ok {
		if len(l.causes) >= maxFailureCauses {
			key = "overflow"
			c = l.causes[key]
		}
		if c == nil {
			c = &failureCause{limiter: rate.NewLimiter(rate.Every(l.interval), 1)}
			l.causes[key] = c
		}
	}
	if !c.limiter.Allow() {
		c.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := c.suppressed
	c.suppressed = 0
	l.mu.Unlock()
	attrs := []slog.Attr{slog.String("route", route), slog.String("auth0_error_code", code),
		slog.Int("similar_not_logged", suppressed), slog.String("logged_at_most", "once per "+l.interval.String()+" per cause")}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	if cause != nil {
		attrs = append(attrs, slog.String("cause", cause.Error()))
	}
	l.log.LogAttrs(ctx, slog.LevelWarn, "auth0: Management API request failed", attrs...)
}

// TracedTransport is base with an OpenTelemetry client span per request
// (otelhttp, which also sends the W3C traceparent), named by route
// template, with Auth0's status and rate-limit headers as attributes. It
// records no header or body: never the Management API token or the client
// secret of a token request.
//
// With tracing off (tp a no-op provider) no span can be recorded, and
// otelhttp would only build attributes and metric options nobody reads (18
// of a read's 355 allocations, 3.5 of its 25 KB); then the transport only
// passes the caller's trace context on (prop), so a trace a client or an
// ingress started still reaches Auth0 whole.
func TracedTransport(base http.RoundTripper, tp trace.TracerProvider, prop propagation.TextMapPropagator) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if _, off := tp.(tracenoop.TracerProvider); off {
		return propagating{base: base, prop: prop}
	}
	return otelhttp.NewTransport(rateLimitAttrs{base},
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(prop),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "auth0 " + routeOf(r) }),
	)
}

// propagating injects the request context's trace context (traceparent,
// tracestate, baggage) into a copy of the request, as otelhttp does.
type propagating struct {
	base http.RoundTripper
	prop propagation.TextMapPropagator
}

func (t propagating) RoundTrip(req *http.Request) (*http.Response, error) {
	carrier := propagation.HeaderCarrier{}
	t.prop.Inject(req.Context(), carrier)
	if len(carrier) == 0 {
		return t.base.RoundTrip(req)
	}
	// A RoundTripper must not change the caller's request.
	out := req.Clone(req.Context())
	for k, v := range carrier {
		out.Header[k] = v
	}
	return t.base.RoundTrip(out)
}

type rateLimitAttrs struct{ base http.RoundTripper }

func (t rateLimitAttrs) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	span := trace.SpanFromContext(req.Context())
	if resp != nil && span.IsRecording() {
		attrs := []attribute.KeyValue{attribute.String("auth0.route", routeOf(req))}
		if resp.StatusCode >= 400 {
			if code := auth0ErrorCode(resp); code != "" {
				attrs = append(attrs, attribute.String("auth0.error_code", code))
			}
		}
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"} {
			if v, err := strconv.ParseInt(resp.Header.Get(h), 10, 64); err == nil {
				attrs = append(attrs, attribute.Int64("auth0."+strings.ToLower(strings.ReplaceAll(h, "-", "_")), v))
			}
		}
		span.SetAttributes(attrs...)
	}
	return resp, err
}
