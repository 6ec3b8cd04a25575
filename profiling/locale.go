package profiling

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/text/language"
)

// Locales: every text a user sees (labels, placeholders, option labels,
// stage reasons, the policy's reasons, consent texts and the user-error
// messages) may be written per locale in the rules file. A plain string is
// the default locale's text; a mapping gives it per locale:
//
//	locales: [en, de]            # the first is the default
//	fields:
//	  - key: title
//	    label: {en: Job title, de: Berufsbezeichnung}
//
// The loader builds one variant of the catalogue, stages and policy per
// locale (Rules.In), so a Profile made from a variant, its Pending fields and
// the FieldErrors of its Answer are all in that locale, with no locale
// argument threaded through the engine. Which locale a request gets is the
// caller's choice (Rules.MatchLocale turns an Accept-Language header into
// one); the domain never looks at a request.

// Locale is a BCP 47 language tag as the rules file's locales list writes
// it, e.g. "en" or "de".
type Locale string

// DefaultLocale is the locale of a rules file that declares no locales.
const DefaultLocale Locale = "en"

// rawText is a text as the file writes it: a plain string (the default
// locale's) or a mapping of locale to text.
type rawText struct {
	plain    string
	byLocale map[string]string
	isMap    bool
}

// UnmarshalYAML takes a string or a mapping of strings.
func (t *rawText) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err == nil {
		*t = rawText{plain: s}
		return nil
	}
	var m map[string]string
	if err := unmarshal(&m); err != nil {
		return fmt.Errorf("expected text, or a mapping of locale to text such as {en: Job title, de: Berufsbezeichnung}")
	}
	*t = rawText{byLocale: m, isMap: true}
	return nil
}

// localized is a text in every locale of the rules, filled in from the
// default locale where the file gives no translation.
type localized map[Locale]string

// localeSet is what the loader knows about the file's locales.
type localeSet struct {
	list    []Locale // the default first
	tags    []language.Tag
	matcher language.Matcher
}

// locales checks the top-level locales list.
func (l *loader) locales(raw []string) (localeSet, []error) {
	if raw == nil {
		return localeSet{list: []Locale{DefaultLocale}, tags: []language.Tag{language.English},
			matcher: language.NewMatcher([]language.Tag{language.English})}, nil
	}
	var problems []error
	var set localeSet
	if len(raw) == 0 {
		problems = append(problems, l.fail("$.locales", "", "", "locales: list at least one locale (the first is the default), or leave it out for English only"))
	}
	for i, s := range raw {
		at := fmt.Sprintf("$.locales[%d]", i)
		tag, err := language.Parse(s)
		switch {
		case err != nil || s != strings.TrimSpace(s) || s == "":
			problems = append(problems, l.fail(at, "", "", "locales: %q is not a BCP 47 language tag (write e.g. en, de, pt-BR)", s))
			continue
		case slices.Contains(set.list, Locale(s)):
			problems = append(problems, l.fail(at, "", "", "locales: %q is listed twice", s))
			continue
		}
		set.list = append(set.list, Locale(s))
		set.tags = append(set.tags, tag)
	}
	if len(set.list) == 0 {
		set.list, set.tags = []Locale{DefaultLocale}, []language.Tag{language.English}
	}
	set.matcher = language.NewMatcher(set.tags)
	return set, problems
}

// text checks one text of the file at path (a YAML path such as
// "$.fields[2].label"): a plain string or a mapping that gives the default
// locale, names only declared locales and holds no control characters. It
// returns the default locale's text (trimmed) and the text in every locale.
func (l *loader) text(path, what string, t rawText, fail func(path, format string, args ...any) error) (string, localized, []error) {
	def := l.loc.list[0]
	out := make(localized, len(l.loc.list))
	var problems []error
	if !t.isMap {
		s := strings.TrimSpace(t.plain)
		if !cleanText(s) {
			problems = append(problems, fail(path, "%s must not contain control or invisible formatting characters", what))
		}
		for _, loc := range l.loc.list {
			out[loc] = s
		}
		return s, out, problems
	}
	keys := make([]string, 0, len(t.byLocale))
	for k := range t.byLocale {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s := strings.TrimSpace(t.byLocale[k])
		at := path + "." + k
		switch {
		case !slices.Contains(l.loc.list, Locale(k)):
			if _, err := language.Parse(k); err != nil {
				problems = append(problems, fail(at, "%s: %q is not a BCP 47 language tag", what, k))
			} else {
				problems = append(problems, fail(at, "%s: locale %q is not in the file's locales %v", what, k, l.loc.list))
			}
		case s == "":
			problems = append(problems, fail(at, "%s: the %s text is empty", what, k))
		case !cleanText(s):
			problems = append(problems, fail(at, "%s: the %s text must not contain control or invisible formatting characters", what, k))
		default:
			out[Locale(k)] = s
		}
	}
	d, ok := out[def]
	if !ok {
		if _, given := t.byLocale[string(def)]; !given {
			problems = append(problems, fail(path, "%s: the default locale %q is missing (a locale mapping must give it)", what, def))
		}
	}
	for _, loc := range l.loc.list {
		if _, ok := out[loc]; !ok {
			out[loc] = d
		}
	}
	return d, out, problems
}

