package ratelimit

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// redisAddr is the Redis of the development and CI machines; the tests
// that need it are skipped when it does not answer.
func redisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("SIGNET_TEST_REDIS")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Skipf("no Redis at %s: %v", addr, err)
	}
	c.Close()
	return addr
}

// newRedis returns a limiter on addr with a key prefix of its own test.
func newRedis(t *testing.T, addr, prefix string, log *slog.Logger) *Redis {
	t.Helper()
	r, err := NewRedis(RedisConfig{URL: "redis://" + addr, Prefix: prefix, Logger: log, RetryEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRedisSharedBudget(t *testing.T) {
	addr := redisAddr(t)
	prefix := "signet-test:" + rand.Text() + ":"
	a, b := newRedis(t, addr, prefix, nil), newRedis(t, addr, prefix, nil)
	ctx := context.Background()
	lim := Limit{Rate: 10, Period: time.Hour, Burst: 10}
	allowed := 0
	for i := range 20 { // alternate replicas: one budget of 10
		r := a
		if i%2 == 1 {
			r = b
		}
		if d := r.Allow(ctx, "ip:203.0.113.7", lim); d.Allowed {
			allowed++
		} else if d.RetryAfter <= 0 {
			t.Fatalf("refusal %d has no RetryAfter", i)
		}
	}
	if allowed != 10 {
		t.Fatalf("two replicas allowed %d requests of one key, want the shared budget of 10", allowed)
	}
	if a.Degraded() || b.Degraded() {
		t.Fatal("a replica fell back although Redis answered")
	}
	// Another prefix is another budget.
	c := newRedis(t, addr, prefix+"other:", nil)
	if d := c.Allow(ctx, "ip:203.0.113.7", lim); !d.Allowed {
		t.Fatal("a key under another prefix shares the budget")
	}
}

// proxy forwards TCP connections to target until closed, so a test can
// take Redis away from a limiter and give it back.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

func startProxy(t *testing.T, listen, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			u.Close()
			return
		}
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { io.Copy(u, c); u.Close() }()
		go func() { io.Copy(c, u); c.Close() }()
	}
}

func (p *proxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRedisAwayDegradesToLocal(t *testing.T) {
	addr := redisAddr(t)
	p := startProxy(t, "127.0.0.1:0", addr)
	listen := p.ln.Addr().String()
	var logs syncBuffer
	r := newRedis(t, listen, "signet-test:"+rand.Text()+":", slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()
	lim := Limit{Rate: 5, Period: time.Hour, Burst: 5}

	for range 2 { // spend two of five in Redis
		if d := r.Allow(ctx, "k", lim); !d.Allowed {
			t.Fatal("refused while Redis answers")
		}
	}
	p.close() // Redis goes away

	start := time.Now()
	allowed := 0
	for range 10 {
		if d := r.Allow(ctx, "k", lim); d.Allowed {
			allowed++
		}
	}
	if !r.Degraded() {
		t.Fatal("not degraded although Redis is away")
	}
	// Local limits hold (never no limits) and still admit (never refuse
	// all): the local budget of 5 is whole.
	if allowed != 5 {
		t.Fatalf("with Redis away, %d of 10 requests allowed; want the local budget of 5", allowed)
	}
	if d := r.Allow(ctx, "fresh", lim); !d.Allowed {
		t.Fatal("a new key was refused with Redis away")
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("deciding 11 requests without Redis took %v", el)
	}
	if !bytes.Contains([]byte(logs.String()), []byte("Redis unreachable")) {
		t.Fatalf("no warning logged; logs: %s", logs.String())
	}

	// Redis comes back on the same address: the limiter goes back to the
	// shared budget, where 3 of the 5 are left.
	p2 := startProxy(t, listen, addr)
	_ = p2
	deadline := time.Now().Add(5 * time.Second)
	for r.Degraded() && time.Now().Before(deadline) {
		time.Sleep(60 * time.Millisecond)
		r.Allow(ctx, "probe", lim)
	}
	if r.Degraded() {
		t.Fatal("did not recover after Redis came back")
	}
	allowed = 0
	for range 5 {
		if d := r.Allow(ctx, "k", lim); d.Allowed {
			allowed++
		}
	}
	if allowed != 3 {
		t.Fatalf("after recovery %d allowed; want the 3 left of the shared budget", allowed)
	}
	if !bytes.Contains([]byte(logs.String()), []byte("Redis answers again")) {
		t.Fatalf("no recovery logged; logs: %s", logs.String())
	}
}

func TestRedisDeadPortAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	r := newRedis(t, dead, "signet-test:", nil)
	lim := Limit{Rate: 2, Period: time.Hour, Burst: 2}
	got := []bool{}
	for range 3 {
		got = append(got, r.Allow(context.Background(), "k", lim).Allowed)
	}
	if !got[0] || !got[1] || got[2] {
		t.Fatalf("dead Redis at start: decisions %v, want local limits [true true false]", got)
	}
}
