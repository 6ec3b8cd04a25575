package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestValidRequestID(t *testing.T) {
	for id, want := range map[string]bool{
		"01J9ZK7Q3F6Y2V8W0X4N5M1B2C": true, "a-b_c.d:e": true, strings.Repeat("x", MaxRequestIDLen): true,
		"": false, strings.Repeat("x", MaxRequestIDLen+1): false, "a b": false, "a\nb": false,
		`"quoted"`: false, "é": false, "a/b": false,
	} {
		if got := ValidRequestID(id); got != want {
			t.Errorf("ValidRequestID(%q) = %v, want %v", id, got, want)
		}
	}
	if id := NewRequestID(); !ValidRequestID(id) || id == NewRequestID() {
		t.Errorf("NewRequestID %q is not a fresh valid id", id)
	}
}

func TestOperationLabelsAreBounded(t *testing.T) {
	n := &operationNames{max: 3, seen: map[string]bool{}}
	for i := range 10 {
		n.label(fmt.Sprint("Op", i))
	}
	if got := n.label("Op2"); got != "Op2" {
		t.Errorf("an early name: %q", got)
	}
	if got := n.label("Op3"); got != OtherOperation {
		t.Errorf("a name past the bound: %q", got)
	}
	if n.label("") != NoOperation || n.label(AnonymousOperation) != AnonymousOperation {
		t.Error("none and anonymous are their own labels")
	}
	allow := &operationNames{allow: []string{"Prompt"}, max: 3, seen: map[string]bool{}}
	if allow.label("Prompt") != "Prompt" || allow.label("Other") != OtherOperation {
		t.Error("the allow-list decides")
	}
}

func TestOutcome(t *testing.T) {
	for _, c := range []struct {
		status int
		codes  []string
		want   string
	}{
		{200, nil, OutcomeOK},
		{401, nil, OutcomeUnauthenticated},
		{413, nil, OutcomeRefused},
		{422, []string{"GRAPHQL_VALIDATION_FAILED"}, OutcomeRefused},
		{200, []string{"BAD_USER_INPUT"}, OutcomeRefused},
		{200, []string{"UNAUTHENTICATED"}, OutcomeUnauthenticated},
		{200, []string{"BAD_USER_INPUT", "UPSTREAM_UNAVAILABLE"}, OutcomeUpstreamUnavailable},
		{200, []string{"UPSTREAM_UNAVAILABLE", "INTERNAL"}, OutcomeError},
		{502, nil, OutcomeError},
	} {
		if got := outcome(c.status, c.codes); got != c.want {
			t.Errorf("outcome(%d, %v) = %q, want %q", c.status, c.codes, got, c.want)
		}
	}
}

func TestContextHandlerAddsRequestAndTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelInfo, false).With("component", "x")
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(WithRequestID(context.Background(), "rid-1"),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	log.InfoContext(ctx, "hello")
	log.Info("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first["request_id"] != "rid-1" || first["trace_id"] != tid.String() || first["span_id"] != sid.String() || first["component"] != "x" {
		t.Errorf("line with a request's context: %v", first)
	}
	if _, ok := second["request_id"]; ok {
		t.Errorf("line without one: %v", second)
	}
}

func TestTracingOffUnlessConfigured(t *testing.T) {
	for _, c := range []struct {
		env     map[string]string
		on, bad bool
	}{
		{env: nil},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, on: true},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, on: true},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, on: true},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, bad: true},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, bad: true},
	} {
		on, err := tracingOn(func(k string) string { return c.env[k] })
		if on != c.on || (err != nil) != c.bad {
			t.Errorf("%v: on %v err %v", c.env, on, err)
		}
	}
}
