package telemetry

import (
	"context"
	"crypto/rand"
	"net/http"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// MaxRequestIDLen bounds an incoming request id; a longer one is replaced.
const MaxRequestIDLen = 128

// RequestIDFrom returns the request's id, "" outside a request.
func RequestIDFrom(ctx context.Context) string {
	if info := infoFrom(ctx); info != nil {
		return info.id
	}
	return ""
}

// WithRequestID returns ctx carrying id, as Middleware's requests do.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, &requestInfo{id: id})
}

// ValidRequestID reports whether a client's X-Request-Id may be kept: 1 to
// MaxRequestIDLen characters of letters, digits and - _ . : (what UUIDs,
// ULIDs and load balancers' trace ids use), so it can go into a log line,
// a span and a response header unescaped.
func ValidRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// NewRequestID returns a fresh random id (26 characters, 130 bits).
func NewRequestID() string { return rand.Text() }

// requestIDOf keeps a request's one valid X-Request-Id or makes one.
func requestIDOf(h http.Header) string {
	if ids := h[RequestIDHeader]; len(ids) == 1 && ValidRequestID(ids[0]) {
		return ids[0]
	}
	return NewRequestID()
}
