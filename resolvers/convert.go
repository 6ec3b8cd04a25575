package resolvers

import (
	"fmt"
	"strconv"
	"time"

	"github.com/progressive-profiling/bff/graph/model"
	"github.com/progressive-profiling/bff/profiling"
)

// Conversions from the domain's types to the API's. Each is mechanical: no
// decision about the profile is made here.

// ContextInputField is UpdateProfileInput's field that carries the
// interaction context rather than an answer.
const ContextInputField = "context"

// splitContext separates UpdateProfileInput's interaction context and its
// answers by key from the typed answers. gqlgen hands over each present
// field as a pointer (nil for an explicit null); absent fields are simply
// not in the map, and stay absent.
func splitContext(input map[string]any) (string, profiling.Answers) {
	typed := make(map[string]any, len(input))
	var interaction string
	var byKey []profiling.KeyedAnswer
	for k, v := range input {
		switch k {
		case ContextInputField:
			interaction, _ = derefAny(v).(string)
		case answersInputField:
			list, _ := v.([]model.AnswerInput)
			for _, a := range list {
				byKey = append(byKey, profiling.KeyedAnswer{Key: a.Key, Text: a.Text, Bool: a.Bool})
			}
		default:
			typed[k] = derefAny(v)
		}
	}
	return interaction, profiling.Answers{Typed: typed, ByKey: byKey}
}

// answersInputField is UpdateProfileInput's list of answers by key.
const answersInputField = "answers"

// answerErrors is userErrors with the path of an answer by key pointing at
// its place in input.answers.
func answerErrors(problems []profiling.FieldError, a profiling.Answers) []model.UserError {
	out := userErrors(problems)
	for i, p := range problems {
		if _, typed := a.Typed[p.Key]; typed {
			continue
		}
		for j, ka := range a.ByKey {
			if ka.Key == p.Key {
				out[i].Field = []string{"input", answersInputField, strconv.Itoa(j)}
				break
			}
		}
	}
	return out
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

func userErrors(problems []profiling.FieldError) []model.UserError {
	out := make([]model.UserError, 0, len(problems))
	for _, p := range problems {
		out = append(out, model.UserError{
			Field:   []string{"input", p.Key},
			Message: p.Message,
			Code:    model.UserErrorCode(p.Code),
		})
	}
	return out
}

func fieldType(f *profiling.Field) (model.FieldType, error) {
	t := model.FieldType(f.Type)
	if !t.IsValid() {
		return "", errUnmapped("field type", f.Type)
	}
	return t, nil
}

// errUnmapped means the domain grew a value the schema does not know yet; it
// surfaces as INTERNAL and in the log, not as a silently wrong answer.
func errUnmapped(what string, v any) error {
	return fmt.Errorf("the schema has no %s %q", what, v)
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

// textBound reports a length bound for TEXT fields only; 0 means unbounded.
func textBound(f *profiling.Field, n int) *int {
	if f.Type != profiling.FieldText || n == 0 {
		return nil
	}
	return &n
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
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

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func valueSource(v *profiling.Value) (*model.ValueSource, error) {
	if !v.Known {
		return nil, nil
	}
	s := model.ValueSource(v.Source)
	if !s.IsValid() {
		return nil, errUnmapped("source", v.Source)
	}
	return &s, nil
}
