package sqlite

import (
	"runtime"
	"testing"

	drv "modernc.org/sqlite"
)

// TestOpenUsesFdatasync: once a store is open, SQLite's commits in this
// process sync with fdatasync(2) where the library can (Linux and the
// BSDs), as every Linux build of SQLite does; elsewhere the switch stays
// off and Open still succeeds.
func TestOpenUsesFdatasync(t *testing.T) {
	open(t)
	want := runtime.GOOS == "linux" || runtime.GOOS == "freebsd" || runtime.GOOS == "netbsd" || runtime.GOOS == "illumos"
	if got := drv.FdatasyncEnabled(); got != want {
		t.Errorf("FdatasyncEnabled() = %v on %s, want %v", got, runtime.GOOS, want)
	}
}
