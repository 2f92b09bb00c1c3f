//go:build !unix

package sqlite

// ServeLock is the serve lock of lock_unix.go; on systems without flock(2)
// it is not taken, and a second server on one file is not detected.
type ServeLock struct{}

// LockForServe does nothing on this system.
func LockForServe(path string) (*ServeLock, error) { return &ServeLock{}, nil }

// Release does nothing.
func (l *ServeLock) Release() error { return nil }
