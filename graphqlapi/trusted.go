package graphqlapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TrustedDocuments is a manifest of the operations clients may run, as
// GraphQL Code Generator's client preset writes it with persistedDocuments:
// one JSON object from each document's SHA-256 hash ("sha256:<hex>" or
// "<hex>") to the document. A client names an operation by its hash, in
// extensions.persistedQuery.sha256Hash (Apollo's persisted-query protocol)
// or in documentId (GraphQL over HTTP's persisted documents), or sends a
// manifest document's exact text.
type TrustedDocuments struct {
	file   string
	byHash map[string]string // hex hash -> document
	byText map[string]bool
	// Only refuses every other document (the default); without it the
	// manifest's hashes resolve and anything else runs as before.
	Only bool
}

// LoadTrustedDocuments reads a manifest strictly: one JSON object of
// strings, every key a SHA-256 hash (hex, optionally "sha256:") that is its
// document's own, no key twice, at least one document. Any problem names
// the file and what is wrong, so a broken deploy stops at start-up.
func LoadTrustedDocuments(file string) (*TrustedDocuments, error) {
	raw, err := os.ReadFile(file)
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return nil, fmt.Errorf("%s: %w", file, pe.Err)
	} else if err != nil {
		return nil, err
	}
	td := &TrustedDocuments{file: file, byHash: map[string]string{}, byText: map[string]bool{}, Only: true}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%s: not a JSON object of hash to document (as GraphQL Code Generator's persistedDocuments writes)", file)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", file, err)
		}
		key := tok.(string) // object keys are strings
		var doc string
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("%s: the value of %q is not a string: %v", file, key, err)
		}
		hash, ok := parseHash(key)
		if !ok {
			return nil, fmt.Errorf("%s: key %q is not a SHA-256 hash (64 lowercase hex digits, optionally prefixed sha256:)", file, key)
		}
		if _, dup := td.byHash[hash]; dup {
			return nil, fmt.Errorf("%s: hash %s appears twice", file, hash)
		}
		if sum := sha256.Sum256([]byte(doc)); hex.EncodeToString(sum[:]) != hash {
			return nil, fmt.Errorf("%s: %q is not the SHA-256 of its document (regenerate the manifest)", file, key)
		}
		td.byHash[hash] = doc
		td.byText[doc] = true
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: data after the manifest's object", file)
	}
	if len(td.byHash) == 0 {
		return nil, fmt.Errorf("%s: the manifest holds no document", file)
	}
	return td, nil
}

// Len is the number of documents in the manifest.
func (td *TrustedDocuments) Len() int { return len(td.byHash) }

// File is the manifest's path.
func (td *TrustedDocuments) File() string { return td.file }

// parseHash accepts "sha256:<hex>" and "<hex>", 64 lowercase hex digits.
func parseHash(s string) (string, bool) {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) != 64 || strings.Trim(s, "0123456789abcdef") != "" {
		return "", false
	}
	return s, true
}

// resolve decides what runs: the manifest's document for a known hash, a
// query equal to a manifest document, or (ok false) nothing. An unknown
// hash resolves to nothing, whatever query comes with it.
func (td *TrustedDocuments) resolve(query, hash string) (doc string, ok bool) {
	if hash != "" {
		h, valid := parseHash(hash)
		doc, ok = td.byHash[h]
		return doc, valid && ok
	}
	return query, query != "" && td.byText[query]
}

// documentIDKey carries a request's documentId (which gqlgen's transports
// do not read) from the HTTP layer to the extension.
type documentIDKey struct{}

// trustedDocumentsHTTP reads documentId from a POST body or a GET query
// string for the extension, and in Only mode refuses a GET with an
// untrusted document before anything (transportGuard included) parses it.
func (td *TrustedDocuments) http(m *endpointMetrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id, query, hash string
		switch r.Method {
		case http.MethodGet:
			params, _ := url.ParseQuery(r.URL.RawQuery)
			id, query = params.Get("documentId"), params.Get("query")
			var ext struct {
				PersistedQuery struct {
					Hash string `json:"sha256Hash"`
				} `json:"persistedQuery"`
			}
			_ = json.Unmarshal([]byte(params.Get("extensions")), &ext)
			hash = ext.PersistedQuery.Hash
		case http.MethodPost:
			if r.Body != nil { // already in memory (capBody)
				body, _ := bodyBytes(r)
				var b struct {
					DocumentID string `json:"documentId"`
				}
				_ = json.Unmarshal(body, &b)
				id = b.DocumentID
			}
		}
		if td.Only && r.Method == http.MethodGet && (query != "" || hash != "" || id != "") {
			if hash == "" {
				hash = id
			}
			if _, ok := td.resolve(query, hash); !ok {
				m.refused.WithLabelValues(LimitTrustedDocuments).Inc()
				WriteError(w, http.StatusUnprocessableEntity, untrusted())
				return
			}
		}
		if id != "" {
			r = r.WithContext(context.WithValue(r.Context(), documentIDKey{}, id))
		}
		next.ServeHTTP(w, r)
	})
}

func untrusted() *gqlerror.Error {
	return limitError(LimitTrustedDocuments, 0,
		"This service runs only trusted documents: send a known operation's hash (extensions.persistedQuery.sha256Hash or documentId) or its exact text.")
}

// trustedDocuments is the gqlgen extension: before any parsing, it puts the
// manifest's document into a request that names it by hash and, in Only
// mode, refuses any other document. The persisted-query extension is
// removed from a resolved request, so automatic persisted queries never
// register or look up a manifest operation.
type trustedDocuments struct {
	td      *TrustedDocuments
	metrics *endpointMetrics
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = trustedDocuments{}

func (trustedDocuments) ExtensionName() string                   { return "TrustedDocuments" }
func (trustedDocuments) Validate(graphql.ExecutableSchema) error { return nil }

func (t trustedDocuments) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	hash, _ := ctx.Value(documentIDKey{}).(string)
	if pq, ok := params.Extensions["persistedQuery"].(map[string]any); ok && hash == "" {
		hash, _ = pq["sha256Hash"].(string)
	}
	doc, ok := t.td.resolve(params.Query, hash)
	switch {
	case ok:
		params.Query = doc
		delete(params.Extensions, "persistedQuery")
	case t.td.Only:
		t.metrics.refused.WithLabelValues(LimitTrustedDocuments).Inc()
		return untrusted()
	case hash != "" && params.Extensions["persistedQuery"] == nil:
		// A documentId the manifest does not hold, outside Only mode.
		return untrusted()
	}
	return nil
}
