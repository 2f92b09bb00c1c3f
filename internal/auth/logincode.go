package auth

import (
	"context"
	"errors"
	"time"
)

// Login codes (spec 5.1, POST /auth/login/code) unlock PasswordProtectedKey
// credentials: /auth/login/init is unauthenticated, and with a valid
// loginCode it hands out the user's encrypted private keys, so only the
// holder of a code mailed to the user may read them (spec 3.1). They follow
// the rules of recovery codes (issue 11): 100 bits, stored as a hash, an
// unauthenticated resend never voids the outstanding code, wrong guesses
// are bounded (MaxCodeAttempts), refused for everyone without a Delivery,
// and a code is spent only by its successful use: the login/init that hands
// out the keys. A login code lives as long as a recovery code
// (RecoveryCodeTTL, 15 minutes by default): both open an existing account.

// LoginCode is a one-time code that unlocks a user's PasswordProtectedKey
// credentials at /auth/login/init; only its hash is stored.
type LoginCode struct {
	UserID    string
	Hash      []byte
	ExpiresAt time.Time
}

// LoginCodeStore persists login codes.
type LoginCodeStore interface {
	// AddLoginCode adds c beside the user's other login codes, as
	// AddRegistrationCode does: ErrLimit when maxLive are live already,
	// ErrNotFound when the user does not exist.
	AddLoginCode(ctx context.Context, c LoginCode, now time.Time, maxLive int) error
	// CheckLoginCode returns the user's login code with this hash without
	// spending it, or counts a wrong guess against every login code of the
	// user (deleting those that reached maxAttempts) and returns
	// ErrNotFound, as CheckRegistrationCode does.
	CheckLoginCode(ctx context.Context, userID string, hash []byte, maxAttempts int) (*LoginCode, error)
	// ConsumeLoginCode atomically removes and returns the user's login
	// code with this hash: of concurrent calls one gets it, the others
	// ErrNotFound. The expiry is the caller's to check.
	ConsumeLoginCode(ctx context.Context, userID string, hash []byte) (*LoginCode, error)
}

// SendLoginCode mails a login code to a registered, active user (POST
// /auth/login/code). Like SendRecoveryCode: anyone may ask, so the new code
// is added beside any outstanding one (at most maxLiveCodes live at once);
// without a Delivery it is refused for every user alike; and it answers the
// same, after the same work, whether or not the user exists, the code being
// stored and mailed in the background.
func (s *Service) SendLoginCode(ctx context.Context, orgID, username string) error {
	return s.mailCode(ctx, orgID, username, mailedCode{
		kind: "login code",
		add: func(ctx context.Context, userID string, h []byte, expires time.Time) error {
			return s.store.AddLoginCode(ctx, LoginCode{UserID: userID, Hash: h, ExpiresAt: expires}, s.clock(), maxLiveCodes)
		},
		send: func(ctx context.Context, org *Org, u *User, code string) error {
			return s.cfg.Delivery.SendLoginCode(ctx, org, u, code)
		},
	})
}

// spendLoginCode checks and spends u's login code. u is nil when the user
// does not exist or cannot log in: the same store call a wrong code costs
// is made against no user, so that the refusal does the same work. Every
// refusal is the same 401.
func (s *Service) spendLoginCode(ctx context.Context, orgID string, u *User, code string) error {
	if err := validID("loginCode", code); err != nil {
		return err
	}
	codeHash := hash(normalizeCode(code))
	if u == nil {
		if _, err := s.store.CheckLoginCode(ctx, "", codeHash, MaxCodeAttempts); err != nil && !errors.Is(err, ErrNotFound) {
			return internalErr(err)
		}
		s.log.InfoContext(ctx, "login code refused", "org", orgID, "reason", "no such user, or it cannot log in")
		return errUnauthenticated(errors.New("no user for the login code"))
	}
	lc, err := s.store.CheckLoginCode(ctx, u.ID, codeHash, MaxCodeAttempts)
	if errors.Is(err, ErrNotFound) {
		s.log.InfoContext(ctx, "login code refused", "org", u.OrgID, "user", u.ID, "reason", "wrong login code")
		return errUnauthenticated(err)
	}
	if err != nil {
		return internalErr(err)
	}
	if !s.clock().Before(lc.ExpiresAt) {
		return errUnauthenticated(errors.New("login code expired"))
	}
	// Spent here, by the answer that hands out the encrypted keys: of two
	// concurrent uses one gets them.
	if _, err := s.store.ConsumeLoginCode(ctx, u.ID, codeHash); errors.Is(err, ErrNotFound) {
		return errUnauthenticated(errors.New("login code spent concurrently"))
	} else if err != nil {
		return internalErr(err)
	}
	return nil
}
