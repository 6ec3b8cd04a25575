package profiling

import (
	"testing"
	"time"
)

func BenchmarkParseDefaultRules(b *testing.B) {
	for b.Loop() {
		if _, err := ParseRules(DefaultRulesName, DefaultRules, apiSchema); err != nil {
			b.Fatal(err)
		}
	}
}

// One viewer query's worth of work: evaluate the profile and what to ask.
func BenchmarkProfileAndPending(b *testing.B) {
	r := mustDefaultRules(b)
	u := newUser(4, 40*24*time.Hour, named, withEnrichment("company", "AE"), withSkipped("title", time.Hour))
	for b.Loop() {
		if _, err := r.Profile(u, testNow).Pending("article", nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAnswer(b *testing.B) {
	r := mustDefaultRules(b)
	u := newUser(4, 40*24*time.Hour, named)
	answers := map[string]any{"company": "Analytical Engines", "title": "Engineer", "phone": "+44 20 7946 0958", "subscribed": true}
	for b.Loop() {
		if _, errs := r.Answer(u, answers, "article", testNow); errs != nil {
			b.Fatal(errs)
		}
	}
}
