package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// An action is expired when its expiry is not after now (expires_at <=
// now): UseAction refuses it from that instant, and Sweep removes it.
// Challenges are sealed, not stored (internal/auth/seal.go): the store
// only records which were spent.

// spendChallengeSQL is prepared once in Open. ON CONFLICT DO NOTHING: a
// challenge spent before is told by the rows affected, not by an error, so
// that a duplicate of anything else in the same transaction stays
// ErrDuplicate.
const spendChallengeSQL = `INSERT INTO spent_challenges (id, expires_at) VALUES (?, ?)
		ON CONFLICT (id) DO NOTHING`

// spendChallenge records the challenge id as spent, in tx unless it is nil:
// ErrUsed when it was spent before (the single writer serialises the
// transactions, so of concurrent calls exactly one inserts).
func (s *Store) spendChallenge(ctx context.Context, tx *sql.Tx, id string, expiresAt time.Time) error {
	err := oneRow(s.in(ctx, tx, s.stmts.spendChallenge).ExecContext(ctx, id, millis(expiresAt)))
	if errors.Is(err, sql.ErrNoRows) {
		return auth.ErrUsed
	}
	return err
}

// challengeSpentSQL is prepared once in Open (read pool).
const challengeSpentSQL = `SELECT EXISTS (SELECT 1 FROM spent_challenges WHERE id = ?)`

// ChallengeSpent reports whether the challenge id is recorded as spent.
func (s *Store) ChallengeSpent(ctx context.Context, id string) (bool, error) {
	var spent bool
	err := s.stmts.challengeSpent.QueryRowContext(ctx, id).Scan(&spent)
	return spent, wrap("challenge spent", err)
}

// SpendChallenge records the challenge id, valid until expiresAt, as spent.
// ErrUsed when it was spent before.
func (s *Store) SpendChallenge(ctx context.Context, id string, expiresAt time.Time) error {
	return wrap("spend challenge", s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.spendChallenge(ctx, tx, id, expiresAt)
	}))
}

// CreateActionForChallenge records the challenge challengeID as spent and
// inserts a and, unless pending is nil, its pending audit entry, in one
// write transaction. ErrUsed, and nothing inserted, when the challenge was
// spent before.
func (s *Store) CreateActionForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, a *auth.Action, pending *audit.Entry) error {
	var blob []byte
	if pending != nil {
		var err error
		if blob, err = json.Marshal(pending); err != nil {
			return wrap("create action for challenge", err)
		}
	}
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.spendChallenge(ctx, tx, challengeID, expiresAt); err != nil {
			return err
		}
		return s.insertActionEntry(ctx, tx, a, blob)
	})
	if err == nil && pending != nil {
		s.rememberPending(a.ID, blob, pending)
	}
	return wrap("create action for challenge", err)
}

// SpendActionForChallenge records the challenge challengeID as spent and
// either inserts a used at now (entry nil: the audit log is off) or seals
// entry after its org's chain head and appends it, with no action row: the
// entry is the action's record (auth.Store), and the row's four B-trees,
// one keyed by a random token hash, would only repeat it. One write
// transaction (one commit, shared with others by group commit). ErrUsed,
// and nothing written, when the challenge was spent before: the single
// writer serialises the transactions, so of concurrent calls exactly one
// inserts.
func (s *Store) SpendActionForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, a *auth.Action, entry *audit.Entry, target string, now time.Time) error {
	return wrap("spend action for challenge", s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.spendChallenge(ctx, tx, challengeID, expiresAt); err != nil {
			return err
		}
		if entry != nil {
			return s.sealAndAppend(ctx, tx, entry, target, now)
		}
		spent := *a
		spent.UsedAt = &now
		return s.insertAction(ctx, tx, &spent)
	}))
}

// CreateAccessTokenForChallenge records the challenge challengeID as spent
// and inserts t, in one write transaction. ErrUsed, and nothing inserted,
// when the challenge was spent before.
func (s *Store) CreateAccessTokenForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, t *auth.AccessToken) error {
	return wrap("create access token for challenge", s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.spendChallenge(ctx, tx, challengeID, expiresAt); err != nil {
			return err
		}
		return s.insertAccessToken(ctx, tx, t)
	}))
}

