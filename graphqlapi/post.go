package graphqlapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// post is gqlgen's POST transport (transport.POST, as of v0.17.98, which
// it embeds for Supports) but for how it writes the answer. gqlgen's runs
// encoding/json over the whole response, whose scanner validates and
// re-compacts every byte of the data gqlgen's executor has just written.
// post copies that data in one plain pass that compacts and escapes it as
// encoding/json would (appendData), and encodes only the errors and
// extensions, so every answer is byte for byte what gqlgen's transport
// writes (post_test.go compares the two, and TestDumpResponses' dumps
// stay the same).
type post struct{ transport.POST }

const (
	contentJSON            = "application/json"
	contentGraphQLResponse = "application/graphql-response+json"
)

func (post) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	contentType := responseContentType(r.Header.Get("Accept"))
	w.Header().Add("Content-Type", contentType)
	start := graphql.Now()
	body, err := bodyBytes(r)
	if err != nil {
		writeResponse(w, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("could not read request body: %+v", err)}))
		return
	}
	params := &graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		writeResponse(w, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf(
			"json request body could not be decoded: %+v body:%s", err, string(body))}))
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	rc, opErr := exec.CreateOperationContext(ctx, params)
	if opErr != nil {
		w.WriteHeader(statusFor(contentType, opErr))
		writeResponse(w, exec.DispatchError(graphql.WithOperationContext(ctx, rc), opErr))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	writeResponse(w, responses(ctx))
}

// responseContentType is gqlgen's choice for a POST without response
// headers of its own: application/json unless the client prefers
// application/graphql-response+json (or names neither).
func responseContentType(accept string) string {
	if accept == "" {
		return contentJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mediaType {
		case "*/*", "application/*", contentJSON:
			return contentJSON
		case contentGraphQLResponse:
			return contentGraphQLResponse
		}
	}
	return contentGraphQLResponse
}

// statusFor is gqlgen's status for an operation refused before it ran: a
// protocol error is 422 for application/json and 400 for
// application/graphql-response+json, anything else 200.
func statusFor(contentType string, errs gqlerror.List) int {
	if errcode.GetErrorKind(errs) != errcode.KindProtocol {
		return http.StatusOK
	}
	if contentType == contentGraphQLResponse {
		return http.StatusBadRequest
	}
	return http.StatusUnprocessableEntity
}

func writeResponse(w http.ResponseWriter, resp *graphql.Response) {
	b, err := appendResponse(make([]byte, 0, len(resp.Data)+128), resp)
	if err != nil {
		panic(fmt.Errorf("unable to marshal %s: %w", string(resp.Data), err)) // as gqlgen's transport does
	}
	_, _ = w.Write(b)
}

// appendResponse appends resp as encoding/json marshals a graphql.Response:
// errors (when any), data, extensions (when any), in that order.
func appendResponse(b []byte, resp *graphql.Response) ([]byte, error) {
	if resp.Label != "" || len(resp.Path) > 0 || resp.HasNext != nil {
		// An incremental (@defer) part, which a POST here never sends:
		// leave its shape to encoding/json.
		out, err := json.Marshal(resp)
		return append(b, out...), err
	}
	b = append(b, '{')
	if len(resp.Errors) > 0 {
		errs, err := json.Marshal(resp.Errors)
		if err != nil {
			return b, err
		}
		b = append(append(append(b, `"errors":`...), errs...), ',')
	}
	b = append(b, `"data":`...)
	if len(resp.Data) == 0 {
		b = append(b, "null"...)
	} else {
		b = appendData(b, resp.Data)
	}
	if len(resp.Extensions) > 0 {
		ext, err := json.Marshal(resp.Extensions)
		if err != nil {
			return b, err
		}
		b = append(append(b, `,"extensions":`...), ext...)
	}
	return append(b, '}'), nil
}

// appendData appends the JSON gqlgen's executor wrote as encoding/json
// would re-encode it as a json.RawMessage: compacted (gqlgen's own
// marshalers write no white space, but a FieldValue is graphql.Any, which
// encoding/json writes with a newline after it) and with <, >, & and
// U+2028, U+2029 escaped for HTML safety (gqlgen's strings leave them).
// The data is valid JSON, so one pass that knows whether it is inside a
// string is all compacting takes.
func appendData(b, data []byte) []byte {
	const hex = "0123456789abcdef"
	start, inString := 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inString && c == '\\':
			i++ // the escaped byte cannot end the string
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			b = append(b, data[start:i]...)
			start = i + 1
		case c == '<' || c == '>' || c == '&':
			b = append(append(b, data[start:i]...), '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			start = i + 1
		case c == 0xE2 && i+2 < len(data) && data[i+1] == 0x80 && data[i+2]&^1 == 0xA8:
			b = append(append(b, data[start:i]...), '\\', 'u', '2', '0', '2', hex[data[i+2]&0xF])
			i += 2
			start = i + 1
		}
	}
	return append(b, data[start:]...)
}
