package resolvers

import (
	"context"
	"math"

	"github.com/99designs/gqlgen/graphql"

	"github.com/progressive-profiling/bff/profiling"
)

// staleExtension flags a response built from a copy of the user that the
// cache could not refresh because the identity provider was unavailable:
//
//	"extensions": {"stale": {"ageSeconds": 754}}
//
// ageSeconds is how long ago the copy was read from the identity provider.
// It installs the request's profiling.StaleNote, which is also what allows
// the cache to answer from a stale copy at all.
type staleExtension struct{}

var (
	_ graphql.HandlerExtension    = staleExtension{}
	_ graphql.ResponseInterceptor = staleExtension{}
)

func (staleExtension) ExtensionName() string                   { return "StaleFlag" }
func (staleExtension) Validate(graphql.ExecutableSchema) error { return nil }
func (staleExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	ctx, note := profiling.WithStaleNote(ctx)
	resp := next(ctx)
	if resp == nil {
		return nil
	}
	if age, stale := note.Stale(); stale {
		if resp.Extensions == nil {
			resp.Extensions = map[string]any{}
		}
		resp.Extensions["stale"] = map[string]any{"ageSeconds": int64(math.Ceil(age.Seconds()))}
	}
	return resp
}
