package resolvers

import (
	"github.com/vektah/gqlparser/v2/gqlerror"
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
