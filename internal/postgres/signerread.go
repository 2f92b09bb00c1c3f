package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

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

// principalSignersBatchSQL is PrincipalSigners' statement for several
// keys ($1 the orgs, $2 the token ids, pairwise), as principalBatchSQL is
// Principal's: principalSignersSQL for each pair in a lateral subquery the
// planner keeps whole, its parameters the pair's columns; the rows carry
// the pair's position (k.i).
var principalSignersBatchSQL = `SELECT k.i, p.* FROM (SELECT $1::text[], $2::text[] OFFSET 0) AS x(orgs, toks),
		unnest(x.orgs, x.toks) WITH ORDINALITY AS k(org, tok, i),
		LATERAL (` + strings.NewReplacer("$1", "k.org", "$2", "k.tok").Replace(principalSignersSQL) + `
			OFFSET 0) AS p`

// signers is what PrincipalSigners reads for one key.
type signers struct {
	p     auth.PrincipalState
	creds []*auth.Credential
}

// PrincipalSigners reads the token's PrincipalState (as Principal) and the
// credentials it signs with (its user's own for a login session, else the
// token's own), oldest first, with one statement. ErrNotFound when the
// token or its user is not in orgID. Concurrent calls are coalesced as
// Principal's are (readbatch.go); with the cache on, an answer is kept in
// memory as Principal's is (signercache.go).
func (s *Store) PrincipalSigners(ctx context.Context, orgID, tokenID string) (*auth.PrincipalState, []*auth.Credential, error) {
	k := orgToken{orgID, tokenID}
	read := func() (*signers, error) { return s.signers.read(ctx, k) }
	var r *signers
	var err error
	if s.sc != nil {
		r, _, err = s.sc.get(ctx, k, read, keepSigners) // signercache.go
	} else {
		r, err = read()
	}
	if err != nil {
		return nil, nil, dbErr("principal signers", err)
	}
	if r == nil {
		return nil, nil, notFound("principal signers")
	}
	// Callers of one key, and the signer cache, share r: each gets copies.
	p := r.p
	creds := make([]*auth.Credential, len(r.creds))
	for i, c := range r.creds {
		cc := *c
		creds[i] = &cc
	}
	return &p, creds, nil
}

// signersOne reads one key's signers; nil when the token or its user is
// not in the org.
func (s *Store) signersOne(ctx context.Context, k orgToken) (*signers, error) {
	rows, err := s.pool.Query(ctx, principalSignersSQL, k.org, k.token)
	if err != nil {
		return nil, err
	}
	res, err := collectSigners(rows, []orgToken{k}, false)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// signersMany reads the signers of keys with one statement, aligned with
// keys; nil where the token or its user is not in the org.
func (s *Store) signersMany(ctx context.Context, keys []orgToken) ([]*signers, error) {
	orgs, toks := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		orgs[i], toks[i] = k.org, k.token
	}
	rows, err := s.pool.Query(ctx, principalSignersBatchSQL, orgs, toks)
	if err != nil {
		return nil, err
	}
	return collectSigners(rows, keys, true)
}

// collectSigners reads rows of principalSignersSQL (indexed: each led by
// its key's position, as principalSignersBatchSQL's) into one signers a
// key, and closes rows.
func collectSigners(rows pgx.Rows, keys []orgToken, indexed bool) ([]*signers, error) {
	defer rows.Close()
	res := make([]*signers, len(keys))
	scans := make([]principalScan, len(keys))
	for rows.Next() {
		i := int64(1)
		var lead []any
		if indexed {
			lead = []any{&i}
		}
		// The row's key is known once it is scanned: the principal goes
		// into a scratch value, kept by its key's first row.
		var p auth.PrincipalState
		var sc principalScan
		c := &auth.Credential{}
		var has bool
		var kind string
		var credID []byte
		var count int64
		dest := append(append(lead, sc.dest(&p)...), &has, &c.UUID, &c.OrgID, &c.UserID, &c.TokenID, &credID, &kind,
			&c.Name, &c.PublicKey, &c.Algorithm, &c.IsActive, &count, &c.RPID, &c.Origin, &c.CreatedAt, &c.EncryptedPrivateKey)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if i < 1 || i > int64(len(keys)) {
			return nil, fmt.Errorf("principal signers batch: unexpected row %d of %d", i, len(keys))
		}
		r := res[i-1]
		if r == nil {
			r = &signers{p: p, creds: []*auth.Credential{}}
			res[i-1], scans[i-1] = r, sc
		}
		if !has {
			continue // the token signs with no credential
		}
		c.CredID = string(credID)
		c.Kind = auth.CredentialKind(kind)
		c.SignCount = uint32(count) // the column's CHECK keeps it in range
		c.CreatedAt = utc(c.CreatedAt)
		r.creds = append(r.creds, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, r := range res {
		if r == nil {
			continue
		}
		sortCredentials(r.creds)
		scans[i].finish(&r.p, keys[i].org, keys[i].token)
	}
	return res, nil
}

// sortCredentials puts the credentials a batch statement read for one key
// in the single statements' order (ORDER BY created_at, uuid); uuids are
// fixed-format ids, ordered alike by bytes and by any collation.
func sortCredentials(creds []*auth.Credential) {
	slices.SortFunc(creds, func(a, b *auth.Credential) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.UUID, b.UUID)
	})
}
