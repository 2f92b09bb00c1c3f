package sqlite

import (
	"sync"

	drv "modernc.org/sqlite"
)

// SQLite's unix VFS makes a commit durable with fsync(2) unless it was
// built with HAVE_FDATASYNC, which the configure script of every Linux
// build of SQLite sets: there a commit calls fdatasync(2). The library
// modernc.org/sqlite transpiles is built without that check, so it calls
// fsync(2), and offers the switch (drv.Fdatasync) to do what native SQLite
// does. fdatasync writes the file's data and the metadata needed to read
// it back (its size included), and skips only the timestamps, whose
// journal commit fsync forces on ext4 and XFS: the same durability under
// synchronous=FULL (a committed transaction survives power loss), less
// work in the kernel per commit. docs/performance.md, "sqlflow3".
//
// The switch is process-wide; Open sets it once. Where the library never
// syncs with fdatasync (macOS, Windows) it stays off and SQLite syncs as
// it always did there.

var syncOnce sync.Once

// useFdatasync makes SQLite's commits in this process call fdatasync(2)
// where the platform has it.
func useFdatasync() {
	syncOnce.Do(func() {
		_, _ = drv.Fdatasync(true) // ErrFdatasyncUnavailable: SQLite's own sync stays
	})
}
