package main

import (
	"strings"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/internal/auth0emu"
)

// fastRules are the default rules with durations short enough to pass
// within a test (the checks compare recorded times with each other, never
// with the wall clock).
func fastRules(s string) string {
	s = strings.Replace(s, "skipCooldown: 72h", "skipCooldown: 1s", 1)
	s = strings.Replace(s, "skipBackoff: 2", "skipBackoff: 3", 1)
	s = strings.Replace(s, "promptsPerDay: 3", "promptsPerDay: 2", 1)
	return strings.Replace(s, "    reconfirmAfter: 4380h", "    reconfirmAfter: 2s", 1)
}

const skipFieldsMutation = `mutation($keys: [String!]!, $never: Boolean) {
  skipFields(input: { keys: $keys, never: $never }) { pendingFields { key } userErrors { code } }
}`

const recordsQuery = `{ viewer {
  fields { key skipCount skippedUntil dismissed collectedAt rulesVersion consentVersion value }
  explain { key pending status explanation stage falseStages skippedAt skippedUntil skipCount collectedUnderRulesVersion }
  pendingFields { key kind currentValue consentText consentVersion reason }
  rulesVersion
} }`

func explanation(v map[string]any, key string) map[string]any {
	for _, e := range v["explain"].([]any) {
		if e.(map[string]any)["key"] == key {
			return e.(map[string]any)
		}
	}
	return nil
}

func parseTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %v: %v", v, err)
	}
	return at
}

