package profiling

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// apiSchema is what the API's UpdateProfileInput accepts in these tests: the
// default catalogue plus the interaction context.
var apiSchema = InputSchema{
	"firstName":  KindString,
	"lastName":   KindString,
	"company":    KindString,
	"title":      KindString,
	"phone":      KindString,
	"subscribed": KindBoolean,
	"context":    KindString,
}

func mustDefaultRules(t testing.TB) *Rules {
	t.Helper()
	r, err := ParseRules(DefaultRulesName, DefaultRules, apiSchema)
	if err != nil {
		t.Fatalf("default rules: %v", err)
	}
	return r
}

func TestDefaultRulesLoad(t *testing.T) {
	r := mustDefaultRules(t)

	if got, want := r.Policy(), (Policy{MaxFieldsPerPrompt: 3, SkipCooldown: 72 * time.Hour, SkipBackoff: 2, SkipCooldownMax: 720 * time.Hour,
		PromptsPerDay: 3, PromptsPerWeek: 10, ReconfirmReason: "Is this still right?", ConsentReason: "The terms changed: please confirm your choice"}); got != want {
		t.Errorf("policy = %+v, want %+v", got, want)
	}
	type fieldSummary struct {
		key, store string
		typ        FieldType
		required   bool
		sources    string
	}
	want := []fieldSummary{
		{"firstName", "first_name", FieldText, true, "given_name:IDENTITY_PROVIDER identities.profileData.given_name:IDENTITY_PROVIDER app_metadata.enrichment.first_name:ENRICHMENT"},
		{"lastName", "last_name", FieldText, true, "family_name:IDENTITY_PROVIDER identities.profileData.family_name:IDENTITY_PROVIDER app_metadata.enrichment.last_name:ENRICHMENT"},
		{"company", "company", FieldText, false, "company:IDENTITY_PROVIDER app_metadata.enrichment.company:ENRICHMENT identities.profileData.company:IDENTITY_PROVIDER"},
		{"title", "title", FieldText, false, "title:IDENTITY_PROVIDER app_metadata.enrichment.title:ENRICHMENT identities.profileData.title:IDENTITY_PROVIDER"},
		{"phone", "phone", FieldPhone, false, "phone_number:IDENTITY_PROVIDER identities.profileData.phone_number:IDENTITY_PROVIDER app_metadata.enrichment.phone:ENRICHMENT"},
		{"subscribed", "subscribed", FieldBoolean, false, ""},
	}
	fields := r.Fields()
	if len(fields) != len(want) {
		t.Fatalf("catalogue has %d fields, want %d", len(fields), len(want))
	}
	for i, f := range fields {
		var srcs []string
		for _, s := range f.Sources {
			srcs = append(srcs, s.Path+":"+string(s.Kind))
		}
		got := fieldSummary{f.Key, f.Store, f.Type, f.Required, strings.Join(srcs, " ")}
		if got != want[i] {
			t.Errorf("field %d = %+v, want %+v", i, got, want[i])
		}
		if f.Label == "" {
			t.Errorf("field %s has no label", f.Key)
		}
		if byKey, ok := r.Field(f.Key); !ok || byKey != f {
			t.Errorf("Field(%q) does not return the catalogue entry", f.Key)
		}
	}
	if first, _ := r.Field("firstName"); first.MinLength != 1 || first.MaxLength != 100 {
		t.Errorf("firstName length bounds = %d..%d, want 1..100", first.MinLength, first.MaxLength)
	}

	var stages []string
	for _, s := range r.Stages() {
		var keys []string
		for _, f := range s.Fields {
			keys = append(keys, f.Key)
		}
		stages = append(stages, s.Name+":"+strings.Join(keys, ","))
		if s.Reason == "" {
			t.Errorf("stage %s has no reason", s.Name)
		}
	}
	if got, want := strings.Join(stages, " "), "signup:firstName,lastName returning:company,title engaged:phone newsletter:subscribed"; got != want {
		t.Errorf("stages = %s, want %s", got, want)
	}
	if _, ok := r.Field("fax"); ok {
		t.Error("Field(fax) found a field the catalogue does not have")
	}
}

