package graphqlapi

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/progressive-profiling/bff/graph"
	"github.com/progressive-profiling/bff/profiling"
)

// The playground's docs pane is the API's manual: every type, field,
// argument and enum value the schema declares must explain itself.
func TestEverySchemaElementHasADescription(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	var missing []string
	for name, def := range schema.Types {
		if def.BuiltIn || strings.HasPrefix(name, "__") {
			continue
		}
		if strings.TrimSpace(def.Description) == "" {
			missing = append(missing, name)
		}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			if strings.TrimSpace(f.Description) == "" {
				missing = append(missing, name+"."+f.Name)
			}
			for _, a := range f.Arguments {
				if strings.TrimSpace(a.Description) == "" && !describedOnQuery(schema, f, a) {
					missing = append(missing, name+"."+f.Name+"("+a.Name+")")
				}
			}
		}
		for _, v := range def.EnumValues {
			if strings.TrimSpace(v.Description) == "" {
				missing = append(missing, name+"."+v.Name)
			}
		}
	}
	if len(missing) > 0 {
		t.Fatalf("schema elements without a description: %v", missing)
	}
}

// describedOnQuery accepts Viewer.pendingFields' arguments, whose field
// description points at Query.pendingFields, where they are described.
func describedOnQuery(schema *ast.Schema, f *ast.FieldDefinition, a *ast.ArgumentDefinition) bool {
	q := schema.Query.Fields.ForName(f.Name)
	if q == nil || q == f || !strings.Contains(f.Description, "Query."+f.Name) {
		return false
	}
	arg := q.Arguments.ForName(a.Name)
	return arg != nil && arg.Description != ""
}

func TestProfileInputSchemaMirrorsUpdateProfileInput(t *testing.T) {
	got := ProfileInputSchema()
	want := profiling.InputSchema{
		"firstName": profiling.KindString, "lastName": profiling.KindString,
		"company": profiling.KindString, "title": profiling.KindString,
		"phone": profiling.KindString, "subscribed": profiling.KindBoolean,
	}
	if len(got) != len(want) {
		t.Fatalf("ProfileInputSchema = %v, want %v", got, want)
	}
	for k, kind := range want {
		if got[k] != kind {
			t.Errorf("%s: %v, want %v", k, got[k], kind)
		}
	}
	// The default rules load against it: the catalogue and the API agree.
	if _, err := profiling.ParseRules("default", profiling.DefaultRules, got); err != nil {
		t.Fatalf("default rules refused by the API's input schema: %v", err)
	}
}
