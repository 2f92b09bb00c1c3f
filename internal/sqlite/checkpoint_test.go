package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// spendN makes n RFC 9421 spends (nonce, action, audit entry) from 8
// goroutines, each its own commit or a share of a group commit.
func spendN(t *testing.T, s *Store, org auth.NewOrg, prefix string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < n; i += 8 {
				now := time.Now()
				id := fmt.Sprintf("%s-%d", prefix, i)
				a := &auth.Action{ID: id, TokenHash: []byte(id), OrgID: org.Org.ID, UserID: org.User.ID, TokenID: "to-1",
					CredentialUUID: "cr-1", Method: "POST", Path: "/wallets", ExpiresAt: now.Add(time.Hour), CreatedAt: now}
				if err := s.SpendActionForChallenge(t.Context(), "hs-"+id, now.Add(time.Minute), a, nil, "", now); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// walFrames is the WAL's last valid frame.
func walFrames(t *testing.T, s *Store) uint32 {
	t.Helper()
	last, _, err := s.ckpt.frames()
	if err != nil {
		t.Fatal(err)
	}
	return last
}

// TestCheckpointOffWriter: the write connection does not checkpoint, a
// connection of the store does, and under sustained writes the WAL stays
// bounded (it restarts from its beginning) instead of growing with every
// commit, also after a reader on an old snapshot held it for a while.
func TestCheckpointOffWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signet.db")
	s, err := Open(t.Context(), path, Synchronous(SyncNormal))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ckpt == nil {
		t.Fatal("no checkpointer: the writer checkpoints")
	}
	var auto int
	if err := s.write.QueryRowContext(t.Context(), "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("write connection wal_autocheckpoint = %d, %v; want 0", auto, err)
	}
	org := seed(t, s)

	// The bound: the hard limit plus a batch or two of frames appended
	// before the committer looked.
	const bound = maxFrames + 2*maxBatch*20
	var peak uint32
	for round := range 6 {
		spendN(t, s, org, fmt.Sprint("a", round), 1000)
		peak = max(peak, walFrames(t, s))
	}
	t.Logf("peak %d frames, %d restarts, %d passive", peak, s.ckpt.restarts.Load(), s.ckpt.passive.Load())
	if peak > bound {
		t.Errorf("WAL reached %d frames under sustained writes, want at most %d", peak, bound)
	}
	if s.ckpt.restarts.Load() == 0 {
		t.Errorf("the WAL never reached %d frames: the test writes too little", hardFrames)
	}

	// A reader on an old snapshot keeps the WAL from restarting, and
	// delays no writer: the writes all complete.
	ctx, cancel := context.WithCancel(t.Context())
	conn, err := s.read.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM actions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	spendN(t, s, org, "held", 3000)
	conn.ExecContext(ctx, "ROLLBACK")
	conn.Close()
	cancel()
	// Once the reader is gone, the WAL restarts again.
	spendN(t, s, org, "after", 3000)
	if got := walFrames(t, s); got > bound {
		t.Errorf("WAL at %d frames after the reader left, want at most %d", got, bound)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Close checkpoints everything and truncates the WAL.
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("WAL is %d bytes after Close, want 0 or gone", fi.Size())
	}
}
