package graphqlapi

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/progressive-profiling/bff/auth"
	"github.com/progressive-profiling/bff/telemetry"
)

// operationTelemetry is a span per GraphQL operation, named by its type and
// name as OpenTelemetry's GraphQL conventions have it ("query Prompt"), and
// the report of the operation, its user and its answer's error codes to the
// request's access log and latency histogram (see package telemetry). The
// document and variables are never recorded: an answer is personal data.
//
// Its tracer comes from the HTTP server span in the context (otelhttp's),
// so this package needs no tracing configuration of its own.
type operationTelemetry struct{}

var (
	_ graphql.HandlerExtension     = operationTelemetry{}
	_ graphql.OperationInterceptor = operationTelemetry{}
)

func (operationTelemetry) ExtensionName() string { return "OperationTelemetry" }

func (operationTelemetry) Validate(graphql.ExecutableSchema) error { return nil }

func (operationTelemetry) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	name, opType := oc.OperationName, ""
	if oc.Operation != nil {
		opType = string(oc.Operation.Operation)
		if name == "" {
			name = oc.Operation.Name
		}
	}
	telemetry.RecordOperation(ctx, name, opType)
	if p, ok := auth.PrincipalFrom(ctx); ok {
		telemetry.RecordUser(ctx, p.UserID)
	}
	// A span of its own only under a recording one: with tracing off, or
	// in a trace its sampler dropped, it would record nothing either (the
	// SDK's samplers decide a child as its parent, or by the same trace
	// id), and starting one costs a context, options and attributes.
	var span trace.Span
	if parent := trace.SpanFromContext(ctx); parent.IsRecording() {
		ctx, span = startSpan(ctx, parent, name, opType)
	}
	respond := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		resp := respond(ctx)
		if resp != nil && len(resp.Errors) > 0 {
			var found []string
			for _, e := range resp.Errors {
				if c, ok := e.Extensions["code"].(string); ok {
					found = append(found, c)
				}
			}
			telemetry.RecordErrorCodes(ctx, found...)
			if span != nil {
				span.SetAttributes(attribute.StringSlice("graphql.error.codes", found))
				span.SetStatus(codes.Error, strings.Join(found, ","))
			}
		}
		if span != nil {
			span.End()
		}
		return resp
	}
}

// startSpan starts the operation's span, a child of parent named by the
// operation's type and name.
func startSpan(ctx context.Context, parent trace.Span, name, opType string) (context.Context, trace.Span) {
	spanName := opType
	if name != "" {
		spanName += " " + name
	}
	attrs := []attribute.KeyValue{attribute.String("graphql.operation.type", opType)}
	if name != "" {
		attrs = append(attrs, attribute.String("graphql.operation.name", name))
	}
	tracer := parent.TracerProvider().Tracer("github.com/progressive-profiling/bff/resolvers")
	return tracer.Start(ctx, spanName, trace.WithAttributes(attrs...))
}
