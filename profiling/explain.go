package profiling

import (
	"fmt"
	"strings"
	"time"
)

// ExplainStatus says why a field is or is not pending now.
type ExplainStatus string

// The statuses an Explanation can have; the first three are pending.
const (
	StatusPending            ExplainStatus = "PENDING"              // asked for the first time
	StatusReconfirm          ExplainStatus = "RECONFIRM"            // asked again: the answer is older than reconfirmAfter
	StatusConsent            ExplainStatus = "CONSENT"              // asked again: the consent version changed
	StatusKnown              ExplainStatus = "KNOWN"                // known from the identity provider or enrichment
	StatusAnswered           ExplainStatus = "ANSWERED"             // the user's answer
	StatusSkipped            ExplainStatus = "SKIPPED"              // "not now", within the cool-down
	StatusDismissed          ExplainStatus = "DISMISSED"            // "never ask"
	StatusOutsidePromptLimit ExplainStatus = "OUTSIDE_PROMPT_LIMIT" // a stage asks it, but the prompt is full
	StatusOverBudget         ExplainStatus = "OVER_BUDGET"          // a stage asks it, but the question budget is spent
	StatusNoStage            ExplainStatus = "NO_STAGE"             // no stage listing it holds
)

// Explanation says why one catalogue field is or is not pending now.
type Explanation struct {
	Field   *Field
	Pending bool
	Status  ExplainStatus
	// Text is the same in words, for people.
	Text string
	// Stage is the stage that asks (or would ask) the field now; "" if none.
	Stage string
	// FalseStages are the stages listing the field whose conditions do
	// not hold for this user in this context, in file order.
	FalseStages []string
	// Value is the field's value and its records (source, collection,
	// skips).
	Value Value
}

// Explain returns, in catalogue order, why each field is or is not pending
// in this interaction context. It is Pending's own evaluation (same stages,
// same budget, the policy's prompt limit), annotated.
func (p *Profile) Explain(interaction string) ([]Explanation, error) {
	pending, err := p.Pending(interaction, nil)
	if err != nil {
		return nil, err
	}
	asked := make(map[string]PendingField, len(pending))
	for _, pf := range pending {
		asked[pf.Field.Key] = pf
	}
	stages := p.askingStages(interaction)
	holding := make(map[*Stage]bool, len(stages))
	firstAsker := map[string]*Stage{}
	for _, s := range stages {
		holding[s] = true
		for _, f := range s.Fields {
			if _, ok := firstAsker[f.Key]; !ok {
				firstAsker[f.Key] = s
			}
		}
	}
	out := make([]Explanation, 0, len(p.rules.fields))
	for i, f := range p.rules.fields {
		v := p.Values[i]
		e := Explanation{Field: f, Value: v, FalseStages: []string{}}
		listed := false
		for _, s := range p.rules.stages {
			for _, sf := range s.Fields {
				if sf == f {
					listed = true
					if !holding[s] {
						e.FalseStages = append(e.FalseStages, s.Name)
					}
				}
			}
		}
		if s := firstAsker[f.Key]; s != nil {
			e.Stage = s.Name
		}
		switch pf, isPending := asked[f.Key]; {
		case isPending:
			e.Pending, e.Stage = true, pf.Stage
			switch pf.Kind {
			case PromptReconfirm:
				e.Status = StatusReconfirm
				e.Text = fmt.Sprintf("asked again by stage %q: the answer collected %s is older than reconfirmAfter %s", pf.Stage, stamp(v.CollectedAt), f.ReconfirmAfter)
			case PromptConsent:
				e.Status = StatusConsent
				e.Text = fmt.Sprintf("asked again by stage %q: the consent version is %q, the answer agreed to %s", pf.Stage, f.Consent.Version, quoteOrNone(v.ConsentVersion))
			default:
				e.Status = StatusPending
				e.Text = fmt.Sprintf("asked now by stage %q: %s", pf.Stage, pf.Reason)
			}
		case v.Known && p.due(v) == "" && v.Source != SourceUser:
			e.Status = StatusKnown
			e.Text = fmt.Sprintf("known from %s; never asked", strings.ToLower(strings.ReplaceAll(string(v.Source), "_", " ")))
		case v.Known && p.due(v) == "":
			e.Status = StatusAnswered
			e.Text = answeredText(v)
		case v.Dismissed:
			e.Status = StatusDismissed
			e.Text = fmt.Sprintf("\"never ask\" since %s; asked again only once answered or restored", stamp(v.SkippedAt))
		case p.hidden(f.Key):
			e.Status = StatusSkipped
			e.Text = fmt.Sprintf("\"not now\" %d time(s) in a row, last %s; hidden until %s", v.SkipCount, stamp(v.SkippedAt), stamp(v.SkippedUntil))
		case e.Stage == "" && !listed:
			e.Status = StatusNoStage
			e.Text = "no stage lists this field"
		case e.Stage == "":
			e.Status = StatusNoStage
			e.Text = fmt.Sprintf("no stage that lists it holds now (false: %s)", strings.Join(e.FalseStages, ", "))
		case p.overBudget():
			c := p.prompts
			e.Status = StatusOverBudget
			e.Text = fmt.Sprintf("stage %q asks it, but the question budget is spent (%s)", e.Stage, p.rules.policy.budgetText(c))
		default:
			e.Status = StatusOutsidePromptLimit
			e.Text = fmt.Sprintf("stage %q asks it, but the prompt already holds maxFieldsPerPrompt (%d) fields; asked later", e.Stage, p.rules.policy.MaxFieldsPerPrompt)
		}
		out = append(out, e)
	}
	return out, nil
}

