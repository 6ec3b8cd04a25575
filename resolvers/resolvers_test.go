package resolvers_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/progressive-profiling/bff/auth"
	"github.com/progressive-profiling/bff/graphqlapi"
	"github.com/progressive-profiling/bff/internal/testkit"
	"github.com/progressive-profiling/bff/profiling"
)

// The resolver tier: the real GraphQL handler, rules and Service over the
// test kit's in-memory store, driven by gqlgen's client in-process. A
// resolver bug shows here in milliseconds, without a server, Redis or the
// emulator; the end-to-end suite in package main covers those.

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// tier is a handler signed in as userID, over store.
func tier(t *testing.T, store *testkit.Users, userID string) *client.Client {
	t.Helper()
	rules, err := profiling.ParseRules(profiling.DefaultRulesName, profiling.DefaultRules, graphqlapi.ProfileInputSchema())
	if err != nil {
		t.Fatal(err)
	}
	svc := profiling.NewService(rules, store, profiling.NoLocks{}, func() time.Time { return now })
	h := graphqlapi.NewHandler(svc, graphqlapi.HandlerOptions{})
	signedIn := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := &auth.Principal{UserID: userID, IssuedAt: now.Add(-time.Hour), FirstSeen: now.Add(-time.Hour)}
		h.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
	return client.New(signedIn, client.Path("/graphql"))
}

func user(id string, logins int64, meta map[string]any) *profiling.User {
	return &profiling.User{ID: id, Email: id + "@example.com", LoginsCount: logins, CreatedAt: now.Add(-24 * time.Hour),
		UpdatedAt: now.Add(-time.Hour), UserMetadata: meta}
}

type pending struct {
	Key, Label, Type, Stage, Reason string
	Required                        bool
	Options                         []struct{ Value, Label string }
}

func TestPromptForANewUser(t *testing.T) {
	c := tier(t, testkit.NewUsers(user("auth0|new", 1, nil)), "auth0|new")
	var resp struct {
		Viewer struct {
			ID         string
			Stage      *string
			Completion float64
		}
		PendingFields []pending
	}
	c.MustPost(`{ viewer { id stage completion } pendingFields { key label type required options { value label } stage reason } }`, &resp)
	if resp.Viewer.ID != "auth0|new" || resp.Viewer.Stage == nil || *resp.Viewer.Stage != "signup" || resp.Viewer.Completion != 0 {
		t.Errorf("viewer %+v", resp.Viewer)
	}
	if got := keysOf(resp.PendingFields); fmt.Sprint(got) != "[firstName lastName]" {
		t.Fatalf("pending %v, want [firstName lastName]", got)
	}
	if f := resp.PendingFields[0]; f.Type != "TEXT" || !f.Required || f.Label == "" || f.Stage != "signup" || f.Reason == "" || f.Options == nil {
		t.Errorf("firstName descriptor %+v", f)
	}
}

// Refused answers come back as userErrors beside their input, and nothing
// is written; a good answer is written once and changes what is asked.
func TestAnswersThroughTheResolvers(t *testing.T) {
	store := testkit.NewUsers(user("auth0|ada", 2, map[string]any{"first_name": "Ada", "last_name": "Lovelace"}))
	c := tier(t, store, "auth0|ada")
	const mutation = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) {
		viewer { company } pendingFields { key } userErrors { field code message } } }`
	type payload struct {
		UpdateProfile struct {
			Viewer        struct{ Company *string }
			PendingFields []pending
			UserErrors    []struct {
				Field         []string
				Code, Message string
			}
		}
	}
	var bad payload
	c.MustPost(mutation, &bad, client.Var("input", map[string]any{"company": "AE", "phone": "12"}))
	if errs := bad.UpdateProfile.UserErrors; len(errs) != 1 || errs[0].Code != "INVALID_PHONE" || fmt.Sprint(errs[0].Field) != "[input phone]" {
		t.Fatalf("userErrors %+v", errs)
	}
	if store.Updates() != 0 || bad.UpdateProfile.Viewer.Company != nil {
		t.Fatalf("a refused answer wrote %d updates (company %v)", store.Updates(), bad.UpdateProfile.Viewer.Company)
	}
	var good payload
	c.MustPost(mutation, &good, client.Var("input", map[string]any{"company": "AE"}))
	if good.UpdateProfile.Viewer.Company == nil || *good.UpdateProfile.Viewer.Company != "AE" || len(good.UpdateProfile.UserErrors) != 0 {
		t.Fatalf("good answer: %+v", good.UpdateProfile)
	}
	if got := keysOf(good.UpdateProfile.PendingFields); fmt.Sprint(got) != "[title]" || store.Updates() != 1 {
		t.Fatalf("after answering company: pending %v, %d updates", got, store.Updates())
	}
}

func TestSkipThroughTheResolvers(t *testing.T) {
	store := testkit.NewUsers(user("auth0|ada", 2, map[string]any{"first_name": "Ada", "last_name": "Lovelace"}))
	c := tier(t, store, "auth0|ada")
	var resp struct {
		SkipFields struct {
			PendingFields []pending
			UserErrors    []struct{ Code string }
		}
	}
	c.MustPost(`mutation { skipFields(input: {keys: ["company"]}) { pendingFields { key } userErrors { code } } }`, &resp)
	if got := keysOf(resp.SkipFields.PendingFields); fmt.Sprint(got) != "[title]" || len(resp.SkipFields.UserErrors) != 0 {
		t.Fatalf("after skipping company: pending %v, errors %v", got, resp.SkipFields.UserErrors)
	}
	c.MustPost(`mutation { skipFields(input: {keys: ["company"]}) { pendingFields { key } userErrors { code } } }`, &resp)
	if store.Updates() != 1 {
		t.Fatalf("a repeated skip wrote again: %d updates", store.Updates())
	}
}

func keysOf(fields []pending) []string {
	var out []string
	for _, f := range fields {
		out = append(out, f.Key)
	}
	return out
}
