package profiling

import (
	"context"
	"fmt"
	"time"
)

// The generic path beside the typed one: any catalogue field can be read
// and answered by its key, so a field added to the rules file needs no Go
// or schema change. Answers by key are validated exactly as typed ones
// (Field.validate), by the field's catalogue type.

// CodeDuplicateAnswer: the same field answered twice in one request (as a
// typed input field and by key, or twice by key).
const CodeDuplicateAnswer ErrorCode = "DUPLICATE_ANSWER"

// KeyedAnswer is one answer by field key. Text answers TEXT, PHONE and
// SELECT fields, Bool answers BOOLEAN fields; neither clears the answer
// (as an explicit null does); both is refused.
type KeyedAnswer struct {
	Key  string
	Text *string
	Bool *bool
}

// Answers is one request's answers: typed ones (field key -> value, nil to
// clear; an absent key is untouched) and answers by key.
type Answers struct {
	Typed map[string]any
	ByKey []KeyedAnswer
}

// merge returns the answers as one key -> value map, and every problem of
// the answers by key themselves (a key answered twice, text and bool
// together). Unknown keys and invalid values are Rules.Answer's business.
func (a Answers) merge(r *Rules) (map[string]any, []FieldError) {
	out := make(map[string]any, len(a.Typed)+len(a.ByKey))
	for k, v := range a.Typed {
		out[k] = v
	}
	var errs []FieldError
	seen := make(map[string]bool, len(a.Typed)+len(a.ByKey))
	for k := range a.Typed {
		seen[k] = true
	}
	label := func(key string) string {
		if f, ok := r.byKey[key]; ok {
			return f.Label
		}
		return fmt.Sprintf("%q", truncate(key, 40))
	}
	for j, ka := range a.ByKey {
		if seen[ka.Key] {
			errs = append(errs, FieldError{Key: ka.Key, Code: CodeDuplicateAnswer, Message: r.msgs.message("answeredTwice", "label", label(ka.Key)), Answer: j + 1})
			continue
		}
		seen[ka.Key] = true
		switch {
		case ka.Text != nil && ka.Bool != nil:
			errs = append(errs, FieldError{Key: ka.Key, Code: CodeWrongType, Message: r.msgs.message("textAndBool", "label", label(ka.Key)), Answer: j + 1})
		case ka.Text != nil:
			out[ka.Key] = *ka.Text
		case ka.Bool != nil:
			out[ka.Key] = *ka.Bool
		default:
			out[ka.Key] = nil
		}
	}
	return out, errs
}

// Answer validates and saves typed answers and answers by key together (see
// Rules.Answer): every problem of either refuses the whole request.
func (r *Rules) AnswerAll(u *User, a Answers, interaction string, now time.Time) (Patch, []FieldError) {
	values, errs := a.merge(r)
	patch, more := r.Answer(u, values, interaction, now)
	errs = append(errs, more...)
	if len(errs) > 0 {
		for i := range errs {
			if _, typed := a.Typed[errs[i].Key]; typed || errs[i].Answer > 0 {
				continue
			}
			for j, ka := range a.ByKey {
				if ka.Key == errs[i].Key {
					errs[i].Answer = j + 1
					break
				}
			}
		}
		return Patch{}, errs
	}
	return patch, nil
}

// AnswerAll is Service.Answer for typed answers and answers by key.
func (s *Service) AnswerAll(ctx context.Context, userID string, r Read, a Answers, interaction string) (*Outcome, error) {
	return s.change(ctx, userID, r, interaction, func(u *User, now time.Time) (Patch, []FieldError) {
		return s.rules.AnswerAll(u, a, interaction, now)
	})
}

// ValueOf returns the value of the catalogue field key, or an
// ArgumentError naming the key when the catalogue has no such field.
func (p *Profile) ValueOf(key string) (*Value, error) {
	v, ok := p.Value(key)
	if !ok {
		return nil, &ArgumentError{Argument: "key", Reason: fmt.Sprintf("%q is not a profile field", truncate(key, 40))}
	}
	return &v, nil
}
