package graphqlapi

import (
	"context"
	"math"

	"github.com/99designs/gqlgen/graphql"

	"github.com/progressive-profiling/bff/resolvers"
)

// staleExtension flags a response built from a copy of the user that the
// cache could not refresh because the identity provider was unavailable:
//
//	"extensions": {"stale": {"ageSeconds": 754}}
//
// ageSeconds is how long ago the copy was read from the identity provider.
// The reads record it in the request's memo (profiling.ReadInfo).
type staleExtension struct{}

var (
	_ graphql.HandlerExtension    = staleExtension{}
	_ graphql.ResponseInterceptor = staleExtension{}
)

func (staleExtension) ExtensionName() string                   { return "StaleFlag" }
func (staleExtension) Validate(graphql.ExecutableSchema) error { return nil }
func (staleExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil {
		return nil
	}
	if age, stale := resolvers.StaleRead(ctx); stale {
		if resp.Extensions == nil {
			resp.Extensions = map[string]any{}
		}
		resp.Extensions["stale"] = map[string]any{"ageSeconds": int64(math.Ceil(age.Seconds()))}
	}
	return resp
}
