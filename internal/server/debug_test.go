package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/config"
)

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startServer assembles signet on a temporary SQLite database with cfg's
// DebugListen and serves it until the test ends; it returns the API's base
// URL.
func startServer(t *testing.T, debugListen string) (*Parts, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Database = "sqlite:" + filepath.Join(dir, "signet.db")
	cfg.KeyFile = filepath.Join(dir, "signet.key")
	cfg.DebugListen = debugListen
	log := slog.New(slog.DiscardHandler)
	parts, err := Assemble(t.Context(), &cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, parts, log) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		parts.Close()
	})
	return parts, "http://" + ln.Addr().String()
}

func get(t *testing.T, url string) (int, string, error) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// pprofPaths are what net/http/pprof serves; none may answer on the API's
// listener (the command line alone may carry a database password).
var pprofPaths = []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/heap", "/debug/pprof/cmdline", "/debug/pprof/symbol"}

func TestDebugListenerOffByDefault(t *testing.T) {
	if d := config.Default().DebugListen; d != "" {
		t.Fatalf("config.Default().DebugListen = %q, want off", d)
	}
	parts, base := startServer(t, config.Default().DebugListen)
	if parts.debugListen != "" {
		t.Fatalf("debug listener configured by default: %q", parts.debugListen)
	}
	for _, p := range pprofPaths {
		code, body, err := get(t, base+p)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusNotFound || strings.Contains(body, "goroutine") {
			t.Errorf("API listener GET %s = %d %.80q, want 404 without a profile", p, code, body)
		}
	}
}

func TestDebugListenerServesPprofOnlyThere(t *testing.T) {
	dbg := freeAddr(t)
	_, base := startServer(t, dbg)
	// Serve opens the debug listener as it starts, in its goroutine.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", dbg)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("debug listener %s never came up: %v", dbg, err)
		}
	}
	tests := []struct {
		path string
		want string // in the body
	}{
		{"/debug/pprof/", "goroutine"},
		{"/debug/pprof/goroutine?debug=1", "goroutine profile: total"},
		{"/debug/pprof/cmdline", ""},
	}
	for _, tt := range tests {
		code, body, err := get(t, "http://"+dbg+tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusOK || !strings.Contains(body, tt.want) {
			t.Errorf("debug listener GET %s = %d %.80q, want 200 with %q", tt.path, code, body, tt.want)
		}
	}
	// The API's listener stays as it was: no profile there, whatever is set.
	for _, p := range pprofPaths {
		code, body, err := get(t, base+p)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusNotFound || strings.Contains(body, "goroutine") {
			t.Errorf("API listener GET %s = %d %.80q, want 404 without a profile", p, code, body)
		}
	}
	// And the debug listener serves nothing of the API.
	if code, _, err := get(t, "http://"+dbg+"/auth/login/init"); err != nil || code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		t.Errorf("debug listener serves the API: %d %v", code, err)
	}
}

func TestDebugListenerAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Database = "sqlite:" + filepath.Join(dir, "signet.db")
	cfg.KeyFile = filepath.Join(dir, "signet.key")
	cfg.DebugListen = ln.Addr().String()
	log := slog.New(slog.DiscardHandler)
	parts, err := Assemble(t.Context(), &cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer parts.Close()
	api, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	if err := Serve(t.Context(), api, parts, log); err == nil || !strings.Contains(err.Error(), "--debug-listen") {
		t.Fatalf("Serve with a taken debug address = %v, want a --debug-listen error", err)
	}
}