// textFail adapts the loader's fail to text's: problems at a path of a
// stage or field keep naming it.
func (l *loader) textFail(stage, field string) func(path, format string, args ...any) error {
	return func(path, format string, args ...any) error { return l.fail(path, stage, field, format, args...) }
}

// firstError is the first of problems, or nil.
func firstError(problems []error) error {
	if len(problems) == 0 {
		return nil
	}
	return problems[0]
}

// fieldTexts are a field's texts in every locale.
type fieldTexts struct {
	label, placeholder, consent localized
	options                     []localized
}

// variant is what differs between the locales of one rules file.
type variant struct {
	fields   []*Field
	byKey    map[string]*Field
	stages   []*Stage
	policy   Policy
	messages *messages
}

// localize builds, once at load, the variant of every locale.
func (r *Rules) localize(set localeSet, msgs map[Locale]*messages) {
	r.localeList, r.matcher = set.list, set.matcher
	r.locale = set.list[0]
	r.variants = make(map[Locale]*variant, len(set.list))
	for _, f := range r.fields {
		f.messages = msgs[r.locale]
	}
	r.msgs = msgs[r.locale]
	r.variants[r.locale] = &variant{fields: r.fields, byKey: r.byKey, stages: r.stages, policy: r.policy, messages: r.msgs}
	for _, loc := range set.list[1:] {
		v := &variant{byKey: make(map[string]*Field, len(r.fields)), policy: r.policy, messages: msgs[loc]}
		for _, f := range r.fields {
			c := *f
			if t := f.texts; t != nil {
				c.Label, c.Placeholder = t.label[loc], t.placeholder[loc]
				if len(f.Options) > 0 {
					c.Options = make([]Option, len(f.Options))
					for i, o := range f.Options {
						c.Options[i] = Option{Value: o.Value, Label: t.options[i][loc]}
					}
				}
				if f.Consent != nil {
					c.Consent = &Consent{Version: f.Consent.Version, Text: t.consent[loc]}
				}
			}
			c.messages = msgs[loc]
			v.fields = append(v.fields, &c)
			v.byKey[c.Key] = &c
		}
		for _, s := range r.stages {
			c := &Stage{Name: s.Name, Reason: s.Reason, When: s.When, cond: s.cond}
			if s.reasons != nil {
				c.Reason = s.reasons[loc]
			}
			for _, f := range s.Fields {
				c.Fields = append(c.Fields, v.byKey[f.Key])
			}
			v.stages = append(v.stages, c)
		}
		if r.policyTexts.reconfirm != nil {
			v.policy.ReconfirmReason = r.policyTexts.reconfirm[loc]
		}
		if r.policyTexts.consent != nil {
			v.policy.ConsentReason = r.policyTexts.consent[loc]
		}
		vr := Rules{fields: v.fields, stages: v.stages}
		vr.precompute()
		r.variants[loc] = v
	}
}

// Locale is the locale this Rules value speaks.
func (r *Rules) Locale() Locale {
	if r.locale == "" {
		return DefaultLocale
	}
	return r.locale
}

// Locales are the file's locales, the default first.
func (r *Rules) Locales() []Locale { return slices.Clone(r.localeList) }

// In returns the rules in locale loc: the same catalogue, stages and policy
// with their texts, and the user-error messages, in loc. A locale the file
// does not declare gets the default locale.
func (r *Rules) In(loc Locale) *Rules {
	v, ok := r.variants[loc]
	if !ok {
		loc = r.localeList[0]
		v = r.variants[loc]
	}
	if loc == r.locale {
		return r
	}
	c := *r
	c.locale, c.fields, c.byKey, c.stages, c.policy, c.msgs = loc, v.fields, v.byKey, v.stages, v.policy, v.messages
	return &c
}

// MatchLocale picks the file's locale for an Accept-Language header value
// (quality weights respected, e.g. "de;q=0.9, en;q=0.8"); a header that
// matches none of the file's locales, or cannot be read, gets the default
// locale.
func (r *Rules) MatchLocale(acceptLanguage string) Locale {
	if len(r.localeList) == 0 {
		return DefaultLocale
	}
	if acceptLanguage == "" { // most requests: no parse needed
		return r.localeList[0]
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return r.localeList[0]
	}
	_, i, conf := r.matcher.Match(tags...)
	if conf == language.No || i < 0 || i >= len(r.localeList) {
		return r.localeList[0]
	}
	return r.localeList[i]
}

