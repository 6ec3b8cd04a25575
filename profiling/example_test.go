package profiling_test

import (
	"context"
	"fmt"
	"time"

	"github.com/progressive-profiling/bff/profiling"
)

// staticStore serves one user and prints what would be written.
type staticStore struct{ user *profiling.User }

func (s staticStore) User(context.Context, string, profiling.Read) (*profiling.User, profiling.ReadInfo, error) {
	return s.user, profiling.ReadInfo{}, nil
}

func (s staticStore) UpdateUser(_ context.Context, _ string, p profiling.Patch) (*profiling.User, error) {
	fmt.Println("write user_metadata:", p.UserMetadata)
	u := *s.user
	u.UserMetadata = map[string]any{"company": p.UserMetadata["company"]}
	return &u, nil
}

func Example() {
	// The GraphQL layer derives this from UpdateProfileInput.
	schema := profiling.InputSchema{
		"firstName": profiling.KindString, "lastName": profiling.KindString,
		"company": profiling.KindString, "title": profiling.KindString,
		"phone": profiling.KindString, "subscribed": profiling.KindBoolean,
	}
	rules, err := profiling.ParseRules(profiling.DefaultRulesName, profiling.DefaultRules, schema)
	if err != nil {
		panic(err) // a bad rules file stops start-up
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	// A social login on its second visit: the identity provider gave the names.
	user := &profiling.User{
		ID: "google-oauth2|1", GivenName: "Ada", FamilyName: "Lovelace",
		LoginsCount: 2, CreatedAt: now.Add(-48 * time.Hour),
	}
	svc := profiling.NewService(rules, staticStore{user}, profiling.NoLocks{}, func() time.Time { return now })

	// A request's read requirements come from its access token.
	read := profiling.ReadForToken(profiling.Token{IssuedAt: now.Add(-time.Minute)}, now)
	profile, _, _ := svc.Profile(context.Background(), user.ID, read)
	pending, _ := profile.Pending("", nil)
	fmt.Println("stage:", profile.Stage)
	for _, p := range pending {
		fmt.Printf("ask %s (%s): %s\n", p.Field.Key, p.Field.Type, p.Reason)
	}

	out, _ := svc.Answer(context.Background(), user.ID, read, map[string]any{"company": "", "phone": "12"}, "")
	for _, p := range out.Problems {
		fmt.Println("problem:", p.Key, p.Code, p.Message)
	}
	out, _ = svc.Answer(context.Background(), user.ID, read, map[string]any{"company": " Analytical Engines "}, "")
	fmt.Println("next:", out.Pending[0].Field.Key)
	// Output:
	// stage: returning
	// ask company (TEXT): Asked on your second visit
	// ask title (TEXT): Asked on your second visit
	// problem: phone INVALID_PHONE Phone must be a valid phone number with its country code, e.g. +44 20 7946 0958
	// write user_metadata: map[company:Analytical Engines]
	// next: title
}
