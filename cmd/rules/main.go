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
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

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

// knownRoot are the Auth0 user attributes profiling.User has fields for;
// any other root attribute is kept in RootAttributes, as the store does.
var knownRoot = map[string]bool{
	"user_id": true, "email": true, "email_verified": true, "name": true, "nickname": true, "picture": true,
	"given_name": true, "family_name": true, "phone_number": true, "created_at": true, "updated_at": true,
	"last_login": true, "logins_count": true, "identities": true, "user_metadata": true, "app_metadata": true,
}

func readUser(path string) (*profiling.User, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var u profiling.User
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, fmt.Errorf("%s: not a user as Auth0 returns it: %w", path, err)
	}
	var all map[string]any
	_ = json.Unmarshal(data, &all)
	for k, v := range all {
		if !knownRoot[k] && !strings.HasPrefix(k, "last_") {
			if u.RootAttributes == nil {
				u.RootAttributes = map[string]any{}
			}
			u.RootAttributes[k] = v
		}
	}
	if u.ID == "" {
		return nil, errors.New(path + ": user_id is missing")
	}
	return &u, nil
}
