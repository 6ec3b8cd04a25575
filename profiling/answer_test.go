package profiling

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// validationRules adds what the default catalogue lacks: a SELECT field, a
// phone with a default region and a TEXT minimum above 1.
func validationRules(t testing.TB) *Rules {
	t.Helper()
	data := rulesFile{fields: `fields:
  - key: firstName
    label: First name
    type: TEXT
    required: true
    store: first_name
    minLength: 2
    maxLength: 5
  - key: company
    label: Company size
    type: SELECT
    store: company_size
    options:
      - {value: small, label: 1-10}
      - {value: large, label: 11 or more}
  - key: phone
    label: Phone
    type: PHONE
    store: phone
    defaultRegion: GB
  - key: subscribed
    label: Newsletter
    type: BOOLEAN
    store: subscribed
`}.bytes()
	r, err := ParseRules("rules.yaml", data, apiSchema)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAnswerValidation covers every validation rule: what is stored for an
// accepted answer, or the one FieldError for a refused one.
func TestAnswerValidation(t *testing.T) {
	def := mustDefaultRules(t)
	custom := validationRules(t)
	const (
		phoneNoRegion = "Phone must be a valid phone number with its country code, e.g. +44 20 7946 0958"
		badChars      = "must not contain control or invisible formatting characters"
	)
	tests := []struct {
		name   string
		rules  *Rules
		key    string
		answer any
		stored any        // what user_metadata receives when accepted (nil = cleared)
		err    FieldError // when refused
	}{
		// TEXT
		{"text is trimmed", def, "company", "  Analytical Engines \t", "Analytical Engines", FieldError{}},
		{"length counts characters, not bytes", def, "company", strings.Repeat("é", 100), strings.Repeat("é", 100), FieldError{}},
		{"one character over the maximum", def, "company", strings.Repeat("é", 101), nil,
			FieldError{"company", CodeTooLong, "Company must be at most 100 characters", 0}},
		{"unset maxLength defaults to 200", custom, "firstName", "Ada Lovelace", nil,
			FieldError{"firstName", CodeTooLong, "First name must be at most 5 characters", 0}},
		{"under the minimum", custom, "firstName", " A ", nil,
			FieldError{"firstName", CodeTooShort, "First name must be at least 2 characters", 0}},
		{"at the minimum", custom, "firstName", "Al", "Al", FieldError{}},
		{"non-Latin script", def, "firstName", "Ада", "Ада", FieldError{}},
		{"zero-width non-joiner in a Persian name", def, "firstName", "زهرا\u200cسادات", "زهرا\u200cسادات", FieldError{}},
		{"emoji joined by ZWJ", def, "title", "👩\u200d💻 Engineer", "👩\u200d💻 Engineer", FieldError{}},
		{"NUL", def, "firstName", "Ada\x00", nil, FieldError{"firstName", CodeInvalidCharacters, "First name " + badChars, 0}},
		{"tab inside", def, "firstName", "Ada\tL", nil, FieldError{"firstName", CodeInvalidCharacters, "First name " + badChars, 0}},
		{"newline inside", def, "lastName", "Love\nlace", nil, FieldError{"lastName", CodeInvalidCharacters, "Last name " + badChars, 0}},
		{"bidi override", def, "company", "abc\u202edef", nil, FieldError{"company", CodeInvalidCharacters, "Company " + badChars, 0}},
		{"zero-width space", def, "company", "A\u200bE", nil, FieldError{"company", CodeInvalidCharacters, "Company " + badChars, 0}},
		{"line separator", def, "company", "A\u2028E", nil, FieldError{"company", CodeInvalidCharacters, "Company " + badChars, 0}},
		{"invalid UTF-8", def, "company", "A\xffE", nil, FieldError{"company", CodeInvalidCharacters, "Company " + badChars, 0}},
		{"U+FFFD, what a JSON decoder makes of invalid UTF-8 or \\ud800", def, "lastName", "Love\ufffdlace", nil, FieldError{"lastName", CodeInvalidCharacters, "Last name " + badChars, 0}},
		{"noncharacter U+FFFF", def, "company", "A\uffffE", nil, FieldError{"company", CodeInvalidCharacters, "Company " + badChars, 0}},
		{"noncharacter U+FDD0", def, "title", "A\ufdd0E", nil, FieldError{"title", CodeInvalidCharacters, "Job title " + badChars, 0}},
		{"noncharacter U+10FFFE", def, "title", "A\U0010fffeE", nil, FieldError{"title", CodeInvalidCharacters, "Job title " + badChars, 0}},
		{"private use is text", def, "title", "A\ue000E", "A\ue000E", FieldError{}},
		{"bool for TEXT", def, "firstName", true, nil, FieldError{"firstName", CodeWrongType, "First name must be text", 0}},
		{"number for TEXT", def, "company", 42, nil, FieldError{"company", CodeWrongType, "Company must be text", 0}},
		{"object for TEXT", def, "company", map[string]any{"$set": "x"}, nil, FieldError{"company", CodeWrongType, "Company must be text", 0}},

		// Required and clearing.
		{"null on a required field", def, "firstName", nil, nil, FieldError{"firstName", CodeRequired, "First name is required", 0}},
		{"blank on a required field", def, "lastName", "   ", nil, FieldError{"lastName", CodeRequired, "Last name is required", 0}},
		{"empty on a required field with a minimum", custom, "firstName", "", nil, FieldError{"firstName", CodeRequired, "First name is required", 0}},
		{"null clears an optional field", def, "company", nil, nil, FieldError{}},
		{"blank clears an optional field", def, "title", " ", nil, FieldError{}},
		{"null clears an optional BOOLEAN", def, "subscribed", nil, nil, FieldError{}},

		// PHONE
		{"international number to E.164", def, "phone", "+1 (415) 555-2671", "+14155552671", FieldError{}},
		{"UK number to E.164", def, "phone", " +44 20 7946 0958 ", "+442079460958", FieldError{}},
		{"national number without a default region", def, "phone", "020 7946 0958", nil, FieldError{"phone", CodeInvalidPhone, phoneNoRegion, 0}},
		{"national number with default region GB", custom, "phone", "020 7946 0958", "+442079460958", FieldError{}},
		{"foreign number with a default region", custom, "phone", "+1 415 555 2671", "+14155552671", FieldError{}},
		{"too short", def, "phone", "+1 555", nil, FieldError{"phone", CodeInvalidPhone, phoneNoRegion, 0}},
		{"invalid for its country", custom, "phone", "+44 12", nil, FieldError{"phone", CodeInvalidPhone, "Phone must be a valid phone number", 0}},
		{"not a number", def, "phone", "call me maybe", nil, FieldError{"phone", CodeInvalidPhone, phoneNoRegion, 0}},
		{"with an extension", def, "phone", "+1 415 555 2671 ext. 12", nil, FieldError{"phone", CodeInvalidPhone, "Phone must not include an extension", 0}},
		{"control character in a phone", def, "phone", "+1 415 555\x002671", nil, FieldError{"phone", CodeInvalidCharacters, "Phone " + badChars, 0}},
		{"bool for PHONE", def, "phone", false, nil, FieldError{"phone", CodeWrongType, "Phone must be text", 0}},

		// BOOLEAN
		{"true", def, "subscribed", true, true, FieldError{}},
		{"false", def, "subscribed", false, false, FieldError{}},
		{"string for BOOLEAN", def, "subscribed", "true", nil, FieldError{"subscribed", CodeWrongType, "Subscribe to the newsletter must be true or false", 0}},
		{"number for BOOLEAN", def, "subscribed", 1, nil, FieldError{"subscribed", CodeWrongType, "Subscribe to the newsletter must be true or false", 0}},

		// SELECT
		{"an option value", custom, "company", "small", "small", FieldError{}},
		{"an option value with spaces", custom, "company", " large ", "large", FieldError{}},
		{"not an option", custom, "company", "medium", nil, FieldError{"company", CodeNotAnOption, "Company size must be one of: 1-10, 11 or more", 0}},
		{"an option label is not a value", custom, "company", "1-10", nil, FieldError{"company", CodeNotAnOption, "Company size must be one of: 1-10, 11 or more", 0}},
		{"option values are case-sensitive", custom, "company", "Small", nil, FieldError{"company", CodeNotAnOption, "Company size must be one of: 1-10, 11 or more", 0}},
		{"bool for SELECT", custom, "company", true, nil, FieldError{"company", CodeWrongType, "Company size must be text", 0}},

		// Keys outside the catalogue.
		{"unknown key", def, "fax", "123", nil, FieldError{"fax", CodeUnknownField, `"fax" is not a profile field`, 0}},
		{"a store key is not a field key", def, "first_name", "Ada", nil, FieldError{"first_name", CodeUnknownField, `"first_name" is not a profile field`, 0}},
		{"root attribute", def, "email", "x@example.com", nil, FieldError{"email", CodeUnknownField, `"email" is not a profile field`, 0}},
		{"app_metadata", def, "app_metadata", map[string]any{"roles": []any{"admin"}}, nil, FieldError{"app_metadata", CodeUnknownField, `"app_metadata" is not a profile field`, 0}},
		{"the context input is not an answer", def, "context", "article", nil, FieldError{"context", CodeUnknownField, `"context" is not a profile field`, 0}},
		{"long unknown keys are shortened in the message", def, strings.Repeat("k", 60), "x", nil,
			FieldError{strings.Repeat("k", 60), CodeUnknownField, `"` + strings.Repeat("k", 40) + `…" is not a profile field`, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every field holds a value that no accepted answer equals, so
			// each accepted answer (or clear) is written.
			u := newUser(2, time.Hour, withUserMetadata("first_name", "Ada", "last_name", "Lovelace", "company", "Old Co", "company_size", "tiny", "title", "Old", "subscribed", "yes", "phone", "+15555550100"))
			p, errs := tt.rules.Answer(u, map[string]any{tt.key: tt.answer}, "", testNow)
			checkPatchAllowed(t, tt.rules, p)
			if tt.err != (FieldError{}) {
				if !slices.Equal(errs, []FieldError{tt.err}) {
					t.Errorf("errors = %+v\nwant     [%+v]", errs, tt.err)
				}
				if !p.IsEmpty() {
					t.Errorf("refused answer produced patch %+v", p)
				}
				return
			}
			if errs != nil {
				t.Fatalf("refused: %+v", errs)
			}
			f, _ := tt.rules.Field(tt.key)
			got, written := p.UserMetadata[f.Store]
			if !written || !reflect.DeepEqual(got, tt.stored) {
				t.Errorf("user_metadata.%s = %#v (written %v), want %#v", f.Store, got, written, tt.stored)
			}
		})
	}
}

func TestAnswerReportsEveryProblemAndWritesNothing(t *testing.T) {
	r := mustDefaultRules(t)
	u := newUser(2, time.Hour, named)
	answers := map[string]any{
		"firstName":  nil,        // REQUIRED
		"lastName":   "Lovelace", // fine, but nothing may be written
		"company":    strings.Repeat("x", 101),
		"title":      "Chief\x07Engineer",
		"phone":      "12345",
		"subscribed": "yes",
		"fax":        "1",
		"email":      "evil@example.com",
	}
	p, errs := r.Answer(u, answers, strings.Repeat("c", 101), testNow)
	want := []FieldError{
		{"context", CodeTooLong, "Context must be at most 100 characters", 0},
		{"firstName", CodeRequired, "First name is required", 0},
		{"company", CodeTooLong, "Company must be at most 100 characters", 0},
		{"title", CodeInvalidCharacters, "Job title must not contain control or invisible formatting characters", 0},
		{"phone", CodeInvalidPhone, "Phone must be a valid phone number with its country code, e.g. +44 20 7946 0958", 0},
		{"subscribed", CodeWrongType, "Subscribe to the newsletter must be true or false", 0},
		{"email", CodeUnknownField, `"email" is not a profile field`, 0},
		{"fax", CodeUnknownField, `"fax" is not a profile field`, 0},
	}
	if !slices.Equal(errs, want) {
		t.Errorf("errors =\n%+v\nwant\n%+v", errs, want)
	}
	if !p.IsEmpty() || p.UserMetadata != nil || p.AppMetadata != nil {
		t.Errorf("patch = %+v, want none", p)
	}
}

func TestAnswerContextErrors(t *testing.T) {
	r := mustDefaultRules(t)
	for _, tt := range []struct {
		context string
		want    FieldError
	}{
		{strings.Repeat("é", 101), FieldError{"context", CodeTooLong, "Context must be at most 100 characters", 0}},
		{"art\u202eicle", FieldError{"context", CodeInvalidCharacters, "Context must not contain control or invisible formatting characters", 0}},
		{"article\ufffd", FieldError{"context", CodeInvalidCharacters, "Context must not contain control or invisible formatting characters", 0}},
	} {
		p, errs := r.Answer(newUser(1, time.Hour), map[string]any{"company": "AE"}, tt.context, testNow)
		if !slices.Equal(errs, []FieldError{tt.want}) || !p.IsEmpty() {
			t.Errorf("context %q: %+v, %+v; want %+v and no patch", tt.context, p, errs, tt.want)
		}
		p, errs = r.Skip(newUser(1, time.Hour), []string{"company"}, tt.context, testNow)
		if !slices.Equal(errs, []FieldError{tt.want}) || !p.IsEmpty() {
			t.Errorf("skip in context %q: %+v, %+v; want %+v and no patch", tt.context, p, errs, tt.want)
		}
	}
	// 100 characters is fine.
	if _, errs := r.Answer(newUser(1, time.Hour), map[string]any{"company": "AE"}, strings.Repeat("é", 100), testNow); errs != nil {
		t.Errorf("100-character context refused: %+v", errs)
	}
}

func bookkeeping(collected, skipped map[string]any) map[string]any {
	if collected == nil {
		collected = map[string]any{}
	}
	if skipped == nil {
		skipped = map[string]any{}
	}
	return map[string]any{BookkeepingKey: map[string]any{"collected": collected, "skipped": skipped}}
}

func entry(at time.Time, kv ...string) map[string]any {
	e := map[string]any{"at": at.Format(time.RFC3339)}
	for i := 0; i < len(kv); i += 2 {
		e[kv[i]] = kv[i+1]
	}
	return e
}

func TestAnswerPatch(t *testing.T) {
	r := mustDefaultRules(t)
	earlier := testNow.Add(-48 * time.Hour)
	collectedCompany := withAppMetadata(BookkeepingKey, map[string]any{"collected": map[string]any{
		"company": entry(earlier, "stage", "returning", "context", ""),
	}})
	tests := []struct {
		name    string
		user    *User
		answers map[string]any
		context string
		want    Patch
	}{
		{"a new answer is written and recorded with the stage that asks it",
			newUser(2, time.Hour, named), map[string]any{"company": "AE Ltd"}, "",
			Patch{
				UserMetadata: map[string]any{"company": "AE Ltd"},
				AppMetadata:  bookkeeping(map[string]any{"company": entry(testNow, "stage", "returning", "context", "", "rulesVersion", rulesVersion)}, nil),
			}},
		{"the context is recorded, and the stage it brings",
			newUser(1, time.Hour, named), map[string]any{"subscribed": false}, "article",
			Patch{
				UserMetadata: map[string]any{"subscribed": false},
				AppMetadata:  bookkeeping(map[string]any{"subscribed": entry(testNow, "stage", "newsletter", "context", "article", "rulesVersion", rulesVersion, "consentVersion", "2026-11")}, nil),
			}},
		{"a field no stage asks now is recorded without a stage",
			newUser(1, time.Hour, named), map[string]any{"phone": "+14155552671"}, "settings",
			Patch{
				UserMetadata: map[string]any{"phone": "+14155552671"},
				AppMetadata:  bookkeeping(map[string]any{"phone": entry(testNow, "stage", "", "context", "settings", "rulesVersion", rulesVersion)}, nil),
			}},
		{"several answers in one patch; absent fields untouched",
			newUser(2, time.Hour, named, withUserMetadata("title", "Countess")), map[string]any{"firstName": " Augusta ", "company": "AE"}, "",
			Patch{
				UserMetadata: map[string]any{"first_name": "Augusta", "company": "AE"},
				AppMetadata: bookkeeping(map[string]any{
					"firstName": entry(testNow, "stage", "signup", "context", "", "rulesVersion", rulesVersion),
					"company":   entry(testNow, "stage", "returning", "context", "", "rulesVersion", rulesVersion),
				}, nil),
			}},
		{"null clears the answer and its record",
			newUser(2, time.Hour, named, withUserMetadata("company", "AE"), collectedCompany), map[string]any{"company": nil}, "",
			Patch{UserMetadata: map[string]any{"company": nil}, AppMetadata: bookkeeping(nil, nil)}},
		{"clearing what is not there writes nothing",
			newUser(2, time.Hour, named), map[string]any{"company": nil, "title": ""}, "",
			Patch{}},
		{"an unchanged, recorded answer writes nothing",
			newUser(2, time.Hour, named, withUserMetadata("company", "AE"), collectedCompany), map[string]any{"company": " AE "}, "",
			Patch{}},
		{"an unchanged answer not yet recorded is only recorded",
			newUser(2, time.Hour, named, withUserMetadata("company", "AE")), map[string]any{"company": "AE"}, "",
			Patch{AppMetadata: bookkeeping(map[string]any{"company": entry(testNow, "stage", "returning", "context", "", "rulesVersion", rulesVersion)}, nil)}},
		{"the same text in another type is a change",
			newUser(1, time.Hour, named, withUserMetadata("subscribed", "true")), map[string]any{"subscribed": true}, "",
			Patch{
				UserMetadata: map[string]any{"subscribed": true},
				AppMetadata:  bookkeeping(map[string]any{"subscribed": entry(testNow, "stage", "", "context", "", "rulesVersion", rulesVersion, "consentVersion", "2026-11")}, nil),
			}},
		{"answering a skipped field removes the skip",
			newUser(2, time.Hour, named, withSkipped("company", time.Hour)), map[string]any{"company": "AE"}, "",
			Patch{
				UserMetadata: map[string]any{"company": "AE"},
				AppMetadata:  bookkeeping(map[string]any{"company": entry(testNow, "stage", "returning", "context", "", "rulesVersion", rulesVersion)}, nil),
			}},
		{"an unchanged answer to a skipped field only removes the skip",
			newUser(2, time.Hour, named, withUserMetadata("company", "AE"), withAppMetadata(BookkeepingKey, map[string]any{
				"collected": map[string]any{"company": entry(earlier, "stage", "returning", "context", "")},
				"skipped":   map[string]any{"company": entry(earlier, "context", "")},
			})), map[string]any{"company": "AE"}, "",
			Patch{AppMetadata: bookkeeping(map[string]any{"company": entry(earlier, "stage", "returning", "context", "")}, nil)}},
		{"other bookkeeping survives the rewrite",
			newUser(2, time.Hour, named, withAppMetadata(BookkeepingKey, map[string]any{
				"version":   2.0,
				"collected": map[string]any{"retiredField": entry(earlier)},
				"skipped":   map[string]any{"title": entry(earlier, "context", "")},
			})), map[string]any{"company": "AE"}, "",
			Patch{
				UserMetadata: map[string]any{"company": "AE"},
				AppMetadata: map[string]any{BookkeepingKey: map[string]any{
					"version":   2.0,
					"collected": map[string]any{"retiredField": entry(earlier), "company": entry(testNow, "stage", "returning", "context", "", "rulesVersion", rulesVersion)},
					"skipped":   map[string]any{"title": entry(earlier, "context", "")},
				}},
			}},
		{"malformed bookkeeping is replaced",
			newUser(2, time.Hour, named, withAppMetadata(BookkeepingKey, "garbage")), map[string]any{"company": "AE"}, "",
			Patch{
				UserMetadata: map[string]any{"company": "AE"},
				AppMetadata:  bookkeeping(map[string]any{"company": entry(testNow, "stage", "returning", "context", "", "rulesVersion", rulesVersion)}, nil),
			}},
		{"no answers, no patch", newUser(2, time.Hour), map[string]any{}, "", Patch{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := jsonCopy(t, tt.user)
			got, errs := r.Answer(tt.user, tt.answers, tt.context, testNow)
			if errs != nil {
				t.Fatalf("refused: %+v", errs)
			}
			checkPatchAllowed(t, r, got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("patch =\n%#v\nwant\n%#v", got, tt.want)
			}
			if !reflect.DeepEqual(jsonCopy(t, tt.user), before) {
				t.Error("Answer changed the user it was given")
			}
		})
	}
}

// Answering through the patch gives back what was answered, with when and
// where it was collected.
func TestAnswerRoundTrip(t *testing.T) {
	r := mustDefaultRules(t)
	u := newUser(2, time.Hour, named)
	p, errs := r.Answer(u, map[string]any{"company": "AE", "phone": "+1 415 555 2671"}, "settings", testNow)
	if errs != nil {
		t.Fatal(errs)
	}
	answered := applyPatch(t, u, p)
	after := r.Profile(answered, testNow.Add(time.Minute))
	company, _ := after.Value("company")
	if company.Value != "AE" || company.Source != SourceUser || !company.CollectedAt.Equal(testNow) || company.Stage != "returning" || company.Context != "settings" {
		t.Errorf("company = %+v", company)
	}
	phone, _ := after.Value("phone")
	if phone.Value != "+14155552671" || phone.Stage != "" {
		t.Errorf("phone = %+v", phone)
	}
	pending, _ := after.Pending("", nil)
	if keys := pendingKeys(t, pending); !slices.Equal(keys, []string{"returning:title"}) {
		t.Errorf("pending after answering = %v", keys)
	}

	// Clearing removes value and record.
	p, errs = r.Answer(answered, map[string]any{"company": nil}, "", testNow)
	if errs != nil {
		t.Fatal(errs)
	}
	cleared := applyPatch(t, answered, p)
	if v, _ := r.Profile(cleared, testNow).Value("company"); v.Known {
		t.Errorf("company after clearing = %+v", v)
	}
	collected, _ := readBookkeeping(cleared.AppMetadata)
	if _, ok := collected["company"]; ok {
		t.Error("company is still recorded as collected after clearing")
	}
	if _, ok := collected["phone"]; !ok {
		t.Error("clearing company dropped the phone record")
	}
}

func TestSkip(t *testing.T) {
	r := mustDefaultRules(t)
	u := newUser(2, time.Hour, named)

	p, errs := r.Skip(u, []string{"company", "company"}, "article", testNow)
	if errs != nil {
		t.Fatal(errs)
	}
	checkPatchAllowed(t, r, p)
	want := Patch{AppMetadata: bookkeeping(nil, map[string]any{"company": withCount(entry(testNow, "context", "article"), 1)})}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("patch =\n%#v\nwant\n%#v", p, want)
	}

	skipped := applyPatch(t, u, p)
	for _, tt := range []struct {
		after time.Duration
		want  []string
	}{
		{0, []string{"returning:title"}},
		{71 * time.Hour, []string{"returning:title"}},
		{72 * time.Hour, []string{"returning:company", "returning:title"}},
	} {
		got, _ := r.Profile(skipped, testNow.Add(tt.after)).Pending("", nil)
		if keys := pendingKeys(t, got); !slices.Equal(keys, tt.want) {
			t.Errorf("%s after skipping: pending = %v, want %v", tt.after, keys, tt.want)
		}
	}

	// Skipping again moves the cool-down; other records survive.
	later := testNow.Add(100 * time.Hour)
	p, _ = r.Skip(skipped, []string{"title"}, "", later)
	again := applyPatch(t, skipped, p)
	got, _ := r.Profile(again, later).Pending("", nil)
	if keys := pendingKeys(t, got); !slices.Equal(keys, []string{"returning:company"}) {
		t.Errorf("after skipping title too: pending = %v", keys)
	}
}

