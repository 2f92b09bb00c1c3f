package postgres

import (
	"context"
	"slices"
	"strings"

	"github.com/signet-auth/signet/internal/auth"
)

// principalSignersSQL is Principal's query joined with the credentials the
// token signs with: one statement, one snapshot, one round trip, where a
// signing request (action init and complete, an RFC 9421 request) took two
// (Principal, then Credentials or TokenCredentials). It returns one row per
// credential, or one row with a NULL credential (s.uuid) when there is none,
// and no row when the token or its user is not in the org.
//
// The two arms of the lateral UNION ALL are Credentials' and
// TokenCredentials' queries, each gated on the stored token's kind, so
// exactly one can return rows; each repeats the predicate of its partial
// index (credentials_user_idx, credentials_token_idx) so that the index
// serves it whatever the parameters.
//
// The rows come unordered: PrincipalSigners sorts the few credentials
// itself (as Credentials orders them: created_at, then uuid). A Sort node
// cost the server about 8 us of its 61 us per execution (its start-up
// allocates a sort state even for one row), twice per Dfns flow.
const principalSignersSQL = `SELECT ` + principalColumns + `,
			s.uuid IS NOT NULL, coalesce(s.uuid, ''), coalesce(s.org_id, ''), coalesce(s.user_id, ''),
			coalesce(s.token_id, ''), coalesce(s.cred_id, ''::bytea), coalesce(s.kind, ''), coalesce(s.name, ''),
			coalesce(s.public_key, ''), coalesce(s.algorithm, ''), coalesce(s.is_active, false),
			coalesce(s.sign_count, 0), coalesce(s.rp_id, ''), coalesce(s.origin, ''),
			coalesce(s.created_at, 'epoch'::timestamptz), coalesce(s.encrypted_private_key, '')` + principalFrom + `
		LEFT JOIN LATERAL (
			SELECT ` + credentialColumns + ` FROM credentials
				WHERE t.kind = 'Token' AND org_id = $1 AND user_id = t.user_id AND token_id = ''
			UNION ALL
			SELECT ` + credentialColumns + ` FROM credentials
				WHERE t.kind <> 'Token' AND org_id = $1 AND token_id = $2 AND token_id <> ''
		) s ON true` + principalWhere

// PrincipalSigners reads the token's PrincipalState (as Principal) and the
// credentials it signs with (its user's own for a login session, else the
// token's own), oldest first, with one statement. ErrNotFound when the
// token or its user is not in orgID.
func (s *Store) PrincipalSigners(ctx context.Context, orgID, tokenID string) (*auth.PrincipalState, []*auth.Credential, error) {
	rows, err := s.pool.Query(ctx, principalSignersSQL, orgID, tokenID)
	if err != nil {
		return nil, nil, dbErr("principal signers", err)
	}
	defer rows.Close()
	var p auth.PrincipalState
	var sc principalScan
	var has bool
	creds := []*auth.Credential{}
	found := false
	for rows.Next() {
		found = true
		c := &auth.Credential{}
		var kind string
		var credID []byte
		var count int64
		dest := append(sc.dest(&p), &has, &c.UUID, &c.OrgID, &c.UserID, &c.TokenID, &credID, &kind, &c.Name,
			&c.PublicKey, &c.Algorithm, &c.IsActive, &count, &c.RPID, &c.Origin, &c.CreatedAt, &c.EncryptedPrivateKey)
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, dbErr("principal signers", err)
		}
		if !has {
			continue // the token signs with no credential
		}
		c.CredID = string(credID)
		c.Kind = auth.CredentialKind(kind)
		c.SignCount = uint32(count) // the column's CHECK keeps it in range
		c.CreatedAt = utc(c.CreatedAt)
		creds = append(creds, c)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, dbErr("principal signers", err)
	}
	if !found {
		return nil, nil, notFound("principal signers")
	}
	// Credentials' order (ORDER BY created_at, uuid); uuids are
	// fixed-format ids, ordered alike by bytes and by any collation.
	slices.SortFunc(creds, func(a, b *auth.Credential) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.UUID, b.UUID)
	})
	sc.finish(&p, orgID, tokenID)
	return &p, creds, nil
}
