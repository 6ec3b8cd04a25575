package profiling

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Reading a rules file's YAML safely: what the go-yaml library needs around
// it so that a bad file stops start-up with a line number and a message,
// never a panic or an exponential expansion. The rules themselves are
// checked in load.go.

// readYAML reads the file's one YAML document into its raw shape, strictly
// (unknown keys are errors), and refuses what would make loading fragile:
// an oversized or empty file, several documents, YAML tags and nested
// aliases. The line of every later problem is found in the document read
// here (line).
func (l *loader) readYAML(data []byte) (*rawRules, error) {
	if len(data) > maxRulesSize {
		return nil, l.fail("", "", "", "the file is %d bytes; the limit is %d", len(data), maxRulesSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, l.fail("", "", "", "the file is empty")
	}
	file, err := l.parseYAML(data)
	if err != nil {
		return nil, err
	}
	var docs []*ast.DocumentNode
	for _, d := range file.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d)
		}
	}
	switch len(docs) {
	case 0:
		return nil, l.fail("", "", "", "the file is empty")
	case 1:
	default:
		return nil, &RulesError{File: l.file, Line: docs[1].Body.GetToken().Position.Line,
			Reason: fmt.Sprintf("the file holds %d YAML documents; put everything in one", len(docs))}
	}
	l.body = docs[0].Body
	if err := l.checkYAMLFeatures(); err != nil {
		return nil, err
	}
	var raw rawRules
	if err := l.decodeYAML(&raw); err != nil {
		return nil, err
	}
	return &raw, nil
}

// line finds where a YAML path such as "$.stages[2].when" is in the file.
func (l *loader) line(path string) int {
	if l.body == nil || path == "" {
		return 0
	}
	p, err := yaml.PathString(path)
	if err != nil {
		return 0
	}
	n, err := p.FilterNode(l.body)
	if err != nil || n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

// parseYAML and decodeYAML turn a panic inside go-yaml into an error: the
// library has had panics on malformed input (goccy/go-yaml#735, a tag on a
// scalar decoded into a list, unreleased fix as of v1.19.2), and a bad rules
// file must stop start-up with a message, not a stack trace.
func (l *loader) parseYAML(data []byte) (file *ast.File, err error) {
	defer l.recoverYAML(&err)
	file, err = parser.ParseBytes(data, 0)
	if err != nil {
		return nil, l.yamlError(err)
	}
	return file, nil
}

func (l *loader) decodeYAML(raw *rawRules) (err error) {
	defer l.recoverYAML(&err)
	if err := yaml.NodeToValue(l.body, raw, yaml.Strict()); err != nil {
		return l.yamlError(err)
	}
	return nil
}

func (l *loader) recoverYAML(err *error) {
	if p := recover(); p != nil {
		*err = &RulesError{File: l.file, Reason: fmt.Sprintf("the YAML library failed to read this file (%v); simplify the YAML near the last change", p)}
	}
}

// checkYAMLFeatures refuses YAML features a rules file does not need and
// that make loading fragile or expensive: tags (the go-yaml panic above) and
// an anchored value that itself uses an alias (nested aliases expand
// exponentially, the "billion laughs" pattern). Plain anchors and aliases
// for sharing, e.g., a sources list are fine.
func (l *loader) checkYAMLFeatures() (err error) {
	defer l.recoverYAML(&err)
	c := &yamlFeatureCheck{loader: l, found: new(*RulesError)}
	ast.Walk(c, l.body)
	if *c.found != nil {
		return *c.found
	}
	return nil
}

type yamlFeatureCheck struct {
	loader   *loader
	inAnchor bool
	found    **RulesError // first problem, shared by the visitors of one walk
}

func (c *yamlFeatureCheck) Visit(n ast.Node) ast.Visitor {
	if n == nil || *c.found != nil {
		return nil
	}
	fail := func(format string, args ...any) ast.Visitor {
		e := &RulesError{File: c.loader.file, Reason: fmt.Sprintf(format, args...)}
		if tok := n.GetToken(); tok != nil {
			e.Line = tok.Position.Line
		}
		*c.found = e
		return nil
	}
	switch n := n.(type) {
	case *ast.TagNode:
		tag := ""
		if n.Start != nil {
			tag = n.Start.Value
		}
		return fail("YAML tags such as %q are not supported; quote the value instead", tag)
	case *ast.AliasNode:
		if c.inAnchor {
			return fail("an anchored value must not use an alias itself (nested aliases)")
		}
	case *ast.AnchorNode:
		return &yamlFeatureCheck{loader: c.loader, inAnchor: true, found: c.found}
	}
	return c
}

// yamlError turns a go-yaml error into a one-line RulesError with its line.
func (l *loader) yamlError(err error) *RulesError {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return &RulesError{File: l.file, Reason: err.Error()}
	}
	e := &RulesError{File: l.file, Reason: ye.GetMessage()}
	tok := ye.GetToken()
	if tok != nil {
		e.Line = tok.Position.Line
	}
	// go-yaml phrases type errors in Go terms; say what the file should hold.
	var te *yaml.TypeError
	if errors.As(err, &te) && tok != nil {
		e.Reason = fmt.Sprintf("expected %s, found %q", yamlKindName(te.DstType), tok.Value)
	}
	return e
}

func yamlKindName(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.String:
		return "text"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a mapping (key: value)"
	case reflect.Pointer:
		return yamlKindName(t.Elem())
	}
	return t.String()
}
