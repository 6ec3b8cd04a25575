package profiling

import (
	"testing"
	"time"
)

const genericRules = `version: "t1"
policy:
  maxFieldsPerPrompt: 3
  skipCooldown: 24h
fields:
  - key: firstName
    label: First name
    type: TEXT
    required: true
    store: first_name
  - key: industry
    label: Industry
    type: SELECT
    store: industry
    sources: [app_metadata.enrichment.industry]
    options:
      - {value: retail, label: Retail}
      - {value: finance, label: Finance}
  - key: newsletter
    label: Newsletter
    type: BOOLEAN
    store: newsletter
stages:
  - name: signup
    when: "true"
    reason: Asked when you sign up
    fields: [firstName, industry, newsletter]
`

func TestAnswerByKey(t *testing.T) {
	r, err := ParseRules("rules.yaml", []byte(genericRules), InputSchema{"firstName": KindString})
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := r.Field("industry"); f.Typed {
		t.Fatal("industry is typed; the schema lacks it")
	}
	str := func(s string) *string { return &s }
	yes := true
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		a     Answers
		codes map[string]ErrorCode // key -> code; nil: accepted
		meta  map[string]any       // user_metadata written when accepted
	}{
		{"select by key", Answers{ByKey: []KeyedAnswer{{Key: "industry", Text: str(" retail ")}}}, nil, map[string]any{"industry": "retail"}},
		{"bool by key", Answers{ByKey: []KeyedAnswer{{Key: "newsletter", Bool: &yes}}}, nil, map[string]any{"newsletter": true}},
		{"typed and by key together", Answers{Typed: map[string]any{"firstName": "Ada"}, ByKey: []KeyedAnswer{{Key: "industry", Text: str("finance")}}}, nil,
			map[string]any{"first_name": "Ada", "industry": "finance"}},
		{"not an option", Answers{ByKey: []KeyedAnswer{{Key: "industry", Text: str("mining")}}}, map[string]ErrorCode{"industry": CodeNotAnOption}, nil},
		{"bool for a SELECT", Answers{ByKey: []KeyedAnswer{{Key: "industry", Bool: &yes}}}, map[string]ErrorCode{"industry": CodeWrongType}, nil},
		{"text for a BOOLEAN", Answers{ByKey: []KeyedAnswer{{Key: "newsletter", Text: str("true")}}}, map[string]ErrorCode{"newsletter": CodeWrongType}, nil},
		{"text and bool", Answers{ByKey: []KeyedAnswer{{Key: "newsletter", Text: str("x"), Bool: &yes}}}, map[string]ErrorCode{"newsletter": CodeWrongType}, nil},
		{"neither clears a required field", Answers{ByKey: []KeyedAnswer{{Key: "firstName"}}}, map[string]ErrorCode{"firstName": CodeRequired}, nil},
		{"typed and by key", Answers{Typed: map[string]any{"firstName": "Ada"}, ByKey: []KeyedAnswer{{Key: "firstName", Text: str("Bob")}}},
			map[string]ErrorCode{"firstName": CodeDuplicateAnswer}, nil},
		{"twice by key", Answers{ByKey: []KeyedAnswer{{Key: "industry", Text: str("retail")}, {Key: "industry", Text: str("finance")}}},
			map[string]ErrorCode{"industry": CodeDuplicateAnswer}, nil},
		{"unknown key", Answers{ByKey: []KeyedAnswer{{Key: "fax", Text: str("1")}}}, map[string]ErrorCode{"fax": CodeUnknownField}, nil},
		{"one bad answer refuses all", Answers{Typed: map[string]any{"firstName": "Ada"}, ByKey: []KeyedAnswer{{Key: "industry", Text: str("mining")}}},
			map[string]ErrorCode{"industry": CodeNotAnOption}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &User{ID: "u1"}
			p, errs := r.AnswerAll(u, tt.a, "", now)
			if tt.codes != nil {
				if !p.IsEmpty() {
					t.Errorf("patch %+v alongside problems", p)
				}
				got := map[string]ErrorCode{}
				for _, e := range errs {
					got[e.Key] = e.Code
					if e.Message == "" {
						t.Errorf("%s: no message", e.Key)
					}
				}
				if len(got) != len(tt.codes) || len(errs) != len(tt.codes) {
					t.Fatalf("problems %v, want %v", errs, tt.codes)
				}
				for k, c := range tt.codes {
					if got[k] != c {
						t.Errorf("%s: %s, want %s", k, got[k], c)
					}
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("problems %v", errs)
			}
			checkPatchAllowed(t, r, p)
			if len(p.UserMetadata) != len(tt.meta) {
				t.Fatalf("user_metadata %v, want %v", p.UserMetadata, tt.meta)
			}
			for k, v := range tt.meta {
				if p.UserMetadata[k] != v {
					t.Errorf("user_metadata.%s = %v, want %v", k, p.UserMetadata[k], v)
				}
			}
			after := r.Profile(applyPatch(t, u, p), now)
			pending, _ := after.Pending("", nil)
			for _, pf := range pending {
				if _, answered := tt.meta[pf.Field.Store]; answered {
					t.Errorf("%s still pending once answered", pf.Field.Key)
				}
			}
		})
	}
}

func TestValueOfUnknownKey(t *testing.T) {
	r := mustDefaultRules(t)
	p := r.Profile(&User{ID: "u1", UserMetadata: map[string]any{"company": "Acme"}}, time.Unix(0, 0))
	if v, err := p.ValueOf("company"); err != nil || v.Value != "Acme" {
		t.Fatalf("ValueOf(company) = %v, %v", v, err)
	}
	if _, err := p.ValueOf("fax"); err == nil || err.Error() != `invalid argument "key": "fax" is not a profile field` {
		t.Fatalf("ValueOf(fax) error = %v", err)
	}
}
