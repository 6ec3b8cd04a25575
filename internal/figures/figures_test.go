package figures

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReportAppendsLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "figures.txt")
	t.Setenv(EnvVar, path)
	Report(t, "a: %d tried", 3)
	Report(t, "  b: 0 lost  ")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "a: 3 tried\nb: 0 lost\n" {
		t.Fatalf("file = %q", got)
	}
}
