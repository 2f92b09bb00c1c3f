package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
)

// holdGroup makes the store's appender look busy (every lane taken), so
// that the calls f starts (n of them) gather into one group instead of
// running alone; then it commits them as the appender would and returns
// their errors.
func holdGroup(t *testing.T, s *Store, n int, f func(i int) error) []error {
	t.Helper()
	// Wait for the appender to be idle (a call before may have left a
	// goroutine leading), then take every lane.
	for deadline := time.Now().Add(10 * time.Second); ; {
		s.ap.mu.Lock()
		idle := s.ap.running == 0
		if idle {
			s.ap.running = groupLanes
		}
		s.ap.mu.Unlock()
		if idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the appender stays busy")
		}
		time.Sleep(time.Millisecond)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		s.ap.mu.Lock()
		k := len(s.ap.pending)
		s.ap.mu.Unlock()
		if k == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d calls gathered", k, n)
		}
		time.Sleep(time.Millisecond)
	}
	s.ap.mu.Lock()
	s.ap.running -= groupLanes - 1 // leadGroups frees the last lane
	s.ap.mu.Unlock()
	s.leadGroups()
	wg.Wait()
	return errs
}

func orgAction(org string, i int) *auth.Action {
	id := fmt.Sprintf("%s-%d", org, i)
	return &auth.Action{ID: "uj-" + id, TokenHash: []byte("hash-" + id), OrgID: "or-" + org, UserID: "us-" + org, TokenID: "to-" + org,
		CredentialUUID: "cr-" + org, Method: "POST", Path: "/x", PayloadHash: []byte{1, 2}, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}
}

