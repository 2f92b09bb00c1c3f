//go:build unix

package sqlite

import (
	"strings"
	"testing"
)

// TestServeLock: one holder at a time per database file; released, the
// lock can be taken again; another file has its own lock.
func TestServeLock(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/signet.db"
	first, err := LockForServe(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockForServe(path); err == nil || !strings.Contains(err.Error(), "another signet serve is already running on "+path) {
		t.Fatalf("second lock on the same file: %v", err)
	}
	other, err := LockForServe(dir + "/other.db")
	if err != nil {
		t.Fatalf("lock on another file: %v", err)
	}
	other.Release()
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := LockForServe(path)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again.Release()
	again.Release() // twice is harmless
}
