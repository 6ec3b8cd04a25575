package resolvers

import (
	"time"

	"github.com/progressive-profiling/bff/profiling"
)

// Conversions from the domain's types to the API's. Each is mechanical: no
// decision about the profile is made here.

// ContextInputField is UpdateProfileInput's one field that is not an
// answer: the interaction context.
const ContextInputField = "context"

// splitContext separates UpdateProfileInput's interaction context from the
// answers. gqlgen hands over each present field as a pointer (nil for an
// explicit null); absent fields are simply not in the map, and stay absent.
func splitContext(input map[string]any) (string, map[string]any) {
	answers := make(map[string]any, len(input))
	var interaction string
	for k, v := range input {
		v = derefAny(v)
		if k == ContextInputField {
			interaction, _ = v.(string)
			continue
		}
		answers[k] = v
	}
	return interaction, answers
}

func derefAny(v any) any {
	switch p := v.(type) {
	case *string:
		if p != nil {
			return *p
		}
		return nil
	case *bool:
		if p != nil {
			return *p
		}
		return nil
	}
	return v
}

func textValue(p *profiling.Profile, key string) *string {
	if v, ok := p.Value(key); ok && v.Known {
		if s, ok := v.Value.(string); ok {
			return &s
		}
	}
	return nil
}

func boolValue(p *profiling.Profile, key string) *bool {
	if v, ok := p.Value(key); ok && v.Known {
		if b, ok := v.Value.(bool); ok {
			return &b
		}
	}
	return nil
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
