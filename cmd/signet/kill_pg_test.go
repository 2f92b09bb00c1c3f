package main

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/signet-auth/signet/client"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
)

// TestKillUnderLoginLoadPostgreSQL drives concurrent Key logins against
// the real binary on PostgreSQL, where concurrent logins commit in groups
// (internal/postgres/group.go), kills it with SIGKILL in the middle of the
// load, restarts it on the same database and checks that every login
// session it acknowledged works: a login is answered only after its
// group's COMMIT.
func TestKillUnderLoginLoadPostgreSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary under load")
	}
	db := pgtest.URL(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "signet.key")
	b := bootstrap(t, runBinary(t, dir), db, key)
	p := startProcess(t, dir, "--database", db, "--key-file", key, "--log-level", "warn", "--rate-limit", "off")
	_, signer := registerAndLogin(t, p.url, b)

	const workers = 16
	var (
		mu       sync.Mutex
		sessions []string
	)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			anon, _ := client.New(p.url, client.AllowInsecureHTTP())
			for ctx.Err() == nil {
				res, err := anon.Login(ctx, client.LoginInitRequest{OrgID: b.OrgID, Username: b.Username}, signer)
				if err == nil {
					mu.Lock()
					sessions = append(sessions, res.Token)
					mu.Unlock()
				}
			}
		})
	}
	killUnderLoad(t, p, stop, &wg)
	mu.Lock()
	defer mu.Unlock()
	if len(sessions) < workers {
		t.Fatalf("only %d logins acknowledged before the kill: no load to speak of", len(sessions))
	}
	t.Logf("%d logins acknowledged before SIGKILL", len(sessions))

	p2 := startProcess(t, dir, "--database", db, "--key-file", key, "--log-level", "warn", "--rate-limit", "off")
	check := context.Background()
	lost := 0
	for _, tok := range sessions {
		cs, _ := client.New(p2.url, client.AllowInsecureHTTP(), client.WithToken(tok))
		if _, err := cs.ListCredentials(check); err != nil {
			if lost++; lost <= 5 {
				t.Errorf("login session acknowledged, unusable after SIGKILL: %v", err)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged login sessions lost", lost, len(sessions))
	}
}
