package graphqlapi

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// persistedQueries is gqlgen's automatic persisted queries, with every
// refusal carrying an extensions.code as all of this API's errors do:
// gqlgen gives PERSISTED_QUERY_NOT_FOUND (which Apollo's link answers by
// sending the query) but no code for a hash that is not its query's or a
// malformed extension.
type persistedQueries struct {
	extension.AutomaticPersistedQuery
}

func (p persistedQueries) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	err := p.AutomaticPersistedQuery.MutateOperationParameters(ctx, params)
	if err != nil && err.Extensions["code"] == nil {
		errcode.Set(err, errcode.ValidationFailed)
	}
	return err
}
