package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// SpendActionForChallenge (issue 13): the challenge, the action (already
// used) and its audit entry in one commit, for an RFC 9421 signed request.

func testSpendActionForChallenge(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	now := at(time.Hour)
	exp := now.Add(time.Minute)

	// Audited: the challenge is spent, the action is there and used, and
	// the entry is sealed after the org's head with the target.
	a1 := newAction(u.OrgID, u.ID, "uj-1", now.Add(time.Hour))
	e1 := pending(a1)
	check(t, "SpendActionForChallenge", s.SpendActionForChallenge(ctx, "hs-1", exp, a1, e1, "/x?y=1", now), nil)
	if e1.Seq != 1 || e1.Target != "/x?y=1" || !bytes.Equal(e1.Hash, e1.ComputeHash()) {
		t.Errorf("entry after SpendActionForChallenge: seq %d, target %q, hash ok %v", e1.Seq, e1.Target, bytes.Equal(e1.Hash, e1.ComputeHash()))
	}
	check(t, "SpendChallenge(spent)", s.SpendChallenge(ctx, "hs-1", exp), auth.ErrUsed)
	_, err := s.UseAction(ctx, a1.TokenHash, now)
	check(t, "UseAction(spent at creation)", err, auth.ErrUsed)
	got, err := s.Action(ctx, u.OrgID, a1.ID)
	check(t, "Action", err, nil)
	want := *a1
	want.UsedAt = &now
	diff(t, "Action", got, &want)
	rec, err := s.AuditRecord(ctx, u.OrgID, a1.ID)
	check(t, "AuditRecord", err, nil)
	if rec != nil && (rec.Entry.Seq != 1 || !bytes.Equal(rec.Entry.Hash, e1.Hash) || rec.Entry.Target != "/x?y=1") {
		t.Errorf("AuditRecord = %+v, want the sealed entry", rec.Entry)
	}

	// It chains with entries appended by UseAuditedAction.
	a2 := newAction(u.OrgID, u.ID, "uj-2", now.Add(time.Hour))
	check(t, "CreateActionForChallenge", s.CreateActionForChallenge(ctx, "ch-2", exp, a2, pending(a2)), nil)
	_, e2, err := s.UseAuditedAction(ctx, a2.TokenHash, "/z", now)
	check(t, "UseAuditedAction", err, nil)
	a3 := newAction(u.OrgID, u.ID, "uj-3", now.Add(time.Hour))
	e3 := pending(a3)
	check(t, "SpendActionForChallenge(second)", s.SpendActionForChallenge(ctx, "hs-3", exp, a3, e3, "/w", now), nil)
	if e2 == nil || e2.Seq != 2 || e3.Seq != 3 || !bytes.Equal(e3.PrevHash, e2.Hash) {
		t.Errorf("chain: e2 %+v, e3 seq %d", e2, e3.Seq)
	}
	verifyChain(t, s, u.OrgID, 3)

	// Not audited: the action alone.
	a4 := newAction(u.OrgID, u.ID, "uj-4", now.Add(time.Hour))
	check(t, "SpendActionForChallenge(no entry)", s.SpendActionForChallenge(ctx, "hs-4", exp, a4, nil, "/v", now), nil)
	_, err = s.UseAction(ctx, a4.TokenHash, now)
	check(t, "UseAction(no entry, spent at creation)", err, auth.ErrUsed)

	// Refused, nothing written: a challenge spent by a refused answer, by
	// an accepted one, by this method.
	check(t, "SpendChallenge", s.SpendChallenge(ctx, "hs-burnt", exp), nil)
	for i, id := range []string{"hs-burnt", "ch-2", "hs-1"} {
		a := newAction(u.OrgID, u.ID, fmt.Sprintf("uj-x%d", i), now.Add(time.Hour))
		check(t, "SpendActionForChallenge("+id+")", s.SpendActionForChallenge(ctx, id, exp, a, pending(a), "/x", now), auth.ErrUsed)
		_, err := s.Action(ctx, u.OrgID, a.ID)
		check(t, "Action(refused "+id+")", err, auth.ErrNotFound)
		_, err = s.AuditRecord(ctx, u.OrgID, a.ID)
		check(t, "AuditRecord(refused "+id+")", err, auth.ErrNotFound)
	}
	verifyChain(t, s, u.OrgID, 3)

	// A failed insert leaves the challenge unspent and the chain as it was.
	dup := newAction(u.OrgID, u.ID, a1.ID, now.Add(time.Hour))
	dup.TokenHash = []byte("other")
	check(t, "SpendActionForChallenge(dup id)", s.SpendActionForChallenge(ctx, "hs-5", exp, dup, pending(dup), "/x", now), auth.ErrDuplicate)
	check(t, "SpendChallenge(after failed insert)", s.SpendChallenge(ctx, "hs-5", exp), nil)
	stranger := newAction(u.OrgID, "us-missing", "uj-6", now.Add(time.Hour))
	check(t, "SpendActionForChallenge(unknown user)", s.SpendActionForChallenge(ctx, "hs-6", exp, stranger, pending(stranger), "/x", now), auth.ErrNotFound)
	check(t, "SpendChallenge(after failed insert, unknown user)", s.SpendChallenge(ctx, "hs-6", exp), nil)
	verifyChain(t, s, u.OrgID, 3)
}

