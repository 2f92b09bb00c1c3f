package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// What the suite pins for registration and recovery codes that nobody else
// can void (issue 11, migration 0008):
//   - AddXCode adds a code beside the live ones (which stay valid), drops
//     the expired, and refuses with ErrLimit past maxLive; ErrNotFound for
//     an unknown user;
//   - CheckXCode returns a code without spending it; a wrong hash counts a
//     guess against every code of the user, and the guess that reaches
//     maxAttempts deletes them; another user's codes are untouched;
//   - a successful RegisterUser spends the registration codes, a successful
//     RecoverUser the recovery codes; SetXCode still replaces them all.

// codeOps is the registration or the recovery flavour of the code methods.
type codeOps struct {
	name  string
	set   func(s auth.Store, userID string, hash []byte, exp time.Time) error
	add   func(s auth.Store, userID string, hash []byte, exp, now time.Time, maxLive int) error
	check func(s auth.Store, userID string, hash []byte, maxAttempts int) (time.Time, error)
}

var codeFlavours = []codeOps{
	{
		name: "registration",
		set: func(s auth.Store, userID string, hash []byte, exp time.Time) error {
			return s.SetRegistrationCode(bg(), auth.RegistrationCode{UserID: userID, Hash: hash, ExpiresAt: exp})
		},
		add: func(s auth.Store, userID string, hash []byte, exp, now time.Time, maxLive int) error {
			return s.AddRegistrationCode(bg(), auth.RegistrationCode{UserID: userID, Hash: hash, ExpiresAt: exp}, now, maxLive)
		},
		check: func(s auth.Store, userID string, hash []byte, maxAttempts int) (time.Time, error) {
			c, err := s.CheckRegistrationCode(bg(), userID, hash, maxAttempts)
			if err != nil {
				return time.Time{}, err
			}
			return c.ExpiresAt, nil
		},
	},
	{
		name: "recovery",
		set: func(s auth.Store, userID string, hash []byte, exp time.Time) error {
			return s.SetRecoveryCode(bg(), auth.RecoveryCode{UserID: userID, Hash: hash, ExpiresAt: exp})
		},
		add: func(s auth.Store, userID string, hash []byte, exp, now time.Time, maxLive int) error {
			return s.AddRecoveryCode(bg(), auth.RecoveryCode{UserID: userID, Hash: hash, ExpiresAt: exp}, now, maxLive)
		},
		check: func(s auth.Store, userID string, hash []byte, maxAttempts int) (time.Time, error) {
			c, err := s.CheckRecoveryCode(bg(), userID, hash, maxAttempts)
			if err != nil {
				return time.Time{}, err
			}
			return c.ExpiresAt, nil
		},
	},
}

func testCodesAdd(t *testing.T, s auth.Store) {
	n := mustOrg(t, s, "a")
	u := n.User
	for _, f := range codeFlavours {
		t.Run(f.name, func(t *testing.T) {
			check(t, "Set", f.set(s, u.ID, []byte(f.name+"-1"), at(time.Hour)), nil)
			check(t, "Add", f.add(s, u.ID, []byte(f.name+"-2"), at(2*time.Hour), at(0), 3), nil)
			for _, h := range []string{"-1", "-2"} {
				exp, err := f.check(s, u.ID, []byte(f.name+h), 10)
				check(t, "Check "+h+" after Add", err, nil)
				inUTC(t, "ExpiresAt", exp)
			}
			// Checking spends nothing.
			_, err := f.check(s, u.ID, []byte(f.name+"-1"), 10)
			check(t, "Check again", err, nil)
			check(t, "Add 3", f.add(s, u.ID, []byte(f.name+"-3"), at(time.Minute), at(0), 3), nil)
			check(t, "Add past maxLive", f.add(s, u.ID, []byte(f.name+"-4"), at(time.Hour), at(0), 3), auth.ErrLimit)
			// Once code 3 has expired, it makes room.
			check(t, "Add after an expiry", f.add(s, u.ID, []byte(f.name+"-4"), at(time.Hour), at(time.Minute), 3), nil)
			_, err = f.check(s, u.ID, []byte(f.name+"-3"), 10)
			check(t, "Check expired and dropped", err, auth.ErrNotFound)
			check(t, "Add for an unknown user", f.add(s, "us-missing", []byte("x"), at(time.Hour), at(0), 3), auth.ErrNotFound)
			// Set replaces every code.
			check(t, "Set", f.set(s, u.ID, []byte(f.name+"-5"), at(time.Hour)), nil)
			for _, h := range []string{"-1", "-2", "-4"} {
				_, err := f.check(s, u.ID, []byte(f.name+h), 10)
				check(t, "Check "+h+" after Set", err, auth.ErrNotFound)
			}
		})
	}
}

