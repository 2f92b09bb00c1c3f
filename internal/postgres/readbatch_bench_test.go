package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/cputime"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
	"github.com/signet-auth/signet/internal/token"
)

// BenchmarkPrincipalParallel reads Principal, or PrincipalSigners, from 16
// goroutines at once, with the reads coalesced (inflight: statements out
// before callers gather) or each its own statement (alone), for one token
// shared by every caller (as the load command's clients) or one token per
// caller.
// Beside time per read it reports this process's CPU (cpu-us/op), the CPU
// of the pool's PostgreSQL backends (pg-us/op, when the server runs on
// this machine) and statements per read (stmts/op).
//
//	SIGNET_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test -run '^$' -bench PrincipalParallel ./internal/postgres
func BenchmarkPrincipalParallel(b *testing.B) {
	s, f := openBenchStore(b)
	ctx := context.Background()
	const callers = 16
	toks := make([]string, callers)
	for i := range toks {
		toks[i] = fmt.Sprintf("to-bench-%d", i)
		t := auth.AccessToken{ID: toks[i], OrgID: f.org.ID, UserID: f.user.ID, Kind: token.Kind("Token"),
			CredentialUUID: f.cred.UUID, IsActive: true, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}
		if err := s.CreateAccessToken(ctx, &t); err != nil {
			b.Fatal(err)
		}
	}
	pgCPU := poolBackendsCPU(b, s)
	reads := []struct {
		name  string
		read  func(tok string) error
		stats func(inflight int) *readBatchStats
	}{
		{"Principal", func(tok string) error { _, err := s.Principal(ctx, f.org.ID, tok); return err },
			func(n int) *readBatchStats { return resetBatcher(s.principals, n) }},
		{"PrincipalSigners", func(tok string) error { _, _, err := s.PrincipalSigners(ctx, f.org.ID, tok); return err },
			func(n int) *readBatchStats { return resetBatcher(s.signers, n) }},
	}
	for _, rd := range reads {
		for _, mode := range []struct {
			name     string
			inflight int
		}{{"alone", 1 << 30}, {"inflight=1", 1}, {"inflight=2", 2}, {"inflight=4", 4}} {
			for _, shared := range []bool{true, false} {
				name := fmt.Sprintf("%s/%s/tokens=%d", rd.name, mode.name, map[bool]int{true: 1, false: callers}[shared])
				b.Run(name, func(b *testing.B) {
					stats := rd.stats(mode.inflight)
					b.SetParallelism((callers + 1) / 2) // GOMAXPROCS 2 on the machine measured
					var id atomic.Int64
					pg0 := pgCPU()
					report := cputime.Meter(b)
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						tok := toks[0]
						if !shared {
							tok = toks[id.Add(1)%callers]
						}
						for pb.Next() {
							if err := rd.read(tok); err != nil {
								b.Error(err)
								return
							}
						}
					})
					b.StopTimer()
					report()
					if d := pgCPU() - pg0; d > 0 {
						b.ReportMetric(float64(d.Microseconds())/float64(b.N), "pg-us/op")
					}
					st := *stats
					b.ReportMetric(float64(st.alone+st.batches)/float64(st.callers), "stmts/op")
				})
			}
		}
	}
}

// resetBatcher sets b's statements in flight and clears its counts, which
// it returns.
func resetBatcher[K comparable, V any](b *readBatcher[K, V], inflight int) *readBatchStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inflight = inflight
	b.stats = readBatchStats{}
	return &b.stats
}

// poolBackendsCPU opens every connection of s's pool and returns a
// function that sums the CPU time their PostgreSQL backends used so far
// (0 when the server runs elsewhere).
func poolBackendsCPU(b *testing.B, s *Store) func() time.Duration {
	conns, pids := []interface{ Release() }{}, []int{}
	for range s.pool.Config().MaxConns {
		c, err := s.pool.Acquire(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		pids = append(pids, int(c.Conn().PgConn().PID()))
	}
	for _, c := range conns {
		c.Release()
	}
	return func() (d time.Duration) {
		for _, pid := range pids {
			d += procCPU(pid)
		}
		return d
	}
}

// openBenchStore opens the store of a read benchmark, closed when the
// benchmark ends, with org "a"'s fixture. Its Principal cache is off: the
// benchmarks measure the database reads (and their coalescing), which a
// cache would answer from memory after the first (the cache has a
// benchmark of its own, BenchmarkPrincipalCacheHit in fence_bench_test.go).
func openBenchStore(b *testing.B) (*Store, fixture) {
	b.Helper()
	s, err := OpenWith(context.Background(), pgtest.URL(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, newFixture(b, s, "a")
}
