package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/progressive-profiling/bff/profiling"
)

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckReportsEveryProblemAndFails(t *testing.T) {
	good := write(t, "rules.yaml", string(profiling.DefaultRules))
	var out, errOut bytes.Buffer
	if code := run([]string{"check", good}, &out, &errOut, time.Now); code != 0 || !strings.Contains(out.String(), "ok") {
		t.Fatalf("default rules: exit %d, %s %s", code, out.String(), errOut.String())
	}
	broken := strings.Replace(string(profiling.DefaultRules), "skipCooldown: 72h", "skipCooldown: 3 days", 1)
	broken = strings.Replace(broken, "when: user.logins_count >= 2\n", "when: user.login_count >= 2\n", 1)
	bad := write(t, "bad.yaml", broken)
	out.Reset()
	errOut.Reset()
	code := run([]string{"check", bad}, &out, &errOut, time.Now)
	msg := errOut.String()
	if code != 1 || !strings.Contains(msg, `policy.skipCooldown: "3 days" is not a duration`) || !strings.Contains(msg, "undefined field 'login_count'") || !strings.Contains(msg, bad+":") {
		t.Fatalf("exit %d, stderr:\n%s", code, msg)
	}
}

func TestExplainAUserFromAFile(t *testing.T) {
	rules := write(t, "rules.yaml", string(profiling.DefaultRules))
	user := write(t, "user.json", `{"user_id": "samlp|acme|ada", "logins_count": 2, "created_at": "2026-11-20T00:00:00Z",
	  "given_name": "Ada", "company": "Acme", "user_metadata": {"last_name": "Lovelace"},
	  "app_metadata": {"progressive_profiling": {"skipped": {"title": {"at": "2026-11-30T12:00:00Z", "count": 1}}}}}`)
	var out, errOut bytes.Buffer
	code := run([]string{"explain", "--rules", rules, "--user", user, "--context", "article", "--now", "2026-12-01T10:00:00Z"}, &out, &errOut, time.Now)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{
		`version "2026-12-01"`,
		"firstName      KNOWN",
		"lastName       ANSWERED",
		"company        KNOWN", // the root attribute, as an enterprise connection sets it
		"title          SKIPPED",
		"phone          NO_STAGE",
		"* subscribed     PENDING",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if code := run([]string{"explain", "--rules", rules}, &out, &errOut, time.Now); code != 2 {
		t.Errorf("missing --user: exit %d", code)
	}
}
