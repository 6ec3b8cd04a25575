// Package figures lets tests report the measured figures the project
// publishes (README, reliability section): each test that measures one calls
// Report with a one-line result, and the test command prints them all at the
// end of the run.
//
// When BFF_FIGURES names a file (scripts/test sets it), each line is appended
// to it; test binaries of different packages run in parallel, and appends of
// one short line with O_APPEND do not interleave. The line is always logged
// on the test too.
package figures

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// EnvVar names the file the figures are appended to.
const EnvVar = "BFF_FIGURES"

// Report records one figure line, e.g. "bad tokens: 40 tried, 40 rejected, 0 leaked".
func Report(tb testing.TB, format string, args ...any) {
	tb.Helper()
	line := strings.TrimSpace(fmt.Sprintf(format, args...))
	tb.Logf("FIGURE %s", line)
	path := os.Getenv(EnvVar)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		tb.Errorf("figures: %v", err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		tb.Errorf("figures: %v", err)
	}
}
