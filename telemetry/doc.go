// Package telemetry is what an operator reads the service by: the request
// id, the access log, the slog handler that puts the request id and trace
// id on every line, the GraphQL request histogram, the internal listener
// for /metrics and /debug/pprof, go-redis's logger routed through slog,
// and the OpenTelemetry tracer provider configured by the standard OTEL_*
// variables.
//
// It knows nothing of GraphQL's schema, Auth0 or Redis beyond the
// libraries' own instrumentation: the GraphQL layer reports each
// operation's name, type and error codes into the request (RecordOperation,
// RecordErrorCodes), the HTTP middleware turns them into the access log
// line and the histogram.
package telemetry
