package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// Challenges are sealed by the domain, not stored (internal/auth/seal.go).
// What the store owns is single use: the record that a challenge was spent,
// written on its own (SpendChallenge, a refused answer) or in the same
// commit as what an accepted answer creates (login session, action with its
// pending audit entry), spec 12.4.

func testSpendChallenge(t *testing.T, s auth.Store) {
	ctx := t.Context()
	exp := at(time.Hour)
	spent, err := s.ChallengeSpent(ctx, "ch-1")
	if check(t, "ChallengeSpent(unspent)", err, nil); spent {
		t.Errorf("ChallengeSpent(unspent) = true")
	}
	check(t, "SpendChallenge", s.SpendChallenge(ctx, "ch-1", exp), nil)
	spent, err = s.ChallengeSpent(ctx, "ch-1")
	if check(t, "ChallengeSpent(spent)", err, nil); !spent {
		t.Errorf("ChallengeSpent(spent) = false")
	}
	check(t, "SpendChallenge(again)", s.SpendChallenge(ctx, "ch-1", exp), auth.ErrUsed)
	check(t, "SpendChallenge(again, other expiry)", s.SpendChallenge(ctx, "ch-1", exp.Add(time.Hour)), auth.ErrUsed)
	check(t, "SpendChallenge(other id)", s.SpendChallenge(ctx, "ch-2", exp), nil)
	// Ids are compared byte for byte.
	check(t, "SpendChallenge(other case)", s.SpendChallenge(ctx, "CH-1", exp), nil)

	// Spent on its own, it cannot be spent with what an answer creates,
	// and the reverse.
	n := mustOrg(t, s, "a")
	u := n.User
	a := newAction(u.OrgID, u.ID, "uj-1", at(2*time.Hour))
	check(t, "CreateActionForChallenge(spent)", s.CreateActionForChallenge(ctx, "ch-1", exp, a, pending(a)), auth.ErrUsed)
	tok := newToken(u.OrgID, u.ID, "to-1", token.KindLogin, "cr-1")
	check(t, "CreateAccessTokenForChallenge(spent)", s.CreateAccessTokenForChallenge(ctx, "ch-2", exp, tok), auth.ErrUsed)
	check(t, "CreateAccessTokenForChallenge", s.CreateAccessTokenForChallenge(ctx, "ch-3", exp, tok), nil)
	check(t, "SpendChallenge(spent with a token)", s.SpendChallenge(ctx, "ch-3", exp), auth.ErrUsed)
	check(t, "CreateActionForChallenge", s.CreateActionForChallenge(ctx, "ch-4", exp, a, pending(a)), nil)
	check(t, "SpendChallenge(spent with an action)", s.SpendChallenge(ctx, "ch-4", exp), auth.ErrUsed)
	for _, id := range []string{"ch-3", "ch-4"} {
		spent, err := s.ChallengeSpent(ctx, id)
		if check(t, "ChallengeSpent("+id+")", err, nil); !spent {
			t.Errorf("ChallengeSpent(%s) = false after the write that spent it", id)
		}
	}
	// A failed write spends nothing.
	dup := newToken(u.OrgID, u.ID, "to-1", token.KindLogin, "cr-1")
	check(t, "CreateAccessTokenForChallenge(dup)", s.CreateAccessTokenForChallenge(ctx, "ch-5", exp, dup), auth.ErrDuplicate)
	spent, err = s.ChallengeSpent(ctx, "ch-5")
	if check(t, "ChallengeSpent(ch-5)", err, nil); spent {
		t.Errorf("ChallengeSpent after a failed write = true")
	}
}

func testSpendChallengeConcurrent(t *testing.T, s auth.Store) {
	ctx := t.Context()
	errs := concurrently(50, func(int) error { return s.SpendChallenge(ctx, "ch-1", at(time.Hour)) })
	tally(t, errs, auth.ErrUsed)
}

