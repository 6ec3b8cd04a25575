package main

import (
	"fmt"
	"sync"
	"testing"

	"github.com/progressive-profiling/bff/internal/figures"
	"github.com/progressive-profiling/bff/profiling"
)

// The bookkeeping object in app_metadata is replaced whole by every write,
// so two writers of one user that both read before either writes lose one
// record. The service serialises writers of a user across instances with a
// Redis lock. Here K clients, one per catalogue field, answer their field
// at the same moment through TWO service instances sharing one Redis and
// one emulator, round after round; after each round the emulator's store
// must hold every acknowledged answer and its bookkeeping record.
func TestConcurrentWritersThroughTwoInstancesLoseNothing(t *testing.T) {
	emu, _, env := testTenant(t)
	instances := []*testEnv{runService(t, env), runService(t, env)}

	const users, rounds = 3, 6
	ids, emails := createUsers(t, emu, "writer", users)
	tokens := make([]string, users)
	for i, email := range emails {
		tokens[i] = passwordLogin(t, emu.URL(), email)
	}
	// One client per field; each round's answers differ from the last, so
	// every write changes the user and records a new bookkeeping entry.
	fields := []struct {
		key, store string
		value      func(round int) any
	}{
		{"firstName", "first_name", func(r int) any { return fmt.Sprintf("Ada %d", r) }},
		{"lastName", "last_name", func(r int) any { return fmt.Sprintf("Lovelace %d", r) }},
		{"company", "company", func(r int) any { return fmt.Sprintf("Engines %d", r) }},
		{"title", "title", func(r int) any { return fmt.Sprintf("Countess %d", r) }},
		{"phone", "phone", func(r int) any { return fmt.Sprintf("+1415555267%d", r%10) }},
		{"subscribed", "subscribed", func(r int) any { return r%2 == 0 }},
	}
	interaction := func(user, field, round int) string { return fmt.Sprintf("u%d-f%d-r%d", user, field, round) }

	acknowledged, lost, refused := 0, 0, 0
	for round := range rounds {
		type result struct {
			user, field int
			ok          bool
			detail      string
		}
		results := make(chan result, users*len(fields))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for u := range users {
			for f, field := range fields {
				via := instances[(u+f+round)%2] // every user is written through both
				wg.Go(func() {
					<-start
					r, err := postGQL(via.url, tokens[u], updateMutation, map[string]any{"input": map[string]any{
						field.key: field.value(round), "context": interaction(u, f, round),
					}})
					switch {
					case err != nil:
						results <- result{u, f, false, err.Error()}
					case len(r.Errors) > 0 || len(path(r.Data, "updateProfile", "userErrors").([]any)) > 0:
						results <- result{u, f, false, r.Raw}
					default:
						results <- result{u, f, true, ""}
					}
				})
			}
		}
		close(start)
		wg.Wait()
		close(results)

		for res := range results {
			if !res.ok {
				// Not acknowledged: the client was told, so nothing is owed.
				refused++
				t.Logf("round %d: user %d field %s not acknowledged: %s", round, res.user, fields[res.field].key, res.detail)
				continue
			}
			acknowledged++
			doc, _ := emu.User(ids[res.user])
			field := fields[res.field]
			stored := path(doc, "user_metadata", field.store)
			record := path(doc, "app_metadata", profiling.BookkeepingKey, "collected", field.key, "context")
			if stored != field.value(round) || record != interaction(res.user, res.field, round) {
				lost++
				t.Errorf("round %d: user %d: acknowledged %s=%v (context %s), store has %v with bookkeeping context %v",
					round, res.user, field.key, field.value(round), interaction(res.user, res.field, round), stored, record)
			}
		}
	}
	figures.Report(t, "concurrent writers: %d acknowledged, %d lost (%d clients x %d rounds x %d users, 2 instances, %d refused)",
		acknowledged, lost, len(fields), rounds, users, refused)
	if refused > acknowledged/10 {
		t.Errorf("%d of %d writes were refused; the lock should make writers wait, not fail", refused, acknowledged+refused)
	}
}
