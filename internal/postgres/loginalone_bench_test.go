package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/cputime"
	"github.com/signet-auth/signet/internal/token"
)

// BenchmarkLoginCallsAlone runs each store call of a Key login from one
// caller, so that every call is a lone caller's (as most are in the load
// command's login cell, where a read finds no other read in flight), and
// reports per call this process's CPU (cpu-us/op) and the CPU of the
// pool's PostgreSQL backends (pg-us/op). "SELECT 1" is the price of a
// round trip alone.
//
//	SIGNET_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test -run '^$' -bench LoginCallsAlone ./internal/postgres
func BenchmarkLoginCallsAlone(b *testing.B) {
	s, f := openBenchStore(b)
	ctx := context.Background()
	pgCPU := poolBackendsCPU(b, s)
	var n atomic.Int64
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"SELECT 1", func() error {
			var one int
			return s.pool.QueryRow(ctx, "SELECT 1").Scan(&one)
		}},
		{"UserWithCredentials", func() error {
			_, _, err := s.UserWithCredentials(ctx, f.org.ID, f.user.Username)
			return err
		}},
		{"LoginSubject", func() error {
			_, u, _, err := s.LoginSubject(ctx, f.org.ID, f.user.ID, fmt.Sprintf("ch-alone-%d", n.Add(1)))
			if err == nil && u == nil {
				err = fmt.Errorf("no user")
			}
			return err
		}},
		{"CreateAccessTokenForChallenge", func() error {
			i := n.Add(1)
			now := time.Now().UTC()
			return s.CreateAccessTokenForChallenge(ctx, fmt.Sprintf("ch-alone-%d", i), now.Add(time.Minute), &auth.AccessToken{
				ID: fmt.Sprintf("to-alone-%d", i), OrgID: f.org.ID, UserID: f.user.ID, Kind: token.KindLogin,
				CredentialUUID: f.cred.UUID, IsActive: true, ExpiresAt: now.Add(time.Hour), CreatedAt: now})
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range 10 { // prepared on the connection
				if err := c.call(); err != nil {
					b.Fatal(err)
				}
			}
			pg0 := pgCPU()
			report := cputime.Meter(b)
			b.ResetTimer()
			for range b.N {
				if err := c.call(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			report()
			if d := pgCPU() - pg0; d > 0 {
				b.ReportMetric(float64(d.Microseconds())/float64(b.N), "pg-us/op")
			}
		})
	}
}
