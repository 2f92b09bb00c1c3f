package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/signet-auth/signet/internal/cputime"
)

// BenchmarkLoginReadsParallel runs the two login reads (UserWithCredentials,
// then LoginSubject with a challenge of its own, as a Key login makes
// them) from 16 callers at once, each alone (every caller its own
// statement, as before coalescing) and coalesced (one statement in flight),
// and reports per login: this process's CPU (cpu-us/op), the CPU of the
// pool's PostgreSQL backends (pg-us/op) and the round trips (trips/op: a
// lone caller's is a pgx batch of two or three statements, a coalesced
// statement's one).
//
//	SIGNET_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test -run '^$' -bench LoginReadsParallel ./internal/postgres
func BenchmarkLoginReadsParallel(b *testing.B) {
	s, f := openBenchStore(b)
	ctx := context.Background()
	pgCPU := poolBackendsCPU(b, s)
	var n atomic.Int64
	for _, mode := range []struct {
		name     string
		inflight int
	}{{"alone", 1 << 30}, {"inflight=1", 1}} {
		b.Run(mode.name, func(b *testing.B) {
			ls, ss := resetBatcher(s.logins, mode.inflight), resetBatcher(s.subjects, mode.inflight)
			b.SetParallelism(8) // 16 callers at GOMAXPROCS=2
			pg0 := pgCPU()
			report := cputime.Meter(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := s.UserWithCredentials(ctx, f.org.ID, f.user.Username); err != nil {
						b.Error(err)
						return
					}
					ch := fmt.Sprintf("ch-bench-%d", n.Add(1))
					if _, u, _, err := s.LoginSubject(ctx, f.org.ID, f.user.ID, ch); err != nil || u == nil {
						b.Error(u, err)
						return
					}
				}
			})
			b.StopTimer()
			report()
			if d := pgCPU() - pg0; d > 0 {
				b.ReportMetric(float64(d.Microseconds())/float64(b.N), "pg-us/op")
			}
			s.logins.mu.Lock()
			s.subjects.mu.Lock()
			b.ReportMetric(float64(ls.alone+ls.batches+ss.alone+ss.batches)/float64(b.N), "trips/op")
			s.subjects.mu.Unlock()
			s.logins.mu.Unlock()
		})
	}
}
