package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/internal/syncbuf"
)

// These tests walk the seeded users through the stages the way a client
// does: log in through the emulator's password grant, then talk GraphQL to the
// real HTTP server, which reads and writes through go-auth0 and real Redis.

const viewerQuery = `query($context: String) {
  viewer {
    id email stage completion loginsCount
    firstName lastName company title phone subscribed roles
    fields { key known value source collectedAt collectedInStage collectedInContext }
    pendingFields(context: $context) { key label type required options { value label } placeholder minLength maxLength stage reason }
  }
}`

const updateMutation = `mutation($input: UpdateProfileInput!) {
  updateProfile(input: $input) {
    viewer { firstName lastName company title phone subscribed completion }
    pendingFields { key stage }
    userErrors { field message code }
  }
}`

const skipMutation = `mutation($keys: [String!]!, $context: String) {
  skipFields(input: { keys: $keys, context: $context }) {
    pendingFields { key }
    userErrors { field message code }
  }
}`

func (e *testEnv) viewer(token, interaction string) map[string]any {
	e.t.Helper()
	vars := map[string]any{}
	if interaction != "" {
		vars["context"] = interaction
	}
	return e.gql(token, viewerQuery, vars).mustData(e.t)["viewer"].(map[string]any)
}

func (e *testEnv) update(token string, input map[string]any) map[string]any {
	e.t.Helper()
	return e.gql(token, updateMutation, map[string]any{"input": input}).mustData(e.t)["updateProfile"].(map[string]any)
}

func (e *testEnv) skip(token string, keys []string, interaction string) map[string]any {
	e.t.Helper()
	vars := map[string]any{"keys": keys}
	if interaction != "" {
		vars["context"] = interaction
	}
	return e.gql(token, skipMutation, vars).mustData(e.t)["skipFields"].(map[string]any)
}

func fieldValue(viewer map[string]any, key string) map[string]any {
	for _, f := range viewer["fields"].([]any) {
		if f.(map[string]any)["key"] == key {
			return f.(map[string]any)
		}
	}
	return nil
}

