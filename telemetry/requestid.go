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

type requestIDKey struct{}

// RequestIDFrom returns the request's id, "" outside a request.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// WithRequestID returns ctx carrying id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
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

// requestID keeps a valid incoming X-Request-Id or makes one, puts it in
// the context and echoes it in the response.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if len(r.Header.Values(RequestIDHeader)) != 1 || !ValidRequestID(id) {
			id = NewRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(WithRequestID(r.Context(), id)))
	})
}
