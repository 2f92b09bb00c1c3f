package postgres

import (
	"context"
	"errors"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
)

// faultProxy forwards TCP connections to PostgreSQL and can stall them (keep
// every connection open but forward no byte) or cut them (close them all and
// refuse new ones), the faults of issue 12, injected from outside the store.
type faultProxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu      sync.Mutex
	stalled bool
	cut     bool
	resume  chan struct{} // closed when a stall ends
	conns   map[net.Conn]bool
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, ln: ln, target: target, resume: make(chan struct{}), conns: map[net.Conn]bool{}}
	close(p.resume)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.setCut(true)
	})
	return p
}

func (p *faultProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.cut
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies src to dst, waiting while the proxy is stalled.
func (p *faultProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			resume := p.resume
			p.mu.Unlock()
			<-resume
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// setStalled stops or resumes forwarding.
func (p *faultProxy) setStalled(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on == p.stalled {
		return
	}
	p.stalled = on
	if on {
		p.resume = make(chan struct{})
	} else {
		close(p.resume)
	}
}

// setCut closes every connection and refuses new ones, or accepts again.
func (p *faultProxy) setCut(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = on
	if on {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// openThrough opens a Store on a fresh schema through a fault proxy.
func openThrough(t *testing.T) (*Store, *faultProxy) {
	t.Helper()
	raw := pgtest.URL(t)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.Skip("the fault tests need SIGNET_TEST_POSTGRES as a postgres:// URL with a host")
	}
	p := newFaultProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	s, err := Open(t.Context(), u.String())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, p
}

// storeCalls are the calls of a signed request, each under ctx.
func storeCalls(s *Store, f fixture) []struct {
	name string
	call func(ctx context.Context) error
} {
	return []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Principal", func(ctx context.Context) error { _, err := s.Principal(ctx, f.org.ID, f.token.ID); return err }},
		{"Operations", func(ctx context.Context) error { _, err := s.Operations(ctx, f.org.ID, f.user.ID); return err }},
		{"CreateAction", func(ctx context.Context) error {
			return s.CreateAction(ctx, action("x"+time.Now().Format("150405.000000000"), t0.Add(time.Hour)))
		}},
		{"UseAction", func(ctx context.Context) error { _, err := s.UseAction(ctx, []byte("hash-none"), t0); return err }},
		{"ProbeWrite", func(ctx context.Context) error { return s.ProbeWrite(ctx, "test", time.Now()) }},
		{"Ping", func(ctx context.Context) error { return s.Ping(ctx) }},
	}
}

// TestStalledDatabase: while PostgreSQL's connections are open but silent,
// every store call returns soon after its deadline, with an error the
// domain answers 503 (auth.IsUnavailable); when the stall ends the same
// store serves again.
func TestStalledDatabase(t *testing.T) {
	s, p := openThrough(t)
	h := holdReads(s.principals)
	f := newFixture(t, s, "a")
	const deadline = 500 * time.Millisecond
	const slack = 3 * time.Second // scheduling on a loaded machine; the stall itself lasts forever

	p.setStalled(true)
	// First, while the pool still holds its connections (a call cut off
	// by its deadline closes its own): callers gathered into one
	// statement leave at their deadline, though the statement hangs.
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	start := time.Now()
	coalescedFails(t, s, h, f, ctx)
	cancel()
	if took := time.Since(start); took > deadline+slack {
		t.Errorf("coalesced Principal calls returned after %v, deadline %v", took, deadline)
	}
	for _, c := range storeCalls(s, f) {
		ctx, cancel := context.WithTimeout(t.Context(), deadline)
		start := time.Now()
		err := c.call(ctx)
		took := time.Since(start)
		cancel()
		t.Logf("%s under a stall: %v after %v", c.name, err, took.Round(time.Millisecond))
		if err == nil {
			t.Errorf("%s succeeded through a stalled connection", c.name)
		} else if !auth.IsUnavailable(err) {
			t.Errorf("%s: error %v is not unavailable (would be a 500, not a 503)", c.name, err)
		}
		if took > deadline+slack {
			t.Errorf("%s returned after %v, deadline %v", c.name, took, deadline)
		}
	}
	p.setStalled(false)
	waitServing(t, s, f)
}

// TestDatabaseOutage: with PostgreSQL unreachable (connections cut, new ones
// refused), calls fail fast as unavailable; once it is back the same store
// reconnects by itself and serves again.
func TestDatabaseOutage(t *testing.T) {
	s, p := openThrough(t)
	h := holdReads(s.principals)
	f := newFixture(t, s, "a")

	p.setCut(true)
	for _, c := range storeCalls(s, f) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err := c.call(ctx)
		cancel()
		if err == nil {
			t.Errorf("%s succeeded while the database was unreachable", c.name)
		} else if !auth.IsUnavailable(err) {
			t.Errorf("%s: error %v is not unavailable", c.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	coalescedFails(t, s, h, f, ctx)
	cancel()
	p.setCut(false)
	waitServing(t, s, f)
}

// coalescedFails gathers Principal calls under ctx into one batch
// (readbatch.go) while the database is faulty, and checks that each of
// them returns (no hang) with an error the domain answers 503.
func coalescedFails(t *testing.T, s *Store, h *readHold, f fixture, ctx context.Context) {
	t.Helper()
	const n = 6
	free := occupy(t, s.principals)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = s.Principal(ctx, f.org.ID, []string{f.token.ID, "to-other"}[i%2]) })
	}
	h.waitJoined(n)
	free()
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Errorf("coalesced Principal %d succeeded while the database was faulty", i)
		} else if !auth.IsUnavailable(err) {
			t.Errorf("coalesced Principal %d: error %v is not unavailable", i, err)
		}
	}
}

