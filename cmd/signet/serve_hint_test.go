package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveLog runs serve with args until it is listening, then stops it and
// returns its log and the address it listened on.
func serveLog(t *testing.T, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan int, 1)
	var log syncBuffer
	m := &Main{Stdout: &log, Stderr: &log, Env: func(string) (string, bool) { return "", false }, Ready: func(a string) { ready <- a }}
	go func() { done <- m.Run(ctx, append([]string{"serve"}, args...)) }()
	var addr string
	select {
	case addr = <-ready:
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, log.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	cancel()
	<-done
	return log.String(), addr
}

// serve logs the address where passkeys work, says how to turn them on
// when they are off, and on an empty database the exact bootstrap command.
func TestServeLogsWhatToDoNext(t *testing.T) {
	dir := t.TempDir()
	db := []string{"--database", "sqlite:" + filepath.Join(dir, "signet.db"), "--key-file", filepath.Join(dir, "signet.key")}

	log, addr := serveLog(t, append([]string{"--listen", "127.0.0.1:0"}, db...)...)
	boot := "signet bootstrap --org-name NAME --username EMAIL " + strings.Join(db, " ")
	for _, w := range []string{"url=http://" + addr, "passkeys are off", "--rp-id localhost", boot} {
		if !strings.Contains(log, w) {
			t.Errorf("serve log lacks %q:\n%s", w, log)
		}
	}

	// With --rp-id localhost the logged URL is localhost's, where passkeys work.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(free)
	if code, _, errs := runMain(t, append([]string{"bootstrap", "--org-name", "acme", "--username", "ann@example.com"}, db...)...); code != 0 {
		t.Fatal(errs)
	}
	log, _ = serveLog(t, append([]string{"--listen", free, "--rp-id", "localhost", "--origin", "http://localhost:" + port}, db...)...)
	if !strings.Contains(log, "url=http://localhost:"+port) {
		t.Errorf("serve log lacks url=http://localhost:%s:\n%s", port, log)
	}
	for _, nw := range []string{"passkeys are off", "signet bootstrap", "level=WARN"} {
		if strings.Contains(log, nw) {
			t.Errorf("serve log has %q though passkeys are on and an org exists:\n%s", nw, log)
		}
	}
}