// CreateLoginForChallenge records the challenge challengeID as spent and
// inserts the login record t only when its user and credential pass the
// login's checks (auth.TokenStore), in one write transaction: the spend,
// then an INSERT that selects the record only from the user and the
// credential that pass (insertLoginSQL), then the user's name, read in the
// same transaction. ErrUsed, nothing written, when the challenge was spent
// before; auth.ErrRefused, the challenge spent (the work returns no error,
// so its savepoint is kept and committed), when the checks failed.
func (s *Store) CreateLoginForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, t *auth.AccessToken, kind auth.CredentialKind) (string, error) {
	var refused bool
	var username string
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		refused = false
		if err := s.spendChallenge(ctx, tx, challengeID, expiresAt); err != nil {
			return err
		}
		err := oneRow(s.in(ctx, tx, s.stmts.insertLogin).ExecContext(ctx,
			t.ID, t.OrgID, t.UserID, string(t.Kind), t.Name, t.CredentialUUID, t.PermissionID, t.ExternalID,
			t.IsActive, t.IsArchived, millis(t.ExpiresAt), millis(t.CreatedAt), string(kind)))
		if errors.Is(err, sql.ErrNoRows) {
			refused = true
			return nil
		}
		if err != nil {
			return err
		}
		return s.in(ctx, tx, s.stmts.loginUsername).QueryRowContext(ctx, t.OrgID, t.UserID).Scan(&username)
	})
	if err == nil && refused {
		err = auth.ErrRefused
	}
	if err != nil {
		return "", wrap("create login for challenge", err)
	}
	return username, nil
}

// insertLoginSQL is prepared once in Open: the token record ?1-?12 when the
// user ?3 of org ?2 and its credential ?6 (of kind ?13) pass every check
// of a login (auth.TokenStore, CreateLoginForChallenge).
const insertLoginSQL = `INSERT INTO access_tokens
		(id, org_id, user_id, kind, name, credential_uuid, permission_id, external_id, is_active, is_archived,
		 expires_at, created_at)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12
		FROM users u JOIN credentials c ON c.uuid = ?6
		WHERE u.org_id = ?2 AND u.id = ?3
		  AND u.is_active = 1 AND u.is_archived = 0 AND u.is_registered = 1
		  AND u.is_service_account = 0 AND u.is_sso_required = 0
		  AND c.org_id = u.org_id AND c.user_id = u.id AND c.token_id = '' AND c.is_active = 1
		  AND c.kind = ?13`

// loginUsernameSQL is prepared once in Open: the name of the user a login
// write just recorded a session for, in its transaction.
const loginUsernameSQL = `SELECT username FROM users WHERE org_id = ? AND id = ?`

// CreateAction inserts a. ErrDuplicate when its id or token hash is taken;
// ErrNotFound when its user is not in its org.
func (s *Store) CreateAction(ctx context.Context, a *auth.Action) error {
	return wrap("create action", s.insertAction(ctx, nil, a))
}

