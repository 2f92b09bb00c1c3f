package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/cputime"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
	"github.com/signet-auth/signet/internal/token"
)

// stmtCounter counts what pgx sends: round trips (one per query outside a
// batch, one per batch), statements (BEGIN and COMMIT included) and
// commits (a COMMIT, or a statement sent alone outside a transaction
// block: every store call of a login that writes is one of those).
type stmtCounter struct{ trips, stmts, commits atomic.Int64 }

func (c *stmtCounter) TraceQueryStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.trips.Add(1)
	c.stmts.Add(1)
	if strings.HasPrefix(strings.TrimSpace(d.SQL), "WITH spent") && conn.PgConn().TxStatus() == 'I' {
		c.commits.Add(1)
	}
	return ctx
}
func (c *stmtCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *stmtCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.trips.Add(1)
	return ctx
}
func (c *stmtCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.stmts.Add(1)
	if d.SQL == "COMMIT" {
		c.commits.Add(1)
	}
}
func (c *stmtCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// backendCPU sums the CPU time of the PostgreSQL backends whose
// application_name is app (0 when the server runs elsewhere).
func backendCPU(b *testing.B, s *Store, app string) map[int]time.Duration {
	rows, err := s.pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	cpu := map[int]time.Duration{}
	for _, pid := range pids {
		cpu[int(pid)] = procCPU(int(pid))
	}
	return cpu
}

// BenchmarkLoginParallel runs the store calls of Key logins from 16
// callers at once (login init's UserWithCredentials, then the login's
// LoginSubject and CreateAccessTokenForChallenge, as internal/auth makes
// them) and reports per login: this process's CPU (cpu-us/op: pgx and the
// store), the CPU of the pool's PostgreSQL backends (pg-us/op, from
// /proc/PID/stat when the server runs on this machine), round trips,
// statements and commits.
//
// Two paths: read (as above) and readless, the login of a credential
// login init found (internal/auth, Login's readless path): no LoginSubject,
// and CreateLoginForChallenge, which checks the user and the credential in
// its write.
//
//	SIGNET_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test -run '^$' -bench LoginParallel ./internal/postgres
func BenchmarkLoginParallel(b *testing.B) {
	for _, readless := range []bool{false, true} {
		b.Run(map[bool]string{false: "read", true: "readless"}[readless], func(b *testing.B) {
			benchLoginParallel(b, readless)
		})
	}
}

func benchLoginParallel(b *testing.B, readless bool) {
	app := fmt.Sprintf("signet-loginbench-%d", time.Now().UnixNano())
	url := withParam(pgtest.URL(b), "application_name="+app)
	s, err := Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	bound(cfg)
	cfg.MaxConns = max(DefaultMaxConns, cfg.MaxConns)
	count := &stmtCounter{}
	cfg.ConnConfig.Tracer = count
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	s.pool.Close()
	s.pool = pool
	f := newFixture(b, s, "a")
	ctx := context.Background()
	var n atomic.Int64
	login := func() error {
		i := n.Add(1)
		if _, _, err := s.UserWithCredentials(ctx, f.org.ID, f.user.Username); err != nil {
			return err
		}
		ch := fmt.Sprintf("ch-%d", i)
		now := time.Now().UTC()
		rec := &auth.AccessToken{
			ID: fmt.Sprintf("to-bench-%d", i), OrgID: f.org.ID, UserID: f.user.ID, Kind: token.KindLogin,
			CredentialUUID: f.cred.UUID, IsActive: true, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
		if readless {
			_, err := s.CreateLoginForChallenge(ctx, ch, now.Add(time.Minute), rec, auth.KindKey)
			return err
		}
		if _, _, _, err := s.LoginSubject(ctx, f.org.ID, f.user.ID, ch); err != nil {
			return err
		}
		return s.CreateAccessTokenForChallenge(ctx, ch, now.Add(time.Minute), rec)
	}
	// Fill the pool, so that the backends exist before the count starts.
	var warm sync.WaitGroup
	for range 16 {
		warm.Go(func() {
			for range 8 {
				if err := login(); err != nil {
					b.Error(err)
				}
			}
		})
	}
	warm.Wait()
	pg0 := backendCPU(b, s, app)
	trips, stmts, commits := count.trips.Load(), count.stmts.Load(), count.commits.Load()
	cpuPerOp := cputime.Meter(b)
	b.SetParallelism(8) // 16 callers at GOMAXPROCS=2
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := login(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	cpuPerOp()
	trips, stmts, commits = count.trips.Load()-trips, count.stmts.Load()-stmts, count.commits.Load()-commits
	var pg time.Duration
	for pid, c := range backendCPU(b, s, app) {
		pg += c - pg0[pid]
	}
	per := func(v int64) float64 { return float64(v) / float64(b.N) }
	if pg > 0 {
		b.ReportMetric(float64(pg.Microseconds())/float64(b.N), "pg-us/op")
	}
	b.ReportMetric(per(trips), "trips/op")
	b.ReportMetric(per(stmts), "stmts/op")
	b.ReportMetric(per(commits), "commits/op")
}
