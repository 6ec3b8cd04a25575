package auth0store

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/progressive-profiling/bff/profiling"
)

// CheckCredentials asks the tenant for a Management API token once, as the
// first call would, so that start-up can tell a configuration mistake from
// an outage instead of starting "ready" and failing every request:
//
//   - the token endpoint refusing the client (a 4xx other than 408 and 429:
//     wrong client id or secret, no grant for the Management API) is an
//     *Error wrapping ErrCredentialsRefused;
//   - no answer, a 429 or a 5xx is an *Error wrapping
//     profiling.ErrUpstreamUnavailable: the tenant may come back, and calls
//     keep asking for a token as they do.
//
// The message carries the HTTP status and Auth0's error code (access_denied,
// too_many_requests, ...) and never the secret. The token is not kept: the
// SDK's token source fetches its own.
func (s *Store) CheckCredentials(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.tokens.Token(context.WithValue(ctx, oauth2.HTTPClient, s.tokenClient))
	if err == nil {
		return nil
	}
	e := &Error{Op: "fetch a Management API token", kind: profiling.ErrUpstreamUnavailable, cause: err}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		e.Status = re.Response.StatusCode
		e.refused = refusesClient(e.Status)
		code := re.ErrorCode
		if code == "" {
			code = "no error code"
		}
		e.msg = fmt.Sprintf("auth0store: the token endpoint answered %d (%s)", e.Status, code)
		if e.refused {
			e.msg = fmt.Sprintf("auth0store: the token endpoint refused the client credentials: %d %s", e.Status, code)
			if re.ErrorDescription != "" {
				e.msg += ": " + re.ErrorDescription
			}
		}
		return e
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	e.msg = "auth0store: the token endpoint did not answer: " + err.Error()
	return e
}
