// Package profiling is the domain of progressive profiling: the snapshot of a
// user the service works on, the field catalogue and stage rules loaded from a
// declarative rules file, the engine that decides which fields to ask now, the
// validation of answers, and the patch an answer produces.
//
// It knows nothing about HTTP, GraphQL, Redis or the Auth0 SDK. What it needs
// from the outside world are the UserStore and Locker interfaces (store.go);
// the packages auth0store, cache and userlock implement them.
//
// # Glossary
//
// One name per concept, here and in the packages around it:
//
//   - User: the service's snapshot of one identity-provider user (user.go).
//   - Field: a catalogue entry of the rules file; its Key is the API's input
//     field name, its Store the user_metadata key answers go to.
//   - Value: one field's value for one user, with its Source (identity
//     provider, user, enrichment); the API calls it ProfileValue.
//   - Profile: what the rules make of a user at one moment (values, stage,
//     completion); the API's Viewer.
//   - PendingField: a field to ask now, with the stage and reason; the API's
//     ProfileField.
//   - Stage: a named condition (CEL) and the fields it asks.
//   - Interaction context ("context" in the API and the rules): where the
//     user is when the client asks, e.g. "article". The code says
//     interaction, since Go's context.Context is something else.
//   - Answer: a value the user gave; Skip: a "not now"; both produce a Patch
//     and an Outcome.
//   - Bookkeeping: this service's record of answers and skips, kept in
//     app_metadata under BookkeepingKey.
//   - Store: the identity provider behind UserStore (Auth0). The cache is a
//     UserStore in front of it; neither is the rules file.
//   - Read: what a caller requires of the copy of a user a store returns;
//     ReadInfo: where that copy came from. A copy is current when it meets
//     the Read, stale when it is served without meeting it because the
//     identity provider was unavailable.
package profiling
