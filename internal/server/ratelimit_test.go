package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/config"
)

// assemble builds a server from cfg in a temp dir, logging to log.
func assemble(t *testing.T, adjust func(*config.Config), log *slog.Logger) http.Handler {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Database = "sqlite:" + filepath.Join(dir, "signet.db")
	cfg.KeyFile = filepath.Join(dir, "signet.key")
	adjust(&cfg)
	p, err := Assemble(context.Background(), &cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.Handler
}

// flood sends n login inits and counts the 429s.
func flood(h http.Handler, n int) int {
	refused := 0
	for range n {
		r := httptest.NewRequest("POST", "/auth/login/init", strings.NewReader(`{"orgId":"or-x","username":"u"}`))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code == http.StatusTooManyRequests {
			refused++
		}
	}
	return refused
}

func TestAssembleRateLimits(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	on := assemble(t, func(c *config.Config) { c.RateLimitAddress = "5/1m" }, quiet)
	if got := flood(on, 8); got != 3 {
		t.Fatalf("limits on (5/1m): %d of 8 refused, want 3", got)
	}

	var logs bytes.Buffer
	off := assemble(t, func(c *config.Config) { c.RateLimit = "off"; c.RateLimitAddress = "5/1m" }, slog.New(slog.NewTextHandler(&logs, nil)))
	if got := flood(off, 8); got != 0 {
		t.Fatalf("limits off: %d refused", got)
	}
	if !strings.Contains(logs.String(), "rate limiting is off") || !strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("no warning for --rate-limit off; logs: %s", logs.String())
	}

	// A Redis that is not there: limits hold, locally.
	dead := assemble(t, func(c *config.Config) {
		c.RateLimitAddress = "5/1m"
		c.RateLimitRedis = "redis://127.0.0.1:1"
	}, quiet)
	if got := flood(dead, 8); got != 3 {
		t.Fatalf("limits with an unreachable Redis: %d of 8 refused, want 3", got)
	}
}
