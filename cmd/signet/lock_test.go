package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSecondServeOnSQLiteRefused: a second `signet serve` on the SQLite file
// a running server uses refuses to start and says why (issue 12), while the
// CLI commands that must open the file beside it keep working. After the
// first server stops, the lock is free again.
func TestSecondServeOnSQLiteRefused(t *testing.T) {
	dir := t.TempDir()
	db, key := "sqlite:"+filepath.Join(dir, "signet.db"), filepath.Join(dir, "signet.key")
	run := func(args ...string) (int, string, string) { return runMain(t, args...) }
	b := bootstrap(t, run, db, key)
	serveInProcess(t, "--database", db, "--key-file", key)

	code, _, errs := run("serve", "--listen", "127.0.0.1:0", "--database", db, "--key-file", key)
	if code == 0 || !strings.Contains(errs, "another signet serve is already running on "+filepath.Join(dir, "signet.db")) {
		t.Fatalf("second serve on the same file: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := run("rotate-key", "--database", db, "--key-file", key); code != 0 {
		t.Errorf("rotate-key beside a running server: exit %d %s", code, errs)
	}
	out := filepath.Join(dir, "audit.json")
	if code, _, errs := run("audit", "export", "--database", db, "--key-file", key, "--org-id", b.OrgID, "--out", out); code != 0 {
		t.Errorf("audit export beside a running server: exit %d %s", code, errs)
	}

	// Another file is not locked by this server.
	other := "sqlite:" + filepath.Join(dir, "other.db")
	serveInProcess(t, "--database", other, "--key-file", key)
}
