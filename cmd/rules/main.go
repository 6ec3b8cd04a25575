// Command rules checks and explains a progressive-profiling rules file for
// the product team, with the code production uses and no Auth0 call:
//
//	go run ./cmd/rules check FILE
//	go run ./cmd/rules explain --rules FILE --user user.json [--context article] [--now RFC3339]
//
// check validates FILE as start-up does and prints every problem at once
// (file:line: ...), exiting 1 if there is any. explain evaluates the rules
// for a user as Auth0's Management API returns one (GET /api/v2/users/{id})
// and prints, for every catalogue field, whether it is pending now and why.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/progressive-profiling/bff/auth0store"
	"github.com/progressive-profiling/bff/graphqlapi"
	"github.com/progressive-profiling/bff/profiling"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, time.Now))
}

const usage = `usage:
  rules check FILE
  rules explain --rules FILE --user user.json [--context CONTEXT] [--now 2026-12-01T10:00:00Z]
`

func run(args []string, stdout, stderr io.Writer, now func() time.Time) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "check":
		if len(args) != 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		r, err := load(args[1])
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: ok (version %q, %d fields, %d stages)\n", args[1], r.Version(), len(r.Fields()), len(r.Stages()))
		return 0
	case "explain":
		fs := flag.NewFlagSet("explain", flag.ContinueOnError)
		fs.SetOutput(stderr)
		rulesPath := fs.String("rules", "", "the rules file")
		userPath := fs.String("user", "", "a user as Auth0's Management API returns it (JSON)")
		interaction := fs.String("context", "", `the interaction context, e.g. "article"`)
		at := fs.String("now", "", "evaluate at this RFC 3339 time instead of now")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		if *rulesPath == "" || *userPath == "" {
			fmt.Fprint(stderr, usage)
			return 2
		}
		t := now()
		if *at != "" {
			var err error
			if t, err = time.Parse(time.RFC3339, *at); err != nil {
				fmt.Fprintf(stderr, "--now: %q is not an RFC 3339 time\n", *at)
				return 2
			}
		}
		r, err := load(*rulesPath)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		u, err := readUser(*userPath)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		out, err := r.Profile(u, t).Explain(*interaction)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "rules %s (version %q), user %s, context %q, at %s\n", *rulesPath, r.Version(), u.ID, *interaction, t.UTC().Format(time.RFC3339))
		for _, e := range out {
			mark := " "
			if e.Pending {
				mark = "*"
			}
			fmt.Fprintf(stdout, "%s %-14s %-20s %s\n", mark, e.Field.Key, e.Status, e.Text)
		}
		return 0
	}
	fmt.Fprint(stderr, usage)
	return 2
}

// load parses a rules file against the API's schema, as start-up does.
func load(path string) (*profiling.Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return profiling.ParseRules(path, data, graphqlapi.ProfileInputSchema())
}

func readUser(path string) (*profiling.User, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	u, err := auth0store.DecodeUser(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}
