package profiling

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Value is one catalogue field's value for one user. The field's
// descriptor is embedded, so v.Key, v.Label and v.Type are the field's.
type Value struct {
	*Field
	Known       bool
	Value       any        // string for TEXT/PHONE/SELECT, bool for BOOLEAN; nil when unknown
	Source      SourceKind // "" when unknown
	CollectedAt time.Time  // zero unless this service recorded the answer
	Stage       string     // stage the answer was collected in, if recorded
	Context     string     // interaction context the answer was collected in, if recorded

	RulesVersion   string // the rules version the answer was collected under, if recorded
	ConsentVersion string // the consent version the answer agreed to, if recorded

	SkipCount    int       // "not now"s in a row (0: none recorded)
	Dismissed    bool      // "never ask"
	SkippedAt    time.Time // the last "not now" or "never ask"; zero if none
	SkippedUntil time.Time // when the "not now" cool-down ends; zero if none or dismissed
}

// Profile is what the rules make of one user at one moment: every catalogue
// value with its source, the user's stage and completion. It is read-only
// and safe for concurrent use.
type Profile struct {
	User       *User
	Values     []Value  // catalogue order
	Stage      string   // last stage whose condition holds with no context; "" if none
	Completion float64  // known fields / catalogue size, 0..1
	Roles      []string // app_metadata.roles

	rules   *Rules
	now     time.Time
	facts   conditionUser
	vars    activation // the conditions' variables, with no interaction context
	index   map[string]int
	skipped map[string]skippedEntry
	prompts PromptCounts // prompts shown in the budget windows, if known (budget.go)
	counted bool         // whether prompts is known
	// holds[i] is whether stage i's condition holds with no interaction
	// context, evaluated once per profile.
	holds []bool
}

// PendingField is a field to ask now, with the stage that asks it. The
// field's descriptor is embedded, so p.Key, p.Label, p.Type, p.Required and
// p.Options are the field's.
type PendingField struct {
	*Field
	Stage  string
	Reason string
	Kind   PromptKind // why it is asked (reconfirm.go)
	// Current is the known value to prefill when Kind is not PromptAsk.
	Current any
}

// The accessors below answer "known or not" with a nil pointer instead of a
// zero value, and point into the profile or the rules instead of copying, so
// a caller (the GraphQL layer binds them directly) costs no allocation.
// Treat what they point to as read-only.

// OptionalPlaceholder is the field's placeholder, or nil when it has none.
func (p *PendingField) OptionalPlaceholder() *string { return nonEmpty(&p.Field.Placeholder) }

// TextMinLength is a TEXT field's minimum length, or nil for another type or
// no minimum beyond non-empty.
func (p *PendingField) TextMinLength() *int { return p.Field.textBound(&p.Field.MinLength) }

// TextMaxLength is a TEXT field's maximum length, or nil for another type.
func (p *PendingField) TextMaxLength() *int { return p.Field.textBound(&p.Field.MaxLength) }

// KeyRef, LabelRef and TypeRef point at a catalogue field's key, label and
// type, StageRef and ReasonRef at a pending field's stage and reason: the
// values of the fields, for the GraphQL layer to bind. gqlgen boxes a
// value it resolves into an interface twice (the result and its field
// context), which allocates for a string and costs nothing for a pointer.

func (f *Field) KeyRef() *string           { return &f.Key }
func (f *Field) LabelRef() *string         { return &f.Label }
func (f *Field) TypeRef() *FieldType       { return &f.Type }
func (p *PendingField) StageRef() *string  { return &p.Stage }
func (p *PendingField) ReasonRef() *string { return &p.Reason }

func (f *Field) textBound(n *int) *int {
	if f.Type != FieldText || *n == 0 {
		return nil
	}
	return n
}

// KnownSource is where the value came from, or nil when it is unknown.
func (v *Value) KnownSource() *SourceKind {
	if !v.Known {
		return nil
	}
	return &v.Source
}

// CollectedInStage is the stage the answer was collected in, or nil when not
// recorded.
func (v *Value) CollectedInStage() *string { return nonEmpty(&v.Stage) }

// CollectedInContext is the interaction context the answer was collected
// in, or nil when not recorded.
func (v *Value) CollectedInContext() *string { return nonEmpty(&v.Context) }

