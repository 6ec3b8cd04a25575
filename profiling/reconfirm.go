package profiling

// Asking again what is known: a field with reconfirmAfter whose answer this
// service collected longer ago than that ("Is this still right?"), and a
// consent field whose recorded consent version is not the current one.
// Values from the identity provider or enrichment are never asked again.

// PromptKind says why a field is asked.
type PromptKind string

// The reasons a field is pending.
const (
	PromptAsk       PromptKind = "ASK"       // unknown: asked for the first time
	PromptReconfirm PromptKind = "RECONFIRM" // the user's answer is older than the field's reconfirmAfter
	PromptConsent   PromptKind = "CONSENT"   // the consent text's version changed since the answer
)

// due returns why a known value is to be asked again, or "" when it is not.
func (p *Profile) due(v Value) PromptKind {
	f := v.Field
	if !v.Known || v.Source != SourceUser {
		return ""
	}
	if f.Consent != nil && v.ConsentVersion != f.Consent.Version {
		return PromptConsent
	}
	if f.ReconfirmAfter > 0 && !v.CollectedAt.IsZero() && !p.now.Before(v.CollectedAt.Add(f.ReconfirmAfter)) {
		return PromptReconfirm
	}
	return ""
}

// pendingField is what Pending returns for a field the stage s asks: a
// known one carries its value to prefill and the policy's reason for
// asking again.
func (p *Profile) pendingField(v Value, s *Stage) PendingField {
	pf := PendingField{Field: v.Field, Stage: s.Name, Reason: s.Reason, Kind: PromptAsk}
	switch kind := p.due(v); kind {
	case PromptReconfirm:
		pf.Kind, pf.Reason, pf.Current = kind, p.rules.policy.ReconfirmReason, v.Value
	case PromptConsent:
		pf.Kind, pf.Reason, pf.Current = kind, p.rules.policy.ConsentReason, v.Value
	}
	return pf
}

// consentVersion is the version an answer to f agrees to, "" for a field
// without consent.
func (f *Field) consentVersion() string {
	if f.Consent == nil {
		return ""
	}
	return f.Consent.Version
}

// ConsentText is a consent field's text, or nil for another field.
func (p *PendingField) ConsentText() *string {
	if p.Field.Consent == nil {
		return nil
	}
	return &p.Field.Consent.Text
}

// ConsentVersion is a consent field's version, or nil for another field.
func (p *PendingField) ConsentVersion() *string {
	if p.Field.Consent == nil {
		return nil
	}
	return &p.Field.Consent.Version
}