func TestNewUserIsAskedStageByStage(t *testing.T) {
	e := startService(t)
	token := e.login("new@example.com") // first login

	v := e.viewer(token, "")
	if v["stage"] != "signup" || !equal(keys(v["pendingFields"]), []string{"firstName", "lastName"}) {
		t.Fatalf("first visit: stage %v, pending %v; want signup, [firstName lastName]", v["stage"], keys(v["pendingFields"]))
	}
	first := v["pendingFields"].([]any)[0].(map[string]any)
	if first["label"] != "First name" || first["type"] != "TEXT" || first["required"] != true || first["reason"] != "Asked when you sign up" || first["stage"] != "signup" || first["maxLength"] != float64(100) {
		t.Errorf("firstName prompt lacks what a client renders from: %v", first)
	}

	// Bad answers: every problem at once, nothing written.
	bad := e.update(token, map[string]any{"firstName": "   ", "lastName": "Love\u0007lace", "phone": "12"})
	problems := map[string]string{}
	for _, ue := range bad["userErrors"].([]any) {
		m := ue.(map[string]any)
		problems[strings.Join(toStrings(m["field"]), ".")] = m["code"].(string)
		if m["message"] == "" {
			t.Errorf("userError without a message: %v", m)
		}
	}
	want := map[string]string{"input.firstName": "REQUIRED", "input.lastName": "INVALID_CHARACTERS", "input.phone": "INVALID_PHONE"}
	if len(problems) != len(want) {
		t.Fatalf("userErrors %v, want %v", problems, want)
	}
	for k, code := range want {
		if problems[k] != code {
			t.Errorf("userError %s = %q, want %q", k, problems[k], code)
		}
	}
	if n := len(e.emu.Patches()); n != 0 {
		t.Fatalf("%d PATCHes reached Auth0 for an input with userErrors", n)
	}

	// Good answers are trimmed and saved; nothing more to ask on visit one.
	ok := e.update(token, map[string]any{"firstName": " Ada ", "lastName": "Lovelace"})
	if len(ok["userErrors"].([]any)) != 0 {
		t.Fatalf("userErrors for valid answers: %v", ok["userErrors"])
	}
	if path(ok, "viewer", "firstName") != "Ada" || len(ok["pendingFields"].([]any)) != 0 {
		t.Fatalf("after answering: %v", ok)
	}
	stored, _ := e.emu.User(auth0emu.SeedNewUserID)
	if path(stored, "user_metadata", "first_name") != "Ada" || path(stored, "user_metadata", "last_name") != "Lovelace" {
		t.Fatalf("Auth0 user_metadata = %v", stored["user_metadata"])
	}
	v = e.viewer(token, "")
	fn := fieldValue(v, "firstName")
	if fn["source"] != "USER" || fn["collectedAt"] == nil || fn["collectedInStage"] != "signup" {
		t.Errorf("firstName provenance = %v", fn)
	}

	// Second visit: the returning stage.
	token = e.login("new@example.com")
	v = e.viewer(token, "")
	if v["stage"] != "returning" || !equal(keys(v["pendingFields"]), []string{"company", "title"}) {
		t.Fatalf("second visit: stage %v, pending %v", v["stage"], keys(v["pendingFields"]))
	}
	if reason := v["pendingFields"].([]any)[0].(map[string]any)["reason"]; reason != "Asked on your second visit" {
		t.Errorf("company reason = %v", reason)
	}

	// "Not now" on company; reading an article asks the newsletter question
	// first: the context is why the client asks.
	s := e.skip(token, []string{"company"}, "")
	if len(s["userErrors"].([]any)) != 0 || !equal(keys(s["pendingFields"]), []string{"title"}) {
		t.Fatalf("after skipping company: %v", s)
	}
	if got := keys(e.viewer(token, "article")["pendingFields"]); !equal(got, []string{"subscribed", "title"}) {
		t.Fatalf("pending in context article = %v", got)
	}

	// Fourth visit: engaged asks for the phone; company stays skipped.
	e.login("new@example.com")
	token = e.login("new@example.com")
	v = e.viewer(token, "")
	if v["loginsCount"] != float64(4) || !equal(keys(v["pendingFields"]), []string{"title", "phone"}) {
		t.Fatalf("fourth visit: logins %v, pending %v", v["loginsCount"], keys(v["pendingFields"]))
	}
	ok = e.update(token, map[string]any{"phone": "+44 20 7946 0958", "subscribed": true, "context": "article"})
	if len(ok["userErrors"].([]any)) != 0 || path(ok, "viewer", "phone") != "+442079460958" || path(ok, "viewer", "subscribed") != true {
		t.Fatalf("phone answer: %v", ok)
	}
	sub := fieldValue(e.viewer(token, ""), "subscribed")
	if sub["collectedInContext"] != "article" || sub["collectedInStage"] != "newsletter" {
		t.Errorf("subscribed provenance = %v", sub)
	}

	// Explicit null clears an optional answer; absent fields stay.
	e.update(token, map[string]any{"title": "Analyst"})
	cleared := e.update(token, map[string]any{"title": nil})
	if path(cleared, "viewer", "title") != nil || path(cleared, "viewer", "phone") != "+442079460958" {
		t.Fatalf("after clearing title: %v", cleared["viewer"])
	}
	if got := keys(cleared["pendingFields"]); !equal(got, []string{"title"}) {
		t.Fatalf("cleared title should be asked again: pending %v", got)
	}
	// A required answer cannot be cleared.
	req := e.update(token, map[string]any{"firstName": nil})
	if codes := codesOf(req); !equal(codes, []string{"REQUIRED"}) {
		t.Fatalf("clearing firstName: userErrors %v", req["userErrors"])
	}
}