// rulesFile assembles a small valid rules file; a test replaces one section.
type rulesFile struct{ policy, fields, stages string }

const (
	okPolicy = `policy:
  maxFieldsPerPrompt: 2
  skipCooldown: 24h
`
	okFields = `fields:
  - key: firstName
    label: First name
    type: TEXT
    store: first_name
  - key: subscribed
    label: Newsletter
    type: BOOLEAN
    store: subscribed
`
	okStages = `stages:
  - name: signup
    when: "true"
    reason: Asked when you sign up
    fields: [firstName]
`
)

func (f rulesFile) bytes() []byte {
	p, fl, s := okPolicy, okFields, okStages
	if f.policy != "" {
		p = f.policy
	}
	if f.fields != "" {
		fl = f.fields
	}
	if f.stages != "" {
		s = f.stages
	}
	return []byte(p + fl + s)
}

func TestParseRulesMinimalFileLoads(t *testing.T) {
	r, err := ParseRules("rules.yaml", rulesFile{}.bytes(), apiSchema)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := r.Field("firstName"); f.MaxLength != DefaultMaxLength || f.MinLength != 0 {
		t.Errorf("unset TEXT bounds = %d..%d, want 0..%d", f.MinLength, f.MaxLength, DefaultMaxLength)
	}
}

// oneField is a fields section whose first field is the given YAML.
func oneField(yaml string) string {
	return "fields:\n" + yaml + `  - key: subscribed
    label: Newsletter
    type: BOOLEAN
    store: subscribed
`
}

func TestParseRulesErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want RulesError // File is always rules.yaml; Line checked when non-zero
	}{
		// The file as a whole.
		{"empty file", []byte(""), RulesError{Reason: "the file is empty"}},
		{"only comments", []byte("# nothing yet\n\n"), RulesError{Reason: "the file is empty"}},
		{"YAML syntax", []byte("fields:\n  - key: [firstName\n"), RulesError{Line: 2, Reason: "sequence end token ']' not found"}},
		{"two documents", []byte(string(rulesFile{}.bytes()) + "---\npolicy: {}\n"), RulesError{Line: 19, Reason: "the file holds 2 YAML documents; put everything in one"}},
		{"typo in a top-level key", []byte("polcy: {}\n"), RulesError{Line: 1, Reason: `unknown field "polcy"`}},
		{"typo in a field knob", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    requird: true\n")}.bytes(),
			RulesError{Line: 9, Reason: `unknown field "requird"`}},
		{"wrong YAML type", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    required: yes please\n")}.bytes(),
			RulesError{Line: 9, Reason: `expected true or false, found "yes please"`}},
		{"YAML tag (go-yaml panics on some)", []byte("fields: !seq 0\n"), RulesError{Line: 1, Reason: `YAML tags such as "!seq" are not supported; quote the value instead`}},
		{"standard YAML tag", rulesFile{stages: "stages:\n  - name: s\n    when: !!str true\n    reason: r\n    fields: [firstName]\n"}.bytes(),
			RulesError{Line: 15, Reason: `YAML tags such as "!!str" are not supported; quote the value instead`}},
		{"nested aliases", []byte("a: &a [x, x]\nb: &b [*a, *a]\n"), RulesError{Line: 2, Reason: "an anchored value must not use an alias itself (nested aliases)"}},
		{"duplicate YAML key", rulesFile{fields: oneField("  - key: firstName\n    key: lastName\n    label: First name\n    type: TEXT\n    store: first_name\n")}.bytes(),
			RulesError{Line: 6, Reason: `mapping key "key" already defined at [5:5]`}},

		// Policy.
		{"no policy", []byte(okFields + okStages), RulesError{Reason: "policy: is required (maxFieldsPerPrompt and skipCooldown)"}},
		{"maxFieldsPerPrompt 0", rulesFile{policy: "policy:\n  maxFieldsPerPrompt: 0\n  skipCooldown: 24h\n"}.bytes(),
			RulesError{Line: 2, Reason: "policy.maxFieldsPerPrompt: must be at least 1, got 0"}},
		{"maxFieldsPerPrompt negative", rulesFile{policy: "policy:\n  maxFieldsPerPrompt: -2\n  skipCooldown: 24h\n"}.bytes(),
			RulesError{Line: 2, Reason: "policy.maxFieldsPerPrompt: must be at least 1, got -2"}},
		{"maxFieldsPerPrompt missing", rulesFile{policy: "policy:\n  skipCooldown: 24h\n"}.bytes(),
			RulesError{Reason: "policy.maxFieldsPerPrompt: is required"}},
		{"skipCooldown missing", rulesFile{policy: "policy:\n  maxFieldsPerPrompt: 2\n"}.bytes(),
			RulesError{Reason: "policy.skipCooldown: is required"}},
		{"skipCooldown unparsable", rulesFile{policy: "policy:\n  maxFieldsPerPrompt: 2\n  skipCooldown: 3 days\n"}.bytes(),
			RulesError{Line: 3, Reason: `policy.skipCooldown: "3 days" is not a duration (write e.g. 72h, 90m, 1h30m)`}},
		{"skipCooldown without unit", rulesFile{policy: "policy:\n  maxFieldsPerPrompt: 2\n  skipCooldown: 72\n"}.bytes(),
			RulesError{Line: 3, Reason: `policy.skipCooldown: "72" is not a duration (write e.g. 72h, 90m, 1h30m)`}},
		{"skipCooldown negative", rulesFile{policy: "policy:\n  maxFieldsPerPrompt: 2\n  skipCooldown: -1h\n"}.bytes(),
			RulesError{Line: 3, Reason: "policy.skipCooldown: must be positive, got -1h0m0s"}},

		// Fields.
		{"empty catalogue", rulesFile{fields: "fields: []\n"}.bytes(), RulesError{Reason: "fields: the catalogue is empty; declare at least one field"}},
		{"field without key", rulesFile{fields: oneField("  - label: First name\n    type: TEXT\n    store: first_name\n")}.bytes(),
			RulesError{Line: 5, Reason: "fields[0]: key is required"}},
		{"key not a GraphQL name", rulesFile{fields: oneField("  - key: first name\n    label: First name\n    type: TEXT\n    store: first_name\n")}.bytes(),
			RulesError{Field: "first name", Line: 5, Reason: "key must be a GraphQL name (letters, digits and _, not starting with a digit)"}},
		{"reserved key", rulesFile{fields: oneField("  - key: context\n    label: Context\n    type: TEXT\n    store: ctx\n")}.bytes(),
			RulesError{Field: "context", Line: 5, Reason: `"context" is reserved: the API uses it for the interaction context`}},
		{"duplicate key", rulesFile{fields: oneField("  - key: subscribed\n    label: Newsletter\n    type: BOOLEAN\n    store: newsletter\n")}.bytes(),
			RulesError{Field: "subscribed", Line: 9, Reason: "duplicate key; first declared as fields[0] on line 5"}},
		{"no label", rulesFile{fields: oneField("  - key: firstName\n    type: TEXT\n    store: first_name\n")}.bytes(),
			RulesError{Field: "firstName", Line: 5, Reason: "label is required: prompts and error messages use it"}},
		{"no type", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    store: first_name\n")}.bytes(),
			RulesError{Field: "firstName", Line: 5, Reason: "type is required (TEXT, PHONE, BOOLEAN or SELECT)"}},
		{"unknown type", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: EMAIL\n    store: first_name\n")}.bytes(),
			RulesError{Field: "firstName", Line: 7, Reason: `type "EMAIL" is unknown; use TEXT, PHONE, BOOLEAN or SELECT`}},
		{"field kind the API cannot carry", rulesFile{fields: "fields:\n  - key: subscribed\n    label: Newsletter\n    type: TEXT\n    store: subscribed\n"}.bytes(),
			RulesError{Field: "subscribed", Line: 7, Reason: "type TEXT needs a String input but the API's subscribed is Boolean"}},
		{"no store", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n")}.bytes(),
			RulesError{Field: "firstName", Line: 5, Reason: "store is required: the user_metadata key answers are written to"}},
		{"store with a dot", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: name.first\n")}.bytes(),
			RulesError{Field: "firstName", Line: 8, Reason: `store "name.first" must not contain '.' or '$' (Auth0 rejects such metadata keys)`}},
		{"store with a dollar", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: $set\n")}.bytes(),
			RulesError{Field: "firstName", Line: 8, Reason: `store "$set" must not contain '.' or '$' (Auth0 rejects such metadata keys)`}},
		{"duplicate store", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: subscribed\n")}.bytes(),
			RulesError{Field: "subscribed", Line: 12, Reason: `store "subscribed" is already used by field "firstName"; each field needs its own key`}},
		{"unknown source prefix", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    sources: [given_name, profile.first]\n")}.bytes(),
			RulesError{Field: "firstName", Line: 9, Reason: `source "profile.first": unknown source; use a root attribute by name (given_name, family_name, ..., or one an enterprise connection sets, such as company), identities.profileData.<key>, app_metadata.<path> or user_metadata.<path>`}},
		{"nested enterprise root attribute", rulesFile{fields: oneField("  - key: company\n    label: Company\n    type: TEXT\n    store: company\n    sources: [company.name]\n")}.bytes(),
			RulesError{Field: "company", Line: 9, Reason: `source "company.name": unknown source; use a root attribute by name (given_name, family_name, ..., or one an enterprise connection sets, such as company), identities.profileData.<key>, app_metadata.<path> or user_metadata.<path>`}},
		{"root attribute that is no name", rulesFile{fields: oneField("  - key: company\n    label: Company\n    type: TEXT\n    store: company\n    sources: [\"org unit\"]\n")}.bytes(),
			RulesError{Field: "company", Line: 9, Reason: `source "org unit": unknown source; use a root attribute by name (given_name, family_name, ..., or one an enterprise connection sets, such as company), identities.profileData.<key>, app_metadata.<path> or user_metadata.<path>`}},
		{"account attribute as a source", rulesFile{fields: oneField("  - key: company\n    label: Company\n    type: TEXT\n    store: company\n    sources: [last_ip]\n")}.bytes(),
			RulesError{Field: "company", Line: 9, Reason: `source "last_ip": last_ip is an Auth0 account attribute, not profile data`}},
		{"identities without profileData", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    sources: [identities.given_name]\n")}.bytes(),
			RulesError{Field: "firstName", Line: 9, Reason: `source "identities.given_name": write identities.profileData.<key>`}},
		{"nested root attribute", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    sources: [given_name.first]\n")}.bytes(),
			RulesError{Field: "firstName", Line: 9, Reason: `source "given_name.first": given_name is a root attribute and has no nested keys`}},
		{"source reads bookkeeping", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    sources: [app_metadata.progressive_profiling.collected]\n")}.bytes(),
			RulesError{Field: "firstName", Line: 9, Reason: `source "app_metadata.progressive_profiling.collected": app_metadata.progressive_profiling is this service's bookkeeping, not profile data`}},
		{"empty source segment", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    sources: [app_metadata..name]\n")}.bytes(),
			RulesError{Field: "firstName", Line: 9, Reason: `source "app_metadata..name": empty path segment`}},
		{"SELECT without options", rulesFile{fields: oneField("  - key: company\n    label: Company size\n    type: SELECT\n    store: company_size\n")}.bytes(),
			RulesError{Field: "company", Line: 5, Reason: "a SELECT field needs options: [{value: ..., label: ...}]"}},
		{"SELECT option twice", rulesFile{fields: oneField("  - key: company\n    label: Company size\n    type: SELECT\n    store: company_size\n    options:\n      - {value: small, label: Small}\n      - {value: small, label: Tiny}\n")}.bytes(),
			RulesError{Field: "company", Line: 11, Reason: `option "small": listed twice`}},
		{"SELECT option without label", rulesFile{fields: oneField("  - key: company\n    label: Company size\n    type: SELECT\n    store: company_size\n    options:\n      - {value: small}\n")}.bytes(),
			RulesError{Field: "company", Line: 10, Reason: `option "small": label is required`}},
		{"options on TEXT", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    options: [{value: a, label: A}]\n")}.bytes(),
			RulesError{Field: "firstName", Line: 9, Reason: "options apply only to SELECT fields, not TEXT"}},
		{"minLength above maxLength", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    minLength: 10\n    maxLength: 5\n")}.bytes(),
			RulesError{Field: "firstName", Line: 9, Reason: "minLength 10 is greater than maxLength 5"}},
		{"minLength above default maxLength", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    minLength: 201\n")}.bytes(),
			RulesError{Field: "firstName", Line: 9, Reason: "minLength 201 is greater than maxLength 200"}},
		{"negative minLength", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    minLength: -1\n")}.bytes(),
			RulesError{Field: "firstName", Line: 9, Reason: "minLength must not be negative, got -1"}},
		{"maxLength 0", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    maxLength: 0\n")}.bytes(),
			RulesError{Field: "firstName", Line: 9, Reason: "maxLength must be at least 1, got 0"}},
		{"length on BOOLEAN", rulesFile{fields: "fields:\n  - key: subscribed\n    label: Newsletter\n    type: BOOLEAN\n    store: subscribed\n    maxLength: 3\n"}.bytes(),
			RulesError{Field: "subscribed", Line: 5, Reason: "minLength and maxLength apply only to TEXT fields, not BOOLEAN"}},
		{"defaultRegion on TEXT", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    defaultRegion: GB\n")}.bytes(),
			RulesError{Field: "firstName", Line: 9, Reason: "defaultRegion applies only to PHONE fields, not TEXT"}},
		{"unknown defaultRegion", rulesFile{fields: oneField("  - key: phone\n    label: Phone\n    type: PHONE\n    store: phone\n    defaultRegion: XX\n")}.bytes(),
			RulesError{Field: "phone", Line: 9, Reason: `defaultRegion "XX" is not an ISO 3166 region code phonenumbers knows (e.g. US, GB, DE)`}},

		// Stages.
		{"no stages", rulesFile{stages: "stages: []\n"}.bytes(), RulesError{Reason: "stages: declare at least one stage"}},
		{"stage without name", rulesFile{stages: "stages:\n  - when: \"true\"\n    reason: r\n    fields: [firstName]\n"}.bytes(),
			RulesError{Line: 14, Reason: "stages[0]: name is required"}},
		{"duplicate stage", rulesFile{stages: okStages + "  - name: signup\n    when: \"true\"\n    reason: again\n    fields: [subscribed]\n"}.bytes(),
			RulesError{Stage: "signup", Line: 18, Reason: "duplicate name; first declared as stages[0] on line 14"}},
		{"stage without condition", rulesFile{stages: "stages:\n  - name: signup\n    reason: r\n    fields: [firstName]\n"}.bytes(),
			RulesError{Stage: "signup", Line: 14, Reason: `when is required (write "true" for a stage that always applies)`}},
		{"condition with an unknown user field", rulesFile{stages: "stages:\n  - name: engaged\n    when: user.login_count >= 2\n    reason: r\n    fields: [firstName]\n"}.bytes(),
			RulesError{Stage: "engaged", Line: 15, Reason: "condition: ERROR: <input>:1:5: undefined field 'login_count'"}},
		{"condition with an unknown variable", rulesFile{stages: "stages:\n  - name: engaged\n    when: visits >= 2\n    reason: r\n    fields: [firstName]\n"}.bytes(),
			RulesError{Stage: "engaged", Line: 15, Reason: "condition: ERROR: <input>:1:1: undeclared reference to 'visits'"}},
		{"condition with a type error", rulesFile{stages: "stages:\n  - name: engaged\n    when: user.logins_count >= \"2\"\n    reason: r\n    fields: [firstName]\n"}.bytes(),
			RulesError{Stage: "engaged", Line: 15, Reason: "condition: ERROR: <input>:1:19: found no matching overload for '_>=_' applied to '(int, string)'"}},
		{"condition that is not a bool", rulesFile{stages: "stages:\n  - name: engaged\n    when: user.logins_count\n    reason: r\n    fields: [firstName]\n"}.bytes(),
			RulesError{Stage: "engaged", Line: 15, Reason: "condition: must be true or false, but its type is int"}},
		{"condition syntax error", rulesFile{stages: "stages:\n  - name: engaged\n    when: user.logins_count >=\n    reason: r\n    fields: [firstName]\n"}.bytes(),
			RulesError{Stage: "engaged", Line: 15, Reason: "condition: ERROR: <input>:1:21: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}"}},
		{"stage without reason", rulesFile{stages: "stages:\n  - name: signup\n    when: \"true\"\n    fields: [firstName]\n"}.bytes(),
			RulesError{Stage: "signup", Line: 14, Reason: "reason is required: it tells the user why we ask"}},
		{"stage without fields", rulesFile{stages: "stages:\n  - name: signup\n    when: \"true\"\n    reason: r\n"}.bytes(),
			RulesError{Stage: "signup", Line: 14, Reason: "fields: list at least one field key"}},
		{"unknown field in a stage", rulesFile{stages: "stages:\n  - name: returning\n    when: \"true\"\n    reason: r\n    fields: [firstName, compnay]\n"}.bytes(),
			RulesError{Stage: "returning", Field: "compnay", Line: 17, Reason: "no such field in the catalogue"}},
		{"field twice in a stage", rulesFile{stages: "stages:\n  - name: signup\n    when: \"true\"\n    reason: r\n    fields: [firstName, firstName]\n"}.bytes(),
			RulesError{Stage: "signup", Field: "firstName", Line: 17, Reason: "listed twice in this stage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRules("rules.yaml", tt.data, apiSchema)
			if err == nil {
				t.Fatalf("loaded (%d fields), want an error", len(r.Fields()))
			}
			var re *RulesError
			if !errors.As(err, &re) {
				t.Fatalf("error %T %q is not a *RulesError", err, err)
			}
			want := tt.want
			want.File = "rules.yaml"
			if want.Line == 0 {
				want.Line = re.Line // only asserted where the case gives one
			}
			if *re != want {
				t.Errorf("got  %#v\nwant %#v", *re, want)
			}
			// The only other problem a case may have: the default stage
			// names firstName, which some cases' fields leave out.
			for _, other := range rulesErrors(err)[1:] {
				if !strings.HasSuffix(other.Error(), `stage "signup": field "firstName": no such field in the catalogue`) {
					t.Errorf("a second problem: %v", other)
				}
			}
			msg := rulesErrors(err)[0].Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("message spans lines: %q", msg)
			}
			for _, part := range []string{"rules.yaml", want.Reason} {
				if !strings.Contains(msg, part) {
					t.Errorf("message %q does not contain %q", msg, part)
				}
			}
		})
	}
}

