package sqlite

import (
	"context"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// PrincipalSigners reads the token's PrincipalState (Principal, from the
// Principal cache when it may answer) and the credentials it signs with:
// its user's own for a login session, else the token's own, oldest first.
// On SQLite the two reads are local calls, so they stay two; the method
// exists for the networked store, where they are one round trip.
// ErrNotFound when the token or its user is not in orgID.
func (s *Store) PrincipalSigners(ctx context.Context, orgID, tokenID string) (*auth.PrincipalState, []*auth.Credential, error) {
	p, err := s.Principal(ctx, orgID, tokenID)
	if err != nil {
		return nil, nil, err
	}
	var cs []*auth.Credential
	if p.Token.Kind == token.KindLogin {
		cs, err = s.Credentials(ctx, orgID, p.Token.UserID)
	} else {
		cs, err = s.TokenCredentials(ctx, orgID, tokenID)
	}
	if err != nil {
		return nil, nil, err
	}
	return p, cs, nil
}
