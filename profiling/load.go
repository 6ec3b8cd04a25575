package profiling

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/nyaruka/phonenumbers"
)

// RulesError is a problem in a rules file. It names the file, where known
// the line, the stage and/or field, and the reason, on one line, e.g.
//
//	rules.yaml:31: stage "engaged": condition: ERROR: <input>:1:6: undefined field 'login_count'
type RulesError struct {
	File   string
	Line   int // 1-based line in the file; 0 when the problem has no single place
	Stage  string
	Field  string
	Reason string
}

func (e *RulesError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Stage != "" {
		fmt.Fprintf(&b, "stage %q: ", e.Stage)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(oneLine(e.Reason))
	return b.String()
}

// maxRulesSize bounds the rules file; the real one is a few KiB.
const maxRulesSize = 1 << 20

// reservedKeys are UpdateProfileInput fields that carry something other than
// an answer, so no catalogue field may take their name.
var reservedKeys = map[string]string{
	"context":          "the API uses it for the interaction context",
	"clientMutationId": "the API uses it for Relay's mutation id",
	"answers":          "the API uses it for answers by key",
}

// userAttributes are the root attributes with a User field of their own
// that a source may name. name and nickname are allowed but note that Auth0
// sets them from the email address for database users. Any other root
// attribute a source names is read from User.RootAttributes (an enterprise
// connection's company, title, department, ...).
var userAttributes = []string{"given_name", "family_name", "name", "nickname", "picture", "phone_number", "email"}

// accountAttributes are Auth0 root attributes about the account rather than
// the person (or write-only ones): never a source.
var accountAttributes = []string{
	"user_id", "email_verified", "phone_verified", "created_at", "updated_at", "last_login",
	"last_ip", "logins_count", "last_password_reset", "blocked", "multifactor", "password",
	"connection", "client_id", "verify_email",
}

// rootAttributeName is what a root attribute source may be called: an
// identifier, as Auth0 attribute names (and enterprise attribute mappings)
// are.
var rootAttributeName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

var graphQLName = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]*$`)

// The rules file as written; pointers tell "left out" from "zero".
type rawRules struct {
	Version  *string            `yaml:"version"`
	Locales  []string           `yaml:"locales"`
	Messages map[string]rawText `yaml:"messages"`
	Policy   *rawPolicy         `yaml:"policy"`
	Fields   []rawField         `yaml:"fields"`
	Stages   []rawStage         `yaml:"stages"`
}

type rawPolicy struct {
	MaxFieldsPerPrompt *int    `yaml:"maxFieldsPerPrompt"`
	SkipCooldown       *string `yaml:"skipCooldown"`
	// The optional knobs of rulesext.go.
	SkipBackoff     *float64 `yaml:"skipBackoff"`
	SkipCooldownMax *string  `yaml:"skipCooldownMax"`
	PromptsPerDay   *int     `yaml:"promptsPerDay"`
	PromptsPerWeek  *int     `yaml:"promptsPerWeek"`
	ReconfirmReason *rawText `yaml:"reconfirmReason"`
	ConsentReason   *rawText `yaml:"consentReason"`
}

type rawField struct {
	Key           string      `yaml:"key"`
	Label         rawText     `yaml:"label"`
	Type          string      `yaml:"type"`
	Required      bool        `yaml:"required"`
	Placeholder   rawText     `yaml:"placeholder"`
	Store         string      `yaml:"store"`
	Sources       []string    `yaml:"sources"`
	MinLength     *int        `yaml:"minLength"`
	MaxLength     *int        `yaml:"maxLength"`
	DefaultRegion *string     `yaml:"defaultRegion"`
	Options       []rawOption `yaml:"options"`
	// The optional knobs of rulesext.go.
	ReconfirmAfter *string     `yaml:"reconfirmAfter"`
	Consent        *rawConsent `yaml:"consent"`
}

type rawOption struct {
	Value string  `yaml:"value"`
	Label rawText `yaml:"label"`
}

type rawStage struct {
	Name   string   `yaml:"name"`
	When   *string  `yaml:"when"`
	Reason rawText  `yaml:"reason"`
	Fields []string `yaml:"fields"`
}

// ParseRules loads a rules file. name is only used in error messages. schema
// is what the API's UpdateProfileInput accepts; every catalogue field must
// be one of its fields, with a matching kind (a nil schema accepts no
// field). Every problem is a *RulesError. A file that is not readable YAML
// of the right shape gets one; otherwise every independent problem in the
// policy, the fields and the stages is reported at once, joined with
// errors.Join (one per line, in the order of the file's sections), so an
// editor fixes them in one go. A field with a problem is left out of the
// catalogue without a second error where a stage names it.
func ParseRules(name string, data []byte, schema InputSchema) (*Rules, error) {
	l := &loader{file: name}
	r, err := l.load(data, schema)
	if err != nil {
		return nil, err
	}
	return r, nil
}

type loader struct {
	file string
	loc  localeSet // the file's locales, read before any text
	// fieldIndex is the catalogue entry being checked, for the paths of
	// its texts.
	fieldIndex int
	body       ast.Node // the document, for finding the line of a problem
}

func (l *loader) fail(path string, stage, field, format string, args ...any) *RulesError {
	return &RulesError{File: l.file, Line: l.line(path), Stage: stage, Field: field, Reason: fmt.Sprintf(format, args...)}
}

func (l *loader) load(data []byte, schema InputSchema) (*Rules, error) {
	raw, err := l.readYAML(data)
	if err != nil {
		return nil, err
	}

	r := &Rules{file: l.file, byKey: map[string]*Field{}}
	var problems []error
	l.loc, problems = l.locales(raw.Locales)
	msgs, msgProblems := l.messages(raw.Messages)
	policy, policyProblems := l.policy(raw.Policy)
	r.policy = policy
	problems = append(problems, policyProblems...)
	if raw.Policy != nil {
		problems = append(problems, l.policyExtra(r, raw.Policy)...)
	}
	problems = append(problems, msgProblems...)
	problems = append(problems, l.version(r, raw.Version)...)
	declared, fieldProblems := l.fields(r, raw.Fields, schema)
	problems = append(problems, fieldProblems...)
	problems = append(problems, l.stages(r, raw.Stages, declared)...)
	switch len(problems) {
	case 0:
		r.precompute()
		r.localize(l.loc, msgs)
		return r, nil
	case 1:
		return nil, problems[0]
	}
	return nil, errors.Join(problems...)
}

// policy checks the policy's two settings independently.
func (l *loader) policy(p *rawPolicy) (Policy, []error) {
	if p == nil {
		return Policy{}, []error{l.fail("", "", "", "policy: is required (maxFieldsPerPrompt and skipCooldown)")}
	}
	var out Policy
	var problems []error
	switch {
	case p.MaxFieldsPerPrompt == nil:
		problems = append(problems, l.fail("$.policy", "", "", "policy.maxFieldsPerPrompt: is required"))
	case *p.MaxFieldsPerPrompt < 1:
		problems = append(problems, l.fail("$.policy.maxFieldsPerPrompt", "", "", "policy.maxFieldsPerPrompt: must be at least 1, got %d", *p.MaxFieldsPerPrompt))
	default:
		out.MaxFieldsPerPrompt = *p.MaxFieldsPerPrompt
	}
	if p.SkipCooldown == nil {
		return out, append(problems, l.fail("$.policy", "", "", "policy.skipCooldown: is required"))
	}
	d, err := time.ParseDuration(strings.TrimSpace(*p.SkipCooldown))
	switch {
	case err != nil:
		problems = append(problems, l.fail("$.policy.skipCooldown", "", "", "policy.skipCooldown: %q is not a duration (write e.g. 72h, 90m, 1h30m)", *p.SkipCooldown))
	case d <= 0:
		problems = append(problems, l.fail("$.policy.skipCooldown", "", "", "policy.skipCooldown: must be positive, got %s", d))
	default:
		out.SkipCooldown = d
	}
	return out, problems
}

// fields builds the catalogue, reporting the first problem of each field
// and going on with the next. declared holds every key the file declares,
// valid or not (nil when the catalogue is empty), so that stages do not
// report a field with its own problem a second time.
func (l *loader) fields(r *Rules, raw []rawField, schema InputSchema) (declared map[string]bool, problems []error) {
	if len(raw) == 0 {
		return nil, []error{l.fail("", "", "", "fields: the catalogue is empty; declare at least one field")}
	}
	declared = map[string]bool{}
	keyAt := map[string]int{}
	storeOf := map[string]string{}
	for i, rf := range raw {
		declared[rf.Key] = true
		if err := l.field(r, i, rf, schema, keyAt, storeOf); err != nil {
			problems = append(problems, err)
		}
	}
	return declared, problems
}

// field checks one catalogue entry and adds it to r; it returns the entry's
// first problem.
func (l *loader) field(r *Rules, i int, rf rawField, schema InputSchema, keyAt map[string]int, storeOf map[string]string) error {
	at := fmt.Sprintf("$.fields[%d]", i)
	l.fieldIndex = i
	key := rf.Key
	fail := func(sub, format string, args ...any) error {
		return l.fail(at+sub, "", key, format, args...)
	}
	if key == "" {
		return l.fail(at, "", "", "fields[%d]: key is required", i)
	}
	if !graphQLName.MatchString(key) {
		return fail(".key", "key must be a GraphQL name (letters, digits and _, not starting with a digit)")
	}
	if why, ok := reservedKeys[key]; ok {
		return fail(".key", "%q is reserved: %s", key, why)
	}
	if first, dup := keyAt[key]; dup {
		return fail(".key", "duplicate key; first declared as fields[%d] on line %d", first, l.line(fmt.Sprintf("$.fields[%d]", first)))
	}
	keyAt[key] = i
	tfail := l.textFail("", key)
	label, labels, ps := l.text(at+".label", "label", rf.Label, tfail)
	if err := firstError(ps); err != nil {
		return err
	}
	if label == "" {
		return fail("", "label is required: prompts and error messages use it")
	}
	placeholder, placeholders, ps := l.text(at+".placeholder", "placeholder", rf.Placeholder, tfail)
	if err := firstError(ps); err != nil {
		return err
	}
	typ := FieldType(rf.Type)
	switch {
	case rf.Type == "":
		return fail("", "type is required (TEXT, PHONE, BOOLEAN or SELECT)")
	case typ.InputKind() == 0:
		return fail(".type", "type %q is unknown; use TEXT, PHONE, BOOLEAN or SELECT", rf.Type)
	}
	// A key the API's UpdateProfileInput has must have the input's type; any
	// other key is a rules-only field, answered by key (answers: [{key, ...}]).
	kind, typed := schema[key]
	if typed && kind != typ.InputKind() {
		return fail(".type", "type %s needs a %s input but the API's %s is %s", typ, typ.InputKind(), key, kind)
	}
	switch {
	case rf.Store == "":
		return fail("", "store is required: the user_metadata key answers are written to")
	case strings.ContainsAny(rf.Store, ".$"):
		return fail(".store", "store %q must not contain '.' or '$' (Auth0 rejects such metadata keys)", rf.Store)
	case strings.TrimSpace(rf.Store) != rf.Store:
		return fail(".store", "store %q must not start or end with spaces", rf.Store)
	}
	if other, dup := storeOf[rf.Store]; dup {
		return fail(".store", "store %q is already used by field %q; each field needs its own key", rf.Store, other)
	}
	storeOf[rf.Store] = key

	f := &Field{
		Key:         key,
		Label:       label,
		Type:        typ,
		Required:    rf.Required,
		Placeholder: placeholder,
		Store:       rf.Store,
		texts:       &fieldTexts{label: labels, placeholder: placeholders},
	}
	for j, src := range rf.Sources {
		s, err := parseSource(src, f.Store)
		if err != nil {
			return fail(fmt.Sprintf(".sources[%d]", j), "source %q: %v", src, err)
		}
		f.Sources = append(f.Sources, s)
	}
	f.Typed = typed
	if err := l.typeKnobs(f, rf, fail); err != nil {
		return err
	}
	if err := l.fieldExtra(f, rf, fail); err != nil {
		return err
	}
	r.fields = append(r.fields, f)
	r.byKey[key] = f
	return nil
}

// typeKnobs checks the settings that only make sense for one field type, so
// that a knob on the wrong type is an error rather than silently ignored.
func (l *loader) typeKnobs(f *Field, rf rawField, fail func(sub, format string, args ...any) error) error {
	if f.Type != FieldSelect && len(rf.Options) > 0 {
		return fail(".options", "options apply only to SELECT fields, not %s", f.Type)
	}
	if f.Type != FieldText && (rf.MinLength != nil || rf.MaxLength != nil) {
		return fail("", "minLength and maxLength apply only to TEXT fields, not %s", f.Type)
	}
	if f.Type != FieldPhone && rf.DefaultRegion != nil {
		return fail(".defaultRegion", "defaultRegion applies only to PHONE fields, not %s", f.Type)
	}
	switch f.Type {
	case FieldSelect:
		if len(rf.Options) == 0 {
			return fail("", "a SELECT field needs options: [{value: ..., label: ...}]")
		}
		seen := map[string]bool{}
		for i, o := range rf.Options {
			at := fmt.Sprintf(".options[%d]", i)
			switch {
			case o.Value == "":
				return fail(at, "options[%d]: value is required", i)
			case strings.TrimSpace(o.Value) != o.Value:
				return fail(at, "option %q: value must not start or end with spaces (answers are trimmed)", o.Value)
			case seen[o.Value]:
				return fail(at, "option %q: listed twice", o.Value)
			}
			label, labels, ps := l.text(fmt.Sprintf("$.fields[%d].options[%d].label", l.fieldIndex, i), fmt.Sprintf("option %q: label", o.Value), o.Label, l.textFail("", f.Key))
			if err := firstError(ps); err != nil {
				return err
			}
			if label == "" {
				return fail(at, "option %q: label is required", o.Value)
			}
			seen[o.Value] = true
			f.Options = append(f.Options, Option{Value: o.Value, Label: label})
			f.texts.options = append(f.texts.options, labels)
		}
	case FieldText:
		f.MaxLength = DefaultMaxLength
		if rf.MaxLength != nil {
			if *rf.MaxLength < 1 {
				return fail(".maxLength", "maxLength must be at least 1, got %d", *rf.MaxLength)
			}
			f.MaxLength = *rf.MaxLength
		}
		if rf.MinLength != nil {
			if *rf.MinLength < 0 {
				return fail(".minLength", "minLength must not be negative, got %d", *rf.MinLength)
			}
			f.MinLength = *rf.MinLength
		}
		if f.MinLength > f.MaxLength {
			return fail(".minLength", "minLength %d is greater than maxLength %d", f.MinLength, f.MaxLength)
		}
	case FieldPhone:
		if rf.DefaultRegion != nil && *rf.DefaultRegion != "" {
			region := strings.ToUpper(strings.TrimSpace(*rf.DefaultRegion))
			if !phonenumbers.GetSupportedRegions()[region] {
				return fail(".defaultRegion", "defaultRegion %q is not an ISO 3166 region code phonenumbers knows (e.g. US, GB, DE)", *rf.DefaultRegion)
			}
			f.DefaultRegion = region
		}
	}
	return nil
}

// parseSource checks a source path and classifies it.
func parseSource(src, store string) (Source, error) {
	segs := strings.Split(src, ".")
	if slices.Contains(segs, "") {
		return Source{}, errors.New("empty path segment")
	}
	s := Source{Path: src, root: segs[0], path: segs[1:]}
	switch root := segs[0]; {
	case root == "identities":
		if len(segs) < 3 || segs[1] != "profileData" {
			return Source{}, errors.New("write identities.profileData.<key>")
		}
		s.Kind, s.path = SourceIdentityProvider, segs[2:]
	case root == "app_metadata":
		if len(segs) < 2 {
			return Source{}, errors.New("name a key: app_metadata.<key>")
		}
		if segs[1] == BookkeepingKey {
			return Source{}, fmt.Errorf("app_metadata.%s is this service's bookkeeping, not profile data", BookkeepingKey)
		}
		s.Kind = SourceEnrichment
	case root == "user_metadata":
		if len(segs) < 2 {
			return Source{}, errors.New("name a key: user_metadata.<key>")
		}
		if len(segs) == 2 && segs[1] == store {
			return Source{}, errors.New("user_metadata.<store> is always checked first; remove this source")
		}
		s.Kind = SourceUser
	case len(segs) > 1 && slices.Contains(userAttributes, root):
		return Source{}, fmt.Errorf("%s is a root attribute and has no nested keys", root)
	case len(segs) > 1 || !rootAttributeName.MatchString(root):
		return Source{}, errors.New("unknown source; use a root attribute by name (given_name, family_name, ..., or one an " +
			"enterprise connection sets, such as company), identities.profileData.<key>, app_metadata.<path> or user_metadata.<path>")
	case slices.Contains(accountAttributes, root):
		return Source{}, fmt.Errorf("%s is an Auth0 account attribute, not profile data", root)
	default:
		s.Kind = SourceIdentityProvider
	}
	return s, nil
}

// stages builds the stages, reporting every problem of each: its name,
// its condition, its reason and each field it names are checked
// independently.
func (l *loader) stages(r *Rules, raw []rawStage, declared map[string]bool) []error {
	if len(raw) == 0 {
		return []error{l.fail("", "", "", "stages: declare at least one stage")}
	}
	var problems []error
	nameAt := map[string]int{}
	for i, rs := range raw {
		at := fmt.Sprintf("$.stages[%d]", i)
		name := rs.Name
		var stageProblems []error
		fail := func(sub, field, format string, args ...any) {
			stageProblems = append(stageProblems, l.fail(at+sub, name, field, format, args...))
		}
		if strings.TrimSpace(name) == "" {
			stageProblems = append(stageProblems, l.fail(at, "", "", "stages[%d]: name is required", i))
		} else if first, dup := nameAt[name]; dup {
			fail(".name", "", "duplicate name; first declared as stages[%d] on line %d", first, l.line(fmt.Sprintf("$.stages[%d]", first)))
		} else {
			nameAt[name] = i
		}
		var cond *condition
		if rs.When == nil || strings.TrimSpace(*rs.When) == "" {
			fail("", "", `when is required (write "true" for a stage that always applies)`)
		} else if c, err := compileCondition(*rs.When); err != nil {
			fail(".when", "", "condition: %v", err)
		} else {
			cond = c
		}
		reason, reasons, ps := l.text(at+".reason", "reason", rs.Reason, l.textFail(name, ""))
		stageProblems = append(stageProblems, ps...)
		if len(ps) == 0 && reason == "" {
			fail("", "", "reason is required: it tells the user why we ask")
		}
		if len(rs.Fields) == 0 {
			fail("", "", "fields: list at least one field key")
		}
		s := &Stage{Name: name, Reason: reason, cond: cond, reasons: reasons}
		if rs.When != nil {
			s.When = *rs.When
		}
		seen := map[string]bool{}
		for j, key := range rs.Fields {
			f, ok := r.byKey[key]
			switch {
			case !ok && (declared == nil || declared[key]):
				// The field's own problem (or the empty catalogue) is
				// reported already; the rules fail to load anyway.
			case !ok:
				fail(fmt.Sprintf(".fields[%d]", j), key, "no such field in the catalogue")
			case seen[key]:
				fail(fmt.Sprintf(".fields[%d]", j), key, "listed twice in this stage")
			default:
				seen[key] = true
				s.Fields = append(s.Fields, f)
			}
		}
		if len(stageProblems) == 0 {
			r.stages = append(r.stages, s)
		}
		problems = append(problems, stageProblems...)
	}
	return problems
}

// oneLine keeps an error message on one line: library messages sometimes
// carry newlines, and log lines and start-up errors should not.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}
