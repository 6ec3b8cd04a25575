package profiling

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// rulesSchema compiles rules.schema.json, the editors' completion schema.
func rulesSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile("rules.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("rules.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("rules.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func yamlAsJSON(t *testing.T, data []byte) any {
	t.Helper()
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestJSONSchemaAcceptsTheDefaultRules(t *testing.T) {
	if err := rulesSchema(t).Validate(yamlAsJSON(t, DefaultRules)); err != nil {
		t.Fatalf("the default rules do not fit rules.schema.json: %v", err)
	}
}

// The schema knows every knob the loader knows: a misspelt one, a wrong
// type and a bad duration are refused by both.
func TestJSONSchemaRefusesWhatTheLoaderRefuses(t *testing.T) {
	s := rulesSchema(t)
	for _, edit := range [][2]string{
		{"skipCooldown: 72h", "skipCooldown: 3 days"},
		{"maxFieldsPerPrompt: 3", "maxFieldsPerPromt: 3"},
		{"type: PHONE", "type: NUMBER"},
		{"reconfirmAfter: 4380h", "reconfirmAfter: six months"},
	} {
		data := []byte(strings.Replace(string(DefaultRules), edit[0], edit[1], 1))
		if err := s.Validate(yamlAsJSON(t, data)); err == nil {
			t.Errorf("schema accepts %q", edit[1])
		}
		if _, err := ParseRules("rules.yaml", data, apiSchema); err == nil {
			t.Errorf("loader accepts %q", edit[1])
		}
	}
}
