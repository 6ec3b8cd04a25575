package auth0store

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/profiling"
)

// With tracing off the traced transport records nothing but still passes
// the caller's trace context on to Auth0, without touching the caller's
// request; with no trace context it adds no header.
func TestTracedTransportWithTracingOffPropagates(t *testing.T) {
	emu := emulator(t)
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	s := newStore(t, emu, Config{HTTPClient: &http.Client{
		Timeout: DefaultTimeout, Transport: TracedTransport(NewTransport(), tracenoop.NewTracerProvider(), prop),
	}})
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	ctx := prop.Extract(context.Background(), propagation.HeaderCarrier{"Traceparent": {"00-" + traceID + "-00f067aa0ba902b7-01"}})
	if !trace.SpanContextFromContext(ctx).IsValid() {
		t.Fatal("test setup: no span context extracted")
	}
	if _, _, err := s.User(context.Background(), auth0emu.SeedReturningUserID, profiling.Read{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.User(ctx, auth0emu.SeedReturningUserID, profiling.Read{}); err != nil {
		t.Fatal(err)
	}
	got := emu.Traceparents(auth0emu.RouteGetUser)
	if len(got) != 1 || !strings.Contains(got[0], traceID) {
		t.Errorf("traceparents received %q, want one, of trace %s", got, traceID)
	}

	// The caller's request is left as it was.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, emu.URL()+"/.well-known/jwks.json", nil)
	resp, err := TracedTransport(NewTransport(), tracenoop.NewTracerProvider(), prop).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(req.Header) != 0 {
		t.Errorf("the caller's request gained headers %v", req.Header)
	}
}