func TestKnownValuesAreNeverAsked(t *testing.T) {
	e := startService(t)

	t.Run("social login supplied the names", func(t *testing.T) {
		token := e.login("social@example.com") // second login: returning
		v := e.viewer(token, "")
		if v["firstName"] != "Grace" || fieldValue(v, "firstName")["source"] != "IDENTITY_PROVIDER" {
			t.Errorf("firstName %v from %v", v["firstName"], fieldValue(v, "firstName")["source"])
		}
		if got := keys(v["pendingFields"]); !equal(got, []string{"company", "title"}) {
			t.Errorf("pending %v, want [company title]", got)
		}
	})
	t.Run("enrichment supplied company and title", func(t *testing.T) {
		token := e.login("enriched@example.com") // second login: returning
		v := e.viewer(token, "")
		if v["company"] != "Initech" || fieldValue(v, "company")["source"] != "ENRICHMENT" {
			t.Errorf("company %v from %v", v["company"], fieldValue(v, "company")["source"])
		}
		if got := keys(v["pendingFields"]); !equal(got, []string{"firstName", "lastName"}) {
			t.Errorf("pending %v, want the names only", got)
		}
	})
	t.Run("enterprise connection supplied names, company and title", func(t *testing.T) {
		token := e.login("enterprise@example.com") // second login: returning
		v := e.viewer(token, "")
		if v["company"] != "Acme Corp" || fieldValue(v, "company")["source"] != "IDENTITY_PROVIDER" ||
			v["title"] != "Principal Engineer" || v["firstName"] != "Katherine" {
			t.Errorf("company %v from %v, title %v, firstName %v", v["company"], fieldValue(v, "company")["source"], v["title"], v["firstName"])
		}
		if got := keys(v["pendingFields"]); len(got) != 0 {
			t.Errorf("pending %v, want nothing", got)
		}
	})
	t.Run("returning user answered the names earlier", func(t *testing.T) {
		token := e.login("returning@example.com") // fourth login: engaged
		v := e.viewer(token, "")
		if got := keys(v["pendingFields"]); !equal(got, []string{"company", "title", "phone"}) {
			t.Errorf("pending %v, want [company title phone]", got)
		}
		if fn := fieldValue(v, "firstName"); fn["source"] != "USER" || fn["collectedAt"] == nil {
			t.Errorf("firstName provenance %v", fn)
		}
		if roles := toStrings(v["roles"]); !equal(roles, []string{"beta-tester"}) {
			t.Errorf("roles %v", roles)
		}
		if got := keys(e.gql(token, `{ pendingFields(limit: 1) { key } }`, nil).mustData(t)["pendingFields"]); !equal(got, []string{"company"}) {
			t.Errorf("limit 1: %v", got)
		}
	})
}

func TestPendingFieldsLimitMustBePositive(t *testing.T) {
	e := startService(t)
	r := e.gql(e.login("new@example.com"), `{ pendingFields(limit: 0) { key } }`, nil)
	if r.code(0) != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "limit") {
		t.Fatalf("limit 0: %s", r.Raw)
	}
}

