package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// readHold drives a readBatcher in tests: it can take every statement slot
// (so that callers gather), hold answered statements before their callers
// are answered, and wait for callers to join a batch. Its hooks are
// installed once, before the store is used concurrently.
type readHold struct {
	mu      sync.Mutex
	armed   int           // the next armed answered statements are held
	held    chan int      // a held statement's key count
	release chan struct{} // one receive lets one held statement go
	joined  chan struct{} // one send per caller that joined a batch
}

func holdReads[K comparable, V any](b *readBatcher[K, V]) *readHold {
	h := &readHold{held: make(chan int, 64), release: make(chan struct{}), joined: make(chan struct{}, 4096)}
	b.hooks.afterRead = func(n int) {
		h.mu.Lock()
		hold := h.armed > 0
		if hold {
			h.armed--
		}
		h.mu.Unlock()
		if hold {
			h.held <- n
			<-h.release
		}
	}
	b.hooks.joined = func() { h.joined <- struct{}{} }
	return h
}

func (h *readHold) arm() { h.mu.Lock(); h.armed++; h.mu.Unlock() }

func (h *readHold) waitJoined(n int) {
	for range n {
		<-h.joined
	}
}

// occupy takes every statement slot of b, as statements in flight would;
// free gives them back, each sending the oldest batch gathered.
func occupy[K comparable, V any](t *testing.T, b *readBatcher[K, V]) (free func()) {
	t.Helper()
	// A batch sent before may still be answering its callers: wait for
	// its leader to give the slot back.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		b.mu.Lock()
		idle := b.out == 0 && len(b.queue) == 0
		if idle {
			b.out = b.inflight
		}
		n, q := b.out, len(b.queue)
		b.mu.Unlock()
		if idle {
			return func() {
				for range b.inflight {
					b.release()
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the batcher stays busy: %d out, %d queued", n, q)
		}
	}
}

// principalCase is one caller of a batch and what it must get.
type principalCase struct {
	name       string
	org, token string
	found      bool
	user       string
}

// principalCases: two orgs' tokens, each asked under its own org and under
// the other's (a token is found in its own org only, even when the same
// batch asks for it under its own org), and an unknown token.
func principalCases(a, b fixture) []principalCase {
	return []principalCase{
		{"a's token in a", a.org.ID, a.token.ID, true, a.user.ID},
		{"b's token in b", b.org.ID, b.token.ID, true, b.user.ID},
		{"b's token in a", a.org.ID, b.token.ID, false, ""},
		{"a's token in b", b.org.ID, a.token.ID, false, ""},
		{"unknown token in a", a.org.ID, "to-none", false, ""},
		{"a's token in a again", a.org.ID, a.token.ID, true, a.user.ID},
	}
}

func checkPrincipal(t *testing.T, c principalCase, p *auth.PrincipalState, err error) {
	t.Helper()
	switch {
	case !c.found && !errors.Is(err, auth.ErrNotFound):
		t.Errorf("%s: got %+v, %v; want not found", c.name, p, err)
	case c.found && err != nil:
		t.Errorf("%s: %v", c.name, err)
	case c.found && (p.User.ID != c.user || p.Token.ID != c.token || p.Token.OrgID != c.org || p.User.OrgID != c.org):
		t.Errorf("%s: got token %s of %s, user %s of %s; want %s of %s, user %s", c.name, p.Token.ID, p.Token.OrgID,
			p.User.ID, p.User.OrgID, c.token, c.org, c.user)
	}
}

// TestPrincipalBatchOwnAnswers: callers of different orgs and tokens
// gathered into one statement each get their own row or not-found; a token
// asked under another org is not found although the same statement finds
// it under its own.
func TestPrincipalBatchOwnAnswers(t *testing.T) {
	s := openTest(t)
	a, b := newFixture(t, s, "a"), newFixture(t, s, "b")
	h := holdReads(s.principals)
	cases := principalCases(a, b)
	free := occupy(t, s.principals)
	ps, errs := make([]*auth.PrincipalState, len(cases)), make([]error, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() { ps[i], errs[i] = s.Principal(t.Context(), c.org, c.token) })
	}
	h.waitJoined(len(cases))
	free()
	wg.Wait()
	for i, c := range cases {
		checkPrincipal(t, c, ps[i], errs[i])
	}
	if got := s.principals.stats; got.batches != 1 || got.keys != int64(len(cases)-1) {
		t.Errorf("%d batches of %d keys, want 1 of %d", got.batches, got.keys, len(cases)-1)
	}
	if ps[0] == ps[5] {
		t.Error("two callers of one key share one PrincipalState")
	}
}

