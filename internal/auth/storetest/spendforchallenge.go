package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// SpendActionForChallenge (issue 13): the challenge and the audit entry
// of an action spent at creation (an RFC 9421 signed request) in one
// commit, with no action row beside the entry; with the audit log off,
// the action row (already used) is its only record.

func testSpendActionForChallenge(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	now := at(time.Hour)
	exp := now.Add(time.Minute)

	// Audited: the challenge is spent and the entry is sealed after the
	// org's head with the target; it is the action's only record.
	a1 := newAction(u.OrgID, u.ID, "uj-1", now.Add(time.Hour))
	e1 := pending(a1)
	check(t, "SpendActionForChallenge", s.SpendActionForChallenge(ctx, "hs-1", exp, a1, e1, "/x?y=1", now), nil)
	if e1.Seq != 1 || e1.Target != "/x?y=1" || !bytes.Equal(e1.Hash, e1.ComputeHash()) {
		t.Errorf("entry after SpendActionForChallenge: seq %d, target %q, hash ok %v", e1.Seq, e1.Target, bytes.Equal(e1.Hash, e1.ComputeHash()))
	}
	check(t, "SpendChallenge(spent)", s.SpendChallenge(ctx, "hs-1", exp), auth.ErrUsed)
	_, err := s.Action(ctx, u.OrgID, a1.ID)
	check(t, "Action(audited: no row)", err, auth.ErrNotFound)
	_, err = s.UseAction(ctx, a1.TokenHash, now)
	check(t, "UseAction(audited: no row)", err, auth.ErrNotFound)
	rec, err := s.AuditRecord(ctx, u.OrgID, a1.ID)
	check(t, "AuditRecord", err, nil)
	if rec != nil && (rec.Entry.Seq != 1 || !bytes.Equal(rec.Entry.Hash, e1.Hash) || rec.Entry.Target != "/x?y=1" || !rec.Entry.Time.Equal(now)) {
		t.Errorf("AuditRecord = %+v, want the sealed entry at %v", rec.Entry, now)
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

	// Not audited: the action row alone, used at now, and no entry.
	a4 := newAction(u.OrgID, u.ID, "uj-4", now.Add(time.Hour))
	check(t, "SpendActionForChallenge(no entry)", s.SpendActionForChallenge(ctx, "hs-4", exp, a4, nil, "/v", now), nil)
	_, err = s.UseAction(ctx, a4.TokenHash, now)
	check(t, "UseAction(no entry, spent at creation)", err, auth.ErrUsed)
	got, err := s.Action(ctx, u.OrgID, a4.ID)
	check(t, "Action(no entry)", err, nil)
	want := *a4
	want.UsedAt = &now
	diff(t, "Action(no entry)", got, &want)
	_, err = s.AuditRecord(ctx, u.OrgID, a4.ID)
	check(t, "AuditRecord(no entry)", err, auth.ErrNotFound)
	verifyChain(t, s, u.OrgID, 3)

	// Refused, nothing written: a challenge spent by a refused answer, by
	// an accepted one, by this method with and without an entry.
	check(t, "SpendChallenge", s.SpendChallenge(ctx, "hs-burnt", exp), nil)
	for i, id := range []string{"hs-burnt", "ch-2", "hs-1", "hs-4"} {
		for _, audited := range []bool{true, false} {
			a := newAction(u.OrgID, u.ID, fmt.Sprintf("uj-x%d-%v", i, audited), now.Add(time.Hour))
			var e *audit.Entry
			if audited {
				e = pending(a)
			}
			what := fmt.Sprintf("(%s, audited %v)", id, audited)
			check(t, "SpendActionForChallenge"+what, s.SpendActionForChallenge(ctx, id, exp, a, e, "/x", now), auth.ErrUsed)
			_, err := s.Action(ctx, u.OrgID, a.ID)
			check(t, "Action(refused "+what+")", err, auth.ErrNotFound)
			_, err = s.AuditRecord(ctx, u.OrgID, a.ID)
			check(t, "AuditRecord(refused "+what+")", err, auth.ErrNotFound)
		}
	}
	verifyChain(t, s, u.OrgID, 3)

	// A failed insert leaves the challenge unspent and the chain as it
	// was: an entry whose id is taken, an action row whose id is taken, an
	// action of an unknown user, an entry of an unknown org.
	dup := newAction(u.OrgID, u.ID, a1.ID, now.Add(time.Hour))
	dup.TokenHash = []byte("other")
	dupRow := newAction(u.OrgID, u.ID, a4.ID, now.Add(time.Hour))
	dupRow.TokenHash = []byte("other-row")
	stranger := newAction(u.OrgID, "us-missing", "uj-6", now.Add(time.Hour))
	orphan := newAction("or-missing", u.ID, "uj-7", now.Add(time.Hour))
	for _, tc := range []struct {
		name, challenge string
		a               *auth.Action
		e               *audit.Entry
		want            error
	}{
		{"entry id taken", "hs-5", dup, pending(dup), auth.ErrDuplicate},
		{"action id taken", "hs-5", dupRow, nil, auth.ErrDuplicate},
		{"unknown user", "hs-6", stranger, nil, auth.ErrNotFound},
		{"unknown org", "hs-7", orphan, pending(orphan), auth.ErrNotFound},
	} {
		check(t, "SpendActionForChallenge("+tc.name+")", s.SpendActionForChallenge(ctx, tc.challenge, exp, tc.a, tc.e, "/x", now), tc.want)
	}
	for _, id := range []string{"hs-5", "hs-6", "hs-7"} {
		check(t, "SpendChallenge(after failed insert "+id+")", s.SpendChallenge(ctx, id, exp), nil)
	}
	verifyChain(t, s, u.OrgID, 3)
}

// testSpendActionForChallengeConcurrent: one challenge (an RFC 9421 nonce)
// spent concurrently, audited and not: exactly one call writes (its entry
// and no action row, or its action row), the others get ErrUsed and write
// nothing.
func testSpendActionForChallengeConcurrent(t *testing.T, s auth.Store) {
	for _, audited := range []bool{true, false} {
		t.Run(fmt.Sprintf("audited=%v", audited), func(t *testing.T) {
			ctx := t.Context()
			n := mustOrg(t, s, fmt.Sprintf("c%v", audited))
			u := n.User
			now := at(time.Hour)
			const callers = 50
			acts := make([]*auth.Action, callers)
			for i := range acts {
				acts[i] = newAction(u.OrgID, u.ID, fmt.Sprintf("uj-%v-%02d", audited, i), now.Add(time.Hour))
			}
			challenge := fmt.Sprintf("hs-%v", audited)
			errs := concurrently(callers, func(i int) error {
				var e *audit.Entry
				if audited {
					e = pending(acts[i])
				}
				return s.SpendActionForChallenge(ctx, challenge, now.Add(time.Minute), acts[i], e, "/x", now)
			})
			tally(t, errs, auth.ErrUsed)
			rows, entries := 0, 0
			for i, a := range acts {
				_, errRow := s.Action(ctx, u.OrgID, a.ID)
				_, errEntry := s.AuditRecord(ctx, u.OrgID, a.ID)
				for _, r := range []struct {
					err error
					n   *int
				}{{errRow, &rows}, {errEntry, &entries}} {
					switch {
					case r.err == nil:
						*r.n++
						if errs[i] != nil {
							t.Errorf("%s written by a call that failed: %v", a.ID, errs[i])
						}
					default:
						check(t, "read "+a.ID, r.err, auth.ErrNotFound)
					}
				}
			}
			wantRows, wantEntries := 1, 0
			if audited {
				wantRows, wantEntries = 0, 1
			}
			if rows != wantRows || entries != wantEntries {
				t.Errorf("%d action rows and %d entries written, want %d and %d", rows, entries, wantRows, wantEntries)
			}
			verifyChain(t, s, u.OrgID, wantEntries)
		})
	}
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