// In returns the service speaking locale loc (see Rules.In): profiles,
// pending fields and user errors of the returned service are in loc.
func (s *Service) In(loc Locale) *Service {
	if s == nil {
		return nil
	}
	rules := s.rules.In(loc)
	if rules == s.rules {
		return s
	}
	c := *s
	c.rules = rules
	return &c
}

// MatchLocale is the rules' MatchLocale.
//
// A nil service (an endpoint built without one, as some tests do) answers
// DefaultLocale.
func (s *Service) MatchLocale(acceptLanguage string) Locale {
	if s == nil || s.rules == nil {
		return DefaultLocale
	}
	return s.rules.MatchLocale(acceptLanguage)
}

// ---------------------------------------------------------------------------
// User-error messages.

// messages are the user-error message templates of one locale, by name.
type messages map[string]string

// defaultMessages are the English messages, used for every message the
// rules file does not give.
var defaultMessages = messages{
	"required":                  "{label} is required",
	"notBoolean":                "{label} must be true or false",
	"notText":                   "{label} must be text",
	"invalidCharacters":         "{label} must not contain control or invisible formatting characters",
	"tooShort":                  "{label} must be at least {characters}",
	"tooLong":                   "{label} must be at most {characters}",
	"characters":                "{n} characters",
	"oneCharacter":              "1 character",
	"invalidPhone":              "{label} must be a valid phone number",
	"invalidPhoneInternational": "{label} must be a valid phone number with its country code, e.g. +44 20 7946 0958",
	"phoneExtension":            "{label} must not include an extension",
	"notAnOption":               "{label} must be one of: {options}",
	"unknownField":              "{key} is not a profile field",
	"answeredTwice":             "{label} is answered twice",
	"textAndBool":               "{label} takes either text or bool, not both",
	"contextTooLong":            "Context must be at most {n} characters",
	"contextInvalidCharacters":  "Context must not contain control or invisible formatting characters",
}

// messagePlaceholders are the placeholders each message may use.
var messagePlaceholders = map[string][]string{
	"tooShort": {"label", "characters"}, "tooLong": {"label", "characters"},
	"characters": {"n"}, "oneCharacter": {}, "notAnOption": {"label", "options"},
	"unknownField": {"key"}, "contextTooLong": {"n"}, "contextInvalidCharacters": {},
}

var placeholder = regexp.MustCompile(`\{([^{}]*)\}`)

// message returns message name with its placeholders filled in; vars are
// placeholder, value pairs.
func (m *messages) message(name string, vars ...string) string {
	t, ok := "", false
	if m != nil {
		t, ok = (*m)[name]
	}
	if !ok {
		t = defaultMessages[name]
	}
	pairs := make([]string, 0, len(vars))
	for i := 0; i+1 < len(vars); i += 2 {
		pairs = append(pairs, "{"+vars[i]+"}", vars[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(t)
}

// characters is "1 character" or "N characters" in m's locale.
func (m *messages) characters(n int) string {
	if n == 1 {
		return m.message("oneCharacter")
	}
	return m.message("characters", "n", fmt.Sprint(n))
}

// messages checks the messages section and returns every locale's
// messages, complete (the file's, else English).
func (l *loader) messages(raw map[string]rawText) (map[Locale]*messages, []error) {
	out := make(map[Locale]*messages, len(l.loc.list))
	for _, loc := range l.loc.list {
		m := make(messages, len(defaultMessages))
		for k, v := range defaultMessages {
			m[k] = v
		}
		out[loc] = &m
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	slices.Sort(names)
	var problems []error
	fail := l.textFail("", "")
	for _, name := range names {
		at := "$.messages." + name
		if _, ok := defaultMessages[name]; !ok {
			known := make([]string, 0, len(defaultMessages))
			for k := range defaultMessages {
				known = append(known, k)
			}
			slices.Sort(known)
			problems = append(problems, l.fail(at, "", "", "messages.%s: no such message; the messages are %s", name, strings.Join(known, ", ")))
			continue
		}
		_, texts, ps := l.text(at, "messages."+name, raw[name], fail)
		problems = append(problems, ps...)
		allowed, ok := messagePlaceholders[name]
		if !ok {
			allowed = []string{"label"}
		}
		checked := map[string]bool{}
		for _, loc := range l.loc.list {
			for _, p := range placeholder.FindAllStringSubmatch(texts[loc], -1) {
				if !slices.Contains(allowed, p[1]) && !checked[p[0]] {
					checked[p[0]] = true
					problems = append(problems, l.fail(at, "", "", "messages.%s: %s: unknown placeholder {%s}; this message may use %s", name, loc, p[1], braces(allowed)))
				}
			}
			if texts[loc] != "" {
				(*out[loc])[name] = texts[loc]
			}
		}
	}
	return out, problems
}

func braces(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "{" + n + "}"
	}
	return strings.Join(out, ", ")
}