// CurrentStage is Stage, or nil when no stage holds.
func (p *Profile) CurrentStage() *string { return nonEmpty(&p.Stage) }

// Email is the user's email address, or nil when unknown.
func (p *Profile) Email() *string { return nonEmpty(&p.User.Email) }

// EmailVerified reports whether the identity provider verified the email.
func (p *Profile) EmailVerified() bool { return p.User.EmailVerified }

// Name is the user's display name, or nil when unknown.
func (p *Profile) Name() *string { return nonEmpty(&p.User.Name) }

// Picture is the URL of the user's picture, or nil when unknown.
func (p *Profile) Picture() *string { return nonEmpty(&p.User.Picture) }

// LoginsCount is how many times the user has logged in.
func (p *Profile) LoginsCount() int64 { return p.User.LoginsCount }

func nonEmpty(s *string) *string {
	if *s == "" {
		return nil
	}
	return s
}

// ArgumentError is a request argument the caller got wrong (as opposed to
// an answer the user got wrong, which is a FieldError).
type ArgumentError struct {
	Argument string
	Reason   string
}

func (e *ArgumentError) Error() string {
	return fmt.Sprintf("invalid argument %q: %s", e.Argument, e.Reason)
}

// Profile evaluates the rules for u at time now.
func (r *Rules) Profile(u *User, now time.Time) *Profile {
	if u == nil {
		u = &User{}
	}
	collected, skipped := readBookkeeping(u.AppMetadata)
	p := &Profile{
		User:    u,
		Values:  make([]Value, len(r.fields)),
		Roles:   roles(u.AppMetadata),
		rules:   r,
		now:     now,
		facts:   conditionFacts(u),
		index:   r.index,
		skipped: skipped,
	}
	known := 0
	for i, f := range r.fields {
		p.Values[i] = lookup(u, f, collected)
		p.annotateSkip(&p.Values[i])
		if p.Values[i].Known {
			known++
		}
	}
	p.Completion = float64(known) / float64(len(r.fields))
	p.vars = newActivation(&p.facts, "", now)
	p.holds = make([]bool, len(r.stages))
	for i, s := range r.stages {
		if p.holds[i] = r.holds(s, &p.vars); p.holds[i] {
			p.Stage = s.Name
		}
	}
	return p
}

// Value returns the value of the catalogue field key.
func (p *Profile) Value(key string) (Value, bool) {
	i, ok := p.index[key]
	if !ok {
		return Value{}, false
	}
	return p.Values[i], true
}

// Pending returns what to ask now in the given interaction context: the
// fields of every stage whose condition holds, each field once, leaving out
// known fields and fields skipped within the cool-down, and at most limit of
// them (nil: the policy's maximum; a larger limit is capped at that
// maximum). Stages that hold only because of the interaction context come
// first (that context is why the client asks), then the others, earlier
// stages first.
func (p *Profile) Pending(interaction string, limit *int) ([]PendingField, error) {
	n := p.rules.policy.MaxFieldsPerPrompt
	if limit != nil {
		if *limit < 1 {
			return nil, &ArgumentError{Argument: "limit", Reason: "must be at least 1"}
		}
		n = min(n, *limit)
	}
	if reason := checkContext(interaction); reason != "" {
		return nil, &ArgumentError{Argument: "context", Reason: reason}
	}
	out := make([]PendingField, 0, min(n, len(p.Values)))
	if p.overBudget() {
		return out, nil
	}
	// seen is indexed by catalogue position: a field asked by two stages
	// is considered once, for the first.
	var small [64]bool
	seen := small[:0]
	if len(p.Values) <= len(small) {
		seen = small[:len(p.Values)]
	} else {
		seen = make([]bool, len(p.Values))
	}
	for _, s := range p.askingStages(interaction) {
		for i, pos := range s.positions {
			if seen[pos] {
				continue
			}
			seen[pos] = true
			if key := s.Fields[i].Key; !p.askable(key) || p.hidden(key) {
				continue
			}
			out = append(out, p.pendingField(p.Values[pos], s))
			if len(out) == n {
				return out, nil
			}
		}
	}
	return out, nil
}