// testSpendActionForChallengeConcurrent: one challenge (an RFC 9421 nonce)
// spent concurrently; exactly one call writes its action and entry, and the
// chain holds that one entry.
func testSpendActionForChallengeConcurrent(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	now := at(time.Hour)
	const callers = 50
	acts := make([]*auth.Action, callers)
	for i := range acts {
		acts[i] = newAction(u.OrgID, u.ID, fmt.Sprintf("uj-%02d", i), now.Add(time.Hour))
	}
	errs := concurrently(callers, func(i int) error {
		return s.SpendActionForChallenge(ctx, "hs-1", now.Add(time.Minute), acts[i], pending(acts[i]), "/x", now)
	})
	tally(t, errs, auth.ErrUsed)
	written := 0
	for i, a := range acts {
		_, err := s.Action(ctx, u.OrgID, a.ID)
		switch {
		case err == nil:
			written++
			if errs[i] != nil {
				t.Errorf("action %s written by a call that failed: %v", a.ID, errs[i])
			}
		default:
			check(t, "Action "+a.ID, err, auth.ErrNotFound)
		}
	}
	if written != 1 {
		t.Errorf("%d actions written, want exactly 1", written)
	}
	verifyChain(t, s, u.OrgID, 1)
}

// testSpendActionForChallengeChain: concurrent spends of distinct
// challenges in one org, mixed with UseAuditedAction, make one unbroken
// chain.
func testSpendActionForChallengeChain(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	now := at(time.Hour)
	const callers = 24
	acts := make([]*auth.Action, callers)
	for i := range acts {
		acts[i] = newAction(u.OrgID, u.ID, fmt.Sprintf("uj-%02d", i), now.Add(time.Hour))
		if i%2 == 1 {
			check(t, "CreateActionForChallenge", s.CreateActionForChallenge(ctx, fmt.Sprintf("ch-%02d", i), now.Add(time.Minute), acts[i], pending(acts[i])), nil)
		}
	}
	errs := concurrently(callers, func(i int) error {
		if i%2 == 1 {
			_, _, err := s.UseAuditedAction(ctx, acts[i].TokenHash, "/y", now)
			return err
		}
		return s.SpendActionForChallenge(ctx, fmt.Sprintf("hs-%02d", i), now.Add(time.Minute), acts[i], pending(acts[i]), "/x", now)
	})
	for i, err := range errs {
		check(t, fmt.Sprintf("call %d", i), err, nil)
	}
	verifyChain(t, s, u.OrgID, callers)
}

// verifyChain checks that the org's chain has want entries and verifies
// (the fake assertions aside).
func verifyChain(t *testing.T, s auth.Store, orgID string, want int) {
	t.Helper()
	recs, err := s.AuditRecords(t.Context(), orgID, 0, 0)
	check(t, "AuditRecords", err, nil)
	if len(recs) != want {
		t.Fatalf("AuditRecords(%s) = %d entries, want %d", orgID, len(recs), want)
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

// testQueueOutcome: an outcome queued is seen by the next audit read,
// recorded once (a second gets ErrDuplicate through done), and one for an
// unknown entry gets ErrNotFound.
func testQueueOutcome(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	now := at(time.Hour)
	a := newAction(u.OrgID, u.ID, "uj-1", now.Add(time.Hour))
	check(t, "SpendActionForChallenge", s.SpendActionForChallenge(ctx, "hs-1", now.Add(time.Minute), a, pending(a), "/x", now), nil)
	queue := func(o *audit.Outcome) <-chan error {
		res := make(chan error, 1)
		s.QueueOutcome(ctx, o, func(err error) { res <- err })
		return res
	}
	first := queue(&audit.Outcome{EntryID: a.ID, Status: 201, Time: now})
	rec, err := s.AuditRecord(ctx, u.OrgID, a.ID)
	check(t, "AuditRecord", err, nil)
	if rec == nil || rec.Outcome == nil || rec.Outcome.Status != 201 {
		t.Fatalf("AuditRecord right after QueueOutcome = %+v, want the outcome", rec)
	}
	sums, err := s.AuditSummaries(ctx, auth.AuditQuery{OrgID: u.OrgID})
	if check(t, "AuditSummaries", err, nil); len(sums) != 1 || sums[0].Status != 201 {
		t.Errorf("AuditSummaries = %+v, want one with status 201", sums)
	}
	check(t, "QueueOutcome", wait(t, first), nil)
	check(t, "QueueOutcome(again)", wait(t, queue(&audit.Outcome{EntryID: a.ID, Status: 500, Time: now})), auth.ErrDuplicate)
	check(t, "QueueOutcome(unknown)", wait(t, queue(&audit.Outcome{EntryID: "uj-nope", Status: 200, Time: now})), auth.ErrNotFound)
	rec, err = s.AuditRecord(ctx, u.OrgID, a.ID)
	if check(t, "AuditRecord", err, nil); rec.Outcome.Status != 201 {
		t.Errorf("outcome after a refused second one = %d, want 201", rec.Outcome.Status)
	}
}

// wait returns what c gets, failing t when nothing comes in 10 s.
func wait(t *testing.T, c <-chan error) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no result")
		return nil
	}
}