// testAnswersConcurrent: one challenge answered concurrently by every kind
// of write that spends it; exactly one of them does, and only its effect
// is there.
func testAnswersConcurrent(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	const callers = 48
	exp := at(time.Hour)
	acts := make([]*auth.Action, callers)
	toks := make([]*auth.AccessToken, callers)
	for i := range callers {
		acts[i] = newAction(u.OrgID, u.ID, fmt.Sprintf("uj-%02d", i), at(2*time.Hour))
		toks[i] = newToken(u.OrgID, u.ID, fmt.Sprintf("to-%02d", i), token.KindLogin, "cr-1")
	}
	errs := concurrently(callers, func(i int) error {
		switch i % 3 {
		case 0:
			return s.CreateActionForChallenge(ctx, "ch-1", exp, acts[i], pending(acts[i]))
		case 1:
			return s.CreateAccessTokenForChallenge(ctx, "ch-1", exp, toks[i])
		default:
			return s.SpendChallenge(ctx, "ch-1", exp)
		}
	})
	tally(t, errs, auth.ErrUsed)
	effects := 0
	for i := range callers {
		_, err := s.UseAction(ctx, acts[i].TokenHash, at(0))
		if err == nil {
			effects++
		}
		if err == nil && (i%3 != 0 || errs[i] != nil) {
			t.Errorf("action %s there, its call: %v", acts[i].ID, errs[i])
		}
		_, err = s.Principal(ctx, u.OrgID, toks[i].ID)
		if err == nil {
			effects++
		}
		if err == nil && (i%3 != 1 || errs[i] != nil) {
			t.Errorf("token %s there, its call: %v", toks[i].ID, errs[i])
		}
	}
	winner := -1
	for i, err := range errs {
		if err == nil {
			winner = i
		}
	}
	if want := map[bool]int{true: 0, false: 1}[winner%3 == 2]; effects != want {
		t.Errorf("%d effects of the answers, want %d (winner: call %d)", effects, want, winner)
	}
}

func testCreateActionForChallenge(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	now := at(time.Hour)
	exp := now.Add(time.Minute)

	// Success, audited: the challenge is spent, the action and its pending
	// entry are there (the audited use finds the entry).
	a1 := newAction(u.OrgID, u.ID, "uj-1", now.Add(time.Hour))
	check(t, "CreateActionForChallenge", s.CreateActionForChallenge(ctx, "ch-1", exp, a1, pending(a1)), nil)
	check(t, "SpendChallenge(spent)", s.SpendChallenge(ctx, "ch-1", exp), auth.ErrUsed)
	got, e, err := s.UseAuditedAction(ctx, a1.TokenHash, "/x", now)
	check(t, "UseAuditedAction", err, nil)
	if got.ID != a1.ID || e == nil || e.ID != a1.ID {
		t.Fatalf("UseAuditedAction = %v, %v; want action and entry %s", got, e, a1.ID)
	}

	// Success, no audit entry.
	a2 := newAction(u.OrgID, u.ID, "uj-2", now.Add(time.Hour))
	check(t, "CreateActionForChallenge(no entry)", s.CreateActionForChallenge(ctx, "ch-2", exp, a2, nil), nil)
	check(t, "SpendChallenge(spent)", s.SpendChallenge(ctx, "ch-2", exp), auth.ErrUsed)
	got, err = s.UseAction(ctx, a2.TokenHash, now)
	check(t, "UseAction", err, nil)
	want := *a2
	want.UsedAt = &now
	diff(t, "UseAction", got, &want)

	// Refused, nothing inserted: spent by a refused answer, by an accepted
	// one (audited or not).
	check(t, "SpendChallenge", s.SpendChallenge(ctx, "ch-burnt", exp), nil)
	for i, id := range []string{"ch-burnt", "ch-1", "ch-2"} {
		for _, audited := range []bool{true, false} {
			a := newAction(u.OrgID, u.ID, fmt.Sprintf("uj-x%d-%v", i, audited), now.Add(time.Hour))
			p := pending(a)
			if !audited {
				p = nil
			}
			check(t, "CreateActionForChallenge("+id+")", s.CreateActionForChallenge(ctx, id, exp, a, p), auth.ErrUsed)
			_, err := s.UseAction(ctx, a.TokenHash, now)
			check(t, "UseAction(refused "+id+")", err, auth.ErrNotFound)
		}
	}

	// A failed insert leaves the challenge unspent (one transaction).
	dup := newAction(u.OrgID, u.ID, a1.ID, now.Add(time.Hour))
	dup.TokenHash = []byte("other")
	check(t, "CreateActionForChallenge(dup id)", s.CreateActionForChallenge(ctx, "ch-3", exp, dup, pending(dup)), auth.ErrDuplicate)
	check(t, "SpendChallenge(after failed insert)", s.SpendChallenge(ctx, "ch-3", exp), nil)
	stranger := newAction(u.OrgID, "us-missing", "uj-4", now.Add(time.Hour))
	check(t, "CreateActionForChallenge(unknown user)", s.CreateActionForChallenge(ctx, "ch-4", exp, stranger, nil), auth.ErrNotFound)
	check(t, "SpendChallenge(after failed insert, unknown user)", s.SpendChallenge(ctx, "ch-4", exp), nil)
}

