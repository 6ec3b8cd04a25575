package testkit

import (
	"testing"
	"time"
)

// Eventually polls cond until it holds, failing the test after 15 s. It
// waits for a state, it asserts nothing about time.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