// waitServing waits until the store answers again (the pool replaces the
// connections it lost), failing t after 10s.
func waitServing(t *testing.T, s *Store, f fixture) {
	t.Helper()
	var err error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		err = nil
		for _, c := range storeCalls(s, f) {
			if e := c.call(ctx); e != nil && !errors.Is(e, auth.ErrNotFound) {
				err = e
				break
			}
		}
		cancel()
		if err == nil {
			return
		}
	}
	t.Fatalf("the store did not serve again after the fault ended: %v", err)
}

// TestDefaultTimeouts: without settings in the URL, connections get the
// server-side bounds of postgres.bound and the connect timeout; a URL's own
// settings win.
func TestDefaultTimeouts(t *testing.T) {
	raw := pgtest.URL(t)
	show := func(s *Store, name string) string {
		var v string
		if err := s.pool.QueryRow(t.Context(), "SHOW "+name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	s := openTest(t)
	if got := show(s, "statement_timeout"); got != "10s" {
		t.Errorf("statement_timeout = %s, want 10s", got)
	}
	if got := show(s, "idle_in_transaction_session_timeout"); got != "30s" {
		t.Errorf("idle_in_transaction_session_timeout = %s, want 30s", got)
	}
	if got := s.pool.Config().ConnConfig.ConnectTimeout; got != ConnectTimeout {
		t.Errorf("connect timeout = %v, want %v", got, ConnectTimeout)
	}

	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.Skip("needs a postgres:// URL")
	}
	q := u.Query()
	q.Set("statement_timeout", "2500")
	q.Set("connect_timeout", "7")
	u.RawQuery = q.Encode()
	own, err := Open(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if got := show(own, "statement_timeout"); got != "2500ms" {
		t.Errorf("the URL's statement_timeout: got %s, want 2500ms", got)
	}
	if got := own.pool.Config().ConnConfig.ConnectTimeout; got != 7*time.Second {
		t.Errorf("the URL's connect_timeout: got %v, want 7s", got)
	}
}
