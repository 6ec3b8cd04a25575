package profiling

import (
	"strings"
	"testing"
	"time"
)

func collectedAt(key string, at time.Time, extra ...string) map[string]any {
	e := map[string]any{"at": at.Format(time.RFC3339), "stage": "returning", "context": ""}
	for i := 0; i < len(extra); i += 2 {
		e[extra[i]] = extra[i+1]
	}
	return map[string]any{key: e}
}

func TestExplainEveryStatus(t *testing.T) {
	r := mustDefaultRules(t)
	tests := []struct {
		name    string
		user    *User
		context string
		counts  *PromptCounts
		key     string
		status  ExplainStatus
		text    string // a part of the explanation
		false_  []string
	}{
		{"pending", newUser(1, time.Hour), "", nil, "firstName", StatusPending, `asked now by stage "signup": Asked when you sign up`, nil},
		{"known from the identity provider", newUser(1, time.Hour, func(u *User) { u.GivenName = "Ada" }), "", nil, "firstName", StatusKnown, "known from identity provider", nil},
		{"answered", newUser(1, time.Hour, named, withAppMetadata(BookkeepingKey, map[string]any{"collected": collectedAt("firstName", testNow.Add(-time.Hour), "rulesVersion", "v0")})), "", nil,
			"firstName", StatusAnswered, `under rules version "v0"`, nil},
		{"skipped", newUser(2, time.Hour, named, withSkipped("company", time.Hour)), "", nil, "company", StatusSkipped, "hidden until 2026-06-04T11:00:00Z", nil},
		{"dismissed", newUser(2, time.Hour, named, withAppMetadata(BookkeepingKey, map[string]any{"skipped": map[string]any{"company": map[string]any{"at": testNow.Format(time.RFC3339), "never": true}}})), "", nil,
			"company", StatusDismissed, `"never ask" since`, nil},
		{"no stage holds", newUser(1, time.Hour, named), "", nil, "phone", StatusNoStage, "false: engaged", []string{"engaged"}},
		{"no stage holds outside the context", newUser(1, time.Hour, named), "", nil, "subscribed", StatusNoStage, "false: newsletter", []string{"newsletter"}},
		{"outside the prompt limit", newUser(4, time.Hour), "", nil, "title", StatusOutsidePromptLimit, "maxFieldsPerPrompt (3)", nil},
		{"over budget", newUser(1, time.Hour), "", &PromptCounts{Day: 3, Week: 3}, "firstName", StatusOverBudget, "3 of 3 prompts today", nil},
		{"reconfirm", newUser(2, time.Hour, named, withUserMetadata("title", "Engineer"), withAppMetadata(BookkeepingKey, map[string]any{"collected": collectedAt("title", testNow.Add(-4380*time.Hour))})), "", nil,
			"title", StatusReconfirm, "older than reconfirmAfter 4380h0m0s", nil},
		{"consent version changed", newUser(1, time.Hour, named, withUserMetadata("subscribed", true), withAppMetadata(BookkeepingKey, map[string]any{"collected": collectedAt("subscribed", testNow.Add(-time.Hour), "consentVersion", "2025-01")})), "article", nil,
			"subscribed", StatusConsent, `the consent version is "2026-11", the answer agreed to "2025-01"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := r.Profile(tt.user, testNow)
			if tt.counts != nil {
				p = p.WithPrompts(*tt.counts)
			}
			ex, err := p.Explain(tt.context)
			if err != nil {
				t.Fatal(err)
			}
			if len(ex) != len(r.Fields()) {
				t.Fatalf("%d explanations for %d fields", len(ex), len(r.Fields()))
			}
			pending, _ := p.Pending(tt.context, nil)
			for _, e := range ex {
				inPending := false
				for _, pf := range pending {
					inPending = inPending || pf.Field == e.Field
				}
				if e.Pending != inPending {
					t.Errorf("%s: explanation says pending=%v, Pending says %v", e.Field.Key, e.Pending, inPending)
				}
				if e.Field.Key != tt.key {
					continue
				}
				if e.Status != tt.status || !strings.Contains(e.Text, tt.text) {
					t.Errorf("%s: %s %q, want %s containing %q", tt.key, e.Status, e.Text, tt.status, tt.text)
				}
				if tt.false_ != nil && strings.Join(e.FalseStages, ",") != strings.Join(tt.false_, ",") {
					t.Errorf("false stages %v, want %v", e.FalseStages, tt.false_)
				}
			}
		})
	}
}

// An answer older than reconfirmAfter is pending again with its value to
// prefill; the same value confirms it with a new time and no user_metadata
// write; a value from the identity provider is never re-asked.
func TestReconfirm(t *testing.T) {
	r := mustDefaultRules(t)
	old := testNow.Add(-4380 * time.Hour)
	u := newUser(2, 400*24*time.Hour, named, withUserMetadata("company", "AE", "title", "Engineer", "phone", "+442079460958"),
		withAppMetadata(BookkeepingKey, map[string]any{"collected": collectedAt("title", old)}))
	if pending, _ := r.Profile(u, old.Add(4380*time.Hour-time.Second)).Pending("", nil); len(pending) != 0 {
		t.Fatalf("pending a second before the period ends: %v", pendingKeys(t, pending))
	}
	pending, _ := r.Profile(u, testNow).Pending("", nil)
	if len(pending) != 1 || pending[0].Field.Key != "title" || pending[0].Kind != PromptReconfirm || pending[0].Current != "Engineer" || pending[0].Reason != "Is this still right?" {
		t.Fatalf("pending = %+v", pending)
	}
	p, errs := r.Answer(u, map[string]any{"title": "Engineer"}, "", testNow)
	if errs != nil || len(p.UserMetadata) != 0 || p.AppMetadata == nil {
		t.Fatalf("confirming: %+v %v", p, errs)
	}
	after := applyPatch(t, u, p)
	if v, _ := r.Profile(after, testNow).Value("title"); !v.CollectedAt.Equal(testNow) {
		t.Errorf("confirmed at %s, want %s", v.CollectedAt, testNow)
	}
	if pending, _ := r.Profile(after, testNow).Pending("", nil); len(pending) != 0 {
		t.Errorf("still pending once confirmed: %v", pendingKeys(t, pending))
	}
	enterprise := newUser(2, 400*24*time.Hour, named, withUserMetadata("company", "AE", "phone", "+442079460958"), func(u *User) { u.RootAttributes = map[string]any{"title": "CTO"} })
	if pending, _ := r.Profile(enterprise, testNow.Add(100000*time.Hour)).Pending("", nil); len(pending) != 0 {
		t.Errorf("a value from the identity provider re-asked: %v", pendingKeys(t, pending))
	}
}

func TestConsentRecordsItsVersion(t *testing.T) {
	r := mustDefaultRules(t)
	u := newUser(1, time.Hour, named)
	p, errs := r.Answer(u, map[string]any{"subscribed": true}, "article", testNow)
	if errs != nil {
		t.Fatal(errs)
	}
	c := p.AppMetadata[BookkeepingKey].(map[string]any)["collected"].(map[string]any)["subscribed"].(map[string]any)
	if c["consentVersion"] != "2026-11" || c["context"] != "article" || c["at"] != testNow.Format(time.RFC3339) {
		t.Fatalf("consent record = %v", c)
	}
	after := applyPatch(t, u, p)
	if pending, _ := r.Profile(after, testNow).Pending("article", nil); len(pending) != 0 {
		t.Fatalf("asked again under the same version: %v", pendingKeys(t, pending))
	}
	v2, err := ParseRules("rules.yaml", []byte(strings.Replace(string(DefaultRules), `version: "2026-11"`, `version: "2027-01"`, 1)), apiSchema)
	if err != nil {
		t.Fatal(err)
	}
	pending, _ := v2.Profile(after, testNow).Pending("article", nil)
	if len(pending) != 1 || pending[0].Kind != PromptConsent || pending[0].Current != true || pending[0].Field.Consent.Text == "" {
		t.Fatalf("new consent version: pending %+v", pending)
	}
	// Answering the same value under the new version records it.
	p2, _ := v2.Answer(after, map[string]any{"subscribed": true}, "article", testNow)
	if len(p2.UserMetadata) != 0 {
		t.Errorf("re-consent wrote user_metadata %v", p2.UserMetadata)
	}
	if pending, _ := v2.Profile(applyPatch(t, after, p2), testNow).Pending("article", nil); len(pending) != 0 {
		t.Errorf("asked again after re-consent: %v", pendingKeys(t, pending))
	}
}
