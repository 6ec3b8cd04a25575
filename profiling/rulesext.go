package profiling

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The rules-file knobs beyond the original policy and field shape: the
// file's version, the growing "not now" cool-down, the question budget,
// re-confirmation and consent. Each is checked like the rest of the file:
// every problem reported with its line.

type rawConsent struct {
	Version string  `yaml:"version"`
	Text    rawText `yaml:"text"`
}

// Defaults of the optional policy knobs.
const (
	DefaultSkipBackoff     = 2.0
	DefaultSkipCooldownMax = 30 * 24 * time.Hour
	DefaultReconfirmReason = "Is this still right?"
	DefaultConsentReason   = "The terms changed: please confirm your choice"
	maxVersionLength       = 64
)

func (l *loader) version(r *Rules, v *string) []error {
	if v == nil {
		return nil
	}
	s := strings.TrimSpace(*v)
	switch {
	case s == "":
		return []error{l.fail("$.version", "", "", "version: must not be empty (leave it out for none)")}
	case utf8.RuneCountInString(s) > maxVersionLength || !cleanText(s):
		return []error{l.fail("$.version", "", "", "version: must be at most %d printable characters", maxVersionLength)}
	}
	r.version = s
	return nil
}

func (l *loader) policyExtra(r *Rules, x *rawPolicy) []error {
	p := &r.policy
	var problems []error
	fail := func(path, format string, args ...any) {
		problems = append(problems, l.fail("$.policy."+path, "", "", "policy."+path+": "+format, args...))
	}
	p.SkipBackoff = DefaultSkipBackoff
	if x.SkipBackoff != nil {
		if *x.SkipBackoff < 1 || *x.SkipBackoff > 100 {
			fail("skipBackoff", "must be from 1 (the cool-down never grows) to 100, got %v", *x.SkipBackoff)
		} else {
			p.SkipBackoff = *x.SkipBackoff
		}
	}
	p.SkipCooldownMax = max(DefaultSkipCooldownMax, p.SkipCooldown)
	if x.SkipCooldownMax != nil {
		d, err := time.ParseDuration(strings.TrimSpace(*x.SkipCooldownMax))
		switch {
		case err != nil:
			fail("skipCooldownMax", "%q is not a duration (write e.g. 720h)", *x.SkipCooldownMax)
		case d < p.SkipCooldown:
			fail("skipCooldownMax", "%s is shorter than skipCooldown %s", d, p.SkipCooldown)
		default:
			p.SkipCooldownMax = d
		}
	}
	for name, n := range map[string]*int{"promptsPerDay": x.PromptsPerDay, "promptsPerWeek": x.PromptsPerWeek} {
		if n != nil && *n < 0 {
			fail(name, "must not be negative (0 means no cap), got %d", *n)
		}
	}
	if x.PromptsPerDay != nil && *x.PromptsPerDay > 0 {
		p.PromptsPerDay = *x.PromptsPerDay
	}
	if x.PromptsPerWeek != nil && *x.PromptsPerWeek > 0 {
		p.PromptsPerWeek = *x.PromptsPerWeek
	}
	if p.PromptsPerDay > 0 && p.PromptsPerWeek > 0 && p.PromptsPerWeek < p.PromptsPerDay {
		fail("promptsPerWeek", "%d is less than promptsPerDay %d", p.PromptsPerWeek, p.PromptsPerDay)
	}
	var ps []error
	p.ReconfirmReason, r.policyTexts.reconfirm, ps = l.textOr("reconfirmReason", x.ReconfirmReason, DefaultReconfirmReason)
	problems = append(problems, ps...)
	p.ConsentReason, r.policyTexts.consent, ps = l.textOr("consentReason", x.ConsentReason, DefaultConsentReason)
	return append(problems, ps...)
}

// textOr checks an optional policy text; left out or blank, it is def in
// every locale, and a locale the file does not translate gets the default
// locale's text.
func (l *loader) textOr(name string, t *rawText, def string) (string, localized, []error) {
	if t == nil {
		return def, nil, nil
	}
	s, texts, problems := l.text("$.policy."+name, "policy."+name, *t, l.textFail("", ""))
	if s == "" {
		return def, nil, problems
	}
	return s, texts, problems
}

func (l *loader) fieldExtra(f *Field, x rawField, fail func(sub, format string, args ...any) error) error {
	if x.ReconfirmAfter != nil {
		d, err := time.ParseDuration(strings.TrimSpace(*x.ReconfirmAfter))
		switch {
		case err != nil:
			return fail(".reconfirmAfter", "reconfirmAfter %q is not a duration (write e.g. 4380h for six months)", *x.ReconfirmAfter)
		case d <= 0:
			return fail(".reconfirmAfter", "reconfirmAfter must be positive, got %s", d)
		}
		f.ReconfirmAfter = d
	}
	if x.Consent != nil {
		c := x.Consent
		switch {
		case f.Type != FieldBoolean:
			return fail(".consent", "consent applies only to BOOLEAN fields, not %s", f.Type)
		case strings.TrimSpace(c.Version) == "":
			return fail(".consent", "consent.version is required: answers record it, and a new one asks again")
		case utf8.RuneCountInString(c.Version) > maxVersionLength:
			return fail(".consent.version", "consent.version must be at most %d characters", maxVersionLength)
		}
		text, texts, ps := l.text(fmt.Sprintf("$.fields[%d].consent.text", l.fieldIndex), "consent.text", c.Text, l.textFail("", f.Key))
		if err := firstError(ps); err != nil {
			return err
		}
		if text == "" {
			return fail(".consent", "consent.text is required: what the user agrees to")
		}
		f.Consent = &Consent{Version: strings.TrimSpace(c.Version), Text: text}
		f.texts.consent = texts
	}
	return nil
}
