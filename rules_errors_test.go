package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/progressive-profiling/bff/internal/syncbuf"
)

// TestRulesFileReportsEveryProblem starts the service with a rules file
// holding several independent mistakes: start-up must fail naming each one,
// with its line, its stage or field, and the reason.
func TestRulesFileReportsEveryProblem(t *testing.T) {
	_, _, env := testTenant(t)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(`policy:
  maxFieldsPerPrompt: 3
  skipCooldown: 3 days
fields:
  - key: firstName
    label: First name
    type: TEXT
    store: first_name
  - key: company
    label: Company
    type: NUMBER
    store: company
  - key: title
    label: Title
    type: TEXT
    store: title
stages:
  - name: signup
    when: "true"
    reason: Asked when you sign up
    fields: [firstName, compnay]
  - name: returning
    when: user.login_count >= 2
    reason: Asked on your second visit
    fields: [title, company]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env["PROFILING_RULES"] = rules
	stdout, logs := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	err := run(context.Background(), func(k string) string { return env[k] }, stdout, logs)
	if err == nil {
		t.Fatal("the service started with a broken rules file")
	}
	msg := err.Error()
	for _, want := range []string{
		rules + `:3: policy.skipCooldown: "3 days" is not a duration`,
		rules + `:11: field "company": type "NUMBER" is unknown`,
		rules + `:21: stage "signup": field "compnay": no such field in the catalogue`,
		rules + `:23: stage "returning": condition: ERROR: <input>:1:5: undefined field 'login_count'`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not report %q:\n%s", want, msg)
		}
	}
	// company is wrong in its own declaration; a stage naming it must not
	// add a second, misleading "no such field".
	if strings.Contains(msg, `field "company": no such field`) {
		t.Errorf("a field with its own error is also reported as missing:\n%s", msg)
	}
	if n := strings.Count(msg, "\n") + 1; n != 4 {
		t.Errorf("%d problems reported, want 4:\n%s", n, msg)
	}
	if strings.Contains(stdout.String(), "listening") {
		t.Errorf("the service listened: %s", stdout.String())
	}
}
