package storetest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// pending is the entry an action's use appends, as ActionComplete builds
// it (the chain fields are the store's to fill).
func pending(a *auth.Action) *audit.Entry {
	return &audit.Entry{ID: a.ID, OrgID: a.OrgID, UserID: a.UserID, Username: "u", TokenID: a.TokenID, TokenKind: "Token",
		CredentialUUID: a.CredentialUUID, CredID: "cred", CredentialKind: "Key", PublicKey: "pem",
		Method: a.Method, Path: a.Path, Query: "force=true", PayloadHash: a.PayloadHash, ActionTokenHash: a.TokenHash,
		Challenge: "ch", ClientData: "cd", Signature: "sig"}
}

// testAudit pins the audit log: the use of an action appends its entry
// sealed after its org's head, in the same transaction (an action without
// a pending entry is left unspent), concurrent uses in one org make one
// unbroken chain, orgs have separate chains, outcomes and checkpoints are
// recorded once, and listings filter by time and user.
func testAudit(t *testing.T, s auth.Store) {
	ctx := t.Context()
	o1, o2 := mustOrg(t, s, "a1"), mustOrg(t, s, "a2")

	// No pending entry: refused, and the action stays unspent.
	bare := newAction(o1.Org.ID, o1.User.ID, "uj-bare", at(time.Hour))
	check(t, "CreateAction", s.CreateAction(ctx, bare), nil)
	_, _, err := s.UseAuditedAction(ctx, bare.TokenHash, "/x", at(0))
	check(t, "UseAuditedAction(no entry)", err, auth.ErrNotFound)
	_, err = s.UseAction(ctx, bare.TokenHash, at(0))
	check(t, "UseAction(after refused audited use)", err, nil)

	const n = 12
	var acts []*auth.Action
	for i := range n {
		org := o1
		if i%3 == 2 {
			org = o2
		}
		a := newAction(org.Org.ID, org.User.ID, fmt.Sprintf("uj-a%02d", i), at(time.Hour))
		check(t, "CreateActionForChallenge", createAudited(t, s, a), nil)
		acts = append(acts, a)
	}
	dupe := newAction(o1.Org.ID, o1.User.ID, "uj-a00", at(time.Hour))
	dupe.TokenHash = []byte("other")
	check(t, "CreateActionForChallenge(dup id)", createAudited(t, s, dupe), auth.ErrDuplicate)

	// Every fourth entry has no target, as entries appended before targets
	// were recorded: old and new entries must make one verifiable chain.
	target := func(i int) string {
		if i%4 == 3 {
			return ""
		}
		return fmt.Sprintf("/auth/pats/to-1?force=true&n=%d", i)
	}
	var wg sync.WaitGroup
	for i, a := range acts {
		wg.Go(func() {
			got, e, err := s.UseAuditedAction(ctx, a.TokenHash, target(i), at(time.Duration(i)*time.Second))
			if err != nil || got.ID != a.ID || e.ID != a.ID || e.Target != target(i) || !bytes.Equal(e.Hash, e.ComputeHash()) {
				t.Errorf("UseAuditedAction(%s) = %v, %v, %v", a.ID, got, e, err)
			}
		})
	}
	wg.Wait()
	_, _, err = s.UseAuditedAction(ctx, acts[0].TokenHash, "/x", at(time.Minute))
	check(t, "UseAuditedAction(again)", err, auth.ErrUsed)

	for _, org := range []auth.NewOrg{o1, o2} {
		recs, err := s.AuditRecords(ctx, org.Org.ID, 0, 0)
		check(t, "AuditRecords", err, nil)
		x := &audit.Export{Format: audit.Format, OrgID: org.Org.ID}
		for _, r := range recs {
			x.Entries = append(x.Entries, r.Entry)
		}
		r := audit.Verify(x, nil)
		for _, p := range r.Problems {
			if !bytes.Contains([]byte(p.Why), []byte("assertion")) { // the fake assertions do not verify
				t.Errorf("chain of %s: %s", org.Org.ID, p)
			}
		}
		want := 8
		if org.Org.ID == o2.Org.ID {
			want = 4
		}
		if len(recs) != want {
			t.Fatalf("AuditRecords(%s) = %d entries, want %d", org.Org.ID, len(recs), want)
		}
		page, err := s.AuditRecords(ctx, org.Org.ID, 2, 1)
		if check(t, "AuditRecords(page)", err, nil); len(page) != 1 || page[0].Entry.Seq != 3 {
			t.Errorf("AuditRecords(after 2, limit 1) = %v", page)
		}
	}

	e0 := acts[0]
	check(t, "RecordOutcome", s.RecordOutcome(ctx, &audit.Outcome{EntryID: e0.ID, Status: 201, Time: at(time.Second)}), nil)
	check(t, "RecordOutcome(again)", s.RecordOutcome(ctx, &audit.Outcome{EntryID: e0.ID, Status: 500, Time: at(time.Second)}), auth.ErrDuplicate)
	check(t, "RecordOutcome(unknown)", s.RecordOutcome(ctx, &audit.Outcome{EntryID: "uj-nope", Status: 200, Time: at(0)}), auth.ErrNotFound)
	rec, err := s.AuditRecord(ctx, o1.Org.ID, e0.ID)
	check(t, "AuditRecord", err, nil)
	if rec.Outcome == nil || rec.Outcome.Status != 201 || !rec.Outcome.Time.Equal(at(time.Second)) || rec.Entry.FullPath() != "/auth/pats/to-1?force=true" || rec.Entry.Target != target(0) {
		t.Errorf("AuditRecord = %+v %+v", rec.Entry, rec.Outcome)
	}
	_, err = s.AuditRecord(ctx, o2.Org.ID, e0.ID)
	check(t, "AuditRecord(other org)", err, auth.ErrNotFound)

	sums, err := s.AuditSummaries(ctx, auth.AuditQuery{OrgID: o1.Org.ID, From: at(3 * time.Second), To: at(7 * time.Second)})
	check(t, "AuditSummaries", err, nil)
	if len(sums) != 3 { // actions 3, 4 and 6 (5 is o2's)
		t.Errorf("AuditSummaries(time range) = %+v", sums)
	}
	for _, sum := range sums {
		var i int
		if _, err := fmt.Sscanf(sum.ID, "uj-a%02d", &i); err != nil || sum.Target != target(i) {
			t.Errorf("AuditSummaries: %s has target %q, want %q", sum.ID, sum.Target, target(i))
		}
	}
	sums, err = s.AuditSummaries(ctx, auth.AuditQuery{OrgID: o1.Org.ID, Limit: 2})
	check(t, "AuditSummaries(limit)", err, nil)
	if len(sums) != 2 || sums[0].Seq != 1 || sums[1].Seq != 2 {
		t.Errorf("AuditSummaries(limit 2) = %+v", sums)
	}
	sums, err = s.AuditSummaries(ctx, auth.AuditQuery{OrgID: o1.Org.ID, UserID: "us-nobody"})
	if check(t, "AuditSummaries(user)", err, nil); len(sums) != 0 {
		t.Errorf("AuditSummaries(other user) = %+v", sums)
	}

	heads, err := s.UncheckpointedHeads(ctx, "")
	check(t, "UncheckpointedHeads", err, nil)
	if len(heads) != 2 || heads[0].Seq+heads[1].Seq != n {
		t.Fatalf("UncheckpointedHeads = %+v", heads)
	}
	c := &audit.Checkpoint{OrgID: heads[0].OrgID, Seq: heads[0].Seq, Hash: heads[0].Hash, Time: at(time.Minute), KID: "kid", Signature: []byte("sig")}
	check(t, "CreateCheckpoint", s.CreateCheckpoint(ctx, c), nil)
	check(t, "CreateCheckpoint(again)", s.CreateCheckpoint(ctx, c), auth.ErrDuplicate)
	heads, err = s.UncheckpointedHeads(ctx, "")
	if check(t, "UncheckpointedHeads", err, nil); len(heads) != 1 || heads[0].OrgID == c.OrgID {
		t.Errorf("UncheckpointedHeads after a checkpoint = %+v", heads)
	}
	cps, err := s.Checkpoints(ctx, c.OrgID)
	check(t, "Checkpoints", err, nil)
	diff(t, "Checkpoints", cps, []*audit.Checkpoint{c})
}

// createAudited stores a with its pending entry the way the domain does:
// spending a challenge of its own in the same commit.
func createAudited(t *testing.T, s auth.Store, a *auth.Action) error {
	t.Helper()
	return s.CreateActionForChallenge(t.Context(), "ch-"+a.ID+"-"+hex.EncodeToString(a.TokenHash), at(time.Hour), a, pending(a))
}
