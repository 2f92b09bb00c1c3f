//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ServeLock is the advisory lock one `signet serve` holds on a database
// file for as long as it runs, so that a second server on the same file
// is refused with a clear message instead of starting silently (issue 12).
// It is an flock(2) on "<path>.lock" beside the database: the kernel drops
// it when the process ends, even by kill -9, so it never goes stale. CLI
// commands that open the file (audit export, rotate-key) do not take it:
// SQLite's own locking keeps their writes safe beside a running server.
type ServeLock struct {
	f *os.File
}

// LockForServe takes the serve lock of the database at path, or says which
// file is locked when another server holds it.
func LockForServe(path string) (*ServeLock, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: serve lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another signet serve is already running on %s (it holds %s): "+
				"run one server per SQLite file (use PostgreSQL for several replicas); "+
				"CLI commands such as audit export and rotate-key work beside it", path, name)
		}
		return nil, fmt.Errorf("sqlite: serve lock %s: %w", name, err)
	}
	return &ServeLock{f: f}, nil
}

// Release drops the lock. The lock file stays: removing it could let a
// third process lock a new file while the second still holds the old one.
func (l *ServeLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}
