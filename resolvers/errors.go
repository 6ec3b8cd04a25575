package resolvers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/progressive-profiling/bff/profiling"
)

// The error codes clients branch on, in extensions.code.
const (
	CodeUnauthenticated     = "UNAUTHENTICATED"
	CodeBadUserInput        = "BAD_USER_INPUT"
	CodeUpstreamUnavailable = "UPSTREAM_UNAVAILABLE"
	CodeInternal            = "INTERNAL"
)

func publicError(code, message string) *gqlerror.Error {
	return &gqlerror.Error{Message: message, Extensions: map[string]any{"code": code}}
}

func errUnauthenticated() *gqlerror.Error {
	return publicError(CodeUnauthenticated, "Sign in first: this operation needs an access token.")
}

// presentError turns every error into one a client may see: the domain's
// errors get their code and a safe message; anything unexpected becomes
// INTERNAL and is logged, so upstream URLs, status texts and stack traces
// stay in the logs.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		presented := graphql.DefaultErrorPresenter(ctx, err)
		var argErr *profiling.ArgumentError
		var public *gqlerror.Error
		switch {
		case errors.As(err, &argErr):
			return withCode(presented, CodeBadUserInput, argErr.Error())
		case errors.Is(err, profiling.ErrUpstreamUnavailable):
			log.WarnContext(ctx, "user store unavailable", "error", err, "path", presented.Path.String())
			return withCode(presented, CodeUpstreamUnavailable, "The profile service is temporarily unavailable; try again shortly.")
		case errors.Is(err, profiling.ErrUserNotFound):
			return withCode(presented, CodeUnauthenticated, "The signed-in user no longer exists.")
		case errors.As(err, &public) && public.Unwrap() == nil:
			// Made to be shown: ours (with a code) or gqlgen's own
			// parse and validation errors.
			return presented
		default:
			log.ErrorContext(ctx, "internal error", "error", err, "path", presented.Path.String())
			return withCode(presented, CodeInternal, "Internal error.")
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
		return publicError(CodeInternal, "Internal error.")
	}
}
