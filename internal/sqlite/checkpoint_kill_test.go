package sqlite

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// TestCheckpointKillLosesNoAcknowledgedSpend runs spends in a child process
// (this test binary) with the checkpoints off the writer, kills it with
// SIGKILL after the WAL has been checkpointed and restarted several times,
// and checks that every spend the child saw acknowledged is there after a
// restart: its nonce spent, its record stored (the audit entry of an
// audited spend, the action row of one without).
func TestCheckpointKillLosesNoAcknowledgedSpend(t *testing.T) {
	if path := os.Getenv("SIGNET_SQLWRITE_KILL_CHILD"); path != "" {
		killChild(t, path)
		return
	}
	if testing.Short() {
		t.Skip("runs a child process under load")
	}
	path := filepath.Join(t.TempDir(), "signet.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	org := seed(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestCheckpointKillLosesNoAcknowledgedSpend$", "-test.v=false")
	cmd.Env = append(os.Environ(), "SIGNET_SQLWRITE_KILL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var acked []string
	restarts := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "ok "); ok {
			acked = append(acked, id)
		}
		if n, ok := strings.CutPrefix(line, "restarts "); ok {
			fmt.Sscan(n, &restarts)
		}
		if restarts >= 3 {
			break
		}
	}
	if restarts < 3 {
		t.Fatalf("child ended after %d spends and %d writer checkpoints: %v", len(acked), restarts, sc.Err())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	t.Logf("%d spends acknowledged, %d writer checkpoints, before SIGKILL", len(acked), restarts)

	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range acked {
		spent, err := s.ChallengeSpent(t.Context(), "hs-"+id)
		if err != nil || !spent {
			t.Fatalf("nonce of acknowledged spend %s: spent %v, %v", id, spent, err)
		}
		// An audited spend's record is its entry (no action row); one
		// without entry, its action row.
		if strings.HasPrefix(id, "uj-a") {
			if _, err := s.AuditRecord(t.Context(), org.Org.ID, id); err != nil {
				t.Fatalf("entry of acknowledged spend %s: %v", id, err)
			}
		} else if _, err := s.Action(t.Context(), org.Org.ID, id); err != nil {
			t.Fatalf("action of acknowledged spend %s: %v", id, err)
		}
	}
}

// killChild spends until it is killed, printing each acknowledged spend
// and, after each, how many checkpoints the writer has run.
func killChild(t *testing.T, path string) {
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if s.ckpt == nil {
		t.Fatal("no checkpointer")
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				now := time.Now()
				// Half the callers audited (an entry, no action row), half
				// not (the action row).
				id := fmt.Sprintf("uj-%d-%d", g, i)
				if g%2 == 1 {
					id = fmt.Sprintf("uj-a%d-%d", g, i)
				}
				a := &auth.Action{ID: id, TokenHash: []byte(id), OrgID: "or-1", UserID: "us-1", TokenID: "to-1",
					CredentialUUID: "cr-1", Method: "POST", Path: "/wallets", ExpiresAt: now.Add(time.Hour), CreatedAt: now}
				var e *audit.Entry
				if g%2 == 1 {
					e = &audit.Entry{ID: id, OrgID: a.OrgID, UserID: a.UserID, Username: "a@example.com", TokenID: a.TokenID,
						TokenKind: "Token", CredentialUUID: a.CredentialUUID, CredID: "cid-1", CredentialKind: "Key",
						PublicKey: "pem", Method: a.Method, Path: a.Path, ActionTokenHash: a.TokenHash,
						Challenge: id, ClientData: "base", Signature: "sig", Algorithm: "rfc9421:ecdsa-p256-sha256"}
				}
				if err := s.SpendActionForChallenge(t.Context(), "hs-"+id, now.Add(time.Minute), a, e, "/wallets", now); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fmt.Printf("ok %s\nrestarts %d\n", id, s.ckpt.restarts.Load())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
