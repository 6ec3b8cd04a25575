// Package resolvers is the GraphQL layer: it takes the principal from the
// request context, asks the profiling domain, and converts the answer to the
// API's types. Business rules live in the rules file and the profiling
// package, never here.
package resolvers

import (
	"context"
	"log/slog"
	"sync"

	"github.com/progressive-profiling/bff/auth"
	"github.com/progressive-profiling/bff/profiling"
)

// Resolver is the root resolver; gqlgen's generated code calls its methods.
type Resolver struct {
	service *profiling.Service
	log     *slog.Logger
}

// viewerProfile returns the signed-in user's profile, loading it at most once
// per request however many fields ask for it.
func (r *Resolver) viewerProfile(ctx context.Context) (*profiling.Profile, error) {
	ctx, userID, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if memo, ok := ctx.Value(memoKey{}).(*requestMemo); ok {
		memo.once.Do(func() { memo.profile, memo.err = r.service.Profile(ctx, userID) })
		return memo.profile, memo.err
	}
	return r.service.Profile(ctx, userID)
}

// viewer returns the signed-in user's id, or UNAUTHENTICATED, and a context
// asking the stores for a copy of the user no older than the access token
// (a newer token may follow a login that moved the user's stage on).
func viewer(ctx context.Context) (context.Context, string, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return ctx, "", errUnauthenticated()
	}
	return profiling.WithFreshAfter(ctx, p.IssuedAt), p.UserID, nil
}

// requestMemo holds the one profile read a request makes.
type requestMemo struct {
	once    sync.Once
	profile *profiling.Profile
	err     error
}

type memoKey struct{}
