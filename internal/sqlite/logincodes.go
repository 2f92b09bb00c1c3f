package sqlite

import (
	"context"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// loginCodes holds the codes of /auth/login/code (migration 0012), in the
// shape of registration and recovery codes (codes.go).
const loginCodes codeTable = "login_codes"

// AddLoginCode implements auth.LoginCodeStore.
func (s *Store) AddLoginCode(ctx context.Context, c auth.LoginCode, now time.Time, maxLive int) error {
	return wrap("add login code", s.addCode(ctx, loginCodes, c.UserID, c.Hash, c.ExpiresAt, now, maxLive))
}

// CheckLoginCode implements auth.LoginCodeStore.
func (s *Store) CheckLoginCode(ctx context.Context, userID string, hash []byte, maxAttempts int) (*auth.LoginCode, error) {
	exp, err := s.checkCode(ctx, loginCodes, userID, hash, maxAttempts)
	if err != nil {
		return nil, wrap("check login code", err)
	}
	return &auth.LoginCode{UserID: userID, Hash: hash, ExpiresAt: exp}, nil
}

// ConsumeLoginCode deletes and returns the user's login code with this
// hash in one DELETE … RETURNING: of two concurrent calls only one gets it.
func (s *Store) ConsumeLoginCode(ctx context.Context, userID string, hash []byte) (*auth.LoginCode, error) {
	var c auth.LoginCode
	var expires int64
	rows, err := s.write.QueryContext(ctx, `DELETE FROM login_codes WHERE user_id = ? AND hash = ?
		RETURNING user_id, hash, expires_at`, userID, hash)
	err = one(rows, err, func(sc scanner) error { return sc.Scan(&c.UserID, &c.Hash, &expires) })
	if err != nil {
		return nil, wrap("consume login code", err)
	}
	c.ExpiresAt = fromMillis(expires)
	return &c, nil
}
