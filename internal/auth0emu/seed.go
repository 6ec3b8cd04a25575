package auth0emu

import (
	"errors"
	"fmt"
	"time"

	"github.com/progressive-profiling/bff/profiling"
)

// The seeded users' fixed ids and their shared password.
const (
	SeedPassword = "Passw0rd!"

	SeedNewUserID       = "auth0|65f0c0ffee00000000000001"
	SeedSocialUserID    = "google-oauth2|109876543210987654321"
	SeedReturningUserID = "auth0|65f0c0ffee00000000000003"
	SeedEnrichedUserID  = "auth0|65f0c0ffee00000000000004"
	// SeedEnterpriseUserID has Auth0's SAML form: samlp|connection|NameID.
	SeedEnterpriseUserID = "samlp|acme-saml|enterprise@example.com"

	// SeedEnterpriseConnection is the enterprise user's SAML connection.
	SeedEnterpriseConnection = "acme-saml"
	// SeedLinkedGitHubID is the GitHub account linked to the enterprise
	// user; Auth0 returns it as a JSON number.
	SeedLinkedGitHubID = "5551234"
)

// SeedUsers is the dev-mode seed set, created now; see SeedUsersAt.
func SeedUsers() []NewUser { return SeedUsersAt(time.Now()) }

// SeedUsersAt is the dev-mode seed set relative to now. Together the users
// cover every default stage of the profiling rules:
//
//  1. new@example.com: database, nothing known, never logged in, created now
//     (signup asks first and last name).
//  2. social@example.com: Google (isSocial), which supplied given_name Grace,
//     family_name Hopper, name and picture; one login. It has a password
//     only so dev mode can log in as it (a real Google user has none).
//  3. returning@example.com: database, names answered in user_metadata
//     (first_name, last_name) with the service's bookkeeping in
//     app_metadata.progressive_profiling.collected, roles ["beta-tester"],
//     three logins, created 45 days ago: already engaged (two logins and 30
//     days), so returning's company and title and engaged's phone are asked.
//  4. enriched@example.com: database, app_metadata.enrichment with company
//     Initech and title Staff Engineer, one login (company and title are
//     never asked).
//  5. enterprise@example.com: the SAML connection acme-saml (provider
//     samlp), which mapped given_name Katherine, family_name Johnson and, at
//     the root as Auth0 stores enterprise attributes, company Acme Corp,
//     title Principal Engineer and department Flight Research; one login
//     (names, company and title are never asked). A GitHub account is linked
//     as a secondary identity: numeric user_id SeedLinkedGitHubID and a
//     profileData (nickname, location, blog) with nothing the default rules
//     read. As with the social user, the password is a dev convenience.
//
// No primary identity has a profileData: Auth0 gives it only to linked
// secondary identities. Every password is SeedPassword.
func SeedUsersAt(now time.Time) []NewUser {
	now = now.UTC().Truncate(time.Millisecond)
	returningCreated := now.AddDate(0, 0, -45)
	collectedAt := returningCreated.Add(2 * time.Minute).Format(time.RFC3339)
	return []NewUser{
		{
			ID:         SeedNewUserID,
			Connection: DatabaseConnection,
			Email:      "new@example.com",
			Password:   SeedPassword,
			CreatedAt:  now,
		},
		{
			ID:            SeedSocialUserID,
			Connection:    "google-oauth2",
			Provider:      "google-oauth2",
			IsSocial:      true,
			Email:         "social@example.com",
			EmailVerified: true,
			Password:      SeedPassword,
			GivenName:     "Grace",
			FamilyName:    "Hopper",
			Name:          "Grace Hopper",
			Nickname:      "grace.hopper",
			Picture:       "https://lh3.googleusercontent.com/a/grace-hopper=s96-c",
			LoginsCount:   1,
			CreatedAt:     now.Add(-24 * time.Hour),
			LastLogin:     now.Add(-24 * time.Hour),
		},
		{
			ID:         SeedReturningUserID,
			Connection: DatabaseConnection,
			Email:      "returning@example.com",
			Password:   SeedPassword,
			UserMetadata: map[string]any{
				"first_name": "Ada",
				"last_name":  "Lovelace",
			},
			AppMetadata: map[string]any{
				"roles": []any{"beta-tester"},
				profiling.BookkeepingKey: map[string]any{
					"collected": map[string]any{
						"firstName": map[string]any{"at": collectedAt, "stage": "signup", "context": ""},
						"lastName":  map[string]any{"at": collectedAt, "stage": "signup", "context": ""},
					},
				},
			},
			LoginsCount: 3,
			CreatedAt:   returningCreated,
			LastLogin:   now.AddDate(0, 0, -3),
		},
		{
			ID:         SeedEnrichedUserID,
			Connection: DatabaseConnection,
			Email:      "enriched@example.com",
			Password:   SeedPassword,
			AppMetadata: map[string]any{
				"enrichment": map[string]any{"company": "Initech", "title": "Staff Engineer"},
			},
			LoginsCount: 1,
			CreatedAt:   now.Add(-2 * time.Hour),
			LastLogin:   now.Add(-2 * time.Hour),
		},
		{
			ID:            SeedEnterpriseUserID,
			Connection:    SeedEnterpriseConnection,
			Provider:      "samlp",
			Email:         "enterprise@example.com",
			EmailVerified: true,
			Password:      SeedPassword,
			GivenName:     "Katherine",
			FamilyName:    "Johnson",
			Name:          "Katherine Johnson",
			Attributes: map[string]any{
				"company": "Acme Corp", "title": "Principal Engineer", "department": "Flight Research",
			},
			LinkedIdentities: []LinkedIdentity{{
				Connection: "github", UserID: SeedLinkedGitHubID, IsSocial: true,
				ProfileData: map[string]any{"nickname": "kjohnson", "location": "Hampton, VA", "blog": "https://kjohnson.example.com"},
			}},
			LoginsCount: 1,
			CreatedAt:   now.Add(-72 * time.Hour),
			LastLogin:   now.Add(-72 * time.Hour),
		},
	}
}

