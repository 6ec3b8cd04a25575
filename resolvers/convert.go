package resolvers

import (
	"strconv"

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

// errorPath is a UserError's path: the typed input field, or the answer's
// place in input.answers.
func errorPath(e *profiling.FieldError) []string {
	if e.Answer > 0 {
		return []string{"input", answersInputField, strconv.Itoa(e.Answer - 1)}
	}
	return []string{"input", e.Key}
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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