// TestPrincipalBatchSeesRevocation: a caller that starts after a
// revocation committed does not join the statement already in flight
// (whose snapshot may predate the commit): it is answered by a later one,
// and sees the token revoked.
func TestPrincipalBatchSeesRevocation(t *testing.T) {
	s := openTest(t)
	a, b := newFixture(t, s, "a"), newFixture(t, s, "b")
	s.principals.inflight = 1
	h := holdReads(s.principals)
	free := occupy(t, s.principals)
	ctx := t.Context()
	type answer struct {
		p   *auth.PrincipalState
		err error
	}
	early := make(chan answer, 2)
	for _, f := range []fixture{a, b} {
		go func() { p, err := s.Principal(ctx, f.org.ID, f.token.ID); early <- answer{p, err} }()
	}
	h.waitJoined(2)
	h.arm()
	free() // the batch of a and b is sent, read, and held before answering
	if n := <-h.held; n != 2 {
		t.Fatalf("held a statement of %d keys, want 2", n)
	}
	if err := s.RevokeAccessToken(ctx, a.org.ID, a.user.ID, a.token.ID); err != nil {
		t.Fatal(err)
	}
	late := make(chan answer, 1)
	go func() { p, err := s.Principal(ctx, a.org.ID, a.token.ID); late <- answer{p, err} }()
	h.waitJoined(1)
	h.release <- struct{}{}
	for range 2 {
		if e := <-early; e.err != nil || !e.p.Token.IsActive {
			t.Errorf("a caller before the revocation: %+v, %v; want active", e.p, e.err)
		}
	}
	l := <-late
	if l.err != nil {
		t.Fatal(l.err)
	}
	if l.p.Token.IsActive {
		t.Error("a caller that started after the revocation committed got the token active")
	}
}

// TestPrincipalBatchIsolation: a caller whose context is cancelled while
// it waits for its batch gets its context's error and the others their
// rows; a key the server refuses (a NUL byte in text) fails its caller
// only; a batch all of whose callers left is not sent.
func TestPrincipalBatchIsolation(t *testing.T) {
	s := openTest(t)
	a, b := newFixture(t, s, "a"), newFixture(t, s, "b")
	h := holdReads(s.principals)

	t.Run("cancelled", func(t *testing.T) {
		free := occupy(t, s.principals)
		cctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { _, err := s.Principal(cctx, a.org.ID, a.token.ID); errc <- err }()
		other := make(chan error, 1)
		var p *auth.PrincipalState
		go func() { var err error; p, err = s.Principal(t.Context(), b.org.ID, b.token.ID); other <- err }()
		h.waitJoined(2)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("the cancelled caller got %v", err)
		}
		retried := s.principals.stats.retried
		free()
		if err := <-other; err != nil || p.Token.ID != b.token.ID {
			t.Errorf("the other caller got %+v, %v", p, err)
		}
		s.principals.mu.Lock()
		defer s.principals.mu.Unlock()
		if s.principals.stats.retried != retried {
			t.Error("the batch failed with the cancelled caller: the other ran alone")
		}
	})

	t.Run("refused key", func(t *testing.T) {
		free := occupy(t, s.principals)
		cases := principalCases(a, b)[:3]
		errs := make([]error, len(cases)+1)
		ps := make([]*auth.PrincipalState, len(cases))
		var wg sync.WaitGroup
		for i, c := range cases {
			wg.Go(func() { ps[i], errs[i] = s.Principal(t.Context(), c.org, c.token) })
		}
		wg.Go(func() { _, errs[len(cases)] = s.Principal(t.Context(), a.org.ID, "to-\x00") })
		h.waitJoined(len(cases) + 1)
		free()
		wg.Wait()
		for i, c := range cases {
			checkPrincipal(t, c, ps[i], errs[i])
		}
		if err := errs[len(cases)]; err == nil || errors.Is(err, auth.ErrNotFound) || auth.IsUnavailable(err) {
			t.Errorf("the refused key got %v, want the server's error", err)
		}
	})

	t.Run("left, then joined", func(t *testing.T) {
		// Every caller of a gathering batch left (its statement context is
		// cancelled); a caller that comes after must not join that batch
		// and be answered with its cancellation.
		free := occupy(t, s.principals)
		cctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { _, err := s.Principal(cctx, a.org.ID, a.token.ID); errc <- err }()
		h.waitJoined(1)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("the cancelled caller got %v", err)
		}
		s.principals.mu.Lock()
		retried := s.principals.stats.retried
		s.principals.mu.Unlock()
		later := make(chan error, 1)
		var p *auth.PrincipalState
		go func() { var err error; p, err = s.Principal(t.Context(), b.org.ID, b.token.ID); later <- err }()
		h.waitJoined(1)
		free()
		if err := <-later; err != nil || p.Token.ID != b.token.ID {
			t.Errorf("the caller after them got %+v, %v", p, err)
		}
		s.principals.mu.Lock()
		defer s.principals.mu.Unlock()
		if s.principals.stats.retried != retried {
			t.Error("the caller after them joined the abandoned batch, whose statement failed: it ran alone")
		}
	})

	t.Run("everyone left", func(t *testing.T) {
		free := occupy(t, s.principals)
		before := s.principals.stats.batches
		cctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() { s.Principal(cctx, a.org.ID, a.token.ID) })
		}
		h.waitJoined(3)
		cancel()
		wg.Wait()
		free()
		s.principals.mu.Lock()
		defer s.principals.mu.Unlock()
		if got := s.principals.stats.batches - before; got != 0 || s.principals.out != 0 || len(s.principals.queue) != 0 {
			t.Errorf("%d batches sent for nobody; %d out, %d queued", got, s.principals.out, len(s.principals.queue))
		}
	})
}

