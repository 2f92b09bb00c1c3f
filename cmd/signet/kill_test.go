package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signet-auth/signet/client"
)

// ackedWrite is a signed request signet acknowledged (200): the
// permission it created and the user-action token it spent.
type ackedWrite struct {
	permissionID string
	actionToken  string
	body         []byte
}

// TestKillUnderLoadLosesNoAcknowledgedWrite drives concurrent signed
// requests and logins against the real binary (SQLite, synchronous=FULL
// as shipped), kills it with SIGKILL in the middle of the load, restarts
// it on the same files and checks that every acknowledged write is there:
// each created permission exists, each spent user-action token stays
// spent (a replay is refused), each issued login session still works.
func TestKillUnderLoadLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary under load")
	}
	dir := t.TempDir()
	db, key := "sqlite:"+filepath.Join(dir, "signet.db"), filepath.Join(dir, "signet.key")
	b := bootstrap(t, runBinary(t, dir), db, key)
	p := startProcess(t, dir, "--database", db, "--key-file", key, "--log-level", "warn")
	c, signer := registerAndLogin(t, p.url, b)

	const workers = 8
	var (
		mu       sync.Mutex
		writes   []ackedWrite
		sessions []string
	)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				if i%4 == 3 { // a login now and then: its session is a write too
					anon, _ := client.New(p.url, client.AllowInsecureHTTP())
					res, err := anon.Login(ctx, client.LoginInitRequest{OrgID: b.OrgID, Username: b.Username}, signer)
					if err == nil {
						mu.Lock()
						sessions = append(sessions, res.Token)
						mu.Unlock()
					}
					continue
				}
				body := fmt.Appendf(nil, `{"name":"w%d-%d","operations":["Auth:Users:Read"]}`, w, i)
				ua, err := c.SignAction(ctx, "POST", "/permissions", string(body))
				if err != nil {
					continue // killed mid-flight: not acknowledged
				}
				id, status := postPermission(ctx, p.url, c.Token(), ua, body)
				if status == http.StatusOK {
					mu.Lock()
					writes = append(writes, ackedWrite{permissionID: id, actionToken: ua, body: body})
					mu.Unlock()
				}
			}
		})
	}
	killUnderLoad(t, p, stop, &wg)
	mu.Lock()
	defer mu.Unlock()
	if len(writes) < workers || len(sessions) == 0 {
		t.Fatalf("only %d signed writes and %d logins acknowledged before the kill: no load to speak of", len(writes), len(sessions))
	}
	t.Logf("%d signed writes and %d logins acknowledged before SIGKILL", len(writes), len(sessions))

	p2 := startProcess(t, dir, "--database", db, "--key-file", key, "--log-level", "warn")
	c2 := login(t, p2.url, b, signer)
	check := context.Background()
	for _, w := range writes {
		if _, err := c2.GetPermission(check, w.permissionID); err != nil {
			t.Errorf("permission %s acknowledged, lost after SIGKILL: %v", w.permissionID, err)
		}
		// The user-action token was spent in the acknowledged commit: it
		// must not be usable again.
		if _, status := postPermission(check, p2.url, c2.Token(), w.actionToken, w.body); status == http.StatusOK {
			t.Errorf("user action of permission %s usable again after SIGKILL", w.permissionID)
		}
	}
	for i, tok := range sessions {
		cs, _ := client.New(p2.url, client.AllowInsecureHTTP(), client.WithToken(tok))
		if _, err := cs.ListCredentials(check); err != nil {
			t.Errorf("login session %d acknowledged, unusable after SIGKILL: %v", i, err)
		}
	}
}

// postPermission makes the signed POST /permissions with the
// user-action token ua and returns the created id and the status.
func postPermission(ctx context.Context, url, token, ua string, body []byte) (string, int) {
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/permissions", bytes.NewReader(body))
	if err != nil {
		return "", 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-DFNS-USERACTION", ua)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0
	}
	defer res.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	if res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.ID == "" {
			return "", 0
		}
	}
	return out.ID, res.StatusCode
}

// killUnderLoad lets the load of wg's workers run against p for 1.5 s,
// kills p with SIGKILL, then stops the workers (stop) and waits for them.
func killUnderLoad(t *testing.T, p *process, stop func(), wg *sync.WaitGroup) {
	t.Helper()
	time.Sleep(1500 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	stop()
	wg.Wait()
}
