package auth0store

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/profiling"
)

var sharedKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// emulator starts a seeded auth0emu on a free loopback port (one shared
// signing key: RSA key generation would dominate the tests' time).
func emulator(t testing.TB) *auth0emu.Server {
	t.Helper()
	emu, err := auth0emu.Listen("127.0.0.1:0", auth0emu.Config{RateLimit: -1, SigningKey: sharedKey()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	if err := emu.Seed(); err != nil {
		t.Fatal(err)
	}
	return emu
}

// newStore points the real go-auth0 client at emu over HTTP.
func newStore(t testing.TB, emu *auth0emu.Server, cfg Config) *Store {
	t.Helper()
	cfg.Domain = emu.URL()
	cfg.ClientID = emu.Config().ClientID
	cfg.ClientSecret = emu.Config().ClientSecret
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// wantUnavailable checks the error is the domain's outage, with a message
// that names nothing upstream.
func wantUnavailable(t *testing.T, emu *auth0emu.Server, err error) *Error {
	t.Helper()
	if !errors.Is(err, profiling.ErrUpstreamUnavailable) {
		t.Fatalf("err %v, want ErrUpstreamUnavailable", err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err %T is not *Error", err)
	}
	if msg := err.Error(); msg != "auth0store: user store unavailable" || strings.Contains(msg, emu.Domain()) {
		t.Errorf("message %q is not the generic one", msg)
	}
	return e
}

func TestReadConvertsEverything(t *testing.T) {
	emu := emulator(t)
	s := newStore(t, emu, Config{})
	ctx := context.Background()

	u, _, err := s.User(ctx, auth0emu.SeedReturningUserID, profiling.Read{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := emu.User(auth0emu.SeedReturningUserID)
	created, _ := time.Parse(time.RFC3339, raw["created_at"].(string))
	updated, _ := time.Parse(time.RFC3339, raw["updated_at"].(string))
	last, _ := time.Parse(time.RFC3339, raw["last_login"].(string))
	want := &profiling.User{
		ID: auth0emu.SeedReturningUserID, Email: "returning@example.com", Name: "returning@example.com",
		Nickname: "returning", Picture: raw["picture"].(string), CreatedAt: created, UpdatedAt: updated,
		LastLogin: last, LoginsCount: 3,
		Identities: []profiling.Identity{{
			Connection: auth0emu.DatabaseConnection, Provider: "auth0",
			UserID: strings.TrimPrefix(auth0emu.SeedReturningUserID, "auth0|"),
		}},
		UserMetadata: raw["user_metadata"].(map[string]any),
		AppMetadata:  raw["app_metadata"].(map[string]any),
	}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("read\n%+v\nwant\n%+v", u, want)
	}

	social, _, err := s.User(ctx, auth0emu.SeedSocialUserID, profiling.Read{})
	if err != nil {
		t.Fatal(err)
	}
	if social.GivenName != "Grace" || social.FamilyName != "Hopper" || !social.EmailVerified ||
		len(social.Identities) != 1 || !social.Identities[0].IsSocial || social.Identities[0].Provider != "google-oauth2" {
		t.Errorf("social %+v", social)
	}

	// Two reads are two independent snapshots.
	a, _, _ := s.User(ctx, auth0emu.SeedReturningUserID, profiling.Read{})
	a.UserMetadata["first_name"] = "changed"
	b, _, _ := s.User(ctx, auth0emu.SeedReturningUserID, profiling.Read{})
	if b.UserMetadata["first_name"] != "Ada" {
		t.Errorf("snapshots share maps")
	}
}

func TestNotFound(t *testing.T) {
	emu := emulator(t)
	s := newStore(t, emu, Config{})
	_, _, err := s.User(context.Background(), "auth0|nobody", profiling.Read{})
	if !errors.Is(err, profiling.ErrUserNotFound) || errors.Is(err, profiling.ErrUpstreamUnavailable) {
		t.Fatalf("err %v, want only ErrUserNotFound", err)
	}
	if err.Error() != "auth0store: user not found" {
		t.Errorf("message %q", err.Error())
	}
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusNotFound {
		t.Errorf("status %+v", e)
	}
	if n := emu.Count(auth0emu.RouteGetUser); n != 1 {
		t.Errorf("a 404 was retried: %d GETs", n)
	}
	_, err = s.UpdateUser(context.Background(), "auth0|nobody", profiling.Patch{UserMetadata: map[string]any{"a": "b"}})
	if !errors.Is(err, profiling.ErrUserNotFound) {
		t.Errorf("update of a missing user: %v", err)
	}
	if _, _, err := s.User(context.Background(), "", profiling.Read{}); !errors.Is(err, profiling.ErrUserNotFound) || emu.Count(auth0emu.RouteGetUser) != 1 {
		t.Errorf("empty id: %v (must not reach Auth0, where it would list users)", err)
	}
}

// A PATCH sends exactly the patch's keys; the answer reflects Auth0's merge
// (top level only, null deletes) with no trace of the deleted keys.
func TestUpdateSendsOnlyThePatch(t *testing.T) {
	emu := emulator(t)
	s := newStore(t, emu, Config{})
	ctx := context.Background()
	id := auth0emu.SeedReturningUserID

	um := map[string]any{"company": "Initech", "last_name": nil}
	am := map[string]any{profiling.BookkeepingKey: map[string]any{"collected": map[string]any{}}}
	u, err := s.UpdateUser(ctx, id, profiling.Patch{UserMetadata: um, AppMetadata: am})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(u.UserMetadata, map[string]any{"first_name": "Ada", "company": "Initech"}) {
		t.Errorf("user_metadata %v", u.UserMetadata)
	}
	if !reflect.DeepEqual(u.AppMetadata["roles"], []any{"beta-tester"}) ||
		!reflect.DeepEqual(u.AppMetadata[profiling.BookkeepingKey], map[string]any{"collected": map[string]any{}}) {
		t.Errorf("app_metadata %v (roles must survive, bookkeeping replaced whole)", u.AppMetadata)
	}
	if u.Email != "returning@example.com" || u.LoginsCount != 3 {
		t.Errorf("the answer is not the whole user: %+v", u)
	}
	if !reflect.DeepEqual(um, map[string]any{"company": "Initech", "last_name": nil}) {
		t.Errorf("the caller's patch map was written to: %v", um)
	}

	patches := emu.Patches()
	if len(patches) != 1 || patches[0].UserID != id {
		t.Fatalf("patches %+v", patches)
	}
	var sent map[string]any
	if err := json.Unmarshal(patches[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"user_metadata": map[string]any{"company": "Initech", "last_name": nil},
		"app_metadata":  map[string]any{profiling.BookkeepingKey: map[string]any{"collected": map[string]any{}}},
	}
	if !reflect.DeepEqual(sent, want) {
		t.Errorf("PATCH body %s, want exactly %v", patches[0].Body, want)
	}

	// Only user_metadata: no app_metadata key at all.
	emu.ResetCounters()
	if _, err := s.UpdateUser(ctx, id, profiling.Patch{UserMetadata: map[string]any{"title": "CTO"}}); err != nil {
		t.Fatal(err)
	}
	if body := string(emu.Patches()[0].Body); strings.TrimSpace(body) != `{"user_metadata":{"title":"CTO"}}` {
		t.Errorf("PATCH body %s", body)
	}

	// Deleting the last keys leaves no nil behind.
	u, err = s.UpdateUser(ctx, auth0emu.SeedNewUserID, profiling.Patch{UserMetadata: map[string]any{"x": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	u, err = s.UpdateUser(ctx, auth0emu.SeedNewUserID, profiling.Patch{UserMetadata: map[string]any{"x": nil}})
	if err != nil || u.UserMetadata != nil {
		t.Errorf("after deleting the only key: %#v %v (absent, as a read would say)", u.UserMetadata, err)
	}

	// An empty patch writes nothing.
	emu.ResetCounters()
	if _, err := s.UpdateUser(ctx, id, profiling.Patch{}); err != nil || len(emu.Patches()) != 0 {
		t.Errorf("empty patch: %v, %d PATCHes", err, len(emu.Patches()))
	}
}

func TestUpdateRejectsKeysAuth0Cannot(t *testing.T) {
	emu := emulator(t)
	s := newStore(t, emu, Config{})
	for _, p := range []profiling.Patch{
		{UserMetadata: map[string]any{"a.b": 1}},
		{AppMetadata: map[string]any{"$set": 1}},
		{UserMetadata: map[string]any{"": 1}},
	} {
		_, err := s.UpdateUser(context.Background(), auth0emu.SeedNewUserID, p)
		if !errors.Is(err, ErrInvalidPatch) || errors.Is(err, profiling.ErrUpstreamUnavailable) {
			t.Errorf("%v: %v", p, err)
		}
	}
	if n := emu.Count(auth0emu.RoutePatchUser); n != 0 {
		t.Errorf("%d invalid patches reached Auth0", n)
	}
}

// A 429 is answered at once, whatever MaxRetries says: the tenant is out of
// budget until its reset, so retrying inside the SDK would only spend more
// (and hold the caller for seconds).
func TestRateLimitedIsNotRetried(t *testing.T) {
	for _, maxRetries := range []int{-1, 0, 3} { // 0 takes the default, 1
		emu := emulator(t)
		s := newStore(t, emu, Config{MaxRetries: maxRetries, Timeout: 20 * time.Second})
		emu.SetFault(auth0emu.RouteGetUser, auth0emu.Fault{RateLimited: true})
		start := time.Now()
		_, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{})
		took := time.Since(start)
		e := wantUnavailable(t, emu, err)
		if e.Status != http.StatusTooManyRequests {
			t.Errorf("status %d", e.Status)
		}
		if n := emu.Count(auth0emu.RouteGetUser); n != 1 || took > time.Second {
			t.Errorf("MaxRetries %d: %d attempts in %v, want 1 at once", maxRetries, n, took)
		}
	}
}

// One transient 503 is retried and the call succeeds.
func TestTransient5xxIsRetried(t *testing.T) {
	emu := emulator(t)
	s := newStore(t, emu, Config{})
	emu.SetFault(auth0emu.RoutePatchUser, auth0emu.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	u, err := s.UpdateUser(context.Background(), auth0emu.SeedNewUserID, profiling.Patch{UserMetadata: map[string]any{"a": "b"}})
	if err != nil || u.UserMetadata["a"] != "b" {
		t.Fatalf("%v %v", u, err)
	}
	if p := emu.Patches(); len(p) != 2 || string(p[0].Body) != string(p[1].Body) {
		t.Errorf("retried PATCH bodies %+v", p)
	}
}

func TestHangEndsAtTheDeadline(t *testing.T) {
	emu := emulator(t)
	s := newStore(t, emu, Config{Timeout: 300 * time.Millisecond})
	if _, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{}); err != nil { // token cached
		t.Fatal(err)
	}
	emu.SetFault(auth0emu.RouteGetUser, auth0emu.Fault{Hang: true})
	_, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{})
	wantUnavailable(t, emu, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v does not wrap context.DeadlineExceeded", err)
	}
}

// The token fetch ignores request contexts; the Store's deadline still ends
// the call, and no user request is made without a token.
func TestTokenEndpointHangEndsAtTheDeadline(t *testing.T) {
	emu := emulator(t)
	emu.SetFault(auth0emu.RouteToken, auth0emu.Fault{Hang: true})
	s := newStore(t, emu, Config{Timeout: 300 * time.Millisecond})
	_, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{})
	wantUnavailable(t, emu, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v does not wrap context.DeadlineExceeded", err)
	}
	if emu.Count(auth0emu.RouteGetUser) != 0 || emu.Count(auth0emu.RouteToken) == 0 {
		t.Errorf("token %d, get %d", emu.Count(auth0emu.RouteToken), emu.Count(auth0emu.RouteGetUser))
	}

	// A caller's shorter deadline wins over a long Timeout.
	slow := newStore(t, emu, Config{Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err = slow.User(ctx, auth0emu.SeedNewUserID, profiling.Read{})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, profiling.ErrUpstreamUnavailable) {
		t.Errorf("caller deadline: %v", err)
	}
}

func TestMalformedAnswers(t *testing.T) {
	emu := emulator(t)
	s := newStore(t, emu, Config{MaxRetries: -1})
	cases := map[string]auth0emu.Fault{
		"truncated JSON":             {MalformedJSON: true, Times: 1},
		"email_verified of a number": {Body: []byte(`{"user_id":"` + auth0emu.SeedNewUserID + `","email_verified":1}`), Times: 1},
		"another user":               {Body: []byte(`{"user_id":"auth0|someone-else"}`), Times: 1},
		"empty object":               {Body: []byte(`{}`), Times: 1},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			emu.SetFault(auth0emu.RouteGetUser, f)
			_, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{})
			wantUnavailable(t, emu, err)
		})
	}
	emu.SetFault(auth0emu.RoutePatchUser, auth0emu.Fault{Body: []byte(`{"user_id":"x","email_verified":[]}`), Times: 1})
	_, err := s.UpdateUser(context.Background(), auth0emu.SeedNewUserID, profiling.Patch{UserMetadata: map[string]any{"a": "b"}})
	wantUnavailable(t, emu, err)
	if u, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{}); err != nil || u.ID != auth0emu.SeedNewUserID {
		t.Errorf("the store is unusable after a recovered panic: %v", err)
	}
}

func TestWrongCredentialsAreUnavailableNotLeaked(t *testing.T) {
	emu := emulator(t)
	s, err := New(context.Background(), Config{
		Domain: emu.URL(), ClientID: emu.Config().ClientID, ClientSecret: "wrong", MaxRetries: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{})
	e := wantUnavailable(t, emu, err)
	// The detail is there for logs.
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Error("store failed", "err", e)
	if !strings.Contains(b.String(), "cause=") || !strings.Contains(b.String(), "op=\"read user\"") {
		t.Errorf("log line lacks the detail: %s", b.String())
	}
}

func TestNewValidatesConfig(t *testing.T) {
	ok := Config{ClientID: "id", ClientSecret: "secret"}
	for _, domain := range []string{"tenant.eu.auth0.com", "https://tenant.eu.auth0.com/", "http://127.0.0.1:8081", "http://localhost:8081", "http://[::1]:8081"} {
		c := ok
		c.Domain = domain
		if _, err := New(context.Background(), c); err != nil {
			t.Errorf("%s: %v", domain, err)
		}
	}
	cases := map[string]Config{
		"plain http to a remote host": {Domain: "http://tenant.eu.auth0.com", ClientID: "id", ClientSecret: "s"},
		"plain http to a LAN address": {Domain: "http://192.168.1.20:8081", ClientID: "id", ClientSecret: "s"},
		"ftp":                         {Domain: "ftp://tenant", ClientID: "id", ClientSecret: "s"},
		"path":                        {Domain: "https://tenant/api/v2", ClientID: "id", ClientSecret: "s"},
		"empty domain":                {ClientID: "id", ClientSecret: "s"},
		"no client id":                {Domain: "tenant.eu.auth0.com", ClientSecret: "s"},
		"no secret":                   {Domain: "tenant.eu.auth0.com", ClientID: "id"},
		"negative timeout":            {Domain: "tenant.eu.auth0.com", ClientID: "id", ClientSecret: "s", Timeout: -1},
	}
	for name, c := range cases {
		if _, err := New(context.Background(), c); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "auth0store:") {
			t.Errorf("%s: error %q does not say where it came from", name, err)
		}
	}
}

// New keeps the context's values but not its cancellation: a request
// context passed at start-up must not break later token fetches.
func TestNewIgnoresContextCancellation(t *testing.T) {
	emu := emulator(t)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, Config{Domain: emu.URL(), ClientID: emu.Config().ClientID, ClientSecret: emu.Config().ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{}); err != nil {
		t.Errorf("after the New context was cancelled: %v", err)
	}
}

// Any other 4xx is a refused request: neither not-found nor an outage, not
// retried, and still generic.
func TestOtherClientErrorIsRefused(t *testing.T) {
	emu := emulator(t)
	s := newStore(t, emu, Config{})
	emu.SetFault(auth0emu.RoutePatchUser, auth0emu.Fault{Status: http.StatusBadRequest})
	_, err := s.UpdateUser(context.Background(), auth0emu.SeedNewUserID, profiling.Patch{UserMetadata: map[string]any{"a": "b"}})
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
		t.Fatalf("err %v", err)
	}
	if errors.Is(err, profiling.ErrUpstreamUnavailable) || errors.Is(err, profiling.ErrUserNotFound) {
		t.Errorf("a 400 classified as %v", err)
	}
	if err.Error() != "auth0store: the user store refused the request" {
		t.Errorf("message %q", err.Error())
	}
	if n := emu.Count(auth0emu.RoutePatchUser); n != 1 {
		t.Errorf("a 400 was retried: %d PATCHes", n)
	}
}

// An enterprise user's root attributes (which go-auth0's struct drops) reach
// the snapshot, on reads and on the answer to a PATCH, and a linked
// identity's numeric user_id (as Auth0 sends GitHub's) is read as a string.
// Account attributes are left out.
func TestRootAttributesAndNumericIdentityIDsAreKept(t *testing.T) {
	emu := emulator(t)
	s := newStore(t, emu, Config{})
	body := []byte(`{"user_id":"` + auth0emu.SeedNewUserID + `","email":"new@example.com","email_verified":"true",
		"company":"Acme Corp","title":"Principal Engineer","department":"R&D","groups":["eng"],"last_ip":"192.0.2.1","blocked":false,
		"identities":[{"connection":"acme-saml","provider":"samlp","user_id":"new","isSocial":false},
			{"connection":"github","provider":"github","user_id":5551234,"isSocial":true,"profileData":{"nickname":"ghopper"}}]}`)
	want := map[string]any{"company": "Acme Corp", "title": "Principal Engineer", "department": "R&D", "groups": []any{"eng"}}
	for _, tc := range []struct {
		route auth0emu.Route
		call  func() (*profiling.User, error)
	}{
		{auth0emu.RouteGetUser, func() (*profiling.User, error) {
			u, _, err := s.User(context.Background(), auth0emu.SeedNewUserID, profiling.Read{})
			return u, err
		}},
		{auth0emu.RoutePatchUser, func() (*profiling.User, error) {
			return s.UpdateUser(context.Background(), auth0emu.SeedNewUserID, profiling.Patch{UserMetadata: map[string]any{"a": "b"}})
		}},
	} {
		emu.SetFault(tc.route, auth0emu.Fault{Body: body})
		u, err := tc.call()
		emu.ClearFaults()
		if err != nil {
			t.Fatalf("%s: %v", tc.route, err)
		}
		if !reflect.DeepEqual(u.RootAttributes, want) {
			t.Errorf("%s: root attributes %v, want %v", tc.route, u.RootAttributes, want)
		}
		if !u.EmailVerified || len(u.Identities) != 2 || u.Identities[1].UserID != "5551234" || u.Identities[1].ProfileData["nickname"] != "ghopper" {
			t.Errorf("%s: %+v", tc.route, u)
		}
	}
	// The seeded enterprise user, as the emulator shapes it.
	ent, _, err := s.User(context.Background(), auth0emu.SeedEnterpriseUserID, profiling.Read{})
	if err != nil || ent.RootAttributes["company"] != "Acme Corp" || ent.RootAttributes["department"] != "Flight Research" ||
		len(ent.Identities) != 2 || ent.Identities[1].UserID != auth0emu.SeedLinkedGitHubID || ent.Identities[0].ProfileData != nil {
		t.Errorf("enterprise user %+v, err %v", ent, err)
	}
	// A user without extra root attributes has none.
	u, _, err := s.User(context.Background(), auth0emu.SeedReturningUserID, profiling.Read{})
	if err != nil || u.RootAttributes != nil {
		t.Errorf("returning user: root attributes %v, err %v", u.RootAttributes, err)
	}
}

// Concurrent Management API calls reuse their connections: after the first
// round has opened what the concurrency needs, later rounds open (almost)
// none. Each opened connection is a TLS handshake against a real tenant.
func TestManagementAPIConnectionsAreReused(t *testing.T) {
	emu := emulator(t)
	s := newStore(t, emu, Config{})
	const concurrent, rounds = 32, 4
	round := func() {
		var wg sync.WaitGroup
		for range concurrent {
			wg.Go(func() {
				if _, _, err := s.User(context.Background(), auth0emu.SeedReturningUserID, profiling.Read{}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	round()
	first := emu.Connections()
	for range rounds - 1 {
		round()
	}
	later := emu.Connections() - first
	calls := concurrent * rounds
	t.Logf("%d calls in %d rounds of %d: %d connections in the first round, %d after (%.2f per call)",
		calls, rounds, concurrent, first, later, float64(emu.Connections())/float64(calls))
	if later > 4 {
		t.Fatalf("rounds after the first opened %d connections for %d calls: connections are not reused", later, concurrent*(rounds-1))
	}
}