// TestNotNowNeverAndTheBudget: "not now" grows per repeat of the same field,
// "never ask" holds until restored, both show in viewer.fields and
// viewer.explain; prompts reported as shown are counted in Redis (no
// Auth0 write) and a spent budget empties pendingFields.
func TestNotNowNeverAndTheBudget(t *testing.T) {
	e := startService(t, withEnv("PROFILING_RULES", writeRules(t, fastRules)))
	token := e.login("returning@example.com")

	// Not now, twice in a row once the first cool-down is over: 1s, then 3s.
	skipped := e.gql(token, skipFieldsMutation, map[string]any{"keys": []string{"company"}}).mustData(t)
	if ks := keys(path(skipped, "skipFields", "pendingFields")); strings.Contains(strings.Join(ks, ","), "company") {
		t.Fatalf("company pending right after not now: %v", ks)
	}
	v := e.gql(token, recordsQuery, nil).mustData(t)["viewer"].(map[string]any)
	f := fieldValue(v, "company")
	ex := explanation(v, "company")
	if f["skipCount"] != float64(1) || f["dismissed"] != false || ex["status"] != "SKIPPED" || ex["pending"] != false {
		t.Fatalf("after one not now: field %v, explanation %v", f, ex)
	}
	if d := parseTime(t, ex["skippedUntil"]).Sub(parseTime(t, ex["skippedAt"])); d != time.Second {
		t.Errorf("first cool-down %s, want 1s", d)
	}
	time.Sleep(1100 * time.Millisecond)
	e.gql(token, skipFieldsMutation, map[string]any{"keys": []string{"company"}}).mustData(t)
	v = e.gql(token, recordsQuery, nil).mustData(t)["viewer"].(map[string]any)
	ex = explanation(v, "company")
	if ex["skipCount"] != float64(2) || parseTime(t, ex["skippedUntil"]).Sub(parseTime(t, ex["skippedAt"])) != 3*time.Second {
		t.Errorf("second not now: %v, want count 2 and a 3s cool-down", ex)
	}

	// Never ask: not pending, visible, until restored.
	e.gql(token, skipFieldsMutation, map[string]any{"keys": []string{"title"}, "never": true}).mustData(t)
	v = e.gql(token, recordsQuery, nil).mustData(t)["viewer"].(map[string]any)
	if fieldValue(v, "title")["dismissed"] != true || explanation(v, "title")["status"] != "DISMISSED" {
		t.Fatalf("after never ask: %v %v", fieldValue(v, "title"), explanation(v, "title"))
	}
	stored, _ := e.emu.User(auth0emu.SeedReturningUserID)
	if path(stored, "app_metadata", "progressive_profiling", "skipped", "title", "never") != true {
		t.Errorf("bookkeeping = %v", path(stored, "app_metadata", "progressive_profiling", "skipped"))
	}
	restored := e.gql(token, `mutation { restoreFields(input: {keys: ["title"]}) { pendingFields { key } userErrors { code } } }`, nil).mustData(t)
	if ks := keys(path(restored, "restoreFields", "pendingFields")); !strings.Contains(strings.Join(ks, ","), "title") {
		t.Errorf("title not pending once restored: %v", ks)
	}

	// The budget: 2 prompts a day. Counting writes nothing to Auth0.
	patches := e.emu.Count(auth0emu.RoutePatchUser)
	shown := `mutation($keys: [String!]!) { promptShown(input: {keys: $keys}) { pendingFields { key } userErrors { code } } }`
	first := e.gql(token, shown, map[string]any{"keys": []string{"title", "phone"}}).mustData(t)
	if len(path(first, "promptShown", "pendingFields").([]any)) == 0 {
		t.Fatal("nothing pending after the first of two prompts")
	}
	bad := e.gql(token, shown, map[string]any{"keys": []string{"fax"}}).mustData(t)
	if ue := path(bad, "promptShown", "userErrors").([]any); len(ue) != 1 || ue[0].(map[string]any)["code"] != "UNKNOWN_FIELD" {
		t.Errorf("unknown key: %v", ue)
	}
	second := e.gql(token, shown, map[string]any{"keys": []string{"title", "phone"}}).mustData(t)
	if p := path(second, "promptShown", "pendingFields").([]any); len(p) != 0 {
		t.Fatalf("pending after the day's budget: %v", p)
	}
	v = e.gql(token, recordsQuery+"", nil).mustData(t)["viewer"].(map[string]any)
	if len(v["pendingFields"].([]any)) != 0 || explanation(v, "title")["status"] != "OVER_BUDGET" {
		t.Errorf("over budget: pending %v, title %v", v["pendingFields"], explanation(v, "title"))
	}
	if n := e.emu.Count(auth0emu.RoutePatchUser); n != patches {
		t.Errorf("%d Auth0 PATCHes for counting prompts", n-patches)
	}

	m := e.scrapeMetrics(t)
	for series, want := range map[string]float64{
		`bff_profiling_fields_asked_total{field="title",stage="returning"}`:     2,
		`bff_profiling_fields_asked_total{field="phone",stage="engaged"}`:       2,
		`bff_profiling_fields_skipped_total{field="company",stage="returning"}`: 2,
		`bff_profiling_fields_dismissed_total{field="title",stage="returning"}`: 1,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
	if m.sum("bff_profiling_completion_count") < 3 {
		t.Errorf("completion histogram observed %v writes", m.sum("bff_profiling_completion_count"))
	}
}

// TestReconfirmAndConsent: a consent answer records its version, time and
// context, and the prompt carries the text; an answer older than the
// field's reconfirmAfter is asked again with its value to prefill, and
// confirming it records a new time without touching user_metadata.
func TestReconfirmAndConsent(t *testing.T) {
	e := startService(t, withEnv("PROFILING_RULES", writeRules(t, fastRules)))
	token := e.login("returning@example.com")

	r := e.gql(token, `{ viewer { pendingFields(context: "article") { key kind consentText consentVersion } } }`, nil).mustData(t)
	sub := path(r, "viewer", "pendingFields").([]any)[0].(map[string]any)
	if sub["key"] != "subscribed" || sub["kind"] != "ASK" || sub["consentVersion"] != "2026-11" || !strings.Contains(sub["consentText"].(string), "newsletter") {
		t.Fatalf("consent prompt = %v", sub)
	}
	e.update(token, map[string]any{"subscribed": true, "title": "Engineer", "context": "article"})
	stored, _ := e.emu.User(auth0emu.SeedReturningUserID)
	rec := path(stored, "app_metadata", "progressive_profiling", "collected", "subscribed").(map[string]any)
	if rec["consentVersion"] != "2026-11" || rec["context"] != "article" || rec["rulesVersion"] != "2026-12-01" || rec["at"] == nil {
		t.Errorf("consent record = %v", rec)
	}

	titleAt := parseTime(t, path(stored, "app_metadata", "progressive_profiling", "collected", "title", "at"))
	time.Sleep(time.Until(titleAt.Add(2*time.Second + 100*time.Millisecond)))
	v := e.gql(token, recordsQuery, nil).mustData(t)["viewer"].(map[string]any)
	var title map[string]any
	for _, p := range v["pendingFields"].([]any) {
		if p.(map[string]any)["key"] == "title" {
			title = p.(map[string]any)
		}
	}
	if title == nil || title["kind"] != "RECONFIRM" || title["currentValue"] != "Engineer" || title["reason"] != "Is this still right?" {
		t.Fatalf("title after reconfirmAfter: %v (pending %v)", title, v["pendingFields"])
	}
	if explanation(v, "title")["status"] != "RECONFIRM" {
		t.Errorf("explanation %v", explanation(v, "title"))
	}
	before := len(e.emu.Patches())
	e.update(token, map[string]any{"title": "Engineer"})
	patches := e.emu.Patches()[before:]
	if len(patches) != 1 || strings.Contains(string(patches[0].Body), "user_metadata") {
		t.Fatalf("confirming wrote %d patches: %v", len(patches), patches)
	}
	stored, _ = e.emu.User(auth0emu.SeedReturningUserID)
	if at := parseTime(t, path(stored, "app_metadata", "progressive_profiling", "collected", "title", "at")); !at.After(titleAt) {
		t.Errorf("confirmed at %s, not after %s", at, titleAt)
	}
	if m := e.scrapeMetrics(t); m[`bff_profiling_fields_reconfirmed_total{field="title",stage="returning"}`] != 1 {
		t.Errorf("reconfirmed metric = %v", m[`bff_profiling_fields_reconfirmed_total{field="title",stage="returning"}`])
	}
}
