package profiling

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// FuzzParseRules feeds arbitrary files to the loader. It must never panic;
// every problem of a refusal must be a one-line *RulesError naming the file; whatever it
// accepts must be usable: evaluating, answering and skipping work.
// Seeds: testdata/fuzz/FuzzParseRules plus the ones added here.
func FuzzParseRules(f *testing.F) {
	f.Add(DefaultRules)
	f.Add(rulesFile{}.bytes())
	f.Add([]byte("policy: {maxFieldsPerPrompt: 1, skipCooldown: 1s}\nfields: [{key: phone, label: P, type: PHONE, store: p, defaultRegion: us}]\nstages: [{name: s, when: 'true', reason: r, fields: [phone]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRules("fuzz.yaml", data, apiSchema)
		if err != nil {
			for _, e := range rulesErrors(err) {
				var re *RulesError
				if !errors.As(e, &re) || re != e {
					t.Fatalf("error %T is not a *RulesError: %v", e, e)
				}
				msg := e.Error()
				if re.File != "fuzz.yaml" || !strings.HasPrefix(msg, "fuzz.yaml") || strings.ContainsAny(msg, "\r\n") || re.Reason == "" {
					t.Fatalf("bad error message %q", msg)
				}
			}
			return
		}
		if len(r.Fields()) == 0 || len(r.Stages()) == 0 || r.Policy().MaxFieldsPerPrompt < 1 || r.Policy().SkipCooldown <= 0 {
			t.Fatalf("accepted rules that are unusable: %d fields, %d stages, %+v", len(r.Fields()), len(r.Stages()), r.Policy())
		}
		u := newUser(3, 40*24*time.Hour, withEnrichment("company", "AE"), withAppMetadata("roles", []any{"a"}))
		p := r.Profile(u, testNow)
		pending, err := p.Pending("article", nil)
		if err != nil || len(pending) > r.Policy().MaxFieldsPerPrompt {
			t.Fatalf("Pending = %d fields, %v", len(pending), err)
		}
		answers := map[string]any{}
		var keys []string
		for _, fl := range r.Fields() {
			answers[fl.Key] = "x"
			keys = append(keys, fl.Key)
		}
		patch, _ := r.Answer(u, answers, "article", testNow)
		checkPatchAllowed(t, r, patch)
		patch, errs := r.Skip(u, keys, "", testNow)
		if errs != nil {
			t.Fatalf("skipping catalogue keys refused: %v", errs)
		}
		checkPatchAllowed(t, r, patch)
	})
}

// FuzzAnswer feeds arbitrary answers to the validators. It must never
// panic, never return both problems and a patch, never write outside the
// allow-list, only store values that pass their own validation, and be
// idempotent: answering the stored value again writes nothing.
// Seeds: testdata/fuzz/FuzzAnswer plus the ones added here.
//
// kind picks the answer's Go type: 0 string, 1 bool, 2 null, 3 number.
func FuzzAnswer(f *testing.F) {
	f.Add("firstName", uint8(0), " Ada ", false, "", false)
	f.Add("phone", uint8(0), "+1 (415) 555-2671", false, "article", false)
	f.Add("phone", uint8(0), "020 7946 0958", false, "", true)
	f.Add("company", uint8(0), "small", false, "", true)
	f.Add("subscribed", uint8(1), "", true, "article", false)
	f.Add("lastName", uint8(2), "", false, "", false)
	f.Add("fax", uint8(3), "", false, "", false)
	def := mustDefaultRules(f)
	custom := validationRules(f)
	f.Fuzz(func(t *testing.T, key string, kind uint8, text string, flag bool, interaction string, useCustom bool) {
		r := def
		if useCustom {
			r = custom
		}
		var value any
		switch kind % 4 {
		case 0:
			value = text
		case 1:
			value = flag
		case 2:
			value = nil
		case 3:
			value = len(text)
		}
		u := newUser(2, time.Hour, withUserMetadata("first_name", "Ada", "company", "AE"), withSkipped("title", time.Hour))
		answers := map[string]any{key: value, "title": text}
		patch, errs := r.Answer(u, answers, interaction, testNow)
		checkPatchAllowed(t, r, patch)
		if len(errs) > 0 {
			if !patch.IsEmpty() {
				t.Fatalf("problems %v came with patch %+v", errs, patch)
			}
			for _, e := range errs {
				if (e.Key == "" && e.Code != CodeUnknownField) || e.Code == "" || e.Message == "" {
					t.Fatalf("incomplete problem %+v", e)
				}
			}
			return
		}
		for _, fl := range r.Fields() {
			v, written := patch.UserMetadata[fl.Store]
			if !written || v == nil {
				continue
			}
			checkStoredValue(t, fl, v)
		}
		after := applyPatch(t, u, patch)
		again, errs := r.Answer(after, answers, interaction, testNow)
		if errs != nil || again.UserMetadata != nil {
			t.Fatalf("answering the same again: patch %+v, problems %v", again, errs)
		}
		if _, errs := r.Skip(after, []string{key}, interaction, testNow); len(errs) > 0 && errs[0].Code != CodeUnknownField {
			t.Fatalf("skip after an accepted answer: %v", errs)
		}
	})
}

// checkStoredValue re-checks a stored value against its field's rules
// independently of the validator that produced it.
func checkStoredValue(t *testing.T, f *Field, v any) {
	t.Helper()
	if f.Type == FieldBoolean {
		if _, ok := v.(bool); !ok {
			t.Fatalf("%s stores %T", f.Key, v)
		}
		return
	}
	s, ok := v.(string)
	if !ok || s == "" || s != strings.TrimSpace(s) || !cleanText(s) {
		t.Fatalf("%s stores %q", f.Key, v)
	}
	switch f.Type {
	case FieldText:
		if n := utf8.RuneCountInString(s); n < f.MinLength || n > f.MaxLength {
			t.Fatalf("%s stores %d characters, bounds %d..%d", f.Key, n, f.MinLength, f.MaxLength)
		}
	case FieldPhone:
		num, err := phonenumbers.Parse(s, "")
		if err != nil || !phonenumbers.IsValidNumber(num) || phonenumbers.Format(num, phonenumbers.E164) != s {
			t.Fatalf("%s stores %q, not a valid E.164 number", f.Key, s)
		}
	case FieldSelect:
		if !slices.ContainsFunc(f.Options, func(o Option) bool { return o.Value == s }) {
			t.Fatalf("%s stores %q, not an option", f.Key, s)
		}
	}
}