// askingStages returns the stages that hold in this interaction context, in
// the order their fields are asked: those that hold only because of the
// context first, then the rest, each group in file order.
func (p *Profile) askingStages(interaction string) []*Stage {
	stages := p.rules.stages
	out := make([]*Stage, 0, len(stages))
	if interaction == "" {
		// Every stage was evaluated without a context when the profile
		// was made: reuse those results.
		for i, s := range stages {
			if p.holds[i] {
				out = append(out, s)
			}
		}
		return out
	}
	vars := p.vars.withContext(interaction)
	for i, s := range stages {
		if !p.holds[i] && p.rules.holds(s, vars) {
			out = append(out, s)
		}
	}
	for i, s := range stages {
		if p.holds[i] && p.rules.holds(s, vars) {
			out = append(out, s)
		}
	}
	return out
}

// askingStage is the first stage that asks for key for this user in this
// context now, in the order Pending asks, or "" when none does; answers are
// recorded with it.
func (p *Profile) askingStage(key, interaction string) string {
	for _, s := range p.askingStages(interaction) {
		for _, f := range s.Fields {
			if f.Key == key {
				return s.Name
			}
		}
	}
	return ""
}

// maxContextLength bounds the interaction context: it is recorded in
// app_metadata with every answer and skip.
const maxContextLength = 100

// checkContext returns why an interaction context is unacceptable, or "".
func checkContext(interaction string) string {
	if n := utf8.RuneCountInString(interaction); n > maxContextLength {
		return fmt.Sprintf("must be at most %d characters, got %d", maxContextLength, n)
	}
	if !cleanText(interaction) {
		return "must not contain control or invisible formatting characters"
	}
	return ""
}

// lookup finds a field's value: the user's own answer first, then each
// source in order.
func lookup(u *User, f *Field, collected map[string]collectedEntry) Value {
	if v, ok := knownValue(f, u.UserMetadata[f.Store]); ok {
		out := Value{Field: f, Known: true, Value: v, Source: SourceUser}
		if c, ok := collected[f.Key]; ok {
			out.CollectedAt, out.Stage, out.Context = c.At, c.Stage, c.Context
			out.RulesVersion, out.ConsentVersion = c.RulesVersion, c.ConsentVersion
		}
		return out
	}
	for _, s := range f.Sources {
		if v, ok := s.find(u, f); ok {
			return Value{Field: f, Known: true, Value: v, Source: s.Kind}
		}
	}
	return Value{Field: f}
}

// knownValue reports whether raw is a usable value for f: a bool for a
// BOOLEAN field (false counts), a non-blank string otherwise. A value of the
// wrong type does not count, so the field is asked and the answer fixes it.
func knownValue(f *Field, raw any) (any, bool) {
	switch v := raw.(type) {
	case bool:
		return v, f.Type == FieldBoolean
	case string:
		return v, f.Type != FieldBoolean && strings.TrimSpace(v) != ""
	}
	return nil, false
}

// find returns the first known value at this source.
func (s Source) find(u *User, f *Field) (any, bool) {
	switch s.root {
	case "identities":
		for _, id := range u.Identities {
			if v, ok := knownValue(f, dig(id.ProfileData, s.path)); ok {
				return v, true
			}
		}
		return nil, false
	case "app_metadata":
		return knownValue(f, dig(u.AppMetadata, s.path))
	case "user_metadata":
		return knownValue(f, dig(u.UserMetadata, s.path))
	}
	return knownValue(f, rootAttribute(u, s.root))
}

func rootAttribute(u *User, name string) any {
	switch name {
	case "given_name":
		return u.GivenName
	case "family_name":
		return u.FamilyName
	case "name":
		return u.Name
	case "nickname":
		return u.Nickname
	case "picture":
		return u.Picture
	case "phone_number":
		return u.PhoneNumber
	case "email":
		return u.Email
	}
	return u.RootAttributes[name]
}

// dig follows a dotted path through nested maps.
func dig(m map[string]any, path []string) any {
	var cur any = m
	for _, key := range path {
		next, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = next[key]
	}
	return cur
}

// roles reads app_metadata.roles, a list of strings; anything else is ignored.
func roles(appMetadata map[string]any) []string {
	out := []string{}
	switch rs := appMetadata["roles"].(type) {
	case []any:
		for _, r := range rs {
			if s, ok := r.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = append(out, rs...)
	}
	return out
}
