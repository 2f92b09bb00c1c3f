package main

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/client"
)

// TestCacheMemberKilled runs two signet processes on one PostgreSQL
// database, both answering token state from their caches, and kills one
// with SIGKILL: it leaves its member row behind, with a lease no one
// renews. A PAT deactivated through the survivor is answered once that
// lease ran out (the fence does not hang on the dead member) and is in
// force.
func TestCacheMemberKilled(t *testing.T) {
	r := startReplicas(t)
	db, b, a, other, admin, pat := r.db, r.b, r.a, r.other, r.admin, r.pat
	ctx := context.Background()
	onOther, _ := client.New(other.url, client.AllowInsecureHTTP(), client.WithToken(pat.AccessToken))
	onA, _ := client.New(a.url, client.AllowInsecureHTTP(), client.WithToken(pat.AccessToken))
	for _, c := range []*client.Client{onOther, onOther, onA} {
		if _, err := c.GetUser(ctx, b.UserID); err != nil {
			t.Fatalf("before: %v", err)
		}
	}
	// Both processes are members (serve registers before it listens).
	if n := liveMembers(t, db); n != 2 {
		t.Fatalf("%d live cache members, want 2", n)
	}

	other.cmd.Process.Signal(syscall.SIGKILL)
	other.cmd.Wait()
	start := time.Now()
	if _, err := admin.DeactivatePAT(ctx, pat.TokenID); err != nil {
		t.Fatalf("deactivation through the survivor: %v", err)
	}
	t.Logf("deactivation answered after %v (one cache lease: %v)", time.Since(start).Round(time.Millisecond), 3*time.Second)
	_, err := onA.GetUser(ctx, b.UserID)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 401 {
		t.Fatalf("the deactivated PAT still works: %v", err)
	}
}

// liveMembers counts the cache members whose lease has not run out.
func liveMembers(t *testing.T, db string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM cache_members WHERE lease_until > now()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
