package profiling

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// newUser is a database sign-up with logins logins, created age ago, with
// nothing known beyond what Auth0 fills in itself (name and nickname from
// the email address). Options adjust it.
func newUser(logins int64, age time.Duration, opts ...func(*User)) *User {
	u := &User{
		ID:          "auth0|ada",
		Email:       "ada@example.com",
		Name:        "ada@example.com",
		Nickname:    "ada",
		CreatedAt:   testNow.Add(-age),
		LastLogin:   testNow.Add(-time.Minute),
		LoginsCount: logins,
		Identities:  []Identity{{Connection: "Username-Password-Authentication", Provider: "auth0", UserID: "ada"}},
	}
	for _, o := range opts {
		o(u)
	}
	return u
}

func withUserMetadata(kv ...any) func(*User) {
	return func(u *User) {
		if u.UserMetadata == nil {
			u.UserMetadata = map[string]any{}
		}
		for i := 0; i < len(kv); i += 2 {
			u.UserMetadata[kv[i].(string)] = kv[i+1]
		}
	}
}

func withAppMetadata(key string, v any) func(*User) {
	return func(u *User) {
		if u.AppMetadata == nil {
			u.AppMetadata = map[string]any{}
		}
		u.AppMetadata[key] = v
	}
}

func withEnrichment(kv ...string) func(*User) {
	e := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		e[kv[i]] = kv[i+1]
	}
	return withAppMetadata("enrichment", e)
}

// named: the user already answered first and last name.
var named = withUserMetadata("first_name", "Ada", "last_name", "Lovelace")

func withSkipped(key string, ago time.Duration) func(*User) {
	return withAppMetadata(BookkeepingKey, map[string]any{
		"skipped": map[string]any{key: map[string]any{"at": testNow.Add(-ago).Format(time.RFC3339), "context": ""}},
	})
}

func intp(n int) *int { return &n }

func pendingKeys(t *testing.T, p []PendingField) []string {
	t.Helper()
	out := []string{}
	for _, f := range p {
		out = append(out, f.Stage+":"+f.Field.Key)
	}
	return out
}

