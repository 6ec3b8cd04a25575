package profiling

import (
	"strings"
	"testing"
	"time"
)

func TestMatchLocale(t *testing.T) {
	r := mustDefaultRules(t)
	for _, tt := range []struct {
		header string
		want   Locale
	}{
		{"", "en"},
		{"de", "de"},
		{"de-CH", "de"},
		{"de-DE,de;q=0.9", "de"},
		{"de;q=0.9, en;q=0.8", "de"},
		{"en;q=0.8, de;q=0.9", "de"},
		{"de;q=0.5, en;q=0.8", "en"},
		{"en-GB", "en"},
		{"fr", "en"},           // unknown: the default
		{"fr, de;q=0.3", "de"}, // the best the file has
		{"ja-JP", "en"},
		{"*", "en"},
		{";;;garbage", "en"},
	} {
		if got := r.MatchLocale(tt.header); got != tt.want {
			t.Errorf("MatchLocale(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
	if got := r.Locales(); len(got) != 2 || got[0] != "en" || got[1] != "de" {
		t.Errorf("Locales() = %v", got)
	}
}

// The default rules translate every text a user sees.
func TestDefaultRulesAreTranslated(t *testing.T) {
	r := mustDefaultRules(t)
	en, de := r.In("en"), r.In("de")
	if en != r || r.Locale() != "en" || de.Locale() != "de" {
		t.Fatalf("In: en=%p r=%p de locale %q", en, r, de.Locale())
	}
	for i, f := range en.Fields() {
		g := de.Fields()[i]
		if g.Label == f.Label || (f.Key == "company" || f.Key == "title") && f.Placeholder == g.Placeholder {
			t.Errorf("field %s not translated: %q/%q, %q/%q", f.Key, f.Label, g.Label, f.Placeholder, g.Placeholder)
		}
		for j, o := range f.Options {
			if g.Options[j].Label == o.Label {
				t.Errorf("option %s.%s not translated", f.Key, o.Value)
			}
		}
		if f.Consent != nil && (g.Consent.Text == f.Consent.Text || g.Consent.Version != f.Consent.Version) {
			t.Errorf("consent of %s: %+v / %+v", f.Key, f.Consent, g.Consent)
		}
	}
	for i, s := range en.Stages() {
		if de.Stages()[i].Reason == s.Reason || de.Stages()[i].Name != s.Name {
			t.Errorf("stage %s reason not translated: %q", s.Name, s.Reason)
		}
	}
	if en.Policy().ReconfirmReason == de.Policy().ReconfirmReason || en.Policy().ConsentReason == de.Policy().ConsentReason {
		t.Errorf("policy reasons not translated: %+v", de.Policy())
	}
	for name := range defaultMessages {
		if (*de.msgs)[name] == defaultMessages[name] {
			t.Errorf("message %s not translated", name)
		}
	}
	// The variant is a view: the English rules are untouched.
	if f, _ := r.Field("title"); f.Label != "Job title" {
		t.Errorf("English label = %q", f.Label)
	}
}

func TestPendingAndAnswerInBothLocales(t *testing.T) {
	r := mustDefaultRules(t)
	for _, tt := range []struct {
		loc                            Locale
		label, reason, placeholder     string
		required, tooLong, notABoolean string
	}{
		{"en", "Company", "Asked on your second visit", "Analytical Engines Ltd",
			"First name is required", "Company must be at most 100 characters", "Subscribe to the newsletter must be true or false"},
		{"de", "Firma", "Gefragt bei Ihrem zweiten Besuch", "Analytische Maschinen GmbH",
			"Vorname ist erforderlich", "Firma darf höchstens 100 Zeichen lang sein", "Newsletter abonnieren muss wahr oder falsch sein"},
		{"fr", "Company", "Asked on your second visit", "Analytical Engines Ltd", // not in the file: the default
			"First name is required", "Company must be at most 100 characters", "Subscribe to the newsletter must be true or false"},
	} {
		t.Run(string(tt.loc), func(t *testing.T) {
			lr := r.In(tt.loc)
			u := newUser(2, time.Hour, func(u *User) { u.GivenName, u.FamilyName = "Ada", "Lovelace" })
			pending, err := lr.Profile(u, testNow).Pending("", nil)
			if err != nil || len(pending) == 0 {
				t.Fatalf("pending = %v, %v", pending, err)
			}
			p := pending[0]
			if p.Key != "company" || p.Label != tt.label || p.Reason != tt.reason || *p.OptionalPlaceholder() != tt.placeholder {
				t.Errorf("pending[0] = %s %q %q %q", p.Key, p.Label, p.Reason, p.Field.Placeholder)
			}
			_, errs := lr.Answer(u, map[string]any{"firstName": "", "company": strings.Repeat("x", 101), "subscribed": "yes"}, "", testNow)
			var got []string
			for _, e := range errs {
				got = append(got, e.Message)
			}
			if want := []string{tt.required, tt.tooLong, tt.notABoolean}; strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("messages = %q, want %q", got, want)
			}
		})
	}
	de := r.In("de")
	_, errs := de.Answer(nil, map[string]any{"nope": "x"}, strings.Repeat("c", 101), testNow)
	if len(errs) != 2 || errs[0].Message != "Der Kontext darf höchstens 100 Zeichen lang sein" || errs[1].Message != `"nope" ist kein Profilfeld` {
		t.Errorf("errs = %+v", errs)
	}
	// Re-confirmation and consent reasons, and the consent text.
	u := newUser(2, time.Hour, func(u *User) { u.GivenName, u.FamilyName = "Ada", "Lovelace" })
	pending, _ := de.Profile(u, testNow).Pending("article", nil)
	if len(pending) == 0 || pending[0].Key != "subscribed" || !strings.HasPrefix(*pending[0].ConsentText(), "Wir senden") || pending[0].Reason != "Gefragt, während Sie einen Artikel lesen" {
		t.Errorf("pending in an article = %+v", pending)
	}
}

func TestLocaleLoaderErrors(t *testing.T) {
	base := string(DefaultRules)
	for _, tt := range []struct {
		name, from, to string
		want           []string
	}{
		{"missing default", "label: {en: Company, de: Firma}", "label: {de: Firma}",
			[]string{`default_rules.yaml:160: field "company": label: the default locale "en" is missing`}},
		{"undeclared locale", "label: {en: Phone, de: Telefon}", "label: {en: Phone, de: Telefon, fr: Téléphone}",
			[]string{`default_rules.yaml:184: field "phone": label: locale "fr" is not in the file's locales [en de]`}},
		{"bad tag in a map", "reason: {en: Asked when you sign up, de: Gefragt bei Ihrer Registrierung}", "reason: {en: Asked when you sign up, not_a_tag!: x}",
			[]string{`default_rules.yaml:252: stage "signup": reason: "not_a_tag!" is not a BCP 47 language tag`}},
		{"bad tag in locales", "locales: [en, de]", "locales: [en, de, xx-!!]",
			[]string{`default_rules.yaml:34: locales: "xx-!!" is not a BCP 47 language tag`}},
		{"duplicate locale", "locales: [en, de]", "locales: [en, de, en]",
			[]string{`default_rules.yaml:34: locales: "en" is listed twice`}},
		{"control character", "    label: {en: Job title, de: Berufsbezeichnung}", "    label: {en: Job title, de: \"Beruf\\u202Ebezeichnung\"}",
			[]string{`default_rules.yaml:171: field "title": label: the de text must not contain control or invisible formatting characters`}},
		{"unknown message", "  required: {en:", "  requird: {en:",
			[]string{`messages.requird: no such message`}},
		{"unknown placeholder", `de: "{label} ist erforderlich"`, `de: "{lable} ist erforderlich"`,
			[]string{`messages.required: de: unknown placeholder {lable}; this message may use {label}`}},
		{"every problem at once", "label: {en: Company, de: Firma}", "label: {de: Firma}",
			[]string{`field "company": label: the default locale "en" is missing`, `default_rules.yaml:34: locales: "en" is listed twice`,
				`stage "signup": reason: locale "es" is not in the file's locales [en de]`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := strings.Replace(base, tt.from, tt.to, 1)
			if data == base {
				t.Fatalf("edit %q not applied", tt.from)
			}
			if tt.name == "every problem at once" {
				data = strings.Replace(data, "locales: [en, de]", "locales: [en, de, en]", 1)
				data = strings.Replace(data, "de: Gefragt bei Ihrer Registrierung}", "es: Preguntado}", 1)
			}
			_, err := ParseRules(DefaultRulesName, []byte(data), apiSchema)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// A single-language file (no locales:) still loads, speaks English, and
// refuses a locale mapping that names another locale.
func TestSingleLanguageFile(t *testing.T) {
	data := []byte(`policy: {maxFieldsPerPrompt: 1, skipCooldown: 1h}
fields:
  - {key: company, label: Company, type: TEXT, store: company}
stages:
  - {name: s, when: "true", reason: Because, fields: [company]}
`)
	r, err := ParseRules("one.yaml", data, apiSchema)
	if err != nil {
		t.Fatal(err)
	}
	if r.Locale() != "en" || r.MatchLocale("de") != "en" || r.In("de") != r {
		t.Errorf("locale %q, match %q", r.Locale(), r.MatchLocale("de"))
	}
	bad := strings.Replace(string(data), "label: Company", "label: {en: Company, de: Firma}", 1)
	if _, err := ParseRules("one.yaml", []byte(bad), apiSchema); err == nil || !strings.Contains(err.Error(), `one.yaml:3: field "company": label: locale "de" is not in the file's locales [en]`) {
		t.Errorf("err = %v", err)
	}
}
