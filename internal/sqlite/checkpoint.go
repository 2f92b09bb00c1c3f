package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Checkpoints off the writer (sqlwrite). A WAL checkpoint copies the pages
// committed to the WAL back into the database file and fsyncs it. SQLite
// runs one by default on the connection that commits, once the WAL passes
// 1000 pages (wal_autocheckpoint): under load the one writer then stops
// every ~170 signed requests to copy ~4 MB and fsync the database file,
// while every other writer waits. Here the write connection has
// wal_autocheckpoint=0, and a connection of its own checkpoints instead:
//
//   - in the background, PASSIVE (it never waits for a lock and never
//     blocks the writer or a reader) whenever the WAL holds more than
//     softFrames frames not yet copied; the committer kicks it after each
//     commit and a ticker catches the writes that do not go through the
//     committer;
//   - on the writer, only to keep the WAL bounded: a PASSIVE checkpoint
//     that runs while the writer appends never catches up with it, and the
//     WAL restarts from its beginning only when a write begins with every
//     frame copied. Once the WAL has hardFrames, the committer kicks the
//     background checkpointer while more than tailFrames are left to copy
//     (each checkpoint that copies fsyncs the database file), and when what is left
//     to copy is at most tailFrames (or the WAL has reached maxFrames),
//     runs, between two batches, a RESTART checkpoint, which copies that
//     tail and lets the next write restart the WAL. Its connection does not
//     wait for readers (busy_timeout 0): a reader on an old snapshot makes
//     it return early, as the PASSIVE autocheckpoint did, and the next
//     batch tries again;
//   - on Close, a TRUNCATE checkpoint.
//
// Durability does not move: a commit is acknowledged once it is fsynced in
// the WAL, as before; a checkpoint only copies committed pages, and its
// connection has the same synchronous setting, so it fsyncs the WAL before
// it copies and the database file before it lets the WAL be reused. A
// crash in the middle of one leaves the WAL, which recovery replays.
//
// How full the WAL is comes from the wal-index header in the -shm file
// (https://sqlite.org/walformat.html, 2.2): mxFrame, the last valid
// frame, and nBackfill, the last frame copied. They are read with one
// pread, without a lock: a torn read only moves a checkpoint by a batch.
// When the -shm file cannot be read, the write connection keeps SQLite's
// own autocheckpoint.

// The WAL thresholds, in frames (pages). softFrames is SQLite's default
// autocheckpoint; maxFrames bounds the WAL at ~16 MB with 4 KiB pages.
const (
	softFrames = 1000
	hardFrames = 2000
	maxFrames  = 2 * hardFrames
	tailFrames = 256
)

// checkpointTick is how often the background checkpointer looks at the WAL
// when no commit kicked it (writes outside the committer).
const checkpointTick = time.Second

type checkpointer struct {
	db   *sql.DB  // one connection, used for checkpoints only
	shm  *os.File // the wal-index, read for mxFrame and nBackfill
	kick chan struct{}
	quit chan struct{}
	done chan struct{}
	// mu is held while a checkpoint runs. The committer only tries it
	// below maxFrames: it does not wait for a background checkpoint, it
	// tries again after its next batch.
	mu sync.Mutex

	// For tests and benchmarks: background checkpoints run, checkpoints
	// run on the writer, and the frames those copied.
	passive, restarts, restartFrames atomic.Int64
}

// newCheckpointer opens the checkpointing connection to the database at
// path (common are the settings every connection shares) and starts the
// background goroutine. It fails when the wal-index cannot be read; the
// caller then leaves checkpoints to SQLite.
func newCheckpointer(ctx context.Context, path string, common url.Values) (*checkpointer, error) {
	shm, err := os.Open(path + "-shm")
	if err != nil {
		return nil, err
	}
	q := cloneValues(common)
	q.Set("_busy_timeout", "0")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		shm.Close()
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	c := &checkpointer{db: db, shm: shm, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	if _, _, err := c.frames(); err != nil {
		c.db.Close()
		c.shm.Close()
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		c.db.Close()
		c.shm.Close()
		return nil, err
	}
	go c.loop()
	return c, nil
}

// frames reads the WAL's last valid frame and last checkpointed frame from
// the first copy of the wal-index header (native byte order) and its
// checkpoint info, which follows the two header copies at byte 96.
func (c *checkpointer) frames() (last, copied uint32, err error) {
	var b [100]byte
	if _, err := c.shm.ReadAt(b[:], 0); err != nil {
		return 0, 0, fmt.Errorf("sqlite: read wal-index: %w", err)
	}
	return binary.NativeEndian.Uint32(b[16:]), binary.NativeEndian.Uint32(b[96:]), nil
}

// committed is called by the committer after each commit, on its
// goroutine, between two batches: it kicks the background checkpointer
// when the WAL has softFrames not yet copied, or more than tailFrames once
// it has hardFrames, and runs a RESTART checkpoint itself once the WAL has
// hardFrames and at most tailFrames are left to copy, or maxFrames.
func (c *checkpointer) committed() {
	last, copied, err := c.frames()
	if err != nil {
		return
	}
	if last >= maxFrames || last >= hardFrames && last-copied <= tailFrames {
		if last >= maxFrames {
			c.mu.Lock()
		} else if !c.mu.TryLock() {
			return // the background checkpointer is at it
		}
		defer c.mu.Unlock()
		_, before, _ := c.frames()
		c.restarts.Add(1)
		c.checkpoint(context.Background(), "RESTART")
		if _, after, err := c.frames(); err == nil && after > before {
			c.restartFrames.Add(int64(after - before))
		}
		return
	}
	if due(last, copied) {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// due reports whether the background checkpointer has work: softFrames
// not yet copied, or more than tailFrames once the WAL has hardFrames.
// A kick that finds a checkpoint just done has none: each checkpoint that
// copies fsyncs the database file.
func due(last, copied uint32) bool {
	return last-copied >= softFrames || last >= hardFrames && last-copied > tailFrames
}

func (c *checkpointer) loop() {
	defer close(c.done)
	tick := time.NewTicker(checkpointTick)
	defer tick.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-c.kick:
		case <-tick.C:
		}
		if last, copied, err := c.frames(); err != nil || !due(last, copied) {
			continue
		}
		c.mu.Lock()
		c.passive.Add(1)
		c.checkpoint(context.Background(), "PASSIVE")
		c.mu.Unlock()
	}
}

// checkpoint runs PRAGMA wal_checkpoint(mode). An error is not returned:
// a checkpoint that fails leaves the WAL as it was, and the next one
// copies what this one did not.
func (c *checkpointer) checkpoint(ctx context.Context, mode string) {
	var busy, log, done int
	_ = c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &log, &done)
}

// close stops the background checkpointer and runs a last TRUNCATE
// checkpoint, which waits up to wait for readers. The committer must be
// closed already.
func (c *checkpointer) close(wait time.Duration) error {
	close(c.quit)
	<-c.done
	var errs []error
	ctx := context.Background()
	if _, err := c.db.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", wait.Milliseconds())); err == nil {
		var b, log, done int
		err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&b, &log, &done)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			errs = append(errs, fmt.Errorf("sqlite: checkpoint: %w", err))
		}
	}
	errs = append(errs, c.db.Close(), c.shm.Close())
	return errors.Join(errs...)
}
