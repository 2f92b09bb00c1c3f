package sqlite

import (
	"database/sql"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/cputime"
)

// syncModes are the durability settings the benchmarks compare.
var syncModes = []SyncMode{SyncFull, SyncNormal}

// BenchmarkUseAction measures the success path of UseAction (one UPDATE …
// RETURNING on the write connection), serially and from parallel callers.
func BenchmarkUseAction(b *testing.B) {
	for _, mode := range syncModes {
		for _, parallel := range []bool{false, true} {
			name := string(mode)
			if parallel {
				name += "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				s := open(b, Synchronous(mode))
				n := seed(b, s)
				now := time.Now().UTC().Truncate(time.Millisecond)
				hashes := actions(b, s, n, b.N, now)
				b.ResetTimer()
				if !parallel {
					for i := range b.N {
						if _, err := s.UseAction(b.Context(), hashes[i], now); err != nil {
							b.Fatal(err)
						}
					}
					return
				}
				var next atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := next.Add(1) - 1
						if _, err := s.UseAction(b.Context(), hashes[i], now); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// actions inserts count unused actions in one transaction and returns their
// token hashes.
func actions(b *testing.B, s *Store, n auth.NewOrg, count int, now time.Time) [][]byte {
	b.Helper()
	hashes := make([][]byte, count)
	err := s.tx(b.Context(), func(tx *sql.Tx) error {
		for i := range hashes {
			hashes[i] = fmt.Appendf(nil, "hash-%032d", i)
			if err := s.insertAction(b.Context(), tx, &auth.Action{
				ID: fmt.Sprintf("uj-%d", i), TokenHash: hashes[i], OrgID: n.Org.ID, UserID: n.User.ID,
				TokenID: "to-1", CredentialUUID: "cr-1", Method: "POST", Path: "/wallets",
				PayloadHash: make([]byte, 32), ExpiresAt: now.Add(time.Hour), CreatedAt: now,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return hashes
}

// BenchmarkPrincipal measures the per-request read of a bearer token's
// state: one join on the read pool.
func BenchmarkPrincipal(b *testing.B) {
	s := open(b)
	n := seed(b, s)
	b.Run("serial", func(b *testing.B) {
		for range b.N {
			p, err := s.Principal(b.Context(), n.Org.ID, "to-1")
			if err != nil || !p.CredentialActive {
				b.Fatal(p, err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Principal(b.Context(), n.Org.ID, "to-1"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// benchRead is one read a benchmark compares with others.
type benchRead struct {
	name string
	read func() error
}

// benchReads runs each read as a sub-benchmark, reporting its allocations
// and the process's CPU time per read (cpu-us/op, less noisy than ns/op on
// a shared machine).
func benchReads(b *testing.B, reads []benchRead) {
	for _, bb := range reads {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			cpuPerOp := cputime.Meter(b)
			for range b.N {
				if err := bb.read(); err != nil {
					b.Fatal(err)
				}
			}
			cpuPerOp()
		})
	}
}

// BenchmarkPrincipalVersionRead prices two alternatives to the Principal
// join that issue 13 asked to judge, in CPU time per read (less noisy than
// ns/op on a shared machine):
//   - version: one indexed read of a per-org version (here authz_version,
//     by the orgs primary key, prepared as Principal is), as a Principal
//     cached in memory under such a version would still pay per request;
//   - read: the join itself (principalSQL, the 13 columns Authenticate
//     checks), as a miss of the Principal cache reads it; "principal" is
//     Principal, a hit of that cache (principalcache.go).
func BenchmarkPrincipalVersionRead(b *testing.B) {
	s := open(b)
	n := seed(b, s)
	version, err := s.read.PrepareContext(b.Context(), `SELECT authz_version FROM orgs WHERE id = ?`)
	if err != nil {
		b.Fatal(err)
	}
	defer version.Close()
	benchReads(b, []benchRead{
		{"principal", func() error { _, err := s.Principal(b.Context(), n.Org.ID, "to-1"); return err }},
		{"version", func() error {
			var v int64
			return version.QueryRowContext(b.Context(), n.Org.ID).Scan(&v)
		}},
		// The join itself, as a miss of the cache reads it.
		{"read", func() error { _, err := s.readPrincipal(b.Context(), n.Org.ID, "to-1"); return err }},
	})
}

// BenchmarkCredentialsRead compares the signing read answered by the
// credentials cache (hit) with the statement it runs on a miss, which is
// what every call ran before the cache (read; the page cache is warm here,
// as it is not after a commit, so read is a lower bound). The user has two
// Key credentials of real size.
func BenchmarkCredentialsRead(b *testing.B) {
	s := open(b)
	n := seed(b, s)
	ctx := b.Context()
	pem := "-----BEGIN PUBLIC KEY-----\n" + strings.Repeat("A", 120) + "\n-----END PUBLIC KEY-----\n"
	if err := s.CreateCredential(ctx, &auth.Credential{UUID: "cr-2", OrgID: n.Org.ID, UserID: n.User.ID, CredID: "cid-2",
		Kind: auth.KindKey, Name: "laptop", PublicKey: pem, Algorithm: "ECDSA", IsActive: true, CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	org, user := n.Org.ID, n.User.ID
	benchReads(b, []benchRead{
		{"hit", func() error { _, err := s.Credentials(ctx, org, user); return err }},
		{"read", func() error { _, err := listCredentials(ctx, s.stmts.credentials, org, user); return err }},
	})
}
