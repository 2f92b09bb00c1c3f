package postgres

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
)

// BenchmarkFlowCost runs the store calls of one Dfns signed request (action
// init, action complete, the signed POST and its outcome) one after the
// other on a pool of one connection and reports, beside the time per call,
// the CPU its PostgreSQL backend spent on it (pg-us/op, read from
// /proc/PID/stat of the backend when the server runs on this machine): on
// a 2-core host the database's CPU is as much a part of a signed request's
// cost as signet's own.
//
//	SIGNET_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test -run '^$' -bench FlowCost ./internal/postgres
func BenchmarkFlowCost(b *testing.B) {
	s, err := Open(context.Background(), withParam(pgtest.URL(b), "pool_max_conns=1"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.oq.wait = time.Hour // outcomes ride in the next spend, as under load
	f := newFixture(b, s, "a")
	ctx := context.Background()
	var pid int
	if err := s.pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	n := 0
	next := func() (string, *auth.Action) {
		n++
		id := fmt.Sprintf("bench-%d", n)
		return "ch-" + id, &auth.Action{ID: "uj-" + id, TokenHash: []byte("hash-" + id), OrgID: f.org.ID, UserID: f.user.ID,
			TokenID: f.token.ID, CredentialUUID: f.cred.UUID, Method: "POST", Path: "/orders", PayloadHash: []byte{1, 2},
			ExpiresAt: now.Add(time.Hour), CreatedAt: now}
	}
	pendingOf := func(a *auth.Action) *audit.Entry {
		return &audit.Entry{ID: a.ID, OrgID: a.OrgID, UserID: a.UserID, Username: f.user.Username, TokenID: a.TokenID,
			TokenKind: "Token", CredentialUUID: a.CredentialUUID, CredID: "cred", CredentialKind: "Key", PublicKey: "pem",
			Method: a.Method, Path: a.Path, PayloadHash: a.PayloadHash, ActionTokenHash: a.TokenHash,
			Challenge: "challenge", ClientData: "client data", Signature: "signature"}
	}
	var last *auth.Action // the action whose outcome the next spend carries
	steps := []struct {
		name string
		run  func() error
	}{
		{"PrincipalSigners", func() error { _, _, err := s.PrincipalSigners(ctx, f.org.ID, f.token.ID); return err }},
		{"Principal", func() error { _, err := s.Principal(ctx, f.org.ID, f.token.ID); return err }},
		{"ChallengeSpent", func() error { _, err := s.ChallengeSpent(ctx, "ch-unknown"); return err }},
		{"CreateActionForChallenge", func() error {
			ch, a := next()
			last = a
			return s.CreateActionForChallenge(ctx, ch, now.Add(time.Hour), a, pendingOf(a))
		}},
		{"UseAuditedAction", func() error {
			if last == nil {
				return nil
			}
			_, _, err := s.UseAuditedAction(ctx, last.TokenHash, "", now)
			last = nil
			return err
		}},
		{"UseAuditedAction+outcome", func() error {
			if last == nil {
				return nil
			}
			if _, _, err := s.UseAuditedAction(ctx, last.TokenHash, "", now); err != nil {
				return err
			}
			s.QueueOutcome(ctx, &audit.Outcome{EntryID: last.ID, Status: 200, Time: now}, func(error) {})
			last = nil
			return nil
		}},
	}
	for _, st := range steps {
		b.Run(st.name, func(b *testing.B) {
			var prep func() error
			if strings.HasPrefix(st.name, "UseAuditedAction") {
				prep = steps[3].run // an action to spend, outside the timed part
			}
			var cpu time.Duration
			for b.Loop() {
				if prep != nil {
					b.StopTimer()
					if err := prep(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				c0 := procCPU(pid)
				if err := st.run(); err != nil {
					b.Fatal(err)
				}
				cpu += procCPU(pid) - c0
			}
			if cpu > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "pg-us/op")
			}
		})
	}
}

// procCPU is the user+system CPU time of the process pid so far, 0 when
// it cannot be read (the server runs elsewhere).
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * (time.Second / 100) // USER_HZ
}
