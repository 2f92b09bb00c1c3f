package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// What the suite pins for credential codes spent only by success (issue
// 11, migration 0011):
//   - CheckCredentialCode finds a live code by hash and spends nothing; an
//     expired one (ExpiresAt <= now) is ErrNotFound;
//   - FailCredentialCode counts; the count that reaches maxAttempts
//     deletes the code; a code that is gone is no error;
//   - CreateCredentialForCode deletes the code, spends the challenge and
//     inserts the credential in one transaction: when the code is gone,
//     the challenge spent or the credential a duplicate, nothing changes;
//     of concurrent callers with one code exactly one succeeds;
//   - CreateCredentialCode keeps a code that expired less than
//     CredentialCodeGrace ago.
func testCredentialCodeSpentOnSuccess(t *testing.T, s auth.Store) {
	ctx := t.Context()
	a := mustOrg(t, s, "a")
	u := a.User
	mk := func(h string) *auth.CredentialCode {
		c := newCredentialCode(u.OrgID, u.ID, h, at(time.Minute))
		check(t, "CreateCredentialCode "+h, s.CreateCredentialCode(ctx, c), nil)
		return c
	}
	credentials := func() int {
		cs, err := s.Credentials(ctx, u.OrgID, u.ID)
		check(t, "Credentials", err, nil)
		return len(cs)
	}
	c := mk("cc-check")

	// Checking spends nothing.
	for range 3 {
		got, err := s.CheckCredentialCode(ctx, c.Hash, at(time.Second))
		check(t, "CheckCredentialCode", err, nil)
		diff(t, "CheckCredentialCode", got, c)
	}
	_, err := s.CheckCredentialCode(ctx, []byte("cc-unknown"), at(time.Second))
	check(t, "CheckCredentialCode(unknown)", err, auth.ErrNotFound)
	_, err = s.CheckCredentialCode(ctx, c.Hash, at(time.Minute))
	check(t, "CheckCredentialCode(expired)", err, auth.ErrNotFound)

	// Failures count; the maxAttempts-th deletes it.
	const max = 3
	for i := range max - 1 {
		check(t, "FailCredentialCode", s.FailCredentialCode(ctx, c.Hash, max), nil)
		if _, err := s.CheckCredentialCode(ctx, c.Hash, at(time.Second)); err != nil {
			t.Fatalf("after %d failures: %v", i+1, err)
		}
	}
	check(t, "FailCredentialCode(last)", s.FailCredentialCode(ctx, c.Hash, max), nil)
	_, err = s.CheckCredentialCode(ctx, c.Hash, at(time.Second))
	check(t, "CheckCredentialCode(after max failures)", err, auth.ErrNotFound)
	check(t, "FailCredentialCode(gone)", s.FailCredentialCode(ctx, c.Hash, max), nil)
	before := credentials()
	check(t, "CreateCredentialForCode(spent by failures)",
		s.CreateCredentialForCode(ctx, c.Hash, "ch-cc-0", at(time.Hour), newCred(u.OrgID, u.ID, "", "cr-cc-0")), auth.ErrNotFound)

	// Success spends code and challenge and adds the credential.
	ok := mk("cc-ok")
	check(t, "CreateCredentialForCode",
		s.CreateCredentialForCode(ctx, ok.Hash, "ch-cc-1", at(time.Hour), newCred(u.OrgID, u.ID, "", "cr-cc-1")), nil)
	if n := credentials(); n != before+1 {
		t.Errorf("credentials after success: %d, want %d", n, before+1)
	}
	_, err = s.CheckCredentialCode(ctx, ok.Hash, at(time.Second))
	check(t, "CheckCredentialCode(after success)", err, auth.ErrNotFound)
	if spent, err := s.ChallengeSpent(ctx, "ch-cc-1"); err != nil || !spent {
		t.Errorf("challenge after success: spent %v, %v", spent, err)
	}

	// Each failure leaves the code, the challenge and the credentials as
	// they were.
	for _, tt := range []struct {
		name      string
		challenge string
		cred      *auth.Credential
		want      error
	}{
		{"challenge spent before", "ch-cc-1", newCred(u.OrgID, u.ID, "", "cr-cc-2"), auth.ErrUsed},
		{"duplicate credId", "ch-cc-3", func() *auth.Credential {
			c := newCred(u.OrgID, u.ID, "", "cr-cc-3")
			c.CredID = "cid-cr-cc-1"
			return c
		}(), auth.ErrDuplicate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code := mk("cc-" + tt.name)
			n := credentials()
			check(t, "CreateCredentialForCode", s.CreateCredentialForCode(ctx, code.Hash, tt.challenge, at(time.Hour), tt.cred), tt.want)
			if _, err := s.CheckCredentialCode(ctx, code.Hash, at(time.Second)); err != nil {
				t.Errorf("code after a refused CreateCredentialForCode: %v", err)
			}
			if got := credentials(); got != n {
				t.Errorf("credentials: %d, want %d", got, n)
			}
			if tt.want != auth.ErrUsed {
				if spent, _ := s.ChallengeSpent(ctx, tt.challenge); spent {
					t.Error("challenge spent by a refused CreateCredentialForCode")
				}
			}
		})
	}

	// Concurrent answers with one code: exactly one adds a credential.
	race := mk("cc-race")
	tally(t, concurrently(8, func(i int) error {
		err := s.CreateCredentialForCode(ctx, race.Hash, "ch-race-"+string(rune('a'+i)), at(time.Hour),
			newCred(u.OrgID, u.ID, "", "cr-race-"+string(rune('a'+i))))
		if errors.Is(err, auth.ErrNotFound) {
			return auth.ErrNotFound
		}
		return err
	}), auth.ErrNotFound)

	// An expired code within the grace survives another code's creation
	// and may still be spent.
	late := mk("cc-late")
	next := newCredentialCode(u.OrgID, u.ID, "cc-next", at(time.Minute+auth.CredentialCodeGrace))
	next.CreatedAt = at(time.Minute + auth.CredentialCodeGrace - time.Second)
	check(t, "CreateCredentialCode(later)", s.CreateCredentialCode(ctx, next), nil)
	check(t, "CreateCredentialForCode(expired, within grace)",
		s.CreateCredentialForCode(ctx, late.Hash, "ch-cc-late", at(time.Hour), newCred(u.OrgID, u.ID, "", "cr-cc-late")), nil)

	// The context reaches the driver.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	live := mk("cc-ctx")
	_, err = s.CheckCredentialCode(cctx, live.Hash, at(time.Second))
	check(t, "CheckCredentialCode(canceled)", err, context.Canceled)
	check(t, "FailCredentialCode(canceled)", s.FailCredentialCode(cctx, live.Hash, 1), context.Canceled)
	check(t, "CreateCredentialForCode(canceled)",
		s.CreateCredentialForCode(cctx, live.Hash, "ch-ctx", at(time.Hour), newCred(u.OrgID, u.ID, "", "cr-ctx")), context.Canceled)
	if _, err := s.CheckCredentialCode(ctx, live.Hash, at(time.Second)); err != nil {
		t.Errorf("code after canceled calls: %v", err)
	}
}
