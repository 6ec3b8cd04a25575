package profiling

import (
	_ "embed"
	"time"

	"golang.org/x/text/language"
)

// DefaultRules is the built-in rules file, used when no override is
// configured. It doubles as the documented example of every knob.
//
//go:embed default_rules.yaml
var DefaultRules []byte

// DefaultRulesName is the file name errors in DefaultRules are reported under.
const DefaultRulesName = "default_rules.yaml"

// FieldType says how a catalogue field is rendered and validated.
type FieldType string

// The field types a rules file may use.
const (
	FieldText    FieldType = "TEXT"    // free text, trimmed, length-bounded
	FieldPhone   FieldType = "PHONE"   // a phone number, stored as E.164
	FieldBoolean FieldType = "BOOLEAN" // a yes/no answer
	FieldSelect  FieldType = "SELECT"  // one of a fixed list of options
)

// InputKind is the GraphQL input type an answer of this field type needs.
// It returns 0 for an unknown type.
func (t FieldType) InputKind() ValueKind {
	switch t {
	case FieldText, FieldPhone, FieldSelect:
		return KindString
	case FieldBoolean:
		return KindBoolean
	}
	return 0
}

// ValueKind is the scalar kind of an UpdateProfileInput field.
type ValueKind int

// The scalar kinds the API's input fields can have.
const (
	KindString ValueKind = iota + 1
	KindBoolean
)

// String returns the GraphQL scalar name, as rule-loading errors show it.
func (k ValueKind) String() string {
	switch k {
	case KindString:
		return "String"
	case KindBoolean:
		return "Boolean"
	}
	return "unknown"
}

// InputSchema describes what the API's UpdateProfileInput accepts: input
// field name -> scalar kind. The GraphQL layer builds it from its schema so
// that a rules file can never declare a field the API cannot carry.
type InputSchema map[string]ValueKind

// Option is one choice of a SELECT field.
type Option struct {
	Value string // what the client sends and what is stored
	Label string // what the user sees
}

// SourceKind says where a known value came from, as the API reports it.
type SourceKind string

// The places a known value can come from.
const (
	SourceIdentityProvider SourceKind = "IDENTITY_PROVIDER" // root attributes or an identity's profileData
	SourceUser             SourceKind = "USER"              // user_metadata: the user's own answer
	SourceEnrichment       SourceKind = "ENRICHMENT"        // app_metadata, written by enrichment services
)

// Source is one place where a field's value may already be known.
type Source struct {
	Path string     // as written in the rules file, e.g. "app_metadata.enrichment.company"
	Kind SourceKind // derived from the path's first segment

	root string   // first segment: a root attribute, "identities", "app_metadata" or "user_metadata"
	path []string // the segments after root (after "profileData" for identities)
}

// Field is one entry of the field catalogue. Rules own their fields; treat
// them as read-only.
type Field struct {
	Key           string    // the UpdateProfileInput field name
	Label         string    // human name, used in prompts and error messages
	Type          FieldType // how to render and validate an answer
	Required      bool      // a required answer cannot be cleared
	Options       []Option  // SELECT only
	Placeholder   string    // hint shown in an empty input
	Store         string    // the top-level user_metadata key an answer is written to
	MinLength     int       // TEXT only, in characters; 0 = no minimum beyond non-empty
	MaxLength     int       // TEXT only, in characters; DefaultMaxLength when the file leaves it out
	DefaultRegion string    // PHONE only: ISO region for numbers without +country code
	Sources       []Source  // where a known value may be found, after user_metadata.<Store>

	// Typed is set when the API's UpdateProfileInput has a field of this
	// key; every field can be answered by key (answers: [{key, ...}]).
	Typed bool
	// ReconfirmAfter, when positive, makes an answer this service collected
	// pending again once it is older ("Is this still right?").
	ReconfirmAfter time.Duration
	// Consent, on a BOOLEAN field, is the text the user agrees to and its
	// version; an answer records the version, and a new version asks again.
	Consent *Consent

	texts    *fieldTexts // the texts in every locale (locale.go)
	messages *messages   // the user-error messages of this field's locale
}