func TestRulesErrorMessage(t *testing.T) {
	tests := []struct {
		err  RulesError
		want string
	}{
		{RulesError{File: "rules.yaml", Line: 31, Stage: "engaged", Reason: "condition: ERROR: <input>:1:6: undefined field 'login_count'"},
			`rules.yaml:31: stage "engaged": condition: ERROR: <input>:1:6: undefined field 'login_count'`},
		{RulesError{File: "rules.yaml", Field: "fax", Reason: `the API has no input field "fax"`},
			`rules.yaml: field "fax": the API has no input field "fax"`},
		{RulesError{File: "r.yaml", Line: 3, Stage: "returning", Field: "compnay", Reason: "no such field in the catalogue"},
			`r.yaml:3: stage "returning": field "compnay": no such field in the catalogue`},
		{RulesError{File: "r.yaml", Reason: "line one\nline two"}, `r.yaml: line one line two`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// A catalogue field the API's UpdateProfileInput lacks is a rules-only
// field, answered by key; one it has keeps its type check.
func TestRulesOnlyFieldsLoadAndTypedOnesKeepTheirType(t *testing.T) {
	schema := InputSchema{}
	for k, v := range apiSchema {
		if k != "phone" {
			schema[k] = v
		}
	}
	r, err := ParseRules(DefaultRulesName, DefaultRules, schema)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := r.Field("phone"); f.Typed {
		t.Error("phone is marked typed against a schema without it")
	}
	if f, _ := r.Field("firstName"); !f.Typed {
		t.Error("firstName is not marked typed")
	}
	schema["phone"] = KindBoolean
	_, err = ParseRules(DefaultRulesName, DefaultRules, schema)
	var re *RulesError
	if !errors.As(err, &re) || re.Field != "phone" || re.Reason != "type PHONE needs a String input but the API's phone is Boolean" {
		t.Fatalf("err = %v, want phone's type mismatch named", err)
	}
}

func TestParseRulesNewKnobs(t *testing.T) {
	policy := func(extra string) string { return okPolicy + extra }
	tests := []struct {
		name string
		data []byte
		want RulesError
	}{
		{"backoff below 1", rulesFile{policy: policy("  skipBackoff: 0.5\n")}.bytes(),
			RulesError{Line: 4, Reason: "policy.skipBackoff: must be from 1 (the cool-down never grows) to 100, got 0.5"}},
		{"max below cooldown", rulesFile{policy: policy("  skipCooldownMax: 1h\n")}.bytes(),
			RulesError{Line: 4, Reason: "policy.skipCooldownMax: 1h0m0s is shorter than skipCooldown 24h0m0s"}},
		{"negative budget", rulesFile{policy: policy("  promptsPerDay: -1\n")}.bytes(),
			RulesError{Line: 4, Reason: "policy.promptsPerDay: must not be negative (0 means no cap), got -1"}},
		{"week below day", rulesFile{policy: policy("  promptsPerDay: 3\n  promptsPerWeek: 2\n")}.bytes(),
			RulesError{Line: 5, Reason: "policy.promptsPerWeek: 2 is less than promptsPerDay 3"}},
		{"empty version", []byte("version: \"\"\n" + string(rulesFile{}.bytes())),
			RulesError{Line: 1, Reason: "version: must not be empty (leave it out for none)"}},
		{"bad reconfirmAfter", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    reconfirmAfter: 6 months\n")}.bytes(),
			RulesError{Field: "firstName", Line: 9, Reason: `reconfirmAfter "6 months" is not a duration (write e.g. 4380h for six months)`}},
		{"consent on TEXT", rulesFile{fields: oneField("  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n    consent: {version: v1, text: t}\n")}.bytes(),
			RulesError{Field: "firstName", Line: 9, Reason: "consent applies only to BOOLEAN fields, not TEXT"}},
		{"consent without version", rulesFile{fields: "fields:\n  - key: firstName\n    label: First name\n    type: TEXT\n    store: first_name\n  - key: subscribed\n    label: N\n    type: BOOLEAN\n    store: subscribed\n    consent: {text: t}\n"}.bytes(),
			RulesError{Field: "subscribed", Line: 13, Reason: "consent.version is required: answers record it, and a new one asks again"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules("rules.yaml", tt.data, apiSchema)
			var re *RulesError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a *RulesError", err)
			}
			want := tt.want
			want.File = "rules.yaml"
			if *re != want {
				t.Errorf("got  %#v\nwant %#v", *re, want)
			}
		})
	}
}

func TestParseRulesAcceptsAliases(t *testing.T) {
	data := rulesFile{fields: `fields:
  - key: firstName
    label: First name
    type: TEXT
    store: first_name
    sources: &names [given_name, app_metadata.enrichment.name]
  - key: lastName
    label: Last name
    type: TEXT
    store: last_name
    sources: *names
  - key: subscribed
    label: Newsletter
    type: BOOLEAN
    store: subscribed
`}.bytes()
	r, err := ParseRules("rules.yaml", data, apiSchema)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := r.Field("lastName"); len(f.Sources) != 2 || f.Sources[1].Path != "app_metadata.enrichment.name" {
		t.Errorf("aliased sources = %+v", f.Sources)
	}
}

func TestParseRulesAcceptsEveryKnob(t *testing.T) {
	data := rulesFile{fields: `fields:
  - key: company
    label: Company size
    type: SELECT
    required: true
    placeholder: Pick one
    store: company_size
    options:
      - {value: small, label: " 1-10 "}
      - {value: large, label: 11+}
    sources: [user_metadata.size, app_metadata.enrichment.size]
  - key: phone
    label: Phone
    type: PHONE
    store: phone
    defaultRegion: gb
  - key: firstName
    label: First name
    type: TEXT
    store: first_name
    minLength: 2
    maxLength: 20
    sources: [nickname, identities.profileData.name.given, department, cost-centre]
`, stages: `stages:
  - name: signup
    when: user.app_metadata.?plan.orValue("") == "pro" && user.identities.exists(i, i.is_social) && user.email.endsWith("@example.com")
    reason: Asked when you sign up
    fields: [company, phone, firstName]
`}.bytes()
	r, err := ParseRules("rules.yaml", data, apiSchema)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := r.Field("company")
	if !c.Required || c.Placeholder != "Pick one" || len(c.Options) != 2 || c.Options[0] != (Option{"small", "1-10"}) {
		t.Errorf("company = %+v", c)
	}
	if c.Sources[0].Kind != SourceUser || c.Sources[1].Kind != SourceEnrichment {
		t.Errorf("company sources = %+v", c.Sources)
	}
	if p, _ := r.Field("phone"); p.DefaultRegion != "GB" {
		t.Errorf("phone region = %q, want GB", p.DefaultRegion)
	}
	if f, _ := r.Field("firstName"); f.MinLength != 2 || f.MaxLength != 20 || f.Sources[1].Kind != SourceIdentityProvider ||
		f.Sources[2].Kind != SourceIdentityProvider || f.Sources[3].Path != "cost-centre" {
		t.Errorf("firstName = %+v", f)
	}
}

// Should go-yaml panic on some other input, loading still ends in a
// RulesError naming the file.
func TestYAMLLibraryPanicBecomesARulesError(t *testing.T) {
	l := &loader{file: "rules.yaml"}
	err := func() (err error) {
		defer l.recoverYAML(&err)
		panic("runtime error: invalid memory address or nil pointer dereference")
	}()
	var re *RulesError
	if !errors.As(err, &re) || re.File != "rules.yaml" || !strings.Contains(re.Reason, "the YAML library failed to read this file") {
		t.Fatalf("err = %v", err)
	}
}

// rulesErrors lists the problems of a ParseRules error: the one, or each
// of those errors.Join joined.
func rulesErrors(err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return joined.Unwrap()
	}
	return []error{err}
}

// A file with several independent mistakes reports each, on its own line,
// with its line, stage or field and reason; a field with its own problem is
// not reported again where a stage names it.
func TestParseRulesReportsEveryProblem(t *testing.T) {
	data := []byte(`policy:
  maxFieldsPerPrompt: 0
  skipCooldown: 3 days
fields:
  - key: firstName
    label: First name
    type: TEXT
    store: first_name
  - key: company
    label: Company
    type: NUMBER
    store: company
  - key: fax
    label: Fax
    type: TEXT
    store: fax
stages:
  - name: signup
    when: "true"
    reason: Asked when you sign up
    fields: [firstName, compnay]
  - name: returning
    when: user.login_count >= 2
    reason: ""
    fields: [company, firstName, firstName]
`)
	_, err := ParseRules("rules.yaml", data, apiSchema)
	if err == nil {
		t.Fatal("loaded, want errors")
	}
	want := []RulesError{
		{Line: 2, Reason: "policy.maxFieldsPerPrompt: must be at least 1, got 0"},
		{Line: 3, Reason: `policy.skipCooldown: "3 days" is not a duration (write e.g. 72h, 90m, 1h30m)`},
		{Line: 11, Field: "company", Reason: `type "NUMBER" is unknown; use TEXT, PHONE, BOOLEAN or SELECT`},
		{Line: 21, Stage: "signup", Field: "compnay", Reason: "no such field in the catalogue"},
		{Line: 23, Stage: "returning", Reason: "condition: ERROR: <input>:1:5: undefined field 'login_count'"},
		{Line: 22, Stage: "returning", Reason: "reason is required: it tells the user why we ask"},
		{Line: 25, Stage: "returning", Field: "firstName", Reason: "listed twice in this stage"},
	}
	got := rulesErrors(err)
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(got), len(want), err)
	}
	for i := range min(len(got), len(want)) {
		var re *RulesError
		if !errors.As(got[i], &re) {
			t.Fatalf("problem %d is %T, not a *RulesError", i, got[i])
		}
		w := want[i]
		w.File = "rules.yaml"
		if *re != w {
			t.Errorf("problem %d:\n got  %#v\n want %#v", i, *re, w)
		}
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != len(want) {
		t.Errorf("message has %d lines, want one per problem:\n%s", len(lines), err)
	}
}
