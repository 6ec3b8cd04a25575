// Package graphqlapi is the GraphQL endpoint: the gqlgen handler over the
// resolvers, its two transports (POST JSON, GET for queries), the body cap,
// the operation limits (depth, aliases, complexity, tokens), strict input
// coercion, automatic persisted queries, the error presenter that maps the
// domain's errors to extensions.code, and WriteError, the one writer of a
// GraphQL error response outside execution. Resolvers live in package
// resolvers; this package decides what reaches them.
package graphqlapi
