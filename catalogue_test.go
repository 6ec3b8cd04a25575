package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/progressive-profiling/bff/internal/auth0emu"
	"github.com/progressive-profiling/bff/profiling"
)

// rulesOnlyFields is the default rules plus two fields the GraphQL schema
// has no typed input for: adding them is a rules-file change and nothing
// else.
const rulesOnlyFields = `
  - key: industry
    label: Industry
    type: SELECT
    store: industry
    sources: [app_metadata.enrichment.industry]
    options:
      - {value: retail, label: Retail}
      - {value: software, label: Software}
  - key: department
    label: Department
    type: TEXT
    store: department
    sources: [department]
    minLength: 2
    maxLength: 60
`

const rulesOnlyStage = `
  - name: work
    when: "true"
    reason: Helps us show you what matters at work
    fields: [industry, department]
`

// writeRules writes the default rules with extra fields and stages and
// returns the file's path.
func writeRules(t *testing.T, edit func(string) string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(edit(string(profiling.DefaultRules))), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func withRulesOnlyFields(s string) string {
	s = strings.Replace(s, "\n# ---------------------------------------------------------------------------\n# stages:", rulesOnlyFields+"\n# ---------------------------------------------------------------------------\n# stages:", 1)
	return strings.Replace(s, "\nstages:\n", "\nstages:\n"+rulesOnlyStage, 1)
}

const byKeyMutation = `mutation($input: UpdateProfileInput!) {
  updateProfile(input: $input) {
    viewer { industry: field(key: "industry") { value source known } department: field(key: "department") { value source } }
    pendingFields { key }
    userErrors { field message code }
  }
}`

// TestRulesOnlyFieldsEndToEnd: a SELECT and a TEXT field declared only in
// the rules file are asked, validated by their catalogue type, stored,
// readable by key and never asked once known (from an answer or a source).
func TestRulesOnlyFieldsEndToEnd(t *testing.T) {
	e := startService(t, withEnv("PROFILING_RULES", writeRules(t, withRulesOnlyFields)))
	token := e.login("new@example.com")

	v := e.gql(token, `{ viewer { pendingFields(limit: 3) { key type options { value label } minLength maxLength stage reason } } }`, nil).mustData(t)
	pending := path(v, "viewer", "pendingFields").([]any)
	if got := keys(pending); !equal(got, []string{"industry", "department", "firstName"}) {
		t.Fatalf("pending %v, want the work stage's industry and department first", got)
	}
	industry := pending[0].(map[string]any)
	if industry["type"] != "SELECT" || len(industry["options"].([]any)) != 2 || industry["stage"] != "work" {
		t.Errorf("industry prompt = %v", industry)
	}
	if dep := pending[1].(map[string]any); dep["type"] != "TEXT" || dep["minLength"] != float64(2) || dep["maxLength"] != float64(60) {
		t.Errorf("department prompt = %v", dep)
	}

	// Validated by the catalogue type: every problem at once, nothing written.
	bad := e.gql(token, byKeyMutation, map[string]any{"input": map[string]any{"answers": []any{
		map[string]any{"key": "industry", "text": "mining"},
		map[string]any{"key": "department", "bool": true},
		map[string]any{"key": "fax", "text": "1"},
	}}}).mustData(t)["updateProfile"].(map[string]any)
	got := map[string]string{}
	for _, ue := range bad["userErrors"].([]any) {
		m := ue.(map[string]any)
		got[strings.Join(toStrings(m["field"]), ".")] = m["code"].(string)
	}
	want := map[string]string{"input.answers.0": "NOT_AN_OPTION", "input.answers.1": "WRONG_TYPE", "input.answers.2": "UNKNOWN_FIELD"}
	if len(got) != len(want) {
		t.Fatalf("userErrors %v, want %v", got, want)
	}
	for k, c := range want {
		if got[k] != c {
			t.Errorf("userError %s = %q, want %q", k, got[k], c)
		}
	}
	dup := e.gql(token, byKeyMutation, map[string]any{"input": map[string]any{"firstName": "Ada", "answers": []any{map[string]any{"key": "firstName", "text": "Bob"}}}}).mustData(t)
	if c := path(dup, "updateProfile", "userErrors").([]any); len(c) != 1 || c[0].(map[string]any)["code"] != "DUPLICATE_ANSWER" {
		t.Errorf("typed and by-key answer of one field: %v", c)
	}
	if n := e.emu.Count(auth0emu.RoutePatchUser); n != 0 {
		t.Fatalf("%d PATCHes for refused answers", n)
	}

	ok := e.gql(token, byKeyMutation, map[string]any{"input": map[string]any{"answers": []any{
		map[string]any{"key": "industry", "text": "software"},
		map[string]any{"key": "department", "text": " Research "},
	}}}).mustData(t)["updateProfile"].(map[string]any)
	if ue := ok["userErrors"].([]any); len(ue) != 0 {
		t.Fatalf("userErrors %v", ue)
	}
	if path(ok, "viewer", "industry", "value") != "software" || path(ok, "viewer", "industry", "source") != "USER" || path(ok, "viewer", "department", "value") != "Research" {
		t.Errorf("after answering by key: %v", ok["viewer"])
	}
	for _, k := range keys(ok["pendingFields"]) {
		if k == "industry" || k == "department" {
			t.Errorf("%s still pending once answered", k)
		}
	}
	stored, _ := e.emu.User(auth0emu.SeedNewUserID)
	if path(stored, "user_metadata", "industry") != "software" || path(stored, "user_metadata", "department") != "Research" {
		t.Errorf("Auth0 user_metadata = %v", stored["user_metadata"])
	}
	if path(stored, "app_metadata", "progressive_profiling", "collected", "industry", "stage") != "work" {
		t.Errorf("bookkeeping = %v", path(stored, "app_metadata", "progressive_profiling"))
	}

	// Known from a source (the SAML connection's department): never asked.
	ent := e.login("enterprise@example.com")
	v = e.gql(ent, `{ viewer { field(key: "department") { value source } pendingFields { key } } }`, nil).mustData(t)
	if path(v, "viewer", "field", "source") != "IDENTITY_PROVIDER" || path(v, "viewer", "field", "value") != "Flight Research" {
		t.Errorf("enterprise department = %v", path(v, "viewer", "field"))
	}
	for _, k := range keys(path(v, "viewer", "pendingFields")) {
		if k == "department" {
			t.Error("department asked although the identity provider supplied it")
		}
	}

	// A key outside the catalogue: BAD_USER_INPUT naming it.
	r := e.gql(token, `{ viewer { field(key: "fax") { value } } }`, nil)
	if r.code(0) != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, `"fax" is not a profile field`) {
		t.Errorf("field(key: fax): %s", r.Raw)
	}
}