func testCodesAttempts(t *testing.T, s auth.Store) {
	n := mustOrg(t, s, "a")
	u := n.User
	other := mustUser(t, s, u.OrgID, "us-other")
	for _, f := range codeFlavours {
		t.Run(f.name, func(t *testing.T) {
			check(t, "Set", f.set(s, u.ID, []byte("good"), at(time.Hour)), nil)
			check(t, "Add", f.add(s, u.ID, []byte("good2"), at(time.Hour), at(0), 5), nil)
			check(t, "Set other", f.set(s, other.ID, []byte("others"), at(time.Hour)), nil)
			for i := range 2 {
				_, err := f.check(s, u.ID, []byte("wrong"), 3)
				check(t, "wrong guess", err, auth.ErrNotFound)
				_, err = f.check(s, u.ID, []byte("good"), 3)
				check(t, "good code after a wrong guess", err, nil)
				_ = i
			}
			// The third wrong guess reaches the bound: every code is spent.
			_, err := f.check(s, u.ID, []byte("wrong"), 3)
			check(t, "third wrong guess", err, auth.ErrNotFound)
			for _, h := range []string{"good", "good2"} {
				_, err := f.check(s, u.ID, []byte(h), 3)
				check(t, h+" after the bound", err, auth.ErrNotFound)
			}
			// Guesses against no user, or another user, count nothing here.
			_, err = f.check(s, "", []byte("wrong"), 3)
			check(t, "guess against no user", err, auth.ErrNotFound)
			_, err = f.check(s, other.ID, []byte("others"), 3)
			check(t, "other user's code", err, nil)
		})
	}
}

func testCodesSpentBySuccess(t *testing.T, s auth.Store) {
	n := mustOrg(t, s, "a")
	u := n.User
	check(t, "Add registration", s.AddRegistrationCode(bg(), auth.RegistrationCode{UserID: u.ID, Hash: []byte("r2"), ExpiresAt: at(time.Hour)}, at(0), 5), nil)
	check(t, "Add recovery", s.AddRecoveryCode(bg(), auth.RecoveryCode{UserID: u.ID, Hash: []byte("k1"), ExpiresAt: at(time.Hour)}, at(0), 5), nil)
	check(t, "RegisterUser", s.RegisterUser(bg(), u.ID, []*auth.Credential{newCred(u.OrgID, u.ID, "", "cr-1")}), nil)
	for _, h := range [][]byte{n.Code.Hash, []byte("r2")} {
		_, err := s.CheckRegistrationCode(bg(), u.ID, h, 10)
		check(t, "registration code after RegisterUser", err, auth.ErrNotFound)
	}
	_, err := s.CheckRecoveryCode(bg(), u.ID, []byte("k1"), 10)
	check(t, "recovery code after RegisterUser", err, nil)
	check(t, "RecoverUser", s.RecoverUser(bg(), u.OrgID, u.ID, []*auth.Credential{newCred(u.OrgID, u.ID, "", "cr-2")}), nil)
	_, err = s.CheckRecoveryCode(bg(), u.ID, []byte("k1"), 10)
	check(t, "recovery code after RecoverUser", err, auth.ErrNotFound)
}

func bg() context.Context { return context.Background() }