// Consent is the text a BOOLEAN field's answer agrees to, and its version.
type Consent struct {
	Version string
	Text    string
}

// DefaultMaxLength bounds a TEXT answer when the rules file sets no maxLength,
// so no field can be used to store arbitrarily large values.
const DefaultMaxLength = 200

// Stage is a named group of fields asked when its condition holds.
type Stage struct {
	Name   string   // e.g. "returning"
	Reason string   // shown to the user: why we ask now
	When   string   // the CEL condition as written in the rules file
	Fields []*Field // in the order the stage asks them

	cond    *condition
	reasons localized // Reason in every locale (locale.go)
	// asks[i] is what Pending answers for Fields[i], and positions[i] that
	// field's place in the catalogue; both fixed at load (see precompute).
	asks      []PendingField
	positions []int
}

// Policy holds the knobs that apply across stages.
type Policy struct {
	MaxFieldsPerPrompt int           // most fields pending at once
	SkipCooldown       time.Duration // how long a field's first "not now" hides it
	SkipBackoff        float64       // each further "not now" of the field multiplies the cool-down by this
	SkipCooldownMax    time.Duration // the longest a cool-down grows to
	PromptsPerDay      int           // most prompts per UTC day across contexts; 0: no cap
	PromptsPerWeek     int           // most prompts per ISO week (UTC); 0: no cap
	ReconfirmReason    string        // the reason of a field asked again for re-confirmation
	ConsentReason      string        // the reason of a consent asked again for a new version
}

// Rules is a loaded, validated rules file. It is immutable and safe for
// concurrent use.
type Rules struct {
	file    string
	version string
	policy  Policy
	fields  []*Field
	byKey   map[string]*Field
	stages  []*Stage
	onError ConditionErrorHandler
	// index is each field's place in the catalogue, by key; fixed at load
	// and shared, read-only, by every Profile.
	index map[string]int

	// The locales (locale.go): the one this value speaks, the file's list
	// (the default first) and its matcher, each locale's variant, the
	// policy's reasons in every locale, and this locale's messages.
	locale      Locale
	localeList  []Locale
	matcher     language.Matcher
	variants    map[Locale]*variant
	policyTexts struct{ reconfirm, consent localized }
	msgs        *messages
}

// precompute fixes, once per rules file, what every profile and prompt
// would otherwise rebuild: the catalogue index and each stage's pending
// field descriptors.
func (r *Rules) precompute() {
	r.index = make(map[string]int, len(r.fields))
	for i, f := range r.fields {
		r.index[f.Key] = i
	}
	for _, s := range r.stages {
		s.asks = make([]PendingField, len(s.Fields))
		s.positions = make([]int, len(s.Fields))
		for i, f := range s.Fields {
			s.asks[i] = PendingField{Field: f, Stage: s.Name, Reason: s.Reason}
			s.positions[i] = r.index[f.Key]
		}
	}
}

// Fields returns the catalogue in display order.
func (r *Rules) Fields() []*Field { return r.fields }

// Field returns the catalogue field with the given key.
func (r *Rules) Field(key string) (*Field, bool) {
	f, ok := r.byKey[key]
	return f, ok
}

// Stages returns the stages in the order they are asked.
func (r *Rules) Stages() []*Stage { return r.stages }

// Policy returns the cross-stage knobs.
func (r *Rules) Policy() Policy { return r.policy }

// Version returns the rules file's version ("" when it declares none).
func (r *Rules) Version() string { return r.version }

// File returns the name the rules were loaded under.
func (r *Rules) File() string { return r.file }

// WithConditionErrorHandler returns a copy of r that reports every stage
// condition that fails at run time (for example a missing map key) to h.
// Such a stage simply does not apply; the handler is for logging.
func (r *Rules) WithConditionErrorHandler(h ConditionErrorHandler) *Rules {
	c := *r
	c.onError = h
	return &c
}

// BookkeepingKey is the one app_metadata key this service writes: when, in
// which stage and context each field was collected or skipped. It lives in
// app_metadata because end users must not be able to forge it.
const BookkeepingKey = "progressive_profiling"