func answeredText(v Value) string {
	if v.CollectedAt.IsZero() {
		return "answered by the user (not collected by this service: no record of when)"
	}
	s := fmt.Sprintf("answered %s", stamp(v.CollectedAt))
	if v.Stage != "" {
		s += fmt.Sprintf(" in stage %q", v.Stage)
	}
	if v.Context != "" {
		s += fmt.Sprintf(" in context %q", v.Context)
	}
	if v.RulesVersion != "" {
		s += fmt.Sprintf(" under rules version %q", v.RulesVersion)
	}
	return s
}

func (p Policy) budgetText(c PromptCounts) string {
	var parts []string
	if p.PromptsPerDay > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d prompts today", c.Day, p.PromptsPerDay))
	}
	if p.PromptsPerWeek > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d this week", c.Week, p.PromptsPerWeek))
	}
	return strings.Join(parts, ", ")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "(unknown)"
	}
	return t.UTC().Format(time.RFC3339)
}

func quoteOrNone(s string) string {
	if s == "" {
		return "none on record"
	}
	return fmt.Sprintf("%q", s)
}

// RulesVersion is the version of the rules the profile was evaluated with.
func (p *Profile) RulesVersion() string { return p.rules.version }

// The accessors below let the GraphQL layer bind an Explanation directly:
// nil for "not recorded", as the Value accessors do.

// Key is the field's key.
func (e *Explanation) Key() string { return e.Field.Key }

// Label is the field's label.
func (e *Explanation) Label() string { return e.Field.Label }

// OptionalStage is Stage, or nil when no stage asks the field now.
func (e *Explanation) OptionalStage() *string { return nonEmpty(&e.Stage) }

// Source is where the known value came from, or nil when unknown.
func (e *Explanation) Source() *SourceKind { return e.Value.KnownSource() }

// CollectedInStage is the stage the answer was collected in, if recorded.
func (e *Explanation) CollectedInStage() *string { return nonEmpty(&e.Value.Stage) }

// CollectedInContext is the context the answer was collected in, if recorded.
func (e *Explanation) CollectedInContext() *string { return nonEmpty(&e.Value.Context) }

// CollectedUnderRulesVersion is the rules version of the answer, if recorded.
func (e *Explanation) CollectedUnderRulesVersion() *string { return nonEmpty(&e.Value.RulesVersion) }

// SkipCount is how many "not now"s in a row the field has had.
func (e *Explanation) SkipCount() int { return e.Value.SkipCount }