func TestPending(t *testing.T) {
	r := mustDefaultRules(t)
	day := 24 * time.Hour
	tests := []struct {
		name    string
		user    *User
		context string
		limit   *int
		want    []string
	}{
		// Every default stage.
		{"signup: fresh sign-up is asked its name", newUser(1, time.Hour), "", nil,
			[]string{"signup:firstName", "signup:lastName"}},
		{"returning: second login asks company and title", newUser(2, day, named), "", nil,
			[]string{"returning:company", "returning:title"}},
		{"engaged by logins: fourth login adds phone", newUser(4, day, named), "", nil,
			[]string{"returning:company", "returning:title", "engaged:phone"}},
		{"engaged by age: second login 30 days after sign-up adds phone", newUser(2, 30*day, named), "", nil,
			[]string{"returning:company", "returning:title", "engaged:phone"}},
		{"not yet engaged: third login 29 days after sign-up", newUser(3, 29*day, named), "", nil,
			[]string{"returning:company", "returning:title"}},
		{"newsletter: context article asks subscribed", newUser(1, time.Hour, named), "article", nil,
			[]string{"newsletter:subscribed"}},

		// Context on and off.
		{"no context: newsletter stage does not apply", newUser(1, time.Hour, named), "", nil, []string{}},
		{"other context: newsletter stage does not apply", newUser(1, time.Hour, named), "checkout", nil, []string{}},
		{"a context stage comes first: the context is why the client asks", newUser(2, day, named), "article", nil,
			[]string{"newsletter:subscribed", "returning:company", "returning:title"}},
		{"a context stage is not crowded out by a full prompt", newUser(4, day, named), "article", nil,
			[]string{"newsletter:subscribed", "returning:company", "returning:title"}},
		{"without the context the same user gets the file order", newUser(4, day, named), "", nil,
			[]string{"returning:company", "returning:title", "engaged:phone"}},
		{"false is a known answer", newUser(1, time.Hour, named, withUserMetadata("subscribed", false), withAppMetadata(BookkeepingKey, map[string]any{
			"collected": map[string]any{"subscribed": map[string]any{"at": testNow.Add(-time.Hour).Format(time.RFC3339), "consentVersion": "2026-11"}}})), "article", nil, []string{}},
		{"a consent without its version recorded is asked again", newUser(1, time.Hour, named, withUserMetadata("subscribed", false)), "article", nil, []string{"newsletter:subscribed"}},

		// Every source kind makes a field known.
		{"root attributes from a social login", newUser(1, time.Hour, func(u *User) {
			u.GivenName, u.FamilyName = "Ada", "Lovelace"
			u.Identities = []Identity{{Connection: "google-oauth2", Provider: "google-oauth2", IsSocial: true}}
		}), "", nil, []string{}},
		{"profileData of a linked identity", newUser(2, day, named, func(u *User) {
			u.Identities = append(u.Identities, Identity{Provider: "linkedin", ProfileData: map[string]any{"company": "Analytical Engines"}})
		}), "", nil, []string{"returning:title"}},
		{"root attributes from an enterprise connection", newUser(2, day, named, func(u *User) {
			u.Identities = []Identity{{Connection: "acme-saml", Provider: "samlp"}}
			u.RootAttributes = map[string]any{"company": "Analytical Engines", "title": "Countess", "department": "R&D"}
		}), "", nil, []string{}},
		{"an enterprise attribute of the wrong type does not count", newUser(2, day, named, func(u *User) {
			u.RootAttributes = map[string]any{"company": []any{"AE"}, "title": ""}
		}), "", nil, []string{"returning:company", "returning:title"}},
		{"enrichment in app_metadata", newUser(2, day, named, withEnrichment("title", "Countess")), "", nil,
			[]string{"returning:company"}},
		{"the user's own answer in user_metadata", newUser(2, day, named, withUserMetadata("company", "AE Ltd", "title", "Engineer")), "", nil,
			[]string{}},
		{"root phone_number", newUser(4, day, named, withUserMetadata("company", "AE", "title", "Eng"), func(u *User) { u.PhoneNumber = "+14155552671" }), "", nil,
			[]string{}},
		{"enrichment of the wrong type does not count", newUser(2, day, named, withAppMetadata("enrichment", map[string]any{"company": 42.0, "title": ""})), "", nil,
			[]string{"returning:company", "returning:title"}},
		{"a blank answer does not count", newUser(1, time.Hour, withUserMetadata("first_name", "  ", "last_name", "Lovelace")), "", nil,
			[]string{"signup:firstName"}},

		// The context's stage, then earlier stages first, up to the limit.
		{"earlier stages first, capped at the policy maximum", newUser(4, day), "", nil,
			[]string{"signup:firstName", "signup:lastName", "returning:company"}},
		{"the context's stage, then earlier stages, capped", newUser(4, day), "article", nil,
			[]string{"newsletter:subscribed", "signup:firstName", "signup:lastName"}},
		{"limit 1", newUser(4, day), "", intp(1), []string{"signup:firstName"}},
		{"limit 1 in a context asks the context's field", newUser(4, day), "article", intp(1), []string{"newsletter:subscribed"}},
		{"limit above the maximum is capped", newUser(4, day), "article", intp(10),
			[]string{"newsletter:subscribed", "signup:firstName", "signup:lastName"}},
		{"limit equal to the maximum", newUser(4, day, named), "", intp(3),
			[]string{"returning:company", "returning:title", "engaged:phone"}},

		// Skips.
		{"skipped within the cool-down is not asked", newUser(2, day, named, withSkipped("company", time.Hour)), "", nil,
			[]string{"returning:title"}},
		{"skipped just inside the cool-down is not asked", newUser(2, day, named, withSkipped("company", 72*time.Hour-time.Second)), "", nil,
			[]string{"returning:title"}},
		{"skipped exactly a cool-down ago is asked again", newUser(2, day, named, withSkipped("company", 72*time.Hour)), "", nil,
			[]string{"returning:company", "returning:title"}},
		{"skipped long ago is asked again", newUser(2, day, named, withSkipped("company", 30*day)), "", nil,
			[]string{"returning:company", "returning:title"}},
		{"a skip makes room for the next field", newUser(4, day, named, withSkipped("company", time.Hour)), "", intp(2),
			[]string{"returning:title", "engaged:phone"}},
		{"malformed bookkeeping is ignored", newUser(2, day, named, withAppMetadata(BookkeepingKey, map[string]any{"skipped": map[string]any{"company": map[string]any{"at": "yesterday"}, "title": "x"}})), "", nil,
			[]string{"returning:company", "returning:title"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Profile(tt.user, testNow).Pending(tt.context, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if keys := pendingKeys(t, got); !slices.Equal(keys, tt.want) {
				t.Errorf("pending = %v, want %v", keys, tt.want)
			}
			for _, p := range got {
				if p.Reason == "" || p.Field == nil {
					t.Errorf("pending %+v lacks its reason or field", p)
				}
			}
		})
	}
}

func TestPendingReasonsComeFromTheStage(t *testing.T) {
	r := mustDefaultRules(t)
	got, err := r.Profile(newUser(2, time.Hour, named), testNow).Pending("article", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Asked while you read an article", "Asked on your second visit", "Asked on your second visit"}
	var reasons []string
	for _, p := range got {
		reasons = append(reasons, p.Reason)
	}
	if !slices.Equal(reasons, want) {
		t.Errorf("reasons = %q, want %q", reasons, want)
	}
}

func TestPendingRejectsBadArguments(t *testing.T) {
	p := mustDefaultRules(t).Profile(newUser(1, time.Hour), testNow)
	tests := []struct {
		name    string
		context string
		limit   *int
		want    ArgumentError
	}{
		{"limit 0", "", intp(0), ArgumentError{Argument: "limit", Reason: "must be at least 1"}},
		{"negative limit", "", intp(-5), ArgumentError{Argument: "limit", Reason: "must be at least 1"}},
		{"overlong context", strings.Repeat("a", 101), nil, ArgumentError{Argument: "context", Reason: "must be at most 100 characters, got 101"}},
		{"context with a newline", "article\n", nil, ArgumentError{Argument: "context", Reason: "must not contain control or invisible formatting characters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Pending(tt.context, tt.limit)
			var ae *ArgumentError
			if !errors.As(err, &ae) || *ae != tt.want {
				t.Fatalf("Pending = %v, %v; want %+v", got, err, tt.want)
			}
			if got != nil {
				t.Errorf("returned fields %v alongside the error", got)
			}
		})
	}
}

func TestProfileStage(t *testing.T) {
	r := mustDefaultRules(t)
	day := 24 * time.Hour
	tests := []struct {
		user *User
		want string
	}{
		{newUser(1, time.Hour), "signup"},
		{newUser(2, day), "returning"},
		{newUser(3, 29*day), "returning"},
		{newUser(2, 30*day), "engaged"},
		{newUser(4, day), "engaged"},
	}
	for _, tt := range tests {
		if got := r.Profile(tt.user, testNow).Stage; got != tt.want {
			t.Errorf("logins %d, age %s: stage = %q, want %q", tt.user.LoginsCount, testNow.Sub(tt.user.CreatedAt), got, tt.want)
		}
	}

	// No stage holds: the stage is "".
	rules, err := ParseRules("rules.yaml", rulesFile{stages: "stages:\n  - name: later\n    when: user.logins_count > 10\n    reason: r\n    fields: [firstName]\n"}.bytes(), apiSchema)
	if err != nil {
		t.Fatal(err)
	}
	if got := rules.Profile(newUser(1, time.Hour), testNow).Stage; got != "" {
		t.Errorf("stage with no stage holding = %q, want empty", got)
	}
}

func TestProfileValuesAndCompletion(t *testing.T) {
	r := mustDefaultRules(t)
	collectedAt := testNow.Add(-48 * time.Hour).Truncate(time.Second)
	u := newUser(2, time.Hour,
		func(u *User) {
			u.GivenName = "Ada"
			u.Identities = append(u.Identities, Identity{Provider: "github", ProfileData: map[string]any{"family_name": ""}},
				Identity{Provider: "linkedin", ProfileData: map[string]any{"family_name": "Lovelace"}})
		},
		withUserMetadata("company", "AE Ltd", "first_name", nil),
		withEnrichment("title", "Countess", "company", "Enriched Ltd"),
		withAppMetadata("roles", []any{"admin", 7, "editor"}),
		withAppMetadata(BookkeepingKey, map[string]any{"collected": map[string]any{
			"company": map[string]any{"at": collectedAt.Format(time.RFC3339), "stage": "returning", "context": "settings"},
			"title":   map[string]any{"at": collectedAt.Format(time.RFC3339), "stage": "returning", "context": ""},
		}}),
	)
	p := r.Profile(u, testNow)

	type summary struct {
		known  bool
		value  any
		source SourceKind
		at     time.Time
		stage  string
		ctx    string
	}
	want := map[string]summary{
		"firstName":  {true, "Ada", SourceIdentityProvider, time.Time{}, "", ""},         // root given_name; null answer ignored
		"lastName":   {true, "Lovelace", SourceIdentityProvider, time.Time{}, "", ""},    // second linked identity; empty one skipped
		"company":    {true, "AE Ltd", SourceUser, collectedAt, "returning", "settings"}, // user's answer beats enrichment
		"title":      {true, "Countess", SourceEnrichment, time.Time{}, "", ""},          // bookkeeping only applies to the user's answer
		"phone":      {false, nil, "", time.Time{}, "", ""},
		"subscribed": {false, nil, "", time.Time{}, "", ""},
	}
	if len(p.Values) != len(r.Fields()) {
		t.Fatalf("%d values for %d fields", len(p.Values), len(r.Fields()))
	}
	for i, v := range p.Values {
		if v.Field != r.Fields()[i] {
			t.Errorf("value %d is for %s, want catalogue order", i, v.Field.Key)
		}
		got := summary{v.Known, v.Value, v.Source, v.CollectedAt, v.Stage, v.Context}
		if got != want[v.Field.Key] {
			t.Errorf("%s = %+v, want %+v", v.Field.Key, got, want[v.Field.Key])
		}
		if byKey, ok := p.Value(v.Field.Key); !ok || byKey != v {
			t.Errorf("Value(%q) = %+v, %v", v.Field.Key, byKey, ok)
		}
	}
	if _, ok := p.Value("fax"); ok {
		t.Error("Value(fax) found a field outside the catalogue")
	}
	if p.Completion != 4.0/6.0 {
		t.Errorf("completion = %v, want 4/6", p.Completion)
	}
	if !slices.Equal(p.Roles, []string{"admin", "editor"}) {
		t.Errorf("roles = %v", p.Roles)
	}
}

func TestCompletion(t *testing.T) {
	r := mustDefaultRules(t)
	all := newUser(1, time.Hour, withUserMetadata("first_name", "A", "last_name", "L", "company", "C", "title", "T", "phone", "+14155552671", "subscribed", true))
	for _, tt := range []struct {
		user *User
		want float64
	}{
		{newUser(1, time.Hour), 0},
		{newUser(1, time.Hour, named), 2.0 / 6.0},
		{all, 1},
		{nil, 0},
	} {
		if got := r.Profile(tt.user, testNow).Completion; got != tt.want {
			t.Errorf("completion = %v, want %v", got, tt.want)
		}
	}
}

// A condition that fails at run time makes its stage not apply and is
// reported; it never fails the request or panics.
func TestConditionRuntimeErrors(t *testing.T) {
	data := rulesFile{stages: `stages:
  - name: pro
    when: user.app_metadata.plan == "pro"
    reason: Pro users
    fields: [firstName]
  - name: expensive
    when: user.app_metadata.?items.orValue([]).all(x, user.app_metadata.items.all(y, x != y || true))
    reason: Too costly to evaluate for big lists
    fields: [subscribed]
`}.bytes()
	rules, err := ParseRules("rules.yaml", data, apiSchema)
	if err != nil {
		t.Fatal(err)
	}
	var reported []string
	rules = rules.WithConditionErrorHandler(func(e *ConditionError) {
		reported = append(reported, fmt.Sprintf("%s/%s/%s", e.Stage, e.UserID, e.Context))
		if e.Err == nil || !strings.Contains(e.Error(), e.Stage) {
			t.Errorf("error %v lacks its cause or stage", e)
		}
		if e.Stage == "expensive" && !strings.Contains(e.Err.Error(), "cost limit exceeded") {
			t.Errorf("expensive stage failed with %v, want the cost limit", e.Err)
		}
	})

	items := make([]any, 1000)
	for i := range items {
		items[i] = float64(i)
	}
	tests := []struct {
		name     string
		user     *User
		want     []string
		reported []string
	}{
		{"missing key: stage does not apply", newUser(1, time.Hour), []string{"expensive:subscribed"}, []string{"pro/auth0|ada/", "pro/auth0|ada/ctx"}}, // Profile.Stage, then Pending
		{"key present: stage applies", newUser(1, time.Hour, withAppMetadata("plan", "pro")), []string{"pro:firstName", "expensive:subscribed"}, nil},
		{"over the cost limit: stage does not apply", newUser(1, time.Hour, withAppMetadata("plan", "pro"), withAppMetadata("items", items)),
			[]string{"pro:firstName"}, []string{"expensive/auth0|ada/", "expensive/auth0|ada/ctx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reported = nil
			got, err := rules.Profile(tt.user, testNow).Pending("ctx", nil)
			if err != nil {
				t.Fatal(err)
			}
			if keys := pendingKeys(t, got); !slices.Equal(keys, tt.want) {
				t.Errorf("pending = %v, want %v", keys, tt.want)
			}
			if !slices.Equal(reported, tt.reported) {
				t.Errorf("reported = %v, want %v", reported, tt.reported)
			}
		})
	}

	// Without a handler the failure is silent and still not fatal.
	plain, _ := ParseRules("rules.yaml", data, apiSchema)
	if got, err := plain.Profile(newUser(1, time.Hour), testNow).Pending("", nil); err != nil || len(got) != 1 {
		t.Errorf("pending without handler = %v, %v", got, err)
	}
}

// Conditions see the typed user: every declared attribute is readable.
// Conditions whose static cost estimate fits the limit run without a cost
// tracker; the default rules' do, so the prompt pays for none.
func TestBoundedConditionsRunUntracked(t *testing.T) {
	vars := newActivation(&conditionUser{}, "", testNow)
	for _, s := range mustDefaultRules(t).stages {
		if _, det, err := s.cond.program.Eval(&vars); err != nil || (det != nil && det.ActualCost() != nil) {
			t.Errorf("stage %s: err %v, cost tracked: %v", s.Name, err, det != nil && det.ActualCost() != nil)
		}
	}
	unbounded, err := compileCondition(`user.identities.exists(i, i.is_social)`)
	if err != nil {
		t.Fatal(err)
	}
	if _, det, _ := unbounded.program.Eval(&vars); det == nil || det.ActualCost() == nil {
		t.Error("a condition whose cost grows with the user's data must keep the run-time limit")
	}
}

func TestConditionSeesTheUser(t *testing.T) {
	conds := []string{
		`user.user_id == "auth0|ada"`,
		`user.email == "ada@example.com" && user.email_verified`,
		`user.logins_count == 2`,
		`now - user.created_at == duration("48h")`,
		`now - user.last_login == duration("1m")`,
		`user.provider == "google-oauth2" && user.connection == "google" && user.is_social`,
		`user.identities.size() == 2 && user.identities[1].profile_data.company == "AE"`,
		`user.user_metadata.first_name == "Ada"`,
		`user.app_metadata.score > 3`, // JSON doubles compare with ints
		`context == "article"`,
	}
	u := newUser(2, 48*time.Hour, named, withAppMetadata("score", 4.5), func(u *User) {
		u.EmailVerified = true
		u.Identities = []Identity{
			{Provider: "google-oauth2", Connection: "google", IsSocial: true},
			{Provider: "linkedin", ProfileData: map[string]any{"company": "AE"}},
		}
	})
	for _, c := range conds {
		data := rulesFile{stages: fmt.Sprintf("stages:\n  - name: s\n    when: '%s'\n    reason: r\n    fields: [firstName, subscribed]\n", c)}.bytes()
		rules, err := ParseRules("rules.yaml", data, apiSchema)
		if err != nil {
			t.Errorf("%s: %v", c, err)
			continue
		}
		rules = rules.WithConditionErrorHandler(func(e *ConditionError) { t.Errorf("%s: %v", c, e) })
		got, _ := rules.Profile(u, testNow).Pending("article", nil)
		if keys := pendingKeys(t, got); !slices.Equal(keys, []string{"s:subscribed"}) {
			t.Errorf("%s: pending = %v, want the stage to apply", c, keys)
		}
	}

	// A user who never logged in has last_login at the Unix epoch.
	never := newUser(0, time.Hour, func(u *User) { u.LastLogin = time.Time{} })
	data := rulesFile{stages: "stages:\n  - name: s\n    when: user.last_login == timestamp(0)\n    reason: r\n    fields: [firstName]\n"}.bytes()
	rules, err := ParseRules("rules.yaml", data, apiSchema)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := rules.Profile(never, testNow).Pending("", nil); len(got) != 1 {
		t.Errorf("never-logged-in user: pending = %v, want the stage to apply", pendingKeys(t, got))
	}
}
