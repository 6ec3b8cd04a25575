package telemetry

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ServiceName is the service.name spans carry unless OTEL_SERVICE_NAME
// (or OTEL_RESOURCE_ATTRIBUTES) says otherwise.
const ServiceName = "progressive-profiling-bff"

// Tracing is one service instance's OpenTelemetry set-up. It is passed to
// each instrumented part explicitly rather than installed globally, so two
// instances in one process (tests) keep their traces apart.
type Tracing struct {
	// Provider makes the spans: the SDK's when tracing is on, a no-op one
	// (which still carries an incoming trace context through) when off.
	Provider trace.TracerProvider
	// Propagator reads and writes W3C traceparent, tracestate and baggage.
	Propagator propagation.TextMapPropagator
	// Enabled reports whether spans are exported.
	Enabled bool

	meters   metric.MeterProvider
	shutdown func(context.Context) error
}

// Disabled is tracing off: nothing exported, trace context still
// propagated from incoming requests to outgoing ones.
func Disabled() *Tracing {
	return &Tracing{
		Provider:   tracenoop.NewTracerProvider(),
		Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		meters:     metricnoop.NewMeterProvider(),
		shutdown:   func(context.Context) error { return nil },
	}
}

// Shutdown flushes the spans not yet exported and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.shutdown(ctx) }

// Tracer is the service's own tracer (lock waits, GraphQL operations).
func (t *Tracing) Tracer() trace.Tracer {
	return t.Provider.Tracer("github.com/progressive-profiling/bff")
}

// NewTracing configures tracing from the standard OpenTelemetry variables.
// It is off unless an OTLP endpoint is configured
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or
// OTEL_TRACES_EXPORTER=otlp; OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none turn it off. The exporter is OTLP over HTTP
// (protobuf). getenv decides whether tracing is on; the SDK itself then
// reads the rest of the OTEL_* variables from the process environment
// (endpoint, headers, timeout, compression, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and _ARG, OTEL_BSP_*).
func NewTracing(ctx context.Context, getenv func(string) string) (*Tracing, error) {
	on, err := tracingOn(getenv)
	if err != nil || !on {
		return Disabled(), err
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_*: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", ServiceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	// No WithSampler: the SDK reads OTEL_TRACES_SAMPLER (default
	// parentbased_always_on). WithBatcher reads OTEL_BSP_*.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	t := Disabled()
	t.Provider, t.Enabled, t.shutdown = tp, true, tp.Shutdown
	return t, nil
}

func tracingOn(getenv func(string) string) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false, nil
	}
	exporter := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))
	switch exporter {
	case "none":
		return false, nil
	case "", "otlp":
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER: %q is not supported; use otlp (or none)", exporter)
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := strings.TrimSpace(getenv(name)); p != "" {
			if p != "http/protobuf" {
				return false, fmt.Errorf("%s: %q is not supported; use http/protobuf (the collector's port 4318)", name, p)
			}
			break
		}
	}
	configured := exporter == "otlp" ||
		strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) != "" ||
		strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) != ""
	return configured, nil
}
