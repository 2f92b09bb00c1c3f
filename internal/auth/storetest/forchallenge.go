package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// The writes that spend a challenge in the same commit as what its
// accepted answer creates (login session, action with its pending audit
// entry), and the non-consuming read that precedes them (spec 12.4).

func testChallengeRead(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	now := at(time.Hour)
	c := newChallenge(u.OrgID, u.ID, "ch-1", now.Add(time.Minute))
	check(t, "CreateChallenge", s.CreateChallenge(ctx, c), nil)
	for i := range 2 { // reading does not consume
		got, err := s.Challenge(ctx, c.ID, now)
		check(t, fmt.Sprintf("Challenge #%d", i), err, nil)
		diff(t, "Challenge", got, c)
		inUTC(t, "Challenge.ExpiresAt", got.ExpiresAt)
	}
	_, err := s.Challenge(ctx, c.ID, c.ExpiresAt)
	check(t, "Challenge(at its expiry)", err, auth.ErrNotFound)
	_, err = s.Challenge(ctx, "ch-unknown", now)
	check(t, "Challenge(unknown)", err, auth.ErrNotFound)
	old := newChallenge(u.OrgID, u.ID, "ch-old", now.Add(-time.Millisecond))
	check(t, "CreateChallenge(old)", s.CreateChallenge(ctx, old), nil)
	_, err = s.Challenge(ctx, old.ID, now)
	check(t, "Challenge(expired)", err, auth.ErrNotFound)

	got, err := s.ConsumeChallenge(ctx, c.ID, now)
	check(t, "ConsumeChallenge after reads", err, nil)
	diff(t, "ConsumeChallenge", got, c)
	_, err = s.Challenge(ctx, c.ID, now)
	check(t, "Challenge(consumed)", err, auth.ErrNotFound)
}

func testCreateActionForChallenge(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	now := at(time.Hour)
	exp := now.Add(time.Minute)

	// Success, audited: the challenge is gone, the action and its pending
	// entry are there (the audited use finds the entry).
	c1 := newChallenge(u.OrgID, u.ID, "ch-1", exp)
	check(t, "CreateChallenge", s.CreateChallenge(ctx, c1), nil)
	a1 := newAction(u.OrgID, u.ID, "uj-1", now.Add(time.Hour))
	check(t, "CreateActionForChallenge", s.CreateActionForChallenge(ctx, c1.ID, now, a1, pending(a1)), nil)
	_, err := s.Challenge(ctx, c1.ID, now)
	check(t, "Challenge(spent)", err, auth.ErrNotFound)
	_, err = s.ConsumeChallenge(ctx, c1.ID, now)
	check(t, "ConsumeChallenge(spent)", err, auth.ErrNotFound)
	got, e, err := s.UseAuditedAction(ctx, a1.TokenHash, "/x", now)
	check(t, "UseAuditedAction", err, nil)
	if got.ID != a1.ID || e == nil || e.ID != a1.ID {
		t.Fatalf("UseAuditedAction = %v, %v; want action and entry %s", got, e, a1.ID)
	}

	// Success, no audit entry.
	c2 := newChallenge(u.OrgID, u.ID, "ch-2", exp)
	check(t, "CreateChallenge", s.CreateChallenge(ctx, c2), nil)
	a2 := newAction(u.OrgID, u.ID, "uj-2", now.Add(time.Hour))
	check(t, "CreateActionForChallenge(no entry)", s.CreateActionForChallenge(ctx, c2.ID, now, a2, nil), nil)
	_, err = s.Challenge(ctx, c2.ID, now)
	check(t, "Challenge(spent)", err, auth.ErrNotFound)
	got, err = s.UseAction(ctx, a2.TokenHash, now)
	check(t, "UseAction", err, nil)
	want := *a2
	want.UsedAt = &now
	diff(t, "UseAction", got, &want)

	// Refused, nothing inserted.
	consumed := newChallenge(u.OrgID, u.ID, "ch-consumed", exp)
	check(t, "CreateChallenge", s.CreateChallenge(ctx, consumed), nil)
	_, err = s.ConsumeChallenge(ctx, consumed.ID, now)
	check(t, "ConsumeChallenge", err, nil)
	check(t, "CreateChallenge(expired)", s.CreateChallenge(ctx, newChallenge(u.OrgID, u.ID, "ch-expired", now.Add(-time.Millisecond))), nil)
	check(t, "CreateChallenge(expires now)", s.CreateChallenge(ctx, newChallenge(u.OrgID, u.ID, "ch-now", now)), nil)
	for i, id := range []string{consumed.ID, "ch-expired", "ch-now", "ch-unknown", c1.ID} {
		for _, audited := range []bool{true, false} {
			a := newAction(u.OrgID, u.ID, fmt.Sprintf("uj-x%d-%v", i, audited), now.Add(time.Hour))
			p := pending(a)
			if !audited {
				p = nil
			}
			check(t, "CreateActionForChallenge("+id+")", s.CreateActionForChallenge(ctx, id, now, a, p), auth.ErrNotFound)
			_, err := s.UseAction(ctx, a.TokenHash, now)
			check(t, "UseAction(refused "+id+")", err, auth.ErrNotFound)
		}
	}
	// The expired challenges were left in place (Sweep's to remove), not
	// made valid.
	_, err = s.Challenge(ctx, "ch-expired", now)
	check(t, "Challenge(expired)", err, auth.ErrNotFound)

	// A failed insert leaves the challenge unspent (one transaction).
	c3 := newChallenge(u.OrgID, u.ID, "ch-3", exp)
	check(t, "CreateChallenge", s.CreateChallenge(ctx, c3), nil)
	dup := newAction(u.OrgID, u.ID, a1.ID, now.Add(time.Hour))
	dup.TokenHash = []byte("other")
	check(t, "CreateActionForChallenge(dup id)", s.CreateActionForChallenge(ctx, c3.ID, now, dup, pending(dup)), auth.ErrDuplicate)
	_, err = s.Challenge(ctx, c3.ID, now)
	check(t, "Challenge(after failed insert)", err, nil)
}

