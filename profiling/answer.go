package profiling

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// ErrorCode says why an answer was refused; clients branch on it.
type ErrorCode string

// The reasons an answer can be refused. Each FieldError carries one.
const (
	// CodeRequired: a required field was answered with null or blank text;
	// a required answer cannot be cleared.
	CodeRequired ErrorCode = "REQUIRED"
	// CodeTooShort: TEXT shorter than the field's minLength (in characters).
	CodeTooShort ErrorCode = "TOO_SHORT"
	// CodeTooLong: TEXT longer than the field's maxLength, or an interaction
	// context longer than 100 characters.
	CodeTooLong ErrorCode = "TOO_LONG"
	// CodeInvalidCharacters: control or invisible formatting characters, or
	// invalid UTF-8, in an answer or the interaction context.
	CodeInvalidCharacters ErrorCode = "INVALID_CHARACTERS"
	// CodeInvalidPhone: a PHONE answer that is not a valid number (or lacks a
	// +country code when the field has no default region, or has an extension).
	CodeInvalidPhone ErrorCode = "INVALID_PHONE"
	// CodeNotAnOption: a SELECT answer that is not one of the option values.
	CodeNotAnOption ErrorCode = "NOT_AN_OPTION"
	// CodeWrongType: a non-string for TEXT/PHONE/SELECT or a non-bool for BOOLEAN.
	CodeWrongType ErrorCode = "WRONG_TYPE"
	// CodeUnknownField: the key is not in the field catalogue.
	CodeUnknownField ErrorCode = "UNKNOWN_FIELD"
)

// FieldError is one refused answer. Key is the field key (or "context" for
// the interaction context); Message is for the user and names the field by
// its label.
type FieldError struct {
	Key     string
	Code    ErrorCode
	Message string
	// Answer is the 1-based position of the answer by key the problem is
	// about (generic.go); 0 for a typed answer or the context.
	Answer int
}

func (e FieldError) Error() string { return fmt.Sprintf("%s: %s: %s", e.Key, e.Code, e.Message) }

// contextKey is the FieldError key for a bad interaction context; it matches
// the input field that carries the context.
const contextKey = "context"

// Answer validates answers (field key -> value; a nil value is an explicit
// null and clears the answer; a key that is absent is left untouched) and
// returns the patch that saves them. If any answer is refused it returns
// every problem (context first, then catalogue order, then unknown keys
// sorted) and an empty patch: it never returns both.
//
// The patch writes only catalogue store keys in user_metadata and
// BookkeepingKey in app_metadata. An answer equal to the stored value writes
// nothing to user_metadata.
func (r *Rules) Answer(u *User, answers map[string]any, interaction string, now time.Time) (Patch, []FieldError) {
	if u == nil {
		u = &User{}
	}
	type accepted struct {
		field *Field
		value any // nil: clear
	}
	var errs []FieldError
	if e, ok := r.contextError(interaction); ok {
		errs = append(errs, e)
	}
	var ok []accepted
	for _, f := range r.fields {
		raw, present := answers[f.Key]
		if !present {
			continue
		}
		v, ferr := f.validate(raw)
		if ferr != nil {
			errs = append(errs, *ferr)
			continue
		}
		ok = append(ok, accepted{f, v})
	}
	errs = append(errs, r.unknownKeys(slices.Collect(maps.Keys(answers)))...)
	if len(errs) > 0 {
		return Patch{}, errs
	}

	userMetadata := map[string]any{}
	bk := editBookkeeping(u.AppMetadata)
	collected, _ := readBookkeeping(u.AppMetadata)
	var profile *Profile // built only if an answer is recorded: it evaluates conditions
	for _, a := range ok {
		stored := u.UserMetadata[a.field.Store]
		if a.value == nil {
			if stored != nil {
				userMetadata[a.field.Store] = nil
			}
			bk.uncollect(a.field.Key)
			continue
		}
		if profile == nil {
			profile = r.Profile(u, now)
		}
		_, recorded := collected[a.field.Key]
		v, _ := profile.Value(a.field.Key)
		// The same answer again needs no new record, unless it confirms a
		// value due for re-confirmation or consent (reconfirm.go).
		if sameValue(stored, a.value) && recorded && profile.due(v) == "" {
			bk.unskip(a.field.Key) // answered now, so no longer "not now"
			continue
		}
		if !sameValue(stored, a.value) {
			userMetadata[a.field.Store] = a.value
		}
		bk.collect(a.field.Key, now, profile.askingStage(a.field.Key, interaction), interaction, r.version, a.field.consentVersion())
	}

	r.compact(bk)
	var p Patch
	if len(userMetadata) > 0 {
		p.UserMetadata = userMetadata
	}
	if bk.changed {
		p.AppMetadata = map[string]any{BookkeepingKey: bk.root}
	}
	return p, nil
}