// checkChain verifies the org's chain and its length.
func checkChain(t *testing.T, s *Store, orgID string, want int) {
	t.Helper()
	recs, err := s.AuditRecords(t.Context(), orgID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != want {
		t.Fatalf("%s: %d entries, want %d", orgID, len(recs), want)
	}
	x := &audit.Export{Format: audit.Format, OrgID: orgID}
	for _, r := range recs {
		x.Entries = append(x.Entries, r.Entry)
	}
	for _, p := range audit.Verify(x, nil).Problems {
		if !bytes.Contains([]byte(p.Why), []byte("assertion")) { // the fake assertions do not verify
			t.Errorf("chain of %s: %s", orgID, p)
		}
	}
}

// TestGroupCommit: spends gathered while a commit is in flight commit in
// one transaction, in two orgs at once, each org's entries chained one
// after the other; RFC 9421 spends (SpendActionForChallenge) and Dfns
// ones (UseAuditedAction) mix; of five answers to one challenge and three
// uses of one action in the group, exactly one each is spent.
func TestGroupCommit(t *testing.T) {
	s := openTest(t)
	newFixture(t, s, "a")
	newFixture(t, s, "b")
	ctx := t.Context()
	// Actions with pending entries, for UseAuditedAction.
	var used []*auth.Action
	for i, org := range []string{"a", "b", "a", "b"} {
		a := orgAction(org, 100+i)
		if err := s.CreateActionForChallenge(ctx, fmt.Sprintf("ca-%d", i), t0.Add(time.Minute), a, entryFor(a)); err != nil {
			t.Fatal(err)
		}
		used = append(used, a)
	}
	const spends, dup, replays = 10, 5, 3
	n := spends + dup + len(used) + replays
	errs := holdGroup(t, s, n, func(i int) error {
		switch {
		case i < spends: // distinct challenges, alternating orgs
			a := orgAction([]string{"a", "b"}[i%2], i)
			return s.SpendActionForChallenge(ctx, fmt.Sprintf("hs-%d", i), t0.Add(time.Minute), a, entryFor(a), "/x", t0)
		case i < spends+dup: // answers to one challenge
			a := orgAction("a", i)
			return s.SpendActionForChallenge(ctx, "hs-dup", t0.Add(time.Minute), a, entryFor(a), "/x", t0)
		case i < spends+dup+len(used):
			_, _, err := s.UseAuditedAction(ctx, used[i-spends-dup].TokenHash, "/y", t0)
			return err
		default: // uses of the first action again
			_, _, err := s.UseAuditedAction(ctx, used[0].TokenHash, "/y", t0)
			return err
		}
	})
	// Exactly one of each set of rivals wins; every other call succeeds.
	rivals := map[string][]int{}
	for i, err := range errs {
		var set string
		switch {
		case i >= spends && i < spends+dup:
			set = "answers to one challenge"
		case i == spends+dup || i >= spends+dup+len(used):
			set = "uses of one action"
		default:
			if err != nil {
				t.Errorf("call %d: %v", i, err)
			}
			continue
		}
		if err == nil {
			rivals[set] = append(rivals[set], i)
		} else if !errors.Is(err, auth.ErrUsed) {
			t.Errorf("call %d (%s): %v, want ErrUsed", i, set, err)
		}
	}
	for _, set := range []string{"answers to one challenge", "uses of one action"} {
		if len(rivals[set]) != 1 {
			t.Errorf("%s: calls %v succeeded, want exactly one", set, rivals[set])
		}
	}
	if s.ap.grouped != 1 {
		t.Errorf("%d group transactions, want 1", s.ap.grouped)
	}
	// Org a: 5 spends, the dup's winner, 2 uses; org b: 5 spends, 2 uses.
	checkChain(t, s, "or-a", 8)
	checkChain(t, s, "or-b", 7)
}

// TestGroupFailureIsolated: when one request of a group fails (its entry's
// id is taken), the group's transaction rolls back and every request runs
// on its own: the others commit, the failing one alone fails, and its
// challenge stays unspent.
func TestGroupFailureIsolated(t *testing.T) {
	s := openTest(t)
	newFixture(t, s, "a")
	ctx := t.Context()
	first := orgAction("a", 0)
	if err := s.SpendActionForChallenge(ctx, "hs-0", t0.Add(time.Minute), first, entryFor(first), "/x", t0); err != nil {
		t.Fatal(err)
	}
	errs := holdGroup(t, s, 6, func(i int) error {
		a := orgAction("a", i+1)
		e := entryFor(a)
		if i == 3 {
			e.ID = first.ID // taken: the append fails
		}
		return s.SpendActionForChallenge(ctx, fmt.Sprintf("hs-%d", i+1), t0.Add(time.Minute), a, e, "/x", t0)
	})
	for i, err := range errs {
		if (err != nil) != (i == 3) {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if s.ap.grouped != 0 {
		t.Errorf("a failed group counted as committed")
	}
	if spent, err := s.ChallengeSpent(ctx, "hs-4"); err != nil || spent {
		t.Errorf("the failing request's challenge: spent %v, %v", spent, err)
	}
	checkChain(t, s, "or-a", 6)
}

// TestPoolSize: without pool_max_conns in the URL the pool holds
// DefaultMaxConns connections; the URL's setting wins.
func TestPoolSize(t *testing.T) {
	s := openTest(t)
	if got := s.pool.Config().MaxConns; got != DefaultMaxConns {
		t.Errorf("MaxConns = %d, want %d", got, DefaultMaxConns)
	}
	u := pgtest.URL(t)
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	s2, err := Open(t.Context(), u+sep+"pool_max_conns=3")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := s2.pool.Config().MaxConns; got != 3 {
		t.Errorf("MaxConns with pool_max_conns=3 = %d", got)
	}
}

// tripCounter counts the round trips pgx makes: one per query outside a
// batch, one per batch (pgx sends a batch's statements in one pipeline).
type tripCounter struct{ n atomic.Int64 }

func (c *tripCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *tripCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *tripCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *tripCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *tripCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// openTraced opens a store on the test database whose pool counts the
// round trips pgx makes (tripCounter).
func openTraced(t *testing.T) (*Store, *tripCounter) {
	t.Helper()
	url := pgtest.URL(t)
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	bound(cfg)
	trips := &tripCounter{}
	cfg.ConnConfig.Tracer = trips
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.pool.Close()
	s.pool = pool
	return s, trips
}

// TestGroupTwoTrips: a group's transaction, RFC 9421 and Dfns spends of
// two orgs mixed, is two round trips: BEGIN with the spends and the
// heads' lock, then the appends with COMMIT.
func TestGroupTwoTrips(t *testing.T) {
	s, trips := openTraced(t)
	newFixture(t, s, "a")
	newFixture(t, s, "b")
	ctx := t.Context()
	var used []*auth.Action
	for i, org := range []string{"b", "a"} {
		a := orgAction(org, 100+i)
		if err := s.CreateActionForChallenge(ctx, fmt.Sprintf("ca-%d", i), t0.Add(time.Minute), a, entryFor(a)); err != nil {
			t.Fatal(err)
		}
		used = append(used, a)
	}
	trips.n.Store(0)
	errs := holdGroup(t, s, 6, func(i int) error {
		if i < len(used) {
			_, _, err := s.UseAuditedAction(ctx, used[i].TokenHash, "/y", t0)
			return err
		}
		a := orgAction([]string{"a", "b"}[i%2], i)
		return s.SpendActionForChallenge(ctx, fmt.Sprintf("hs-%d", i), t0.Add(time.Minute), a, entryFor(a), "/x", t0)
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if s.ap.grouped != 1 {
		t.Fatalf("%d group transactions, want 1", s.ap.grouped)
	}
	if got := trips.n.Load(); got != 2 {
		t.Errorf("the group took %d round trips, want 2", got)
	}
	checkChain(t, s, "or-a", 3)
	checkChain(t, s, "or-b", 3)
}

// twoOrgs makes the fixtures of orgs "a" and "b" in s and, when mixed,
// one action of each org, created for a challenge of its own and returned
// (a group test spends them beside its creations).
func twoOrgs(t *testing.T, s *Store, mixed bool) []*auth.Action {
	t.Helper()
	newFixture(t, s, "a")
	newFixture(t, s, "b")
	var used []*auth.Action
	if mixed {
		for i, org := range []string{"a", "b"} {
			a := orgAction(org, 100+i)
			if err := s.CreateActionForChallenge(t.Context(), fmt.Sprintf("ca-%d", i), t0.Add(time.Minute), a, entryFor(a)); err != nil {
				t.Fatal(err)
			}
			used = append(used, a)
		}
	}
	return used
}

// TestGroupCreates: action complete's write (CreateActionForChallenge)
// joins the group committer: creations gathered while a commit is in
// flight commit in one transaction with the audited spends that gathered
// too, or alone in a group of creations only (which locks no head); of
// four answers to one challenge exactly one creates its action, and each
// action created is then spent, with its entry, once.
func TestGroupCreates(t *testing.T) {
	for _, mixed := range []bool{true, false} {
		t.Run(fmt.Sprintf("mixed=%v", mixed), func(t *testing.T) {
			s := openTest(t)
			used := twoOrgs(t, s, mixed)
			ctx := t.Context()
			const creates, dup = 6, 4
			acts := make([]*auth.Action, creates+dup)
			errs := holdGroup(t, s, creates+dup+len(used), func(i int) error {
				switch {
				case i < creates:
					a := orgAction([]string{"a", "b"}[i%2], i)
					acts[i] = a
					return s.CreateActionForChallenge(ctx, fmt.Sprintf("cc-%d", i), t0.Add(time.Minute), a, entryFor(a))
				case i < creates+dup:
					a := orgAction("a", i)
					acts[i] = a
					return s.CreateActionForChallenge(ctx, "cc-dup", t0.Add(time.Minute), a, entryFor(a))
				default:
					_, _, err := s.UseAuditedAction(ctx, used[i-creates-dup].TokenHash, "/y", t0)
					return err
				}
			})
			var won []int
			for i, err := range errs {
				if i >= creates && i < creates+dup {
					if err == nil {
						won = append(won, i)
					} else if !errors.Is(err, auth.ErrUsed) {
						t.Errorf("answer %d to one challenge: %v, want ErrUsed", i, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("call %d: %v", i, err)
				}
			}
			if len(won) != 1 {
				t.Fatalf("answers to one challenge: %v created, want exactly one", won)
			}
			if s.ap.grouped != 1 {
				t.Errorf("%d group transactions, want 1", s.ap.grouped)
			}
			if spent, err := s.ChallengeSpent(ctx, "cc-dup"); err != nil || !spent {
				t.Errorf("the answered challenge: spent %v, %v", spent, err)
			}
			// Every action created is there, with its entry, once.
			for i, a := range acts {
				if i >= creates && i != won[0] {
					if _, err := s.Action(ctx, a.OrgID, a.ID); !errors.Is(err, auth.ErrNotFound) {
						t.Errorf("losing answer %d: action %v, want ErrNotFound", i, err)
					}
					continue
				}
				if _, _, err := s.UseAuditedAction(ctx, a.TokenHash, "/x", t0); err != nil {
					t.Errorf("spend of created action %d: %v", i, err)
				}
				if _, _, err := s.UseAuditedAction(ctx, a.TokenHash, "/x", t0); !errors.Is(err, auth.ErrUsed) {
					t.Errorf("second spend of created action %d: %v, want ErrUsed", i, err)
				}
			}
			// Org a: 3 creations + the dup's winner (+1 mixed use); org b: 3 (+1).
			extra := 0
			if mixed {
				extra = 1
			}
			checkChain(t, s, "or-a", 4+extra)
			checkChain(t, s, "or-b", 3+extra)
		})
	}
}

// TestGroupCreateFailureIsolated: a creation that fails in a group (its
// action's id is taken) rolls the group back; every call then runs alone,
// the others create their actions, and the failing one's challenge stays
// unspent.
func TestGroupCreateFailureIsolated(t *testing.T) {
	s := openTest(t)
	newFixture(t, s, "a")
	ctx := t.Context()
	first := orgAction("a", 0)
	if err := s.CreateActionForChallenge(ctx, "cc-0", t0.Add(time.Minute), first, entryFor(first)); err != nil {
		t.Fatal(err)
	}
	errs := holdGroup(t, s, 5, func(i int) error {
		a := orgAction("a", i+1)
		if i == 2 {
			a.ID = first.ID // taken: the insert fails
		}
		return s.CreateActionForChallenge(ctx, fmt.Sprintf("cc-%d", i+1), t0.Add(time.Minute), a, entryFor(a))
	})
	for i, err := range errs {
		if (err != nil) != (i == 2) {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if s.ap.grouped != 0 {
		t.Errorf("a failed group counted as committed")
	}
	if spent, err := s.ChallengeSpent(ctx, "cc-3"); err != nil || spent {
		t.Errorf("the failing call's challenge: spent %v, %v", spent, err)
	}
	for i := range 5 {
		if i == 2 {
			continue
		}
		a := orgAction("a", i+1)
		if _, err := s.Action(ctx, a.OrgID, a.ID); err != nil {
			t.Errorf("call %d's action: %v", i, err)
		}
	}
}
