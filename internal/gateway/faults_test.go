package gateway_test

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/config"
)

// TestGuardUnavailable: a signed request through the gateway while the
// SQLite database cannot take a write (another process holds its write
// lock) gets 503 "unavailable" with Retry-After from signet's checks, in
// time, and never reaches the upstream; once the lock is gone the same
// kind of request is forwarded.
func TestGuardUnavailable(t *testing.T) {
	var dbPath string
	e := newEnv(t, testRoutes, func(c *config.Config) {
		c.RequestTimeout = 2 * time.Second // SQLite's busy timeout: 1s
		dbPath = c.Database[len("sqlite:"):]
	})
	u := e.newUser()
	e.grant(u, "Orders:Create")
	ua := e.userAction(u, "POST", "/orders", `{"n":1}`)

	other, err := sql.Open("sqlite", filepath.Clean(dbPath))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	before := e.up.count()
	start := time.Now()
	r := e.do("POST", "/orders", u.token, `{"n":1}`, "X-DFNS-USERACTION", ua)
	if r.status != http.StatusServiceUnavailable || r.code() != "unavailable" || r.header.Get("Retry-After") == "" {
		t.Errorf("signed request while the database cannot write = %d %s (Retry-After %q), want 503 unavailable",
			r.status, r.raw, r.header.Get("Retry-After"))
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("answered after %v with a 2s request deadline", took)
	}
	if e.up.count() != before {
		t.Error("the request reached the upstream although signet could not check it")
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	// The action was not spent (its write failed): the same token works now.
	if r := e.do("POST", "/orders", u.token, `{"n":1}`, "X-DFNS-USERACTION", ua); r.status != http.StatusOK {
		t.Errorf("after the fault, the same signed request = %d %s, want 200", r.status, r.raw)
	}
}