func TestSkippedFieldReturnsAfterCooldown(t *testing.T) {
	rules := strings.Replace(string(mustRead(t, "profiling/default_rules.yaml")), "skipCooldown: 72h", "skipCooldown: 1s", 1)
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startService(t, withEnv("PROFILING_RULES", file))
	token := e.login("new@example.com")
	if s := e.skip(token, []string{"firstName"}, ""); !equal(keys(s["pendingFields"]), []string{"lastName"}) {
		t.Fatalf("after skip: %v", s)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if got := keys(e.viewer(token, "")["pendingFields"]); equal(got, []string{"firstName", "lastName"}) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("skipped firstName never came back after its 1s cool-down")
}

func TestAnonymousAndInvalidCallers(t *testing.T) {
	e := startService(t)

	r := e.gql("", `{ viewer { id } }`, nil)
	if r.Status != http.StatusOK || r.Data == nil || r.Data["viewer"] != nil || r.code(0) != "UNAUTHENTICATED" {
		t.Fatalf("anonymous viewer: %s", r.Raw)
	}
	if r := e.gql("", `{ __typename }`, nil); path(r.mustData(t), "__typename") != "Query" {
		t.Fatalf("anonymous __typename: %s", r.Raw)
	}
	for name, op := range map[string]string{
		"pendingFields": `{ pendingFields { key } }`,
		"updateProfile": `mutation { updateProfile(input: { firstName: "Eve" }) { userErrors { code } } }`,
		"skipFields":    `mutation { skipFields(input: { keys: ["company"] }) { userErrors { code } } }`,
	} {
		if r := e.gql("", op, nil); r.code(0) != "UNAUTHENTICATED" {
			t.Errorf("anonymous %s: %s", name, r.Raw)
		}
	}

	r = e.gql("not.a.token", `{ viewer { id } }`, nil)
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("invalid token: status %d, challenge %q", r.Status, r.Header.Get("WWW-Authenticate"))
	}

	// A machine-to-machine token for this very API names no user.
	resp, err := http.PostForm(e.emu.URL()+"/oauth/token", map[string][]string{
		"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testClientSecret}, "audience": {testAudience},
	})
	if err != nil {
		t.Fatal(err)
	}
	var m2m struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&m2m)
	resp.Body.Close()
	if m2m.AccessToken == "" {
		t.Fatal("emulator issued no client-credentials token")
	}
	if r := e.gql(m2m.AccessToken, `{ viewer { id } }`, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("machine-to-machine token: status %d %s", r.Status, r.Raw)
	}
	if n := e.emu.Count(auth0emu.RouteGetUser); n != 0 {
		t.Fatalf("%d user reads reached Auth0 for callers without a valid user token", n)
	}
}

func TestNoInputReachesAppMetadataOrRootAttributes(t *testing.T) {
	e := startService(t)
	token := e.login("returning@example.com")
	before, _ := e.emu.User(auth0emu.SeedReturningUserID)

	for name, op := range map[string]string{
		"email":        `mutation { updateProfile(input: { email: "evil@example.com" }) { userErrors { code } } }`,
		"app_metadata": `mutation { updateProfile(input: { app_metadata: { roles: ["admin"] } }) { userErrors { code } } }`,
		"blocked":      `mutation { updateProfile(input: { blocked: true }) { userErrors { code } } }`,
	} {
		if r := e.gql(token, op, nil); r.code(0) != "GRAPHQL_VALIDATION_FAILED" {
			t.Errorf("%s: %s", name, r.Raw)
		}
	}
	s := e.skip(token, []string{"app_metadata", "email", "roles"}, "")
	if codes := codesOf(s); !equal(codes, []string{"UNKNOWN_FIELD", "UNKNOWN_FIELD", "UNKNOWN_FIELD"}) {
		t.Errorf("skipping non-catalogue keys: %v", s["userErrors"])
	}
	if n := len(e.emu.Patches()); n != 0 {
		t.Fatalf("%d PATCHes sent for hostile inputs", n)
	}

	// A valid answer writes only its user_metadata key and the bookkeeping.
	e.update(token, map[string]any{"company": "Acme"})
	patches := e.emu.Patches()
	if len(patches) != 1 {
		t.Fatalf("%d PATCHes for one answer", len(patches))
	}
	var body map[string]map[string]any
	if err := json.Unmarshal(patches[0].Body, &body); err != nil {
		t.Fatalf("PATCH body %s: %v", patches[0].Body, err)
	}
	if len(body) != 2 || len(body["user_metadata"]) != 1 || body["user_metadata"]["company"] != "Acme" || len(body["app_metadata"]) != 1 || body["app_metadata"]["progressive_profiling"] == nil {
		t.Fatalf("PATCH body %s: want only user_metadata.company and app_metadata.progressive_profiling", patches[0].Body)
	}
	after, _ := e.emu.User(auth0emu.SeedReturningUserID)
	for _, attr := range []string{"email", "email_verified", "blocked", "given_name"} {
		if jsonOf(before[attr]) != jsonOf(after[attr]) {
			t.Errorf("%s changed: %v -> %v", attr, before[attr], after[attr])
		}
	}
	if jsonOf(path(before, "app_metadata", "roles")) != jsonOf(path(after, "app_metadata", "roles")) {
		t.Errorf("roles changed")
	}
}

