package main

import (
	_ "embed"
	"net/http"
)

// schemaSDL is schema.graphqls as built into the binary, so the SDL a
// client generates code from is the one this build serves.
//
//go:embed schema.graphqls
var schemaSDL []byte

func serveSchema(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(schemaSDL)
}