func testCreateActionForChallengeConcurrent(t *testing.T, s auth.Store) {
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
		return s.CreateActionForChallenge(ctx, "ch-1", now.Add(time.Minute), acts[i], pending(acts[i]))
	})
	tally(t, errs, auth.ErrUsed)
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
	exp := at(time.Hour)

	tok := newToken(u.OrgID, u.ID, "to-1", token.KindLogin, "cr-1")
	check(t, "CreateAccessTokenForChallenge", s.CreateAccessTokenForChallenge(ctx, "ch-1", exp, tok), nil)
	got, err := s.AccessToken(ctx, u.OrgID, tok.ID)
	check(t, "AccessToken", err, nil)
	diff(t, "AccessToken", got, tok)
	check(t, "SpendChallenge(spent)", s.SpendChallenge(ctx, "ch-1", exp), auth.ErrUsed)

	check(t, "SpendChallenge", s.SpendChallenge(ctx, "ch-burnt", exp), nil)
	for i, id := range []string{"ch-burnt", "ch-1"} {
		x := newToken(u.OrgID, u.ID, fmt.Sprintf("to-x%d", i), token.KindLogin, "cr-1")
		check(t, "CreateAccessTokenForChallenge("+id+")", s.CreateAccessTokenForChallenge(ctx, id, exp, x), auth.ErrUsed)
		_, err := s.AccessToken(ctx, u.OrgID, x.ID)
		check(t, "AccessToken(refused "+id+")", err, auth.ErrNotFound)
	}

	// A failed insert leaves the challenge unspent (one transaction).
	dup := newToken(u.OrgID, u.ID, tok.ID, token.KindLogin, "cr-1")
	check(t, "CreateAccessTokenForChallenge(dup id)", s.CreateAccessTokenForChallenge(ctx, "ch-2", exp, dup), auth.ErrDuplicate)
	check(t, "SpendChallenge(after failed insert)", s.SpendChallenge(ctx, "ch-2", exp), nil)
	stranger := newToken(u.OrgID, "us-missing", "to-3", token.KindLogin, "cr-1")
	check(t, "CreateAccessTokenForChallenge(unknown user)", s.CreateAccessTokenForChallenge(ctx, "ch-3", exp, stranger), auth.ErrNotFound)
	check(t, "SpendChallenge(after failed insert, unknown user)", s.SpendChallenge(ctx, "ch-3", exp), nil)
}

func testCreateAccessTokenForChallengeConcurrent(t *testing.T, s auth.Store) {
	ctx := t.Context()
	n := mustOrg(t, s, "a")
	u := n.User
	const callers = 50
	toks := make([]*auth.AccessToken, callers)
	for i := range toks {
		toks[i] = newToken(u.OrgID, u.ID, fmt.Sprintf("to-%02d", i), token.KindLogin, "cr-1")
	}
	errs := concurrently(callers, func(i int) error {
		return s.CreateAccessTokenForChallenge(ctx, "ch-1", at(time.Hour), toks[i])
	})
	tally(t, errs, auth.ErrUsed)
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
