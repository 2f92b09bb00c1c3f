package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/signet-auth/signet/internal/auth"
)

// The two login reads join the user with its own credentials in one
// statement: a login init and a login each took two or three statements
// before (user, credentials, and the challenge's spent record), every one
// its own read transaction with its own trip through database/sql. The
// columns of the joined sides are COALESCEd: an empty user id means no
// user, an empty credential uuid no credential (both are never empty in a
// stored row).
var (
	loginUserColumns = coalesced("u", userColumns, map[string]string{
		"is_active": "0", "is_archived": "0", "is_registered": "0", "is_service_account": "0",
		"is_sso_required": "0", "created_at": "0"})
	loginCredentialColumns = coalesced("c", credentialColumns, map[string]string{
		"is_active": "0", "sign_count": "0", "created_at": "0"})

	// userWithCredentialsSQL and loginSubjectSQL are prepared once in Open.
	userWithCredentialsSQL = `SELECT ` + loginUserColumns + `, ` + loginCredentialColumns + `
		FROM users u LEFT JOIN credentials c ON c.org_id = u.org_id AND c.user_id = u.id AND c.token_id = ''
		WHERE u.org_id = ?1 AND u.username = ?2
		ORDER BY c.created_at, c.uuid`
	loginSubjectSQL = `SELECT s.spent, ` + loginUserColumns + `, ` + loginCredentialColumns + `
		FROM (SELECT EXISTS (SELECT 1 FROM spent_challenges WHERE id = ?3) AS spent) s
		LEFT JOIN users u ON u.org_id = ?1 AND u.id = ?2
		LEFT JOIN credentials c ON c.org_id = u.org_id AND c.user_id = u.id AND c.token_id = ''
		ORDER BY c.created_at, c.uuid`
)

// coalesced prefixes each of the comma-separated columns with table and
// wraps it in COALESCE with its zero: ” unless zeros names another.
func coalesced(table, columns string, zeros map[string]string) string {
	var b strings.Builder
	for i, c := range strings.Split(columns, ",") {
		c = strings.TrimSpace(c)
		zero, ok := zeros[c]
		if !ok {
			zero = "''"
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("COALESCE(" + table + "." + c + ", " + zero + ")")
	}
	return b.String()
}

// UserWithCredentials returns the user of orgID named username and its own
// credentials, oldest first, in one statement. ErrNotFound when there is no
// such user. Never from memory: login init's store work must be the same
// for a known and an unknown name (credcache.go, docs/abuse.md).
func (s *Store) UserWithCredentials(ctx context.Context, orgID, username string) (*auth.User, []*auth.Credential, error) {
	_, u, cs, err := loginRead(ctx, s.stmts.userWithCredentials, false, orgID, username)
	if err == nil && u == nil {
		err = sql.ErrNoRows
	}
	if err != nil {
		return nil, nil, wrap("user with credentials", err)
	}
	return u, cs, nil
}

// LoginSubject reports whether the challenge challengeID was spent and
// returns the user of orgID with id userID and its own credentials, oldest
// first, in one statement. u is nil when there is no such user. Never from
// memory: a decoy challenge's answer must cost the store work of a real
// one's (credcache.go, docs/abuse.md).
func (s *Store) LoginSubject(ctx context.Context, orgID, userID, challengeID string) (bool, *auth.User, []*auth.Credential, error) {
	spent, u, cs, err := loginRead(ctx, s.stmts.loginSubject, true, orgID, userID, challengeID)
	return spent, u, cs, wrap("login subject", err)
}

// loginRead runs one of the joined login statements: one row per
// credential of the user, or one row with no credential (or, for
// loginSubjectSQL, no user), or no row at all (userWithCredentialsSQL, no
// user). withSpent says the first column is the challenge's spent flag.
func loginRead(ctx context.Context, st *sql.Stmt, withSpent bool, args ...any) (spent bool, u *auth.User, cs []*auth.Credential, err error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return false, nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			row          auth.User
			c            auth.Credential
			userCreated  int64
			count, cTime int64
		)
		dest := make([]any, 0, 27)
		if withSpent {
			dest = append(dest, &spent)
		}
		dest = append(dest, &row.ID, &row.OrgID, &row.Username, &row.Kind, &row.IsActive, &row.IsArchived,
			&row.IsRegistered, &row.IsServiceAccount, &row.IsSSORequired, &row.ExternalID, &userCreated,
			&c.UUID, &c.OrgID, &c.UserID, &c.TokenID, &c.CredID, &c.Kind, &c.Name, &c.PublicKey,
			&c.Algorithm, &c.IsActive, &count, &c.RPID, &c.Origin, &cTime, &c.EncryptedPrivateKey)
		if err := rows.Scan(dest...); err != nil {
			return false, nil, nil, err
		}
		if row.ID == "" {
			continue // no such user: the one row carries spent only
		}
		if u == nil {
			row.CreatedAt = fromMillis(userCreated)
			u = &row
		}
		if c.UUID == "" {
			continue // the user has no credential
		}
		c.SignCount = uint32(count) // the column's CHECK keeps it in range
		c.CreatedAt = fromMillis(cTime)
		cs = append(cs, &c)
	}
	return spent, u, cs, rows.Err()
}