func TestSkipErrors(t *testing.T) {
	r := mustDefaultRules(t)
	u := newUser(2, time.Hour, named)
	p, errs := r.Skip(u, []string{"company", "fax", "email", "fax"}, "", testNow)
	want := []FieldError{
		{"email", CodeUnknownField, `"email" is not a profile field`, 0},
		{"fax", CodeUnknownField, `"fax" is not a profile field`, 0},
	}
	if !slices.Equal(errs, want) || !p.IsEmpty() {
		t.Errorf("Skip = %+v, %+v; want %+v and no patch", p, errs, want)
	}
	if p, errs := r.Skip(u, nil, "", testNow); errs != nil || !p.IsEmpty() {
		t.Errorf("skipping nothing = %+v, %+v", p, errs)
	}
}

// Whatever the input, a patch writes only catalogue store keys and the
// bookkeeping key.
func TestPatchNeverWritesOutsideTheAllowList(t *testing.T) {
	r := mustDefaultRules(t)
	hostile := []map[string]any{
		{"email": "x@evil.test", "email_verified": true, "blocked": false, "password": "hunter2", "connection": "x"},
		{"app_metadata": map[string]any{"roles": []any{"admin"}}, "user_metadata": map[string]any{"x": 1}},
		{BookkeepingKey: map[string]any{}, "roles": []any{"admin"}},
		{"first.name": "x", "$set": "x", "company.name": "x"},
		{"company": map[string]any{"nested": map[string]any{"deep": 1}}},
		{"company": []any{"a", "b"}},
		{"company": strings.Repeat("x", 1<<16)},
	}
	users := []*User{newUser(1, time.Hour), newUser(4, 40*24*time.Hour, named, withSkipped("title", time.Hour))}
	for _, answers := range hostile {
		for _, u := range users {
			p, errs := r.Answer(u, answers, "", testNow)
			if len(errs) == 0 {
				t.Errorf("answers %v accepted", slices.Collect(maps.Keys(answers)))
			}
			checkPatchAllowed(t, r, p)
			if !p.IsEmpty() {
				t.Errorf("answers %v produced patch %+v", slices.Collect(maps.Keys(answers)), p)
			}
		}
	}
	// Accepted answers for every field, and skips of every field.
	all := map[string]any{"firstName": "A", "lastName": "L", "company": "C", "title": "T", "phone": "+14155552671", "subscribed": true}
	for _, u := range users {
		p, errs := r.Answer(u, all, "article", testNow)
		if errs != nil {
			t.Fatal(errs)
		}
		checkPatchAllowed(t, r, p)
		p, errs = r.Skip(u, slices.Collect(maps.Keys(all)), "article", testNow)
		if errs != nil || p.UserMetadata != nil {
			t.Fatalf("skip: %+v %+v", p, errs)
		}
		checkPatchAllowed(t, r, p)
	}
}

// rulesVersion is the default rules' version, recorded with every answer.
const rulesVersion = "2026-12-01"

func withCount(e map[string]any, n int) map[string]any {
	e["count"] = n
	return e
}