// TestPrincipalBatchStatements counts the statements pgx sends for
// concurrent Principal calls: callers gathered while the slots are taken
// share one statement (a capped batch holds at most ReadBatchKeys distinct
// keys), a lone caller sends its own.
func TestPrincipalBatchStatements(t *testing.T) {
	s, trips := openTraced(t)
	a, b := newFixture(t, s, "a"), newFixture(t, s, "b")
	h := holdReads(s.principals)
	cases := principalCases(a, b)
	for _, tc := range []struct {
		name       string
		callers    int
		maxKeys    int
		sequential bool // callers join one after the other, in case order
		want       int64
	}{
		{"one caller", 1, 64, false, 1},
		{"16 callers, one batch", 16, 64, false, 1},
		{"64 callers, one batch", 64, 64, false, 1},
		// distinct keys a b c d e a' ... in batches of two: ab cd ea bc de ...
		{"16 callers, batches of 2", 16, 2, true, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.principals.maxKeys = tc.maxKeys
			free := func() {}
			if tc.callers > 1 {
				free = occupy(t, s.principals)
			}
			trips.n.Store(0)
			ps, errs := make([]*auth.PrincipalState, tc.callers), make([]error, tc.callers)
			var wg sync.WaitGroup
			for i := range tc.callers {
				c := cases[i%(len(cases)-1)]
				wg.Go(func() { ps[i], errs[i] = s.Principal(t.Context(), c.org, c.token) })
				if tc.sequential {
					h.waitJoined(1)
				}
			}
			if tc.callers > 1 {
				if !tc.sequential {
					h.waitJoined(tc.callers)
				}
				free()
			}
			wg.Wait()
			for i := range tc.callers {
				checkPrincipal(t, cases[i%(len(cases)-1)], ps[i], errs[i])
			}
			if got := trips.n.Load(); got != tc.want {
				t.Errorf("%d callers: %d statements, want %d", tc.callers, got, tc.want)
			}
		})
	}
}

// TestPrincipalSignersBatch: PrincipalSigners callers gathered into one
// statement each get their own principal and credentials, or not-found
// (a token asked under another org among them).
func TestPrincipalSignersBatch(t *testing.T) {
	s := openTest(t)
	a, b := newFixture(t, s, "a"), newFixture(t, s, "b")
	h := holdReads(s.signers)
	cases := principalCases(a, b)
	free := occupy(t, s.signers)
	ps, creds, errs := make([]*auth.PrincipalState, len(cases)), make([][]*auth.Credential, len(cases)), make([]error, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() { ps[i], creds[i], errs[i] = s.PrincipalSigners(t.Context(), c.org, c.token) })
	}
	h.waitJoined(len(cases))
	free()
	wg.Wait()
	for i, c := range cases {
		checkPrincipal(t, c, ps[i], errs[i])
		if !c.found {
			continue
		}
		want := map[string]string{a.org.ID: a.cred.UUID, b.org.ID: b.cred.UUID}[c.org]
		if len(creds[i]) != 1 || creds[i][0].UUID != want || creds[i][0].OrgID != c.org {
			t.Errorf("%s: credentials %+v, want %s", c.name, creds[i], want)
		}
	}
	if got := s.signers.stats; got.batches != 1 || got.keys != int64(len(cases)-1) {
		t.Errorf("%d batches of %d keys, want 1 of %d", got.batches, got.keys, len(cases)-1)
	}
	if creds[0][0] == creds[5][0] {
		t.Error("two callers of one key share one Credential")
	}
}
