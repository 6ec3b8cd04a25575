// Package profiling is the domain of progressive profiling: the snapshot of a
// user the service works on, the field catalogue and stage rules loaded from a
// declarative rules file, the engine that decides which fields to ask now, the
// validation of answers, and the patch an answer produces.
//
// It knows nothing about HTTP, GraphQL, Redis or the Auth0 SDK. What it needs
// from the outside world is the UserStore interface; the packages auth0store
// and cache implement it.
package profiling
