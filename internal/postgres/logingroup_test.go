package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
	"github.com/signet-auth/signet/internal/token"
)

// loginToken is the record of login session i of org's fixture user.
func loginToken(org string, i int) *auth.AccessToken {
	return &auth.AccessToken{ID: fmt.Sprintf("to-%s-l%d", org, i), OrgID: "or-" + org, UserID: "us-" + org,
		Kind: token.KindLogin, CredentialUUID: "cr-" + org, IsActive: true, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}
}

// checkOneWinner checks that exactly one of the answers errs to one
// challenge succeeded, every other got ErrUsed, and that the store holds
// the login session of the winner only; it returns the winner's index.
func checkOneWinner(t *testing.T, s *Store, errs []error, toks []*auth.AccessToken) int {
	t.Helper()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Errorf("answers %d and %d to one challenge both created a session", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, auth.ErrUsed):
			t.Errorf("answer %d to one challenge: %v, want ErrUsed", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no answer to the challenge created a session")
	}
	for i, tok := range toks {
		_, err := s.AccessToken(t.Context(), tok.OrgID, tok.ID)
		if i == won && err != nil {
			t.Errorf("the winning answer's session: %v", err)
		}
		if i != won && !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("losing answer %d's session: %v, want ErrNotFound", i, err)
		}
	}
	return won
}

// TestGroupLogins: logins gathered while a commit is in flight commit in
// one transaction with the other writes of the group (action creations,
// audited spends), in two orgs; of four answers to one login challenge in
// the group exactly one creates a session; a challenge spent by an earlier
// group is refused in a later one.
func TestGroupLogins(t *testing.T) {
	for _, mixed := range []bool{true, false} {
		t.Run(fmt.Sprintf("mixed=%v", mixed), func(t *testing.T) {
			s := openTest(t)
			used := twoOrgs(t, s, mixed)
			ctx := t.Context()
			const logins, dup, creates = 6, 4, 2
			toks := make([]*auth.AccessToken, logins+dup)
			n := logins + dup
			if mixed {
				n += creates + len(used)
			}
			errs := holdGroup(t, s, n, func(i int) error {
				switch {
				case i < logins:
					toks[i] = loginToken([]string{"a", "b"}[i%2], i)
					return s.CreateAccessTokenForChallenge(ctx, fmt.Sprintf("cl-%d", i), t0.Add(time.Minute), toks[i])
				case i < logins+dup:
					toks[i] = loginToken("a", i)
					return s.CreateAccessTokenForChallenge(ctx, "cl-dup", t0.Add(time.Minute), toks[i])
				case i < logins+dup+creates:
					a := orgAction("b", i)
					return s.CreateActionForChallenge(ctx, fmt.Sprintf("cc-%d", i), t0.Add(time.Minute), a, entryFor(a))
				default:
					_, _, err := s.UseAuditedAction(ctx, used[i-logins-dup-creates].TokenHash, "/y", t0)
					return err
				}
			})
			for i, err := range errs {
				if (i < logins || i >= logins+dup) && err != nil {
					t.Errorf("call %d: %v", i, err)
				}
			}
			checkOneWinner(t, s, errs[logins:logins+dup], toks[logins:])
			if s.ap.grouped != 1 {
				t.Errorf("%d group transactions, want 1", s.ap.grouped)
			}
			for i, tok := range toks[:logins] {
				got, err := s.AccessToken(ctx, tok.OrgID, tok.ID)
				if err != nil || got.UserID != tok.UserID || got.Kind != token.KindLogin || !got.IsActive {
					t.Errorf("login %d's session: %+v, %v", i, got, err)
				}
			}
			for _, id := range []string{"cl-0", "cl-5", "cl-dup"} {
				if spent, err := s.ChallengeSpent(ctx, id); err != nil || !spent {
					t.Errorf("answered challenge %s: spent %v, %v", id, spent, err)
				}
			}
			if mixed {
				// One audited spend each; a created action appends at its spend.
				checkChain(t, s, "or-a", 1)
				checkChain(t, s, "or-b", 1)
			}

			// A later group: the challenges spent above stay spent.
			again := make([]*auth.AccessToken, 3)
			errs = holdGroup(t, s, 3, func(i int) error {
				again[i] = loginToken("a", 50+i)
				return s.CreateAccessTokenForChallenge(ctx, []string{"cl-dup", "cl-0", "cl-new"}[i], t0.Add(time.Minute), again[i])
			})
			for i, err := range errs[:2] {
				if !errors.Is(err, auth.ErrUsed) {
					t.Errorf("second group's answer %d to a spent challenge: %v, want ErrUsed", i, err)
				}
				if _, err := s.AccessToken(ctx, again[i].OrgID, again[i].ID); !errors.Is(err, auth.ErrNotFound) {
					t.Errorf("second group's answer %d to a spent challenge: session %v, want ErrNotFound", i, err)
				}
			}
			if errs[2] != nil {
				t.Errorf("second group's fresh answer: %v", errs[2])
			}
		})
	}
}

