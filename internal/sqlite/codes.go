package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// Registration and recovery codes share one shape (migration 0008): a user
// may hold several, each with a count of wrong guesses. codeTable names
// which; it is always one of two constants, never input.
type codeTable string

const (
	registrationCodes codeTable = "registration_codes"
	recoveryCodes     codeTable = "recovery_codes"
)

// setCode replaces every code of the user with one.
func setCode(ctx context.Context, x execer, t codeTable, userID string, hash []byte, expires time.Time) error {
	if _, err := x.ExecContext(ctx, `DELETE FROM `+string(t)+` WHERE user_id = ?`, userID); err != nil {
		return err
	}
	_, err := x.ExecContext(ctx, `INSERT INTO `+string(t)+` (user_id, hash, expires_at) VALUES (?, ?, ?)`,
		userID, hash, millis(expires))
	return err
}

// addCode adds a code beside the user's live ones, dropping the expired;
// auth.ErrLimit when maxLive are live already.
func (s *Store) addCode(ctx context.Context, t codeTable, userID string, hash []byte, expires, now time.Time, maxLive int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+string(t)+` WHERE user_id = ? AND expires_at <= ?`, userID, millis(now)); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+string(t)+` WHERE user_id = ?`, userID).Scan(&n); err != nil {
			return err
		}
		if n >= maxLive {
			return auth.ErrLimit
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO `+string(t)+` (user_id, hash, expires_at) VALUES (?, ?, ?)`,
			userID, hash, millis(expires))
		return err
	})
}

// checkCode finds the user's code with this hash, spending nothing; when
// there is none it counts a wrong guess against each of the user's codes
// and deletes those that reached maxAttempts, in one transaction.
func (s *Store) checkCode(ctx context.Context, t codeTable, userID string, hash []byte, maxAttempts int) (expires time.Time, err error) {
	var ms int64
	err = s.read.QueryRowContext(ctx, `SELECT expires_at FROM `+string(t)+` WHERE user_id = ? AND hash = ?`, userID, hash).Scan(&ms)
	if err == nil {
		return fromMillis(ms), nil
	}
	if err != sql.ErrNoRows {
		return time.Time{}, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE `+string(t)+` SET attempts = attempts + 1 WHERE user_id = ?`, userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM `+string(t)+` WHERE user_id = ? AND attempts >= ?`, userID, maxAttempts)
		return err
	})
	if err != nil {
		return time.Time{}, err
	}
	return time.Time{}, auth.ErrNotFound
}

// AddRegistrationCode implements auth.UserStore.
func (s *Store) AddRegistrationCode(ctx context.Context, c auth.RegistrationCode, now time.Time, maxLive int) error {
	return wrap("add registration code", s.addCode(ctx, registrationCodes, c.UserID, c.Hash, c.ExpiresAt, now, maxLive))
}

// CheckRegistrationCode implements auth.UserStore.
func (s *Store) CheckRegistrationCode(ctx context.Context, userID string, hash []byte, maxAttempts int) (*auth.RegistrationCode, error) {
	exp, err := s.checkCode(ctx, registrationCodes, userID, hash, maxAttempts)
	if err != nil {
		return nil, wrap("check registration code", err)
	}
	return &auth.RegistrationCode{UserID: userID, Hash: hash, ExpiresAt: exp}, nil
}

// AddRecoveryCode implements auth.RecoveryStore.
func (s *Store) AddRecoveryCode(ctx context.Context, c auth.RecoveryCode, now time.Time, maxLive int) error {
	return wrap("add recovery code", s.addCode(ctx, recoveryCodes, c.UserID, c.Hash, c.ExpiresAt, now, maxLive))
}

// CheckRecoveryCode implements auth.RecoveryStore.
func (s *Store) CheckRecoveryCode(ctx context.Context, userID string, hash []byte, maxAttempts int) (*auth.RecoveryCode, error) {
	exp, err := s.checkCode(ctx, recoveryCodes, userID, hash, maxAttempts)
	if err != nil {
		return nil, wrap("check recovery code", err)
	}
	return &auth.RecoveryCode{UserID: userID, Hash: hash, ExpiresAt: exp}, nil
}
