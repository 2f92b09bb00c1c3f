package postgres

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
)

func entryFor(a *auth.Action) *audit.Entry {
	return &audit.Entry{ID: a.ID, OrgID: a.OrgID, UserID: a.UserID, Username: "u", TokenID: a.TokenID, TokenKind: "Token",
		CredentialUUID: a.CredentialUUID, CredID: "cred", CredentialKind: "Key", PublicKey: "pem",
		Method: a.Method, Path: a.Path, PayloadHash: a.PayloadHash, ActionTokenHash: a.TokenHash,
		Challenge: "ch", ClientData: "cd", Signature: "sig"}
}

// TestOutcomeRidesNextCommit: a queued outcome is committed in the next
// signed request's transaction, not in one of its own. The timer that
// would commit it alone is set to an hour, so only the ride can have
// committed it by the time SpendActionForChallenge returns; and an
// outcome for an unknown entry riding along is refused without refusing
// the commit it rides in.
func TestOutcomeRidesNextCommit(t *testing.T) {
	s := openTest(t)
	newFixture(t, s, "a")
	s.oq.wait = time.Hour
	ctx := t.Context()
	a1, a2 := action("1", t0.Add(time.Hour)), action("2", t0.Add(time.Hour))
	if err := s.SpendActionForChallenge(ctx, "ch-1", t0.Add(time.Minute), a1, entryFor(a1), "/x", t0); err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 2)
	s.QueueOutcome(ctx, &audit.Outcome{EntryID: a1.ID, Status: 201, Time: t0}, func(err error) { res <- err })
	s.QueueOutcome(ctx, &audit.Outcome{EntryID: "uj-nope", Status: 200, Time: t0}, func(err error) { res <- err })
	select {
	case err := <-res:
		t.Fatalf("outcome settled before any commit: %v", err)
	default:
	}
	if err := s.SpendActionForChallenge(ctx, "ch-2", t0.Add(time.Minute), a2, entryFor(a2), "/x", t0); err != nil {
		t.Fatalf("the commit an unknown entry's outcome rode in: %v", err)
	}
	var errs []error
	for range 2 {
		select {
		case err := <-res:
			errs = append(errs, err)
		default:
			t.Fatalf("outcomes not settled by the next commit: got %v", errs)
		}
	}
	if errs[0] != nil || !errors.Is(errs[1], auth.ErrNotFound) {
		t.Errorf("outcome results %v, want nil and ErrNotFound", errs)
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM audit_outcomes WHERE entry_id = $1 AND status = 201`, a1.ID).Scan(&n); err != nil || n != 1 {
		t.Errorf("outcome rows %d (%v), want 1", n, err)
	}
}

// TestOutcomePutBack: when the commit an outcome rides in fails, the
// outcome is not lost (nor reported): it goes back to the queue, and the
// next audit read commits it.
func TestOutcomePutBack(t *testing.T) {
	s := openTest(t)
	newFixture(t, s, "a")
	s.oq.wait = time.Hour
	ctx := t.Context()
	a1, a2 := action("1", t0.Add(time.Hour)), action("2", t0.Add(time.Hour))
	if err := s.SpendActionForChallenge(ctx, "ch-1", t0.Add(time.Minute), a1, entryFor(a1), "/x", t0); err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	s.QueueOutcome(ctx, &audit.Outcome{EntryID: a1.ID, Status: 201, Time: t0}, func(err error) { res <- err })
	// An entry whose id is taken: the append fails, the transaction with it.
	bad := entryFor(a2)
	bad.ID = a1.ID
	if err := s.SpendActionForChallenge(ctx, "ch-2", t0.Add(time.Minute), a2, bad, "/x", t0); err == nil {
		t.Fatal("an entry with a taken id was appended")
	}
	select {
	case err := <-res:
		t.Fatalf("outcome settled by a failed commit: %v", err)
	default:
	}
	rec, err := s.AuditRecord(ctx, a1.OrgID, a1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Outcome == nil || rec.Outcome.Status != 201 {
		t.Errorf("AuditRecord after the failed ride = %+v, want the outcome", rec.Outcome)
	}
	if err := <-res; err != nil {
		t.Errorf("outcome: %v", err)
	}
	// The failed transaction wrote nothing: its challenge is unspent.
	if spent, err := s.ChallengeSpent(ctx, "ch-2"); err != nil || spent {
		t.Errorf("ChallengeSpent(ch-2) = %v, %v after a rolled back spend", spent, err)
	}
}

// TestOutcomePlannedOnce: the statement that records an outcome is planned
// once per connection, not on every execution. Its plan must not depend
// on its arguments, so that PostgreSQL switches to its generic plan after
// the five custom plans it tries first (plan_cache_mode auto); the array
// form it replaced was planned anew every time (outcomeSQL). Counted by
// the server, in pg_prepared_statements, on a pool of one connection.
func TestOutcomePlannedOnce(t *testing.T) {
	s, err := Open(t.Context(), withParam(pgtest.URL(t), "pool_max_conns=1"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	newFixture(t, s, "a")
	s.oq.wait = time.Hour
	ctx := t.Context()
	const n = 12
	for i := range n + 1 {
		a := action(fmt.Sprint(i), t0.Add(time.Hour))
		// Each spend carries the outcome of the one before it.
		if err := s.SpendActionForChallenge(ctx, "ch-"+a.ID, t0.Add(time.Minute), a, entryFor(a), "/x", t0); err != nil {
			t.Fatal(err)
		}
		s.QueueOutcome(ctx, &audit.Outcome{EntryID: a.ID, Status: 200, Time: t0}, func(error) {})
	}
	var generic, custom int64
	err = s.pool.QueryRow(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1`,
		outcomeSQL).Scan(&generic, &custom)
	if err != nil {
		t.Fatalf("the outcome statement among the connection's prepared statements: %v", err)
	}
	if generic+custom != n || custom > 5 {
		t.Errorf("outcome statement: %d generic and %d custom plans for %d executions, want at most 5 custom", generic, custom, n)
	}
}

// withParam adds a query parameter to a postgres:// URL.
func withParam(url, param string) string {
	if strings.Contains(url, "?") {
		return url + "&" + param
	}
	return url + "?" + param
}
