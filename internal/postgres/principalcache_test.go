package postgres

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
	"github.com/signet-auth/signet/internal/token"
)

// testLease is the cache lease of the fault tests: short, so that a fence
// that waits for a lost member returns soon.
const testLease = 300 * time.Millisecond

// seenSession is what a test learns of a member's registered session.
type seenSession struct {
	id  string
	pid uint32
}

// openMember opens a store on url with the cache on and returns it with the
// channel its listener's sessions are reported on; it waits for the first.
func openMember(t *testing.T, url string, opts Options) (*Store, <-chan seenSession) {
	t.Helper()
	opts.PrincipalCache = true
	s, err := OpenWith(t.Context(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ch := make(chan seenSession, 16)
	s.pc.m.onSession = func(id string, pid uint32) { ch <- seenSession{id, pid} }
	s.pc.m.begin()
	return s, ch
}

// openPlain opens a store on url with the cache off (a replica that reads
// every principal, or a command), closed when the test ends.
func openPlain(t *testing.T, url string) *Store {
	t.Helper()
	s, err := OpenWith(t.Context(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// nextSession waits for the member's next registered session.
func nextSession(t *testing.T, ch <-chan seenSession) seenSession {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-t.Context().Done():
		t.Fatal("no listener session registered")
	}
	return seenSession{}
}

// cachedPrincipal reads (org, tok) twice on s and checks the second read
// was answered from memory. It fences first, through s, so that the
// notifications of the writes that made the fixture are behind s's cache.
func cachedPrincipal(t *testing.T, s *Store, org, tok string) *auth.PrincipalState {
	t.Helper()
	if err := s.Fence(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Principal(t.Context(), org, tok); err != nil {
		t.Fatal(err)
	}
	hits := s.PrincipalCacheStats().Hits
	p, err := s.Principal(t.Context(), org, tok)
	if err != nil {
		t.Fatal(err)
	}
	if s.PrincipalCacheStats().Hits != hits+1 {
		t.Fatalf("Principal(%s) was not answered from the cache", tok)
	}
	return p
}

func ended(p *auth.PrincipalState) bool {
	return !p.Token.IsActive || p.Token.IsArchived || !p.User.IsActive || p.User.IsArchived || !p.CredentialActive
}

// TestPrincipalCacheReplicas: a change made and fenced through one store is
// seen by the very next Principal of another store on the same database
// that answered it from its cache just before, whether the writer is a
// member itself or has its cache off (a CLI).
func TestPrincipalCacheReplicas(t *testing.T) {
	url := pgtest.URL(t)
	ctx := t.Context()
	a, _ := openMember(t, url, Options{})
	b, bs := openMember(t, url, Options{})
	nextSession(t, bs)
	cli := openPlain(t, url)
	pat := func(f fixture) string {
		tok := auth.AccessToken{ID: "to-pat-" + f.org.ID, OrgID: f.org.ID, UserID: f.user.ID, Kind: token.Kind("Pat"), Name: "pat",
			IsActive: true, ExpiresAt: t0.Add(1000 * time.Hour), CreatedAt: t0}
		if err := a.CreateAccessToken(ctx, &tok); err != nil {
			t.Fatal(err)
		}
		return tok.ID
	}
	authzMoved := func(before, after *auth.PrincipalState) bool { return after.AuthzVersion > before.AuthzVersion }
	isEnded := func(_, after *auth.PrincipalState) bool { return ended(after) }
	tests := []struct {
		name   string
		writer *Store
		tok    func(f fixture) string
		write  func(s *Store, f fixture, tok string) error
		seen   func(before, after *auth.PrincipalState) bool
	}{
		{"login token revoked", a, func(f fixture) string { return f.token.ID }, func(s *Store, f fixture, tok string) error {
			return s.RevokeAccessToken(ctx, f.org.ID, f.user.ID, tok)
		}, isEnded},
		{"logout by a store without cache", cli, func(f fixture) string { return f.token.ID }, func(s *Store, f fixture, tok string) error {
			return s.RevokeSessions(ctx, f.org.ID, f.user.ID)
		}, isEnded},
		{"PAT archived", a, pat, func(s *Store, f fixture, tok string) error {
			t, err := s.AccessToken(ctx, f.org.ID, tok)
			if err != nil {
				return err
			}
			t.IsActive, t.IsArchived = false, true
			return s.UpdateAccessToken(ctx, t)
		}, isEnded},
		{"user deactivated", a, func(f fixture) string { return f.token.ID }, func(s *Store, f fixture, tok string) error {
			u := f.user
			u.IsActive = false
			return s.UpdateUser(ctx, &u)
		}, isEnded},
		{"credential deactivated", cli, func(f fixture) string { return f.token.ID }, func(s *Store, f fixture, tok string) error {
			return s.SetCredentialActive(ctx, f.org.ID, f.user.ID, f.cred.UUID, false)
		}, isEnded},
		{"permission created", a, func(f fixture) string { return f.token.ID }, func(s *Store, f fixture, tok string) error {
			return s.CreatePermission(ctx, &auth.Permission{ID: "pm-new-" + f.org.ID, OrgID: f.org.ID, Name: "new",
				Operations: []string{"Auth:Users:Read"}, CreatedAt: t0, UpdatedAt: t0})
		}, authzMoved},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, a, string(rune('a'+i)))
			tok := tc.tok(f)
			before := cachedPrincipal(t, b, f.org.ID, tok)
			if ended(before) {
				t.Fatal("the principal is ended before the write")
			}
			if err := tc.write(tc.writer, f, tok); err != nil {
				t.Fatal(err)
			}
			if err := tc.writer.Fence(ctx); err != nil {
				t.Fatal(err)
			}
			after, err := b.Principal(ctx, f.org.ID, tok)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.seen(before, after) {
				t.Fatalf("replica B still answers the state before the fenced write: %+v", after)
			}
		})
	}
}

// TestPrincipalCacheGenerationRace: a read that started before a change
// landed is never cached after it, even when it completes after the change
// emptied the cache.
func TestPrincipalCacheGenerationRace(t *testing.T) {
	s, ss := openMember(t, pgtest.URL(t), Options{})
	nextSession(t, ss)
	ctx := t.Context()
	f := newFixture(t, s, "a")
	var once sync.Once
	s.pc.afterRead = func() {
		// The read is in flight (done, not yet stored): the change lands.
		once.Do(func() {
			if err := s.RevokeAccessToken(ctx, f.org.ID, f.user.ID, f.token.ID); err != nil {
				t.Error(err)
			}
			// Every notification of it has been handled before the
			// read's answer is stored.
			if err := s.Fence(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	p, err := s.Principal(ctx, f.org.ID, f.token.ID)
	if err != nil || ended(p) {
		t.Fatalf("the read in flight: %+v, %v (want the state before the revocation)", p, err)
	}
	p, err = s.Principal(ctx, f.org.ID, f.token.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !ended(p) {
		t.Fatal("a read that raced a revocation was cached and served after it")
	}
}

// TestPrincipalCacheHotPathsQuiet: the writes of the hot paths (login token
// insert, action creation and spend, outcomes, audit, sign counts) send no
// notification, so they leave every replica's cache alone; a revocation
// does (the control).
func TestPrincipalCacheHotPathsQuiet(t *testing.T) {
	url := pgtest.URL(t)
	s := openPlain(t, url)
	ctx := t.Context()
	f := newFixture(t, s, "a")
	l := listenPrincipal(t, url)
	now := time.Now().UTC()
	act := &auth.Action{ID: "uj-1", TokenHash: []byte("hash-1"), OrgID: f.org.ID, UserID: f.user.ID, TokenID: f.token.ID,
		CredentialUUID: f.cred.UUID, Method: "POST", Path: "/orders", PayloadHash: []byte{1}, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
	entry := &audit.Entry{ID: act.ID, OrgID: f.org.ID, UserID: f.user.ID, Username: f.user.Username, TokenID: f.token.ID,
		TokenKind: "Token", CredentialUUID: f.cred.UUID, CredID: "cred", CredentialKind: "Key", PublicKey: "pem",
		Method: "POST", Path: "/orders", PayloadHash: []byte{1}, ActionTokenHash: act.TokenHash,
		Challenge: "challenge", ClientData: "client data", Signature: "signature"}
	hot := []struct {
		name string
		run  func() error
	}{
		{"login token", func() error {
			return s.CreateAccessToken(ctx, &auth.AccessToken{ID: "to-login-2", OrgID: f.org.ID, UserID: f.user.ID,
				Kind: token.Kind("Token"), CredentialUUID: f.cred.UUID, IsActive: true, ExpiresAt: now.Add(time.Hour), CreatedAt: now})
		}},
		{"action", func() error { return s.CreateActionForChallenge(ctx, "ch-1", now.Add(time.Hour), act, entry) }},
		{"spend", func() error { _, _, err := s.UseAuditedAction(ctx, act.TokenHash, "", now); return err }},
		{"outcome", func() error {
			done := make(chan error, 1)
			s.QueueOutcome(ctx, &audit.Outcome{EntryID: act.ID, Status: 200, Time: now}, func(err error) { done <- err })
			if err := s.flushOutcomes(ctx); err != nil {
				return err
			}
			return <-done
		}},
		{"audit", func() error {
			e := *entry
			e.ID, e.ActionTokenHash = "uj-2", []byte("hash-2")
			return s.AppendAuditEntry(ctx, &e, now)
		}},
		{"sign count", func() error { return s.UpdateSignCount(ctx, f.cred.UUID, 0, 1) }},
	}
	for _, h := range hot {
		if err := h.run(); err != nil {
			t.Fatalf("%s: %v", h.name, err)
		}
		if got := l.drain(t); len(got) != 0 {
			t.Errorf("%s sent principal notifications %q", h.name, got)
		}
	}
	if err := s.RevokeAccessToken(ctx, f.org.ID, f.user.ID, f.token.ID); err != nil {
		t.Fatal(err)
	}
	if got := l.drain(t); len(got) == 0 {
		t.Error("a revocation sent no notification: the count above proves nothing")
	}
}

// principalListener is a test's own connection listening on the principal
// channel.
type principalListener struct {
	conn    *pgx.Conn
	channel string
}

func listenPrincipal(t *testing.T, url string) *principalListener {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	l := &principalListener{conn: conn}
	if err := conn.QueryRow(ctx, `SELECT `+channelSQL).Scan(&l.channel); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, listenSQL); err != nil {
		t.Fatal(err)
	}
	return l
}

// drain returns the payloads of the notifications received so far: it
// sends a sentinel of its own and reads up to it (delivery follows commit
// order, so every earlier notification comes before it).
func (l *principalListener) drain(t *testing.T) []string {
	t.Helper()
	ctx := t.Context()
	if _, err := l.conn.Exec(ctx, `SELECT pg_notify($1, 'sentinel')`, l.channel); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		n, err := l.conn.WaitForNotification(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n.Payload == "sentinel" {
			return got
		}
		got = append(got, n.Payload)
	}
}

// TestPrincipalCacheListenerBlackholed: a member whose listener stops
// hearing from the database (a proxy that stops forwarding) stops serving
// from its cache once its lease is out, and a fence through another store
// returns after that lease instead of waiting for it forever; the change is
// then in force on the cut-off member.
func TestPrincipalCacheListenerBlackholed(t *testing.T) {
	url := pgtest.URL(t)
	ctx := t.Context()
	a, as := openMember(t, url, Options{CacheLease: testLease})
	nextSession(t, as)
	px := newProxy(t, url)
	b, bs := openMember(t, url, Options{CacheLease: testLease, listenerDial: px.dial})
	nextSession(t, bs)
	f := newFixture(t, a, "a")
	cachedPrincipal(t, b, f.org.ID, f.token.ID)

	px.pause()
	if err := a.RevokeAccessToken(ctx, f.org.ID, f.user.ID, f.token.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.Fence(ctx); err != nil {
		t.Fatal(err)
	}
	if st := a.FenceStats(); st.Expired == 0 {
		t.Errorf("the fence did not wait out the cut-off member's lease: %+v", st)
	}
	if b.pc.m.serving() {
		t.Fatal("the cut-off member still serves from its cache after the fence gave up on it")
	}
	p, err := b.Principal(ctx, f.org.ID, f.token.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !ended(p) {
		t.Fatal("the cut-off member answered the revoked token from its cache")
	}
	px.resume()
	// A's listener waited and renewed several times meanwhile: a wait
	// that times out leaves its connection as it was (listenerConfig).
	if st := a.PrincipalCacheStats(); st.Sessions != 1 || st.Failures != 0 {
		t.Errorf("the healthy member's listener: %+v, want one session and no failure", st)
	}
}

// TestPrincipalCacheListenerTerminated: when a member's listener backend is
// terminated, the member empties its cache and registers under a new id; a
// fence waits for the old id at most its lease, and the change is in force.
func TestPrincipalCacheListenerTerminated(t *testing.T) {
	url := pgtest.URL(t)
	ctx := t.Context()
	a, as := openMember(t, url, Options{CacheLease: testLease})
	nextSession(t, as)
	var logs lockedBuffer
	b, bs := openMember(t, url, Options{CacheLease: testLease, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	first := nextSession(t, bs)
	f := newFixture(t, a, "a")
	cachedPrincipal(t, b, f.org.ID, f.token.ID)
	if got := logs.String(); got != "" {
		t.Fatalf("a healthy listener logged %q", got)
	}

	var ok bool
	if err := a.pool.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, int64(first.pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate the listener: %v, %v", ok, err)
	}
	second := nextSession(t, bs)
	if second.id == first.id {
		t.Fatal("the member registered again under its old id")
	}
	// The operator is told both: the failure (once), then the recovery.
	got := logs.String()
	if !strings.Contains(got, "level=WARN msg=\"token state cache: its listener failed") ||
		!strings.Contains(got, "level=INFO msg=\"token state cache: listening again") {
		t.Errorf("logged %q, want the listener's failure and its return", got)
	}
	hits := b.PrincipalCacheStats().Hits
	if _, err := b.Principal(ctx, f.org.ID, f.token.ID); err != nil {
		t.Fatal(err)
	}
	if b.PrincipalCacheStats().Hits != hits {
		t.Fatal("the member answered from the cache of its terminated session")
	}
	if err := a.RevokeAccessToken(ctx, f.org.ID, f.user.ID, f.token.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.Fence(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := b.Principal(ctx, f.org.ID, f.token.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !ended(p) {
		t.Fatal("the re-registered member answered the revoked token")
	}
}

// TestFenceWithoutMembers: a fence on a database without members returns
// at once; one whose members cannot be read says the change is committed
// but not confirmed, as unavailable.
func TestFenceWithoutMembers(t *testing.T) {
	url := pgtest.URL(t)
	s := openPlain(t, url)
	if err := s.Fence(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(t.Context(), `ALTER TABLE cache_members RENAME TO cache_members_gone`); err != nil {
		t.Fatal(err)
	}
	err := s.Fence(t.Context())
	if err == nil || auth.ErrorCode(err) != auth.Unavailable {
		t.Fatalf("Fence without a members table: %v, want an unavailable error", err)
	}
}

// proxy forwards TCP connections to the database until paused: then it
// stops forwarding either way (a black hole), without closing anything.
type proxy struct {
	target string
	ln     net.Listener
	mu     sync.Mutex
	gate   chan struct{} // closed while forwarding
}

func newProxy(t *testing.T, url string) *proxy {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{target: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), ln: ln, gate: make(chan struct{})}
	close(p.gate)
	var conns sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	// accepting is closed when the accept loop has returned: every
	// conns.Add happens before it, so the cleanup's Wait never races an
	// Add of a connection accepted just before the listener closed.
	accepting := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-accepting
		p.resume()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		conns.Wait()
	})
	go func() {
		defer close(accepting)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			open = append(open, c, up)
			mu.Unlock()
			conns.Add(2)
			go func() { defer conns.Done(); p.pipe(up, c) }()
			go func() { defer conns.Done(); p.pipe(c, up) }()
		}
	}()
	return p
}

// pipe copies src to dst, each chunk only while the gate is open.
func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			g := p.gate
			p.mu.Unlock()
			<-g
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
			}
			return
		}
	}
}

func (p *proxy) pause() {
	p.mu.Lock()
	p.gate = make(chan struct{})
	p.mu.Unlock()
}

func (p *proxy) resume() {
	p.mu.Lock()
	select {
	case <-p.gate:
	default:
		close(p.gate)
	}
	p.mu.Unlock()
}

// dial is a pgconn.DialFunc through the proxy.
func (p *proxy) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", p.ln.Addr().String())
}

// lockedBuffer is a bytes.Buffer safe for a logger's goroutine and the
// test's.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
