package postgres

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
	return codeErr("add login code", s.addCode(ctx, loginCodes, c.UserID, c.Hash, c.ExpiresAt, now, maxLive))
}

// CheckLoginCode implements auth.LoginCodeStore.
func (s *Store) CheckLoginCode(ctx context.Context, userID string, hash []byte, maxAttempts int) (*auth.LoginCode, error) {
	exp, err := s.checkCode(ctx, loginCodes, userID, hash, maxAttempts)
	if err != nil {
		return nil, codeErr("check login code", err)
	}
	return &auth.LoginCode{UserID: userID, Hash: hash, ExpiresAt: exp}, nil
}

// ConsumeLoginCode removes and returns the user's login code with this
// hash in one statement: of two concurrent calls only one gets it.
func (s *Store) ConsumeLoginCode(ctx context.Context, userID string, hash []byte) (*auth.LoginCode, error) {
	var c auth.LoginCode
	err := s.pool.QueryRow(ctx, `DELETE FROM login_codes WHERE user_id = $1 AND hash = $2
		RETURNING user_id, hash, expires_at`, userID, hash).
		Scan(&c.UserID, &c.Hash, &c.ExpiresAt)
	if err != nil {
		return nil, dbErr("consume login code", err)
	}
	c.ExpiresAt = utc(c.ExpiresAt)
	return &c, nil
}