// TestGroupLoginsAcrossReplicas: two stores on one database (two
// replicas), each committing a group of answers to the same login
// challenges at the same time: each challenge creates exactly one session.
func TestGroupLoginsAcrossReplicas(t *testing.T) {
	url := pgtest.URL(t)
	var stores [2]*Store
	for i := range stores {
		s, err := Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	newFixture(t, stores[0], "a")
	ctx := t.Context()
	const challenges, each = 4, 3 // answers per challenge on each replica
	toks := make([][]*auth.AccessToken, challenges)
	for c := range toks {
		toks[c] = make([]*auth.AccessToken, 2*each)
	}
	errs := make([][]error, challenges)
	for c := range errs {
		errs[c] = make([]error, 2*each)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for r, s := range stores {
		wg.Go(func() {
			got := holdGroup(t, s, challenges*each, func(i int) error {
				// Replica 1 answers the challenges in the reverse order.
				c, k := i%challenges, r*each+i/challenges
				if r == 1 {
					c = challenges - 1 - c
				}
				tok := loginToken("a", 100*c+k)
				mu.Lock()
				toks[c][k] = tok
				mu.Unlock()
				return s.CreateAccessTokenForChallenge(ctx, fmt.Sprintf("cx-%d", c), t0.Add(time.Minute), tok)
			})
			mu.Lock()
			defer mu.Unlock()
			for i, err := range got {
				c, k := i%challenges, r*each+i/challenges
				if r == 1 {
					c = challenges - 1 - c
				}
				errs[c][k] = err
			}
		})
	}
	wg.Wait()
	for c := range challenges {
		checkOneWinner(t, stores[0], errs[c], toks[c])
	}
}

// TestGroupLoginFailureIsolated: a login whose insert fails (a session id
// taken) rolls its group back; every other login of the group then
// commits on its own, and the failing one's challenge stays unspent.
func TestGroupLoginFailureIsolated(t *testing.T) {
	s := openTest(t)
	newFixture(t, s, "a")
	ctx := t.Context()
	first := loginToken("a", 0)
	if err := s.CreateAccessTokenForChallenge(ctx, "cl-0", t0.Add(time.Minute), first); err != nil {
		t.Fatal(err)
	}
	errs := holdGroup(t, s, 5, func(i int) error {
		tok := loginToken("a", i+1)
		if i == 2 {
			tok.ID = first.ID // taken: the insert fails
		}
		return s.CreateAccessTokenForChallenge(ctx, fmt.Sprintf("cl-%d", i+1), t0.Add(time.Minute), tok)
	})
	for i, err := range errs {
		if i == 2 {
			if !errors.Is(err, auth.ErrDuplicate) {
				t.Errorf("the failing login: %v, want ErrDuplicate", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("login %d: %v", i, err)
		}
		if _, err := s.AccessToken(ctx, "or-a", loginToken("a", i+1).ID); err != nil {
			t.Errorf("login %d's session: %v", i, err)
		}
	}
	if s.ap.grouped != 0 {
		t.Errorf("a failed group counted as committed")
	}
	if spent, err := s.ChallengeSpent(ctx, "cl-3"); err != nil || spent {
		t.Errorf("the failing login's challenge: spent %v, %v", spent, err)
	}
}

// TestGroupCreationsOneTrip: a group of creations only (logins and action
// completes) commits in one round trip: BEGIN, the creations and COMMIT
// in one pipeline; and a failing creation in it commits nothing of the
// group before each call runs on its own.
func TestGroupCreationsOneTrip(t *testing.T) {
	s, trips := openTraced(t)
	newFixture(t, s, "a")
	ctx := t.Context()
	before := trips.n.Load()
	errs := holdGroup(t, s, 6, func(i int) error {
		if i%2 == 0 {
			a := orgAction("a", i)
			return s.CreateActionForChallenge(ctx, fmt.Sprintf("cc-%d", i), t0.Add(time.Minute), a, entryFor(a))
		}
		return s.CreateAccessTokenForChallenge(ctx, fmt.Sprintf("cl-%d", i), t0.Add(time.Minute), loginToken("a", i))
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if n := trips.n.Load() - before; n != 1 || s.ap.grouped != 1 {
		t.Errorf("the group took %d round trips in %d transactions, want 1 in 1", n, s.ap.grouped)
	}
	for i := 1; i < 6; i += 2 {
		if _, err := s.AccessToken(ctx, "or-a", loginToken("a", i).ID); err != nil {
			t.Errorf("login %d's session: %v", i, err)
		}
	}
}

// TestGroupLanes: with one lane taken, a write runs at once in the other
// instead of waiting for a group.
func TestGroupLanes(t *testing.T) {
	s := openTest(t)
	newFixture(t, s, "a")
	s.ap.mu.Lock()
	s.ap.running = 1 // one transaction is committing
	s.ap.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		done <- s.CreateAccessTokenForChallenge(t.Context(), "cl-lane", t0.Add(time.Minute), loginToken("a", 1))
	}()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		default:
		}
		s.ap.mu.Lock()
		queued := len(s.ap.pending)
		s.ap.mu.Unlock()
		if queued > 0 {
			t.Fatal("the write waits for a group with a lane free")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupLanesChain: audited spends and logins from many callers at
// once, through both lanes (no group held), in two orgs: every call
// succeeds once, and each org's chain verifies with one entry per spend.
func TestGroupLanesChain(t *testing.T) {
	s := openTest(t)
	newFixture(t, s, "a")
	newFixture(t, s, "b")
	ctx := t.Context()
	const n = 48
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			org := []string{"a", "b"}[i%2]
			if i%3 == 2 {
				errs[i] = s.CreateAccessTokenForChallenge(ctx, fmt.Sprintf("cl-%d", i), t0.Add(time.Minute), loginToken(org, i))
				return
			}
			a := orgAction(org, i)
			errs[i] = s.SpendActionForChallenge(ctx, fmt.Sprintf("cs-%d", i), t0.Add(time.Minute), a, entryFor(a), "/x", t0)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	checkChain(t, s, "or-a", n/3)
	checkChain(t, s, "or-b", n/3)
}

// TestLoneWriteFreesLane: a write that ran alone, with nothing gathered
// meanwhile, has freed its lane when it returns (it starts no goroutine
// to find out that there is nothing to commit); with something gathered,
// its lane stays taken until a leader has committed it.
func TestLoneWriteFreesLane(t *testing.T) {
	s := openTest(t)
	newFixture(t, s, "a")
	ctx := t.Context()
	for i := range 20 {
		if err := s.CreateAccessTokenForChallenge(ctx, fmt.Sprintf("cl-free-%d", i), t0.Add(time.Minute), loginToken("a", i)); err != nil {
			t.Fatal(err)
		}
		s.ap.mu.Lock()
		running := s.ap.running
		s.ap.mu.Unlock()
		if running != 0 {
			t.Fatalf("after lone write %d, %d lanes taken, want 0", i, running)
		}
	}
	// Something gathered while the write ran alone: it is committed by a
	// leader, which then frees the lane.
	s.ap.mu.Lock()
	s.ap.running = groupLanes - 1 // the other lanes are committing
	s.ap.mu.Unlock()
	gathered := make(chan error, 1)
	err := s.appendAudited(ctx, &appendReq{single: func() error {
		go func() {
			gathered <- s.CreateAccessTokenForChallenge(ctx, "cl-gathered", t0.Add(time.Minute), loginToken("a", 100))
		}()
		for {
			s.ap.mu.Lock()
			n := len(s.ap.pending)
			s.ap.mu.Unlock()
			if n > 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		_, err := scanCreated(s.pool.QueryRow(ctx, createTokenForChallengeSQL, "cl-lone", t0.Add(time.Minute),
			"to-a-lone", "or-a", "us-a", string(token.KindLogin), "", "cr-a", "", "", true, false, t0.Add(time.Hour), t0))
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-gathered; err != nil {
		t.Fatalf("the write gathered meanwhile: %v", err)
	}
	if _, err := s.AccessToken(ctx, "or-a", loginToken("a", 100).ID); err != nil {
		t.Errorf("the gathered write's session: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.ap.mu.Lock()
		running := s.ap.running
		s.ap.mu.Unlock()
		if running == groupLanes-1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d lanes taken after the leader committed, want %d", running, groupLanes-1)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupRefusedLogins: readless login writes (CreateLoginForChallenge)
// gathered in one group with accepted ones, and with audited spends or
// creations only: a write refused by its precondition gets ErrRefused
// after the group's COMMIT, its challenge spent by that COMMIT and no
// session inserted; it neither fails nor rolls back the others' writes.
func TestGroupRefusedLogins(t *testing.T) {
	for _, mixed := range []bool{true, false} {
		t.Run(fmt.Sprintf("mixed=%v", mixed), func(t *testing.T) {
			s := openTest(t)
			used := twoOrgs(t, s, mixed)
			ctx := t.Context()
			const logins = 6 // odd ones refused: a credential that is not there
			toks := make([]*auth.AccessToken, logins)
			names := make([]string, logins)
			n := logins
			if mixed {
				n += len(used)
			}
			errs := holdGroup(t, s, n, func(i int) error {
				if i >= logins {
					_, _, err := s.UseAuditedAction(ctx, used[i-logins].TokenHash, "/y", t0)
					return err
				}
				org := []string{"a", "b"}[i/3%2]
				toks[i] = loginToken(org, i)
				if i%2 == 1 {
					toks[i].CredentialUUID = "cr-missing"
				}
				var err error
				names[i], err = s.CreateLoginForChallenge(ctx, fmt.Sprintf("cr-%d", i), t0.Add(time.Minute), toks[i], auth.KindKey)
				return err
			})
			if s.ap.grouped != 1 {
				t.Errorf("%d group transactions, want 1", s.ap.grouped)
			}
			for i, err := range errs {
				switch {
				case i >= logins || i%2 == 0:
					if err != nil {
						t.Errorf("call %d: %v", i, err)
					}
					if want := "ada@" + []string{"a", "b"}[i/3%2]; i < logins && names[i] != want {
						t.Errorf("login %d: name %q, want %q (its own user's)", i, names[i], want)
					}
				case !errors.Is(err, auth.ErrRefused):
					t.Errorf("refused login %d: %v, want ErrRefused", i, err)
				}
			}
			for i, tok := range toks {
				_, err := s.AccessToken(ctx, tok.OrgID, tok.ID)
				if i%2 == 0 && err != nil {
					t.Errorf("accepted login %d's session: %v", i, err)
				}
				if i%2 == 1 && !errors.Is(err, auth.ErrNotFound) {
					t.Errorf("refused login %d's session: %v, want ErrNotFound", i, err)
				}
				if spent, err := s.ChallengeSpent(ctx, fmt.Sprintf("cr-%d", i)); err != nil || !spent {
					t.Errorf("login %d's challenge: spent %v, %v", i, spent, err)
				}
			}
			if mixed {
				checkChain(t, s, "or-a", 1)
				checkChain(t, s, "or-b", 1)
			}
		})
	}
}
