package auth0store

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/auth0/go-auth0/management"

	"github.com/progressive-profiling/bff/profiling"
)

// ErrInvalidPatch means a patch key can never be stored in Auth0 (empty,
// or containing "." or "$"); nothing was sent.
var ErrInvalidPatch = errors.New("auth0store: invalid patch")

// ErrCredentialsRefused means Auth0 refused the service's own Management API
// credentials: the token endpoint refused the client id, secret or grant,
// or the Management API answered 401 or 403 even though the token was
// fetched moments ago (a fresh one is fetched on a 401). That is a
// configuration problem to fix in the settings or the tenant, not an
// outage that passes; to a user it is still the store being unavailable,
// so the Error wraps profiling.ErrUpstreamUnavailable too.
var ErrCredentialsRefused = errors.New("auth0store: the Management API refused our credentials")

// Error is a failed Store call. Its message is generic and safe to show a
// client; Status and the cause (which may name upstream URLs) are for logs,
// through LogValue, and for errors.Is/As through Unwrap.
type Error struct {
	// Op is "read user" or "update user".
	Op string
	// Status is the upstream HTTP status, 0 when there was no answer.
	Status int

	kind  error // profiling.ErrUserNotFound, profiling.ErrUpstreamUnavailable, ErrInvalidPatch or nil
	msg   string
	cause error

	refused   bool // ErrCredentialsRefused applies
	refreshed bool // the call was repeated with a freshly fetched token
	notSent   bool // nothing was sent to the Management API

	limitedUntil time.Time // not sent: the rate limit is exhausted until then
}

func (e *Error) Error() string {
	switch {
	case e.msg != "":
		return e.msg
	case !e.limitedUntil.IsZero():
		return "auth0store: user store unavailable: rate limited until " + e.limitedUntil.UTC().Format(time.RFC3339)
	case errors.Is(e.kind, profiling.ErrUserNotFound):
		return "auth0store: user not found"
	case errors.Is(e.kind, profiling.ErrUpstreamUnavailable):
		return "auth0store: user store unavailable"
	default:
		return "auth0store: the user store refused the request"
	}
}

// Unwrap exposes the domain sentinel and the underlying cause.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.refused {
		errs = append(errs, ErrCredentialsRefused)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// ChangeNotApplied reports whether a failed update left the user untouched:
// the patch was never sent (ErrInvalidPatch), or Auth0 refused it before
// applying anything (a 4xx, 429 included, or 503). Without an answer (a
// timeout, a broken connection), with an answer that did not decode, or
// with another 5xx, the change may have been applied, and it reports
// false. Caches use it to keep their copy only while it is still right.
func (e *Error) ChangeNotApplied() bool {
	switch {
	case errors.Is(e.kind, ErrInvalidPatch), e.notSent:
		return true
	case e.Status >= 400 && e.Status < 500, e.Status == http.StatusServiceUnavailable:
		return true
	}
	return false
}

// LogValue gives logs the detail the message leaves out.
func (e *Error) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("op", e.Op), slog.String("error", e.Error())}
	if e.refused {
		attrs = append(attrs, slog.String("problem", "Management API refused our credentials: "+
			"a configuration problem, not an outage; check the client id and secret and the client's grant to the Management API"))
	}
	if e.Status != 0 {
		attrs = append(attrs, slog.Int("status", e.Status))
	}
	if !e.limitedUntil.IsZero() {
		attrs = append(attrs, slog.Time("rate_limited_until", e.limitedUntil))
	}
	if e.refreshed {
		attrs = append(attrs, slog.Bool("token_refreshed", true))
	}
	if e.cause != nil {
		attrs = append(attrs, slog.String("cause", e.cause.Error()))
	}
	return slog.GroupValue(attrs...)
}

// classify maps an SDK or context error onto the domain's sentinels: 404 is
// not found; 429, 5xx, 401/403 (our credentials or grants, which are also
// ErrCredentialsRefused, as is the token endpoint refusing our client),
// timeouts, transport errors and unusable answers mean the store is
// unavailable; any other 4xx is a refused request.
func classify(op string, err error) *Error {
	e := &Error{Op: op, cause: err, kind: profiling.ErrUpstreamUnavailable, refused: tokenEndpointRefused(err) || errors.Is(err, errTokenGateClosed)}
	var apiErr management.Error
	if errors.As(err, &apiErr) {
		e.Status = apiErr.Status()
		switch s := e.Status; {
		case s == http.StatusNotFound:
			e.kind = profiling.ErrUserNotFound
		case s == http.StatusUnauthorized, s == http.StatusForbidden:
			e.refused = true
		case s == http.StatusTooManyRequests, s >= 500:
		default:
			e.kind = nil
		}
	}
	return e
}