// Seed creates SeedUsersAt(Config.Now()) in the server.
func (s *Server) Seed() error {
	var errs []error
	for _, u := range SeedUsersAt(s.now()) {
		if _, err := s.CreateUser(u); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MaxLoadUsers bounds SeedLoadUsers: each user is a few kilobytes of memory.
const MaxLoadUsers = 100_000

// LoadUserID is the id of load-test user i (1-based): "auth0|10ad" and i
// in 20 decimal digits, 24 hex digits in all as Auth0's database ids.
func LoadUserID(i int) string { return fmt.Sprintf("auth0|10ad%020d", i) }

// LoadUserEmail is the email of load-test user i (1-based).
func LoadUserEmail(i int) string { return fmt.Sprintf("load-%d@example.com", i) }

// LoadUsersAt returns n load-test users, LoadUserID(1) to LoadUserID(n), each
// shaped like the returning seed user (names answered in user_metadata, the
// service's bookkeeping and roles in app_metadata, three logins), so that
// reading one costs what reading a typical engaged user costs. Password
// SeedPassword.
func LoadUsersAt(now time.Time, n int) []NewUser {
	returning := SeedUsersAt(now)[2]
	out := make([]NewUser, n)
	for i := range out {
		u := returning
		u.ID, u.Email = LoadUserID(i+1), LoadUserEmail(i+1)
		out[i] = u // CreateUser copies the metadata maps, so they may be shared here
	}
	return out
}

// SeedLoadUsers creates LoadUsersAt(Config.Now(), n), for load tests that
// need many distinct users (every read a cache miss). n is at most
// MaxLoadUsers.
func (s *Server) SeedLoadUsers(n int) error {
	if n < 0 || n > MaxLoadUsers {
		return fmt.Errorf("auth0emu: %d load users; choose 0 to %d", n, MaxLoadUsers)
	}
	for _, u := range LoadUsersAt(s.now(), n) {
		if _, err := s.CreateUser(u); err != nil {
			return fmt.Errorf("auth0emu: load user %s: %w", u.ID, err)
		}
	}
	return nil
}
