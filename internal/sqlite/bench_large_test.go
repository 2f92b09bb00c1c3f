package sqlite

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkIdentities measures the per-request store calls with 10^3 and
// 10^6 identities in the store (each a user with one key credential, one
// login session and one assignment, all in the org of seed), reading a
// random identity each time so the B-trees are exercised beyond the page
// cache's hot path. Seeding 10^6 identities takes tens of seconds, so it
// runs only with SIGNET_BENCH_LARGE=1 (docs/performance.md).
func BenchmarkIdentities(b *testing.B) {
	if os.Getenv("SIGNET_BENCH_LARGE") == "" {
		b.Skip("set SIGNET_BENCH_LARGE=1 to seed 10^3 and 10^6 identities")
	}
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("identities=%d", n), func(b *testing.B) {
			s := open(b)
			org := seed(b, s)
			start := time.Now()
			seedIdentities(b, s, n)
			b.Logf("seeded %d identities in %v", n, time.Since(start).Round(time.Millisecond))
			pick := func() int { return rand.IntN(n) }
			b.Run("Principal", func(b *testing.B) {
				for range b.N {
					i := pick()
					if _, err := s.Principal(b.Context(), org.Org.ID, fmt.Sprintf("to-b%d", i)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Operations", func(b *testing.B) {
				for range b.N {
					ops, err := s.Operations(b.Context(), org.Org.ID, fmt.Sprintf("us-b%d", pick()))
					if err != nil || len(ops) != 1 {
						b.Fatal(ops, err)
					}
				}
			})
			b.Run("Credentials", func(b *testing.B) {
				for range b.N {
					cs, err := s.Credentials(b.Context(), org.Org.ID, fmt.Sprintf("us-b%d", pick()))
					if err != nil || len(cs) != 1 {
						b.Fatal(cs, err)
					}
				}
			})
			b.Run("UserByUsername", func(b *testing.B) {
				for range b.N {
					if _, err := s.UserByUsername(b.Context(), org.Org.ID, fmt.Sprintf("b%d@example.com", pick())); err != nil {
						b.Fatal(err)
					}
				}
			})
			// The store calls of one complete signed request (audit on),
			// as TestConcurrentSignedRoundTrips makes them.
			var next atomic.Int64
			b.Run("SignedRoundTrip", func(b *testing.B) {
				for range b.N {
					if err := signedRoundTrip(b, s, org, 1, int(next.Add(1))); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// seedIdentities inserts n users (us-b0 …), each with a key credential, a
// login session and an assignment of the seed's permission, with one
// INSERT … SELECT per table over a recursive counter, in one transaction:
// 10^6 identities in tens of seconds where one call per row would take
// hours at synchronous=FULL.
func seedIdentities(b *testing.B, s *Store, n int) {
	b.Helper()
	now := time.Now().UnixMilli()
	exp := now + time.Hour.Milliseconds()
	const counter = `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < ?1) `
	err := s.tx(b.Context(), func(tx *sql.Tx) error {
		for _, q := range []string{
			counter + `INSERT INTO users (id, org_id, username, kind, is_active, is_archived, is_registered,
				is_service_account, is_sso_required, external_id, created_at)
				SELECT 'us-b' || i, 'or-1', 'b' || i || '@example.com', 'CustomerEmployee', 1, 0, 1, 0, 0, '', ?2 FROM c`,
			counter + `INSERT INTO credentials (uuid, org_id, user_id, token_id, cred_id, kind, name, public_key,
				algorithm, is_active, sign_count, rp_id, origin, created_at, encrypted_private_key)
				SELECT 'cr-b' || i, 'or-1', 'us-b' || i, '', 'cid-b' || i, 'Key', 'key', 'pem', 'ECDSA', 1, 0, '', '', ?2, ''
				FROM c`,
			counter + `INSERT INTO access_tokens (id, org_id, user_id, kind, name, credential_uuid, permission_id,
				external_id, is_active, is_archived, expires_at, created_at)
				SELECT 'to-b' || i, 'or-1', 'us-b' || i, 'Token', '', 'cr-b' || i, '', '', 1, 0, ?3, ?2 FROM c`,
			counter + `INSERT INTO assignments (id, org_id, permission_id, identity_id, is_immutable, created_at, updated_at)
				SELECT 'as-b' || i, 'or-1', 'pm-1', 'us-b' || i, 0, ?2, ?2 FROM c`,
		} {
			if _, err := tx.ExecContext(b.Context(), q, n, now, exp); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
