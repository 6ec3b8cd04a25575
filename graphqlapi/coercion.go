package graphqlapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// Input coercion as the GraphQL spec has it, where gqlparser and gqlgen are
// lenient:
//
//   - A String accepts only a string. gqlgen decodes variables with
//     json.Decoder.UseNumber, gqlparser takes a json.Number (a Go string) for
//     a String, and graphql.UnmarshalString turns it into its digits, so
//     {"firstName": 42} would be saved as "42".
//   - An Int accepts only a whole number from -2^31 to 2^31-1. gqlparser
//     checks neither the range of a literal nor that of a variable, and
//     takes a string of digits ("5") for an Int variable; gqlgen binds Int to
//     Go's 64-bit int, so pendingFields(limit: 3000000000) would run.
//
// Both refusals happen before execution with the code gqlgen gives every
// other wrongly typed value, GRAPHQL_VALIDATION_FAILED (HTTP 422): literals
// by a validation rule beside gqlparser's own, variables by checking the
// values gqlparser has coerced, against the operation's variable types.

// int32LiteralRule refuses an Int literal (an argument, an input field or a
// variable's default) outside the 32-bit range, in gqlparser's own words.
var int32LiteralRule = core.Rule{
	Name: "IntLiteralsAre32Bit",
	RuleFunc: func(observers *core.Events, addError core.AddErrFunc) {
		observers.OnValue(func(_ *core.Walker, value *ast.Value) {
			if value.Kind != ast.IntValue || value.Definition == nil || value.Definition.Name != "Int" {
				return
			}
			if _, err := strconv.ParseInt(value.Raw, 10, 32); err != nil {
				addError(core.Message("Int cannot represent non 32-bit signed integer value: %s (an Int is from %d to %d).",
					shortNumber(value.Raw), math.MinInt32, math.MaxInt32), core.At(value.Position))
			}
		})
	},
}

// validationRules are gqlparser's default rules plus int32LiteralRule.
func validationRules() *rules.Rules {
	r := rules.NewDefaultRules()
	r.AddRule(int32LiteralRule.Name, int32LiteralRule.RuleFunc)
	return r
}

// strictVariables refuses, before execution, a variable value that
// gqlparser accepted but the spec does not: a number for a String, a string
// or an out-of-range number for an Int, anywhere in the variable (inside
// input objects and lists too).
type strictVariables struct {
	schema *ast.Schema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = &strictVariables{}

func (*strictVariables) ExtensionName() string { return "StrictVariables" }

func (s *strictVariables) Validate(es graphql.ExecutableSchema) error {
	s.schema = es.Schema()
	return nil
}

func (s *strictVariables) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	for _, def := range opCtx.Operation.VariableDefinitions {
		v, ok := opCtx.Variables[def.Variable]
		if !ok {
			continue
		}
		if problem := s.check(def.Type, v, nil); problem != nil {
			at := ""
			if len(problem.field) > 0 {
				at = " at " + ast.Path(problem.field).String()
			}
			err := &gqlerror.Error{
				Message: fmt.Sprintf("Variable \"$%s\" got an invalid value%s: %s.", def.Variable, at, problem.reason),
				Path:    append(ast.Path{ast.PathName("variable"), ast.PathName(def.Variable)}, problem.field...),
			}
			errcode.Set(err, errcode.ValidationFailed)
			return err
		}
	}
	return nil
}

// coercionProblem is where in a variable's value a problem is (input field
// names and list indexes) and what it is.
type coercionProblem struct {
	field  []ast.PathElement
	reason string
}

func (s *strictVariables) check(typ *ast.Type, v any, at []ast.PathElement) *coercionProblem {
	if v == nil {
		return nil // gqlparser has refused a null where one is not allowed
	}
	if typ.Elem != nil {
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice {
			return s.check(typ.Elem, v, at) // one value stands for a list of one
		}
		for i := range rv.Len() {
			if p := s.check(typ.Elem, rv.Index(i).Interface(), append(at, ast.PathIndex(i))); p != nil {
				return p
			}
		}
		return nil
	}
	def := s.schema.Types[typ.NamedType]
	if def == nil {
		return nil
	}
	switch def.Kind {
	case ast.InputObject:
		fields, ok := v.(map[string]any)
		if !ok {
			return nil // gqlparser has refused anything but an object
		}
		for _, f := range def.Fields {
			if fv, present := fields[f.Name]; present {
				if p := s.check(f.Type, fv, append(at, ast.PathName(f.Name))); p != nil {
					return p
				}
			}
		}
	case ast.Scalar:
		var reason string
		switch def.Name {
		case "String":
			reason = stringProblem(v)
		case "Int":
			reason = intProblem(v)
		}
		if reason != "" {
			return &coercionProblem{field: at, reason: reason}
		}
	}
	return nil
}

func stringProblem(v any) string {
	if _, ok := v.(string); ok {
		return ""
	}
	if n, ok := number(v); ok {
		return "a String must be a JSON string, not the number " + shortNumber(n)
	}
	return fmt.Sprintf("a String must be a JSON string, not %T", v)
}

func intProblem(v any) string {
	n, ok := number(v)
	if !ok {
		if _, isString := v.(string); isString {
			return "an Int must be a JSON number, not a string"
		}
		return "" // booleans, objects: gqlparser has refused them
	}
	f, ok := new(big.Float).SetString(n)
	if !ok || !f.IsInt() {
		return shortNumber(n) + " is not an Int: an Int is a whole number"
	}
	if i, acc := f.Int64(); acc != big.Exact || i < math.MinInt32 || i > math.MaxInt32 {
		return fmt.Sprintf("%s is not an Int: GraphQL's Int is a 32-bit signed integer, from %d to %d", shortNumber(n), math.MinInt32, math.MaxInt32)
	}
	return ""
}

// number returns a numeric value as its decimal text: a json.Number as sent,
// or an integer or float that gqlparser converted it to.
func number(v any) (string, bool) {
	switch n := v.(type) {
	case json.Number:
		return string(n), true
	case int:
		return strconv.Itoa(n), true
	case int32:
		return strconv.FormatInt(int64(n), 10), true
	case int64:
		return strconv.FormatInt(n, 10), true
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64), true
	}
	return "", false
}

// shortNumber keeps an error message short when a client sends thousands of
// digits.
func shortNumber(n string) string {
	if len(n) > 24 {
		return n[:12] + "…(" + strconv.Itoa(len(n)) + " characters)"
	}
	return n
}
