package graphqlapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"golang.org/x/time/rate"

	"github.com/progressive-profiling/bff/profiling"
	"github.com/progressive-profiling/bff/resolvers"
)

// presentError turns every error into one a client may see: the domain's
// errors get their code and a safe message; anything unexpected becomes
// INTERNAL and is logged, so upstream URLs, status texts and stack traces
// stay in the logs.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	// During an outage every request fails the same way: say so, not once
	// per request (the store logs each upstream cause once a minute).
	outageLog := rate.NewLimiter(rate.Every(10*time.Second), 1)
	return func(ctx context.Context, err error) *gqlerror.Error {
		presented := graphql.DefaultErrorPresenter(ctx, err)
		var argErr *profiling.ArgumentError
		var public *gqlerror.Error
		switch {
		case errors.As(err, &argErr):
			return withCode(presented, resolvers.CodeBadUserInput, argErr.Error())
		case errors.Is(err, context.Canceled):
			// The client left; nobody reads this answer, and it is no fault
			// of ours.
			log.DebugContext(ctx, "request cancelled by the client", "path", presented.Path.String())
			return withCode(presented, resolvers.CodeInternal, "The request was cancelled.")
		case errors.Is(err, profiling.ErrUpstreamUnavailable):
			level := slog.LevelDebug
			if outageLog.Allow() {
				level = slog.LevelWarn
			}
			log.Log(ctx, level, "user store unavailable (logged at most every 10 s; the access log has every request)",
				"error", err, "path", presented.Path.String())
			return withCode(presented, resolvers.CodeUpstreamUnavailable, "The profile service is temporarily unavailable; try again shortly.")
		case errors.Is(err, profiling.ErrUserNotFound):
			return withCode(presented, resolvers.CodeUnauthenticated, "The signed-in user no longer exists.")
		case errors.As(err, &public) && public.Unwrap() == nil:
			// Made to be shown: ours (with a code) or gqlgen's own
			// parse and validation errors.
			return presented
		default:
			log.ErrorContext(ctx, "internal error", "error", err, "path", presented.Path.String())
			return withCode(presented, resolvers.CodeInternal, "Internal error.")
		}
	}
}

func withCode(e *gqlerror.Error, code, message string) *gqlerror.Error {
	e.Message = message
	e.Extensions = map[string]any{"code": code}
	return e
}

// recoverPanic keeps a panicking resolver from taking the request down with
// it: the stack goes to the log, the client gets INTERNAL.
func recoverPanic(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return &gqlerror.Error{Message: "Internal error.", Extensions: map[string]any{"code": resolvers.CodeInternal}}
	}
}

// WriteError is the one writer of a GraphQL error response outside
// execution (refused transports, limits, a refused token): a JSON body
// {"errors": [err]} with status.
func WriteError(w http.ResponseWriter, status int, err *gqlerror.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": gqlerror.List{err}})
}

// RefuseToken answers a request whose bearer token was refused: 401 with
// UNAUTHENTICATED, the one body every refusal gets (auth.Middleware sets the
// challenge headers).
func RefuseToken(w http.ResponseWriter) {
	WriteError(w, http.StatusUnauthorized, &gqlerror.Error{
		Message:    "The access token is missing, invalid or expired.",
		Extensions: map[string]any{"code": resolvers.CodeUnauthenticated},
	})
}
