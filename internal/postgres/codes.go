package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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

// setCode replaces every code of the user with one; x must be a
// transaction.
func setCode(ctx context.Context, x execer, t codeTable, userID string, hash []byte, expires time.Time) error {
	if _, err := x.Exec(ctx, `DELETE FROM `+string(t)+` WHERE user_id = $1`, userID); err != nil {
		return err
	}
	_, err := x.Exec(ctx, `INSERT INTO `+string(t)+` (user_id, hash, expires_at) VALUES ($1, $2, $3)`, userID, hash, expires)
	return err
}

// addCode adds a code beside the user's live ones, dropping the expired;
// auth.ErrLimit when maxLive are live already. The user's row is locked so
// that concurrent adds count each other.
func (s *Store) addCode(ctx context.Context, t codeTable, userID string, hash []byte, expires, now time.Time, maxLive int) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id string
		if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&id); err != nil {
			return err // pgx.ErrNoRows: no such user
		}
		if _, err := tx.Exec(ctx, `DELETE FROM `+string(t)+` WHERE user_id = $1 AND expires_at <= $2`, userID, now); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+string(t)+` WHERE user_id = $1`, userID).Scan(&n); err != nil {
			return err
		}
		if n >= maxLive {
			return auth.ErrLimit
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+string(t)+` (user_id, hash, expires_at) VALUES ($1, $2, $3)`, userID, hash, expires)
		return err
	})
}

// checkCode finds the user's code with this hash, spending nothing; when
// there is none it counts a wrong guess against each of the user's codes
// and deletes those that reached maxAttempts, in one transaction.
func (s *Store) checkCode(ctx context.Context, t codeTable, userID string, hash []byte, maxAttempts int) (time.Time, error) {
	var exp time.Time
	err := s.pool.QueryRow(ctx, `SELECT expires_at FROM `+string(t)+` WHERE user_id = $1 AND hash = $2`, userID, hash).Scan(&exp)
	if err == nil {
		return utc(exp), nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE `+string(t)+` SET attempts = attempts + 1 WHERE user_id = $1`, userID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM `+string(t)+` WHERE user_id = $1 AND attempts >= $2`, userID, maxAttempts)
		return err
	})
	if err != nil {
		return time.Time{}, err
	}
	return time.Time{}, auth.ErrNotFound
}

// AddRegistrationCode implements auth.UserStore.
func (s *Store) AddRegistrationCode(ctx context.Context, c auth.RegistrationCode, now time.Time, maxLive int) error {
	return codeErr("add registration code", s.addCode(ctx, registrationCodes, c.UserID, c.Hash, c.ExpiresAt, now, maxLive))
}

// CheckRegistrationCode implements auth.UserStore.
func (s *Store) CheckRegistrationCode(ctx context.Context, userID string, hash []byte, maxAttempts int) (*auth.RegistrationCode, error) {
	exp, err := s.checkCode(ctx, registrationCodes, userID, hash, maxAttempts)
	if err != nil {
		return nil, codeErr("check registration code", err)
	}
	return &auth.RegistrationCode{UserID: userID, Hash: hash, ExpiresAt: exp}, nil
}

// AddRecoveryCode implements auth.RecoveryStore.
func (s *Store) AddRecoveryCode(ctx context.Context, c auth.RecoveryCode, now time.Time, maxLive int) error {
	return codeErr("add recovery code", s.addCode(ctx, recoveryCodes, c.UserID, c.Hash, c.ExpiresAt, now, maxLive))
}

// CheckRecoveryCode implements auth.RecoveryStore.
func (s *Store) CheckRecoveryCode(ctx context.Context, userID string, hash []byte, maxAttempts int) (*auth.RecoveryCode, error) {
	exp, err := s.checkCode(ctx, recoveryCodes, userID, hash, maxAttempts)
	if err != nil {
		return nil, codeErr("check recovery code", err)
	}
	return &auth.RecoveryCode{UserID: userID, Hash: hash, ExpiresAt: exp}, nil
}

// codeErr keeps the domain sentinels these methods return themselves and
// maps driver errors as dbErr does.
func codeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, auth.ErrNotFound) || errors.Is(err, auth.ErrLimit) {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	return dbErr(op, err)
}