func testCreateActionForChallengeConcurrent(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	now := at(time.Hour)
	c := newChallenge(u.OrgID, u.ID, "ch-1", now.Add(time.Minute))
	check(t, "CreateChallenge", s.CreateChallenge(ctx, c), nil)
	const callers = 50
	acts := make([]*auth.Action, callers)
	for i := range acts {
		acts[i] = newAction(u.OrgID, u.ID, fmt.Sprintf("uj-%02d", i), now.Add(time.Hour))
	}
	errs := concurrently(callers, func(i int) error {
		return s.CreateActionForChallenge(ctx, c.ID, now, acts[i], pending(acts[i]))
	})
	tally(t, errs, auth.ErrNotFound)
	inserted := 0
	for i, a := range acts {
		_, _, err := s.UseAuditedAction(ctx, a.TokenHash, "/x", now)
		switch {
		case err == nil:
			inserted++
			if errs[i] != nil {
				t.Errorf("action %s inserted by a call that failed: %v", a.ID, errs[i])
			}
		default:
			check(t, "UseAuditedAction "+a.ID, err, auth.ErrNotFound)
		}
	}
	if inserted != 1 {
		t.Errorf("%d actions inserted, want exactly 1", inserted)
	}
}

func testCreateAccessTokenForChallenge(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	now := at(time.Hour)
	exp := now.Add(time.Minute)

	c := newChallenge(u.OrgID, u.ID, "ch-1", exp)
	c.Purpose = auth.PurposeLogin
	check(t, "CreateChallenge", s.CreateChallenge(ctx, c), nil)
	tok := newToken(u.OrgID, u.ID, "to-1", token.KindLogin, "cr-1")
	check(t, "CreateAccessTokenForChallenge", s.CreateAccessTokenForChallenge(ctx, c.ID, now, tok), nil)
	got, err := s.AccessToken(ctx, u.OrgID, tok.ID)
	check(t, "AccessToken", err, nil)
	diff(t, "AccessToken", got, tok)
	_, err = s.Challenge(ctx, c.ID, now)
	check(t, "Challenge(spent)", err, auth.ErrNotFound)
	_, err = s.ConsumeChallenge(ctx, c.ID, now)
	check(t, "ConsumeChallenge(spent)", err, auth.ErrNotFound)

	consumed := newChallenge(u.OrgID, u.ID, "ch-consumed", exp)
	check(t, "CreateChallenge", s.CreateChallenge(ctx, consumed), nil)
	_, err = s.ConsumeChallenge(ctx, consumed.ID, now)
	check(t, "ConsumeChallenge", err, nil)
	check(t, "CreateChallenge(expired)", s.CreateChallenge(ctx, newChallenge(u.OrgID, u.ID, "ch-expired", now.Add(-time.Millisecond))), nil)
	check(t, "CreateChallenge(expires now)", s.CreateChallenge(ctx, newChallenge(u.OrgID, u.ID, "ch-now", now)), nil)
	for i, id := range []string{consumed.ID, "ch-expired", "ch-now", "ch-unknown", c.ID} {
		x := newToken(u.OrgID, u.ID, fmt.Sprintf("to-x%d", i), token.KindLogin, "cr-1")
		check(t, "CreateAccessTokenForChallenge("+id+")", s.CreateAccessTokenForChallenge(ctx, id, now, x), auth.ErrNotFound)
		_, err := s.AccessToken(ctx, u.OrgID, x.ID)
		check(t, "AccessToken(refused "+id+")", err, auth.ErrNotFound)
	}

	// A failed insert leaves the challenge unspent (one transaction).
	c2 := newChallenge(u.OrgID, u.ID, "ch-2", exp)
	check(t, "CreateChallenge", s.CreateChallenge(ctx, c2), nil)
	dup := newToken(u.OrgID, u.ID, tok.ID, token.KindLogin, "cr-1")
	check(t, "CreateAccessTokenForChallenge(dup id)", s.CreateAccessTokenForChallenge(ctx, c2.ID, now, dup), auth.ErrDuplicate)
	_, err = s.Challenge(ctx, c2.ID, now)
	check(t, "Challenge(after failed insert)", err, nil)
}

func testCreateAccessTokenForChallengeConcurrent(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	now := at(time.Hour)
	c := newChallenge(u.OrgID, u.ID, "ch-1", now.Add(time.Minute))
	c.Purpose = auth.PurposeLogin
	check(t, "CreateChallenge", s.CreateChallenge(ctx, c), nil)
	const callers = 50
	toks := make([]*auth.AccessToken, callers)
	for i := range toks {
		toks[i] = newToken(u.OrgID, u.ID, fmt.Sprintf("to-%02d", i), token.KindLogin, "cr-1")
	}
	errs := concurrently(callers, func(i int) error {
		return s.CreateAccessTokenForChallenge(ctx, c.ID, now, toks[i])
	})
	tally(t, errs, auth.ErrNotFound)
	all, err := s.AccessTokens(ctx, u.OrgID, u.ID, token.KindLogin)
	check(t, "AccessTokens", err, nil)
	if len(all) != 1 {
		t.Fatalf("%d login tokens inserted, want exactly 1", len(all))
	}
	for i, x := range toks {
		if x.ID == all[0].ID && errs[i] != nil {
			t.Errorf("token %s inserted by a call that failed: %v", x.ID, errs[i])
		}
	}
}
