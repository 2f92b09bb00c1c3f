package storetest

import (
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// What the suite pins for login codes and PasswordProtectedKey credentials
// (issue 14, migration 0012):
//   - AddLoginCode adds beside the live codes, drops the expired, refuses
//     past maxLive (ErrLimit) and for an unknown user (ErrNotFound);
//   - CheckLoginCode spends nothing; a wrong hash counts a guess against
//     every login code of the user and the guess that reaches maxAttempts
//     deletes them; other users and the other code kinds are untouched;
//   - ConsumeLoginCode spends exactly one code, once, even concurrently;
//   - a PasswordProtectedKey keeps its encryptedPrivateKey as given.

func testLoginCodes(t *testing.T, s auth.Store) {
	n := mustOrg(t, s, "a")
	u := n.User
	add := func(h string, exp, now time.Duration, maxLive int) error {
		return s.AddLoginCode(bg(), auth.LoginCode{UserID: u.ID, Hash: []byte(h), ExpiresAt: at(exp)}, at(now), maxLive)
	}
	checkCode := func(userID, h string, maxAttempts int) error {
		c, err := s.CheckLoginCode(bg(), userID, []byte(h), maxAttempts)
		if err == nil {
			inUTC(t, "ExpiresAt", c.ExpiresAt)
			if c.UserID != userID || string(c.Hash) != h {
				t.Errorf("CheckLoginCode = %+v", c)
			}
		}
		return err
	}
	check(t, "Add 1", add("l1", time.Hour, 0, 3), nil)
	check(t, "Add 2", add("l2", 2*time.Hour, 0, 3), nil)
	check(t, "Check 1", checkCode(u.ID, "l1", 10), nil)
	check(t, "Check 1 again: checking spends nothing", checkCode(u.ID, "l1", 10), nil)
	check(t, "Add 3", add("l3", time.Minute, 0, 3), nil)
	check(t, "Add past maxLive", add("l4", time.Hour, 0, 3), auth.ErrLimit)
	check(t, "Add after an expiry", add("l4", time.Hour, time.Minute, 3), nil)
	check(t, "Check expired and dropped", checkCode(u.ID, "l3", 10), auth.ErrNotFound)
	check(t, "Add for an unknown user", s.AddLoginCode(bg(), auth.LoginCode{UserID: "us-missing", Hash: []byte("x"), ExpiresAt: at(time.Hour)}, at(0), 3), auth.ErrNotFound)

	// A login code is not a recovery or registration code, nor the reverse.
	check(t, "Add recovery", s.AddRecoveryCode(bg(), auth.RecoveryCode{UserID: u.ID, Hash: []byte("rk"), ExpiresAt: at(time.Hour)}, at(0), 5), nil)
	check(t, "recovery code as a login code", checkCode(u.ID, "rk", 10), auth.ErrNotFound)
	_, err := s.CheckRecoveryCode(bg(), u.ID, []byte("l1"), 10)
	check(t, "login code as a recovery code", err, auth.ErrNotFound)

	// Consume spends one code, once.
	c, err := s.ConsumeLoginCode(bg(), u.ID, []byte("l1"))
	check(t, "Consume 1", err, nil)
	if c != nil {
		inUTC(t, "consumed ExpiresAt", c.ExpiresAt)
		if !c.ExpiresAt.Equal(at(time.Hour)) || c.UserID != u.ID {
			t.Errorf("Consume = %+v", c)
		}
	}
	_, err = s.ConsumeLoginCode(bg(), u.ID, []byte("l1"))
	check(t, "Consume 1 again", err, auth.ErrNotFound)
	_, err = s.ConsumeLoginCode(bg(), u.ID, []byte("wrong"))
	check(t, "Consume a wrong hash", err, auth.ErrNotFound)
	check(t, "Check 2 after consuming 1", checkCode(u.ID, "l2", 10), nil)
	errs := concurrently(8, func(int) error {
		_, err := s.ConsumeLoginCode(bg(), u.ID, []byte("l2"))
		return err
	})
	tally(t, errs, auth.ErrNotFound)
}

func testLoginCodesAttempts(t *testing.T, s auth.Store) {
	n := mustOrg(t, s, "a")
	u := n.User
	other := mustUser(t, s, u.OrgID, "us-other")
	for _, c := range []auth.LoginCode{{UserID: u.ID, Hash: []byte("good")}, {UserID: u.ID, Hash: []byte("good2")}, {UserID: other.ID, Hash: []byte("others")}} {
		c.ExpiresAt = at(time.Hour)
		check(t, "Add", s.AddLoginCode(bg(), c, at(0), 5), nil)
	}
	check(t, "Add recovery", s.AddRecoveryCode(bg(), auth.RecoveryCode{UserID: u.ID, Hash: []byte("rk"), ExpiresAt: at(time.Hour)}, at(0), 5), nil)
	for range 2 {
		_, err := s.CheckLoginCode(bg(), u.ID, []byte("wrong"), 3)
		check(t, "wrong guess", err, auth.ErrNotFound)
		_, err = s.CheckLoginCode(bg(), u.ID, []byte("good"), 3)
		check(t, "good code after a wrong guess", err, nil)
	}
	_, err := s.CheckLoginCode(bg(), u.ID, []byte("wrong"), 3)
	check(t, "third wrong guess", err, auth.ErrNotFound)
	for _, h := range []string{"good", "good2"} {
		_, err := s.CheckLoginCode(bg(), u.ID, []byte(h), 3)
		check(t, h+" after the bound", err, auth.ErrNotFound)
	}
	_, err = s.CheckLoginCode(bg(), "", []byte("wrong"), 3)
	check(t, "guess against no user", err, auth.ErrNotFound)
	_, err = s.CheckLoginCode(bg(), other.ID, []byte("others"), 3)
	check(t, "other user's code", err, nil)
	_, err = s.CheckRecoveryCode(bg(), u.ID, []byte("rk"), 3)
	check(t, "the user's recovery code", err, nil)
}

func testPasswordProtectedKey(t *testing.T, s auth.Store) {
	n := mustOrg(t, s, "a")
	u := n.User
	c := newCred(u.OrgID, u.ID, "", "cr-ppk")
	c.Kind, c.EncryptedPrivateKey = auth.KindPasswordProtectedKey, "v1.salt.iv.ciphertext"
	check(t, "CreateCredential", s.CreateCredential(bg(), c), nil)
	got, err := s.Credentials(bg(), u.OrgID, u.ID)
	check(t, "Credentials", err, nil)
	for _, g := range got {
		if g.UUID == c.UUID {
			if g.Kind != auth.KindPasswordProtectedKey || g.EncryptedPrivateKey != c.EncryptedPrivateKey {
				t.Errorf("stored PasswordProtectedKey = kind %q key %q", g.Kind, g.EncryptedPrivateKey)
			}
			return
		}
	}
	t.Errorf("PasswordProtectedKey %s not listed", c.UUID)
}
