package telemetry

import (
	"context"
	"sync"
)

// requestInfo is the request's id and what the layers below the HTTP
// middleware learn about the request, which the access log and histogram
// report: the GraphQL operation, the error codes of its answer and the user.
type requestInfo struct {
	id string // set before the request goes on; read-only after

	mu        sync.Mutex
	operation string // "" until the GraphQL layer names it; "anonymous" for an unnamed one
	opType    string // query, mutation, subscription
	codes     []string
	userID    string
}

type requestInfoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

// RecordOperation tells the request's access log and metrics which GraphQL
// operation it ran: its name ("" for an anonymous one) and type.
func RecordOperation(ctx context.Context, name, opType string) {
	if info := infoFrom(ctx); info != nil {
		if name == "" {
			name = AnonymousOperation
		}
		info.mu.Lock()
		info.operation, info.opType = name, opType
		info.mu.Unlock()
	}
}

// RecordErrorCodes adds the extensions.code of errors in the request's
// answer (the outcome label reads them).
func RecordErrorCodes(ctx context.Context, codes ...string) {
	if info := infoFrom(ctx); info != nil && len(codes) > 0 {
		info.mu.Lock()
		info.codes = append(info.codes, codes...)
		info.mu.Unlock()
	}
}

// RecordUser names the signed-in user for the access log, which hashes or
// omits it as configured.
func RecordUser(ctx context.Context, id string) {
	if info := infoFrom(ctx); info != nil {
		info.mu.Lock()
		info.userID = id
		info.mu.Unlock()
	}
}

func (i *requestInfo) snapshot() (operation, opType, userID string, codes []string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.operation, i.opType, i.userID, append([]string(nil), i.codes...)
}
