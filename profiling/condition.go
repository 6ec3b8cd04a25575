package profiling

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
)

// conditionUser is what a stage condition sees as `user`. It is declared to
// CEL through ext.NativeTypes, so the `cel` tags are the only field names an
// expression may use and a typo such as user.login_count fails type-checking
// at load time. cel-go maps time.Time to timestamp and map[string]any to
// map(string, dyn) (see common/types/native.go: convertToCelType).
type conditionUser struct {
	UserID        string              `cel:"user_id"`
	Email         string              `cel:"email"`
	EmailVerified bool                `cel:"email_verified"`
	LoginsCount   int64               `cel:"logins_count"`
	CreatedAt     time.Time           `cel:"created_at"`
	LastLogin     time.Time           `cel:"last_login"`
	Provider      string              `cel:"provider"`   // of the primary (first) identity
	Connection    string              `cel:"connection"` // of the primary (first) identity
	IsSocial      bool                `cel:"is_social"`  // of the primary (first) identity
	Identities    []conditionIdentity `cel:"identities"`
	UserMetadata  map[string]any      `cel:"user_metadata"`
	AppMetadata   map[string]any      `cel:"app_metadata"`
}

// conditionIdentity is one linked identity as conditions see it.
type conditionIdentity struct {
	Provider    string         `cel:"provider"`
	Connection  string         `cel:"connection"`
	UserID      string         `cel:"user_id"`
	IsSocial    bool           `cel:"is_social"`
	ProfileData map[string]any `cel:"profile_data"`
}

// Limits that keep a rules file from making condition evaluation expensive.
const (
	conditionCostLimit     = 10_000 // runtime cost units per evaluation
	conditionMaxCodePoints = 4_096  // longest expression source
	conditionMaxNodes      = 2_000  // largest expression after macro expansion
)

// conditionEnv is built once: compiling the environment is the expensive
// part, and a cel.Env is safe for concurrent use.
var conditionEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(reflect.TypeFor[conditionUser](), ext.ParseStructTags(true)),
		cel.Variable("user", cel.ObjectType("profiling.conditionUser")),
		cel.Variable("context", cel.StringType),
		cel.Variable("now", cel.TimestampType),
		ext.Strings(),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true), // metadata numbers arrive as JSON doubles
		cel.DefaultUTCTimeZone(true),
		cel.ParserExpressionSizeLimit(conditionMaxCodePoints),
		cel.ExpressionNodeLimit(conditionMaxNodes),
	)
})

// condition is a compiled, type-checked stage condition.
type condition struct {
	program cel.Program
}

// compileCondition parses and type-checks src and requires a bool result.
// The error is one line, in cel-go's "ERROR: <input>:line:col: message" form.
func compileCondition(src string) (*condition, error) {
	env, err := conditionEnv()
	if err != nil {
		return nil, fmt.Errorf("building the condition environment: %w", err)
	}
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		// cel-go's own rendering, minus the source snippet and caret lines
		// it appends, so the message fits on one line.
		var msgs []string
		for line := range strings.SplitSeq(iss.Err().Error(), "\n") {
			if strings.HasPrefix(line, "ERROR:") {
				msgs = append(msgs, line)
			}
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("must be true or false, but its type is %s", ast.OutputType())
	}
	// A condition whose worst case the static estimate bounds within the
	// limit can never reach it, so it runs without a cost tracker (a
	// tracker per evaluation and a charge per step). The estimate is
	// unbounded wherever a cost grows with the user's data (comprehensions,
	// string functions over metadata): those keep the run-time limit.
	var opts []cel.ProgramOption
	if est, err := env.EstimateCost(ast, nil); err != nil || est.Max > conditionCostLimit {
		opts = append(opts, cel.CostLimit(conditionCostLimit))
	}
	prg, err := env.Program(ast, opts...)
	if err != nil {
		return nil, err
	}
	return &condition{program: prg}, nil
}

// ConditionError is a stage condition that failed while being evaluated,
// for example by reading a metadata key the user does not have. The stage
// does not apply; the error is reported so that operators can fix the rule.
type ConditionError struct {
	Stage   string
	UserID  string
	Context string
	Err     error
}

func (e *ConditionError) Error() string {
	return fmt.Sprintf("stage %q: condition failed for user %q in context %q: %v", e.Stage, e.UserID, e.Context, e.Err)
}

func (e *ConditionError) Unwrap() error { return e.Err }

// ConditionErrorHandler receives every ConditionError; see
// Rules.WithConditionErrorHandler.
type ConditionErrorHandler func(*ConditionError)

// conditionFacts builds the `user` variable once per profile.
func conditionFacts(u *User) conditionUser {
	f := conditionUser{
		UserID:        u.ID,
		Email:         u.Email,
		EmailVerified: u.EmailVerified,
		LoginsCount:   u.LoginsCount,
		CreatedAt:     timeOrEpoch(u.CreatedAt),
		LastLogin:     timeOrEpoch(u.LastLogin),
		UserMetadata:  nonNilMap(u.UserMetadata),
		AppMetadata:   nonNilMap(u.AppMetadata),
		Identities:    make([]conditionIdentity, 0, len(u.Identities)),
	}
	for _, id := range u.Identities {
		f.Identities = append(f.Identities, conditionIdentity{
			Provider:    id.Provider,
			Connection:  id.Connection,
			UserID:      id.UserID,
			IsSocial:    id.IsSocial,
			ProfileData: nonNilMap(id.ProfileData),
		})
	}
	if len(u.Identities) > 0 {
		f.Provider = u.Identities[0].Provider
		f.Connection = u.Identities[0].Connection
		f.IsSocial = u.Identities[0].IsSocial
	}
	return f
}

// timeOrEpoch gives conditions the Unix epoch for an unknown time, so that
// `now - user.last_login` stays within CEL's duration range instead of
// failing for a user who never logged in.
func timeOrEpoch(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t
}

// noEntries is every missing map conditions see: they only read it.
var noEntries = map[string]any{}

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return noEntries
	}
	return m
}

// activation is what one profile's conditions see: built once per profile
// and shared by every stage evaluated for it, so an evaluation costs no map
// and no copy of the user. The user is handed to CEL by pointer (the native
// type provider reads a pointer to a registered struct as the struct);
// interaction and now are boxed once. It implements cel-go's
// interpreter.Activation; conditions only read it.
type activation struct {
	facts       *conditionUser
	user        any // facts, boxed
	interaction any // string
	now         any // time.Time
}

func newActivation(facts *conditionUser, interaction string, now time.Time) activation {
	return activation{facts: facts, user: facts, interaction: interaction, now: now}
}

// withContext returns the activation for another interaction context.
func (a *activation) withContext(interaction string) *activation {
	c := *a
	c.interaction = interaction
	return &c
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "user":
		return a.user, true
	case "context":
		return a.interaction, true
	case "now":
		return a.now, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// holds evaluates the stage's condition. Any evaluation error means the stage
// does not apply; it never panics the caller.
func (r *Rules) holds(s *Stage, vars *activation) bool {
	out, _, err := s.cond.program.Eval(vars)
	if err == nil {
		if b, ok := out.Value().(bool); ok {
			return b
		}
		err = fmt.Errorf("result is %v, not a bool", out.Value())
	}
	if r.onError != nil {
		interaction, _ := vars.interaction.(string)
		r.onError(&ConditionError{Stage: s.Name, UserID: vars.facts.UserID, Context: interaction, Err: err})
	}
	return false
}
