// Package pgtest gives tests a private, empty PostgreSQL schema. Tests that
// need PostgreSQL run only when SIGNET_TEST_POSTGRES holds a connection URL,
// such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the environment variable holding the server's URL.
const EnvVar = "SIGNET_TEST_POSTGRES"

// URL skips t unless SIGNET_TEST_POSTGRES is set. Otherwise it creates a
// fresh schema signet_test_<random hex>, registers a cleanup that drops it
// with everything in it, and returns the URL with search_path set to that
// schema, so whatever opens it sees an empty database of its own.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		t.Skip(EnvVar + " is not set; set it to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run this test")
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "signet_test_" + hex.EncodeToString(b)

	exec(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { exec(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	return withSearchPath(base, schema)
}

// exec runs one statement on a connection of its own. It uses a background
// context because cleanups run after the test's context is cancelled.
func exec(t testing.TB, base, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvVar, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// withSearchPath sets search_path in a URL or a keyword/value connection
// string.
func withSearchPath(base, schema string) string {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		if u, err := url.Parse(base); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return base + " search_path=" + schema
}
