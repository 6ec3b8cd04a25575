// Package auth0emu is an Auth0-compatible emulator: the identity provider of
// dev mode, the upstream of every package's tests, and (through
// cmd/auth0emu) a stand-alone tenant that frontend and mobile developers can
// point their apps at. The real github.com/auth0/go-auth0 management client
// and golang.org/x/oauth2 talk to it over HTTP unchanged.
//
// # Endpoints
//
//	GET  /authorize                        Universal Login: authorization code flow with PKCE (see below)
//	GET  /u/login, /u/signup               the hosted page's two screens (?state=<login transaction>)
//	POST /u/login, /u/signup               the hosted page's forms: email and password
//	GET  /v2/logout                        end the login session; returnTo an allowed logout URL
//	POST /oauth/token                      authorization_code, refresh_token, client_credentials, password,
//	                                       http://auth0.com/oauth/grant-type/password-realm
//	GET  /.well-known/jwks.json            every served signing key (kid, use=sig, alg=RS256, n, e, x5c, x5t)
//	GET  /.well-known/openid-configuration issuer, jwks_uri, token_endpoint, userinfo_endpoint, ...
//	GET  /userinfo                         OIDC profile of the user a user access token names
//	GET  /api/v2/users/{id}                fields, include_fields                  (scope read:users)
//	PATCH /api/v2/users/{id}               Auth0's merge semantics, see below     (scope update:users)
//	POST /api/v2/users                     create a user                           (scope create:users)
//
// /api/v2 routes on the escaped path (ids arrive as auth0%7C...), require an
// RS256 Management API token issued by this emulator (aud URL()+"/api/v2/",
// unexpired, signed by a served key: 401 otherwise) carrying the needed scope
// (403 insufficient_scope otherwise), and answer errors as Auth0 does:
// {"statusCode":404,"error":"Not Found","message":"The user does not exist.","errorCode":"inexistent_user"}.
// Every /api/v2 response carries X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset (unix seconds when the bucket is full again) from a token
// bucket (Config.RateLimit per second, Config.RateBurst); an empty bucket
// answers 429 too_many_requests with Retry-After. Config.RatePreset picks a
// tenant type's limits: "free" (2/s, burst 2), "dev" (non-production, 0.5/s,
// burst 5) or "paid" (16/s, burst 50, the default).
//
// # Tokens
//
// client_credentials (client id and secret by HTTP Basic, form body or JSON
// body) with audience URL()+"/api/v2/" returns a Management API token (scope
// "read:users update:users create:users", gty client-credentials, sub
// "<client id>@clients"); a narrower scope may be requested. With audience
// Config.Audience it returns a machine-to-machine token for the service's API,
// which the service must refuse because it names no user.
//
// The password grants (username = email, realm = connection for
// password-realm) return a user access token for Config.Audience, which is
// also the tenant's default audience: header kid, alg RS256, typ JWT; claims
// iss UserIssuer() (Issuer(), or Config.CustomDomainIssuer to play a tenant
// with a custom domain; Management API tokens keep Issuer()), sub user id, aud [Config.Audience, URL()+"/userinfo"] (a
// plain string when the scope lacks openid), iat, exp, scope (default "openid
// profile email"), azp, gty "password", permissions []. An id_token is added
// when the scope has openid. Each such login increments logins_count and sets
// last_login and updated_at, as a real login does. Wrong credentials answer
// 403 {"error":"invalid_grant","error_description":"Wrong email or password."}
// as Auth0 does; an unknown client or secret 401 {"error":"access_denied",
// "error_description":"Unauthorized"}; a blocked user 401 {"error":
// "unauthorized","error_description":"user is blocked"}; any other grant 400
// unsupported_grant_type.
//
// # Universal Login
//
// So Auth0's own SDKs (@auth0/auth0-react, auth0-spa-js, the native ones)
// work unchanged, GET /authorize serves the authorization code flow:
// client_id must be Config.ClientID and redirect_uri must equal one of
// Config.CallbackURLs character for character (for response_mode=web_message
// one of Config.WebOrigins also does); otherwise an Auth0-like error page
// answers and nothing redirects. Every later refusal is sent to that
// redirect_uri as error and error_description with the state: response_type
// other than code (unsupported_response_type), code_challenge_method other
// than S256 (plain, or absent with a code_challenge, is invalid_request), an
// audience other than Config.Audience (access_denied; absent means the
// default audience), a response_mode other than query (the default) and
// web_message, and prompt=none without a session (login_required).
//
// Without a session the hosted page asks for email and password
// (screen_hint=signup opens the sign-up screen; login_hint fills the
// email). It is plain HTML forms, works without JavaScript, refuses to be
// framed, and its transaction is bound to the browser by a cookie, so a
// form posted from elsewhere is refused. A sign-up creates a database user
// (DatabaseConnection). A successful login or sign-up opens a session (an
// HttpOnly "auth0" cookie, SameSite=Lax over http, SameSite=None; Secure
// over https; 7 days) and counts a login (logins_count, last_login). With a
// session, prompt=none (silent authentication, what auth0-spa-js does from
// a hidden iframe on reload) and a request without prompt (single sign-on)
// answer at once and count no login; prompt=login shows the page again.
//
// The answer goes to redirect_uri?code=...&state=... (response_mode=query)
// or, for web_message, to a page posting
// {type: "authorization_response", response: {code, state}} (or {error,
// error_description, state}) to redirect_uri's origin only, which alone may
// frame it. The state comes back exactly as sent.
//
// A code lives one minute, is spent by its first exchange (right or wrong),
// and is bound to the client, the redirect_uri (which the exchange must
// repeat) and the code_challenge: the exchange's code_verifier must hash to
// it (403 invalid_grant "Failed to verify code verifier" otherwise). A code
// obtained without PKCE needs the client secret. The response has an
// access token for the requested audience (no gty claim, as Auth0's), an
// ID token when the scope has openid (RS256; iss UserIssuer(), aud the
// client id, sub, nonce from /authorize, auth_time of the interactive
// login, the profile and email claims the scope allows) and, with
// offline_access, a refresh token.
//
// grant_type=refresh_token rotates: each refresh token is good for one
// exchange, which returns a new one; presenting a spent one is taken as a
// leak and revokes its whole family (every token rotated from the same
// login), as Auth0's reuse detection does (403 invalid_grant "Unknown or
// invalid refresh token."). Refresh tokens live 30 days from the login.
// Neither grant counts a login.
//
// GET /v2/logout?client_id=...&returnTo=... refuses a returnTo that is not
// one of Config.LogoutURLs exactly (before ending anything), otherwise ends
// the session, clears the cookie and redirects there.
//
// CORS: /oauth/token, /userinfo and every other route answer browser
// requests (and preflights) only from Config.WebOrigins. The allow-lists
// default to the dev tenant's application: DevWebOrigins (the React dev
// servers on ports 5173 and 3000) and, as callback and logout URLs, each of
// them with and without a trailing slash (RootURLs).
//
// # Users
//
// The store keeps each user as the JSON object a tenant returns: user_id,
// email, email_verified, name, nickname, picture, given_name, family_name,
// identities[{connection,user_id,provider,isSocial}, linked ones with
// profileData], any further root attributes an enterprise connection maps
// (company, title, ...; NewUser.Attributes), created_at,
// updated_at, last_login, logins_count, user_metadata, app_metadata (absent
// when empty, as in recorded Auth0 responses; logins_count and last_login are
// absent until the first login). Dates use Auth0's form
// 2026-11-29T01:07:48.123Z and updated_at strictly increases on every change,
// even within one millisecond.
//
// PATCH follows Auth0's documentation: user_metadata and app_metadata are
// merged at the top level only (a nested object is replaced whole), a null
// value deletes a key, an empty object {} clears the whole object, and field
// names containing "." or "$" (at any depth) are rejected with 400
// invalid_body. Root attributes are accepted as Auth0 accepts them (email,
// email_verified, blocked, given_name, family_name, name, nickname, picture,
// phone_number, phone_verified, username, password, connection, verify_email,
// client_id), so tests can prove a caller never sends them; unknown
// attributes and wrong types are 400 invalid_body. Validation happens before
// anything is written: a rejected PATCH changes nothing. The response is the
// whole user.
//
// POST /api/v2/users requires connection; database connections
// ("Username-Password-Authentication" or any name that is not a social
// strategy) require email and password. A duplicate email in one connection
// is 409 {"message":"The user already exists.","errorCode":"auth0_idp_error"}
// (Auth0's real answer). Root attributes given at creation are stored and
// count as supplied by the identity provider. The id is "auth0|<24 hex>"
// unless user_id is given. Users created this way can log in with the
// password grants.
//
// # Seed users
//
// SeedUsers returns the dev-mode set, fixed ids, every password SeedPassword
// ("Passw0rd!"): SeedNewUserID (nothing known), SeedSocialUserID (Google
// supplied the names; password login is a dev convenience a real Google user
// would not have), SeedReturningUserID (names answered, logins_count 3,
// created 45 days ago) and SeedEnrichedUserID (company and title from an
// enrichment service) and SeedEnterpriseUserID (a SAML user with company,
// title and department at the root and a linked GitHub identity).
//
// Users are shaped as Auth0 returns them: the primary identity has no
// profileData (only linked secondary identities, NewUser.LinkedIdentities,
// have one), and a GitHub identity's user_id is a JSON number.
//
// SeedLoadUsers adds n more (LoadUsersAt: LoadUserID(1) ... LoadUserID(n),
// load-1@example.com ..., each shaped like the returning user) for load
// tests in which every read is of another user.
//
// # Observation and faults
//
// Count, Patches and ResetCounters let tests read how often each Route was
// called and every PATCH body received. SetFault injects, per Route, latency,
// a hang, a 5xx, a 429 storm, malformed JSON or a raw body, optionally for a
// number of requests; Hold and Processed make races deterministic.
//
// # Admin routes (stand-alone use)
//
// Protected by HTTP Basic with the configured client id and secret:
//
//	POST /emulator/users          body: NewUser as JSON (snake_case keys)         → the user
//	POST /emulator/tokens         {"user_id": "..."}: token without a login        → {"access_token": ...}
//	POST /emulator/keys/rotate    new signing key, old one still served           → {"kid": ...}
//	POST /emulator/keys/retire    {"kid": "..."}: stop serving a key
//	POST /emulator/faults         {"route": "GET /api/v2/users/{id}", "latency": "250ms", "hang": false,
//	                               "status": 503, "rate_limited": false, "retry_after": "2s",
//	                               "malformed_json": false, "times": 0}
//	POST /emulator/faults/clear   clear every fault, release hung requests
//	GET  /emulator/counts         requests per route;  POST /emulator/counts/reset
//	GET  /emulator/connections    {"connections": N}: TCP connections clients opened since start (Listen only)
//
// # Known differences from Auth0
//
// One client, one API and one management audience; no password policy, no
// user search or listing; Universal Login has no consent screen, MFA,
// organizations, social buttons, implicit or hybrid flows,
// response_mode=fragment or form_post, or /oauth/revoke; request bodies are
// capped at 1 MiB (413). Passwords are kept as
// salted SHA-256 in memory: this is never a real password store.
package auth0emu