func TestBadRulesStopStartup(t *testing.T) {
	rules := strings.Replace(string(mustRead(t, "profiling/default_rules.yaml")), "when: user.logins_count >= 2", "when: user.login_count >= 2", 1)
	file := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(file, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PORT": "0", "PROFILING_RULES": file, "DEV_AUTH0_ADDR": "127.0.0.1:0"}
	err := run(t.Context(), func(k string) string { return env[k] }, &syncbuf.Buffer{}, &syncbuf.Buffer{})
	if err == nil {
		t.Fatal("service started with a misspelt condition")
	}
	for _, part := range []string{file, `"returning"`, "login_count"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not name %s", err, part)
		}
	}
}

// Issue 3's figures, read off the emulator: what the cache saves Auth0.
func TestCacheSavesAuth0Reads(t *testing.T) {
	e := startService(t)
	token := e.login("social@example.com")

	e.viewer(token, "") // cold: one read
	e.emu.ResetCounters()
	e.viewer(token, "")
	if n := e.emu.Count(auth0emu.RouteGetUser); n != 0 {
		t.Errorf("cache hit cost %d Auth0 reads, want 0", n)
	}

	cold := e.login("enriched@example.com")
	e.emu.ResetCounters()
	var wg sync.WaitGroup
	failures := make(chan string, 200)
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.gql(cold, `{ viewer { company } }`, nil)
			if path(r.Data, "viewer", "company") != "Initech" {
				failures <- r.Raw
			}
		}()
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Fatalf("concurrent read failed: %s", f)
	}
	if n := e.emu.Count(auth0emu.RouteGetUser); n != 1 {
		t.Errorf("200 concurrent cold reads cost %d Auth0 reads, want 1", n)
	}

	e.emu.ResetCounters()
	e.update(token, map[string]any{"company": "Hopper Labs"})
	if got := e.viewer(token, "")["company"]; got != "Hopper Labs" {
		t.Errorf("read after answer: company %v", got)
	}
	if n := e.emu.Count(auth0emu.RouteGetUser); n != 0 {
		t.Errorf("answer then read cost %d Auth0 reads, want 0", n)
	}
	if n := e.emu.Count(auth0emu.RoutePatchUser); n != 1 {
		t.Errorf("one answer cost %d PATCHes, want 1", n)
	}
	t.Logf("cache: hit 0 reads; 200 concurrent cold reads 1 read; answer+read 0 reads, 1 patch")
}

func codesOf(payload map[string]any) []string {
	var out []string
	for _, ue := range payload["userErrors"].([]any) {
		out = append(out, ue.(map[string]any)["code"].(string))
	}
	return out
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A refused interaction context is a userError like any other refused input,
// not a request error that hides the payload.
func TestBadContextIsAUserError(t *testing.T) {
	e := startService(t)
	token := e.login("new@example.com")
	long := strings.Repeat("x", 500)
	for name, payload := range map[string]map[string]any{
		"updateProfile": e.update(token, map[string]any{"firstName": "Ada", "context": long}),
		"skipFields":    e.skip(token, []string{"lastName"}, long),
	} {
		errs := payload["userErrors"].([]any)
		if len(errs) != 1 || strings.Join(toStrings(errs[0].(map[string]any)["field"]), ".") != "input.context" {
			t.Errorf("%s with a 500-character context: userErrors %v", name, errs)
		}
		if got := keys(payload["pendingFields"]); !equal(got, []string{"firstName", "lastName"}) {
			t.Errorf("%s: pendingFields %v, want the context-free prompt", name, got)
		}
	}
	if n := len(e.emu.Patches()); n != 0 {
		t.Fatalf("%d PATCHes despite a refused context", n)
	}
}
