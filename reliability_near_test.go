package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// Each instance answers hot reads from memory (nearcache), which must never
// hide another instance's write: with viewers in flight on both instances
// all the time, an answer acknowledged by one instance is in the very next
// viewer read through the other, round after round, in both directions.
func TestAWriteThroughOneInstanceIsInTheOthersNextRead(t *testing.T) {
	emu, _, env := testTenant(t)
	a, b := runService(t, env), runService(t, env)
	_, emails := createUsers(t, emu, "near", 1)
	token := passwordLogin(t, emu.URL(), emails[0])
	const viewer = `{ viewer { firstName } pendingFields { key } }`
	for _, e := range []*testEnv{a, b} {
		e.gql(token, viewer, nil) // each holds the user now
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var inFlight atomic.Int64
	for _, e := range []*testEnv{a, b, a, b} {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := postGQL(e.url, token, viewer, nil); err == nil {
					inFlight.Add(1)
				}
			}
		})
	}

	const rounds = 40
	stale := 0
	for round := range rounds {
		writer, reader := a, b
		if round%2 == 1 {
			writer, reader = b, a
		}
		name := fmt.Sprintf("Ada %d", round)
		w, err := postGQL(writer.url, token, updateMutation, map[string]any{"input": map[string]any{"firstName": name}})
		if err != nil || len(w.Errors) > 0 {
			t.Fatalf("round %d: write: %v %v", round, err, w)
		}
		r, err := postGQL(reader.url, token, viewer, nil)
		if err != nil || len(r.Errors) > 0 {
			t.Fatalf("round %d: read: %v %v", round, err, r)
		}
		if got := path(r.Data, "viewer", "firstName"); got != name {
			stale++
			t.Errorf("round %d: the other instance read firstName %v right after %q was acknowledged", round, got, name)
		}
	}
	close(stop)
	wg.Wait()

	// The hits were real: both instances answered most reads from memory.
	for i, e := range []*testEnv{a, b} {
		m := e.scrapeMetrics(t)
		hits := m[`bff_nearcache_reads_total{result="hit"}`]
		if hits == 0 {
			t.Errorf("instance %d answered no read from memory: %v hits, %v misses, %v bypasses", i, hits,
				m[`bff_nearcache_reads_total{result="miss"}`], m[`bff_nearcache_reads_total{result="bypass"}`])
		}
	}
	t.Logf("%d rounds, %d stale reads, %d viewer reads in flight meanwhile", rounds, stale, inFlight.Load())
}
