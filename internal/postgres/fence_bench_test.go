package postgres

import (
	"fmt"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
)

// BenchmarkFencedRevoke measures a revocation as the API acknowledges it:
// the store write, then the fence, with no member (the cache off
// everywhere: no fence is needed, the write alone), with the writer the
// only member, and with a second replica (another store on the database).
//
//	SIGNET_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test -run '^$' -bench FencedRevoke -benchtime 200x ./internal/postgres
func BenchmarkFencedRevoke(b *testing.B) {
	for _, members := range []int{0, 1, 2} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			url := pgtest.URL(b)
			s, err := OpenWith(b.Context(), url, Options{PrincipalCache: members > 0})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := s.StartCache(b.Context()); err != nil {
				b.Fatal(err)
			}
			if members > 1 {
				o, err := Open(b.Context(), url)
				if err != nil {
					b.Fatal(err)
				}
				defer o.Close()
				if err := o.StartCache(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
			f := newFixture(b, s, "a")
			ctx := b.Context()
			for b.Loop() {
				if err := s.RevokeAccessToken(ctx, f.org.ID, f.user.ID, f.token.ID); err != nil {
					b.Fatal(err)
				}
				if members > 0 {
					if err := s.Fence(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			st := s.FenceStats()
			if members > 0 && st.Acked != st.Members {
				b.Fatalf("fences waited out a lease: %+v", st)
			}
		})
	}
}

var _ auth.Fencer = (*Store)(nil)

// cachedBenchStore opens a store with its cache serving (its member
// registered and fenced) and one fixture, for the cache-hit benchmarks;
// the store is closed when b ends.
func cachedBenchStore(b *testing.B) (*Store, fixture) {
	b.Helper()
	s, err := Open(b.Context(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.StartCache(b.Context()); err != nil {
		b.Fatal(err)
	}
	f := newFixture(b, s, "a")
	if err := s.Fence(b.Context()); err != nil {
		b.Fatal(err)
	}
	return s, f
}

// BenchmarkPrincipalCacheHit measures a Principal answered from memory, from
// all CPUs at once: no database round trip, one allocation (the copy the
// caller owns).
func BenchmarkPrincipalCacheHit(b *testing.B) {
	s, f := cachedBenchStore(b)
	ctx := b.Context()
	if _, err := s.Principal(ctx, f.org.ID, f.token.ID); err != nil {
		b.Fatal(err)
	}
	misses := s.PrincipalCacheStats().Misses
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Principal(ctx, f.org.ID, f.token.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if m := s.PrincipalCacheStats().Misses - misses; m != 0 {
		b.Fatalf("%d misses in a run of hits", m)
	}
}

// BenchmarkSignerCacheHit measures a PrincipalSigners answered from memory
// (signercache.go), from all CPUs at once: no database round trip; the
// allocations are the copies the caller owns (the principal, the slice, one
// credential).
func BenchmarkSignerCacheHit(b *testing.B) {
	s, f := cachedBenchStore(b)
	ctx := b.Context()
	if _, _, err := s.PrincipalSigners(ctx, f.org.ID, f.token.ID); err != nil {
		b.Fatal(err)
	}
	misses := s.PrincipalCacheStats().SignerMisses
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := s.PrincipalSigners(ctx, f.org.ID, f.token.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if m := s.PrincipalCacheStats().SignerMisses - misses; m != 0 {
		b.Fatalf("%d misses in a run of hits", m)
	}
}