// Skip records that the user chose not to answer keys now: they are not
// pending again until the policy's cool-down has passed. It returns every
// problem and an empty patch, or the patch (app_metadata bookkeeping only;
// empty when no key needed a record).
func (r *Rules) Skip(u *User, keys []string, interaction string, now time.Time) (Patch, []FieldError) {
	if u == nil {
		u = &User{}
	}
	var errs []FieldError
	if e, ok := r.contextError(interaction); ok {
		errs = append(errs, e)
	}
	errs = append(errs, r.unknownKeys(keys)...)
	if len(errs) > 0 {
		return Patch{}, errs
	}
	// A field already known is never asked, and one skipped within the
	// cool-down is not asked yet (a repeated "not now" is a retry): neither
	// needs a record, so skipping them writes nothing (see skip.go).
	return r.skip(u, keys, interaction, now, false)
}

// unknownKeys reports each distinct key outside the catalogue, sorted.
func (r *Rules) unknownKeys(keys []string) []FieldError {
	var unknown []string
	for _, k := range keys {
		if _, ok := r.byKey[k]; !ok && !slices.Contains(unknown, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	var errs []FieldError
	for _, k := range unknown {
		errs = append(errs, FieldError{Key: k, Code: CodeUnknownField, Message: r.msgs.message("unknownField", "key", fmt.Sprintf("%q", truncate(k, 40)))})
	}
	return errs
}

func (r *Rules) contextError(interaction string) (FieldError, bool) {
	if n := utf8.RuneCountInString(interaction); n > maxContextLength {
		return FieldError{Key: contextKey, Code: CodeTooLong, Message: r.msgs.message("contextTooLong", "n", fmt.Sprint(maxContextLength))}, true
	}
	if !cleanText(interaction) {
		return FieldError{Key: contextKey, Code: CodeInvalidCharacters, Message: r.msgs.message("contextInvalidCharacters")}, true
	}
	return FieldError{}, false
}

// validate checks one answer and returns the value to store (nil: clear).
func (f *Field) validate(raw any) (any, *FieldError) {
	// fail names a message (locale.go) and its placeholders beyond {label}.
	fail := func(code ErrorCode, name string, vars ...string) (any, *FieldError) {
		return nil, &FieldError{Key: f.Key, Code: code, Message: f.messages.message(name, append([]string{"label", f.Label}, vars...)...)}
	}
	cleared := func() (any, *FieldError) {
		if f.Required {
			return fail(CodeRequired, "required")
		}
		return nil, nil
	}
	if raw == nil {
		return cleared()
	}
	if f.Type == FieldBoolean {
		b, ok := raw.(bool)
		if !ok {
			return fail(CodeWrongType, "notBoolean")
		}
		return b, nil
	}
	s, ok := raw.(string)
	if !ok {
		return fail(CodeWrongType, "notText")
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return cleared()
	}
	if !cleanText(s) {
		return fail(CodeInvalidCharacters, "invalidCharacters")
	}
	switch f.Type {
	case FieldText:
		switch n := utf8.RuneCountInString(s); {
		case n < f.MinLength:
			return fail(CodeTooShort, "tooShort", "characters", f.messages.characters(f.MinLength))
		case n > f.MaxLength:
			return fail(CodeTooLong, "tooLong", "characters", f.messages.characters(f.MaxLength))
		}
		return s, nil
	case FieldPhone:
		return f.validatePhone(s, fail)
	case FieldSelect:
		for _, o := range f.Options {
			if o.Value == s {
				return s, nil
			}
		}
		labels := make([]string, len(f.Options))
		for i, o := range f.Options {
			labels[i] = o.Label
		}
		return fail(CodeNotAnOption, "notAnOption", "options", strings.Join(labels, ", "))
	}
	return nil, &FieldError{Key: f.Key, Code: CodeWrongType, Message: f.Label + " has a type this service cannot validate"}
}

func (f *Field) validatePhone(s string, fail func(ErrorCode, string, ...string) (any, *FieldError)) (any, *FieldError) {
	num, err := phonenumbers.Parse(s, f.DefaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		if f.DefaultRegion == "" {
			return fail(CodeInvalidPhone, "invalidPhoneInternational")
		}
		return fail(CodeInvalidPhone, "invalidPhone")
	}
	if num.GetExtension() != "" {
		return fail(CodeInvalidPhone, "phoneExtension")
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// sameValue compares a stored metadata value with a validated answer
// (string or bool) without ever comparing uncomparable types.
func sameValue(stored, answer any) bool {
	switch a := answer.(type) {
	case string:
		s, ok := stored.(string)
		return ok && s == a
	case bool:
		b, ok := stored.(bool)
		return ok && b == a
	}
	return false
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