// insertActionSQL is prepared once in Open.
const insertActionSQL = `INSERT INTO actions
		(id, token_hash, org_id, user_id, token_id, credential_uuid, method, path, query, payload_hash,
		 expires_at, created_at, used_at, entry)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertAction inserts a, without a pending entry, in tx unless it is nil.
func (s *Store) insertAction(ctx context.Context, tx *sql.Tx, a *auth.Action) error {
	return s.insertActionEntry(ctx, tx, a, nil)
}

// insertActionEntry inserts a with its pending entry's JSON (none if nil),
// in tx unless it is nil.
func (s *Store) insertActionEntry(ctx context.Context, tx *sql.Tx, a *auth.Action, entry []byte) error {
	var e any
	if entry != nil {
		e = string(entry)
	}
	_, err := s.in(ctx, tx, s.stmts.insertAction).ExecContext(ctx,
		a.ID, a.TokenHash, a.OrgID, a.UserID, a.TokenID, a.CredentialUUID, a.Method, a.Path, a.Query,
		a.PayloadHash, millis(a.ExpiresAt), millis(a.CreatedAt), nullMillis(a.UsedAt), e)
	return err
}

// useActionSQL is prepared once in Open.
const useActionSQL = `UPDATE actions SET used_at = ?1
		WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1
		RETURNING id, token_hash, org_id, user_id, token_id, credential_uuid, method, path, query, payload_hash,
			expires_at, created_at, used_at`

// UseAction marks the unused, unexpired action with this token hash used at
// now and returns it, in one UPDATE … RETURNING: of any number of concurrent
// calls exactly one gets the row. Only when nothing matched does a second
// query tell ErrUsed (the action is there, unexpired, used) from ErrNotFound.
func (s *Store) UseAction(ctx context.Context, tokenHash []byte, now time.Time) (*auth.Action, error) {
	var a auth.Action
	var expires, created int64
	var used sql.NullInt64
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := s.in(ctx, tx, s.stmts.useAction).QueryContext(ctx, millis(now), tokenHash)
		return one(rows, err, func(sc scanner) error {
			return sc.Scan(&a.ID, &a.TokenHash, &a.OrgID, &a.UserID, &a.TokenID, &a.CredentialUUID, &a.Method,
				&a.Path, &a.Query, &a.PayloadHash, &expires, &created, &used)
		})
	})
	if errors.Is(err, sql.ErrNoRows) {
		var n int
		err = s.read.QueryRowContext(ctx, `SELECT count(*) FROM actions
			WHERE token_hash = ? AND used_at IS NOT NULL AND expires_at > ?`, tokenHash, millis(now)).Scan(&n)
		if err == nil {
			err = auth.ErrNotFound
			if n > 0 {
				err = auth.ErrUsed
			}
		}
	}
	if err != nil {
		return nil, wrap("use action", err)
	}
	a.ExpiresAt, a.CreatedAt, a.UsedAt = fromMillis(expires), fromMillis(created), fromNullMillis(used)
	return &a, nil
}

// sweepChunk is how many spent-challenge records one transaction of
// Sweep deletes, and how many expired ids one read of it collects.
const sweepChunk = 1000

// Sweep deletes the actions (used or not) that expired at or before now and
// the spent-challenge records whose challenge expired at or before now minus
// auth.SpentChallengeGrace, and returns how many it deleted.
//
// Actions go in one statement (by actions_by_expiry). Spent-challenge
// records have no expiry index since 0018 (one B-tree fewer on every
// spend): the sweep walks spent_challenges by its key on a read
// connection, sweepChunk expired ids at a time, and deletes each chunk by
// key in a short write transaction that checks the expiry again, so that
// no write waits for the scan. A record spent after the walk passed its
// key is left for the next sweep.
func (s *Store) Sweep(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM actions WHERE expires_at <= ?`, millis(now))
		if err != nil {
			return err
		}
		total, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, wrap("sweep", err)
	}
	before := millis(now.Add(-auth.SpentChallengeGrace))
	for after := ""; ; {
		ids, err := s.expiredSpent(ctx, after, before)
		if err != nil {
			return total, wrap("sweep", err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		after = ids[len(ids)-1]
		list, err := json.Marshal(ids)
		if err != nil {
			return total, wrap("sweep", err)
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM spent_challenges
				WHERE id IN (SELECT value FROM json_each(?1)) AND expires_at <= ?2`, string(list), before)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			total += n
			return err
		})
		if err != nil {
			return total, wrap("sweep", err)
		}
		if len(ids) < sweepChunk {
			return total, nil
		}
	}
}

// expiredSpent returns, in key order, up to sweepChunk ids of spent
// challenges after the id after whose record expired at or before before
// (unix milliseconds): a walk of the table's key, read on the read pool.
func (s *Store) expiredSpent(ctx context.Context, after string, before int64) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM spent_challenges
		WHERE id > ?1 AND expires_at <= ?2 ORDER BY id LIMIT ?3`, after, before, sweepChunk)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
