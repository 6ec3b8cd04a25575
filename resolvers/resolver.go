// Package resolvers holds the GraphQL resolvers: they take the principal
// from the request context, ask the profiling domain, and convert the
// answer to the API's types. Business rules live in the rules file and the
// profiling package, never here; the endpoint around them (transports,
// limits, error presentation) is package graphqlapi.
package resolvers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/progressive-profiling/bff/apimodel"
	"github.com/progressive-profiling/bff/auth"
	"github.com/progressive-profiling/bff/profiling"
)

// Resolver is the root resolver; gqlgen's generated code calls its methods.
type Resolver struct {
	service *profiling.Service
	log     *slog.Logger
}

// New returns the root resolver over svc.
func New(svc *profiling.Service, log *slog.Logger) *Resolver {
	return &Resolver{service: svc, log: log}
}

// WithRequestMemo returns a context in which the request's resolvers read
// the user at most once and record whether an answer came from a stale
// copy (see StaleRead). The endpoint installs one per request.
func WithRequestMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &requestMemo{})
}

// WithLocale returns a context whose request memo (installed if missing)
// holds the locale the endpoint matched from the request's Accept-Language.
// The resolvers pass it to the domain explicitly (Service.In); without it
// they answer in the rules' default locale.
func WithLocale(ctx context.Context, loc profiling.Locale) context.Context {
	memo, ok := ctx.Value(memoKey{}).(*requestMemo)
	if !ok {
		memo = &requestMemo{}
		ctx = context.WithValue(ctx, memoKey{}, memo)
	}
	memo.locale = loc
	return ctx
}

// serviceFor is the domain service speaking the request's locale.
func (r *Resolver) serviceFor(ctx context.Context) *profiling.Service {
	if memo, ok := ctx.Value(memoKey{}).(*requestMemo); ok && memo.locale != "" {
		return r.service.In(memo.locale)
	}
	return r.service
}

// StaleRead reports whether any answer of the request came from a stale
// copy of the user, and the oldest such copy's age.
func StaleRead(ctx context.Context) (age time.Duration, stale bool) {
	memo, _ := ctx.Value(memoKey{}).(*requestMemo)
	if memo == nil {
		return 0, false
	}
	info, stale := memo.staleRead()
	return info.Age, stale
}

// loadViewer returns the signed-in user's profile as the API's Viewer,
// loading it at most once per request however many fields ask for it.
func (r *Resolver) loadViewer(ctx context.Context) (*apimodel.Viewer, error) {
	userID, read, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	memo, ok := ctx.Value(memoKey{}).(*requestMemo)
	if !ok {
		memo = &requestMemo{}
	}
	memo.once.Do(func() {
		var info profiling.ReadInfo
		memo.viewer.Profile, info, memo.err = r.serviceFor(ctx).Profile(ctx, userID, read)
		memo.noteRead(info)
	})
	if memo.viewer.Profile == nil {
		return nil, memo.err
	}
	return &memo.viewer, nil
}

// viewer returns the signed-in user's id and what a read of them needs so
// that their token's login shows (see profiling.ReadForToken), or
// UNAUTHENTICATED.
func viewer(ctx context.Context) (string, profiling.Read, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return "", profiling.Read{}, errUnauthenticated()
	}
	return p.UserID, profiling.ReadForToken(profiling.Token{
		IssuedAt: p.IssuedAt, FirstSeen: p.FirstSeen, Unique: p.Unique, LoginsCount: p.LoginsCount,
	}, time.Now()), nil
}

// requestMemo holds the one profile read a request makes, and whether any
// answer of the request came from a stale copy (see staleExtension).
type requestMemo struct {
	locale profiling.Locale // set before the resolvers run; "" is the default
	once   sync.Once
	viewer apimodel.Viewer // the profile read
	err    error

	mu    sync.Mutex
	stale profiling.ReadInfo // the oldest stale read, if stale.Stale
}

func (m *requestMemo) noteRead(info profiling.ReadInfo) {
	if !info.Stale {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.stale.Stale || info.Age > m.stale.Age {
		m.stale = info
	}
}

func (m *requestMemo) staleRead() (profiling.ReadInfo, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stale, m.stale.Stale
}

type memoKey struct{}
