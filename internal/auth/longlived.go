package auth

import (
	"context"
	"errors"
	"time"

	"github.com/signet-auth/signet/internal/credential"
	"github.com/signet-auth/signet/internal/token"
)

// Lifetimes of long-lived tokens (spec 12.6).
const (
	defaultLongLived = 365 * 24 * time.Hour
	maxLongLived     = 730 * 24 * time.Hour
)

// CreateTokenRequest is the body of POST /auth/pats and POST
// /auth/service-accounts (spec 5.6, 5.7).
type CreateTokenRequest struct {
	Name         string `json:"name"`
	PublicKey    string `json:"publicKey"`
	PermissionID string `json:"permissionId,omitempty"`
	ExternalID   string `json:"externalId,omitempty"`
	DaysValid    *int64 `json:"daysValid,omitempty"`
	SecondsValid *int64 `json:"secondsValid,omitempty"`
}

// UpdateTokenRequest is the body of PUT /auth/pats/:id and PUT
// /auth/service-accounts/:id.
type UpdateTokenRequest struct {
	Name       *string `json:"name,omitempty"`
	ExternalID *string `json:"externalId,omitempty"`
}

// TokenView is a PAT or service-account token as the API shows it.
type TokenView struct {
	Token      *AccessToken
	Credential *Credential // the key the token signs with
	Permission *Permission // a PAT's restriction, or a service account's first grant; may be nil
}

// lifetime reads daysValid / secondsValid (secondsValid wins).
func lifetime(req *CreateTokenRequest) (time.Duration, error) {
	switch {
	case req.SecondsValid != nil:
		if *req.SecondsValid <= 0 || *req.SecondsValid > int64(maxLongLived/time.Second) {
			return 0, Errorf(Invalid, "secondsValid must be from 1 to %d", int64(maxLongLived/time.Second))
		}
		return time.Duration(*req.SecondsValid) * time.Second, nil
	case req.DaysValid != nil:
		if *req.DaysValid < 1 || *req.DaysValid > 730 {
			return 0, Errorf(Invalid, "daysValid must be from 1 to 730")
		}
		return time.Duration(*req.DaysValid) * 24 * time.Hour, nil
	}
	return defaultLongLived, nil
}

// newLongLived validates a create request and builds the token record and
// its key credential for user u.
func (s *Service) newLongLived(ctx context.Context, p *Principal, u *User, kind token.Kind, req *CreateTokenRequest) (*LongLived, *Permission, error) {
	if err := validName("name", req.Name); err != nil {
		return nil, nil, err
	}
	if len(req.Name) > 100 {
		return nil, nil, Errorf(Invalid, "name must be at most 100 characters")
	}
	if len(req.ExternalID) > 200 {
		return nil, nil, Errorf(Invalid, "externalId must be at most 200 characters")
	}
	if req.PublicKey == "" {
		return nil, nil, Errorf(Invalid, "publicKey is required")
	}
	pub, err := credential.ParsePublicKeyPEM(req.PublicKey)
	if err != nil {
		return nil, nil, credentialError(err)
	}
	ttl, err := lifetime(req)
	if err != nil {
		return nil, nil, err
	}
	var perm *Permission
	if req.PermissionID != "" {
		if perm, err = s.activePermission(ctx, p, req.PermissionID); err != nil {
			return nil, nil, err
		}
	}
	now := s.clock()
	tok := &AccessToken{
		ID: newID("to"), OrgID: p.OrgID, UserID: u.ID, Kind: kind, Name: req.Name, ExternalID: req.ExternalID,
		IsActive: true, ExpiresAt: now.Add(ttl), CreatedAt: now,
	}
	cred := &Credential{
		UUID: newID("cr"), OrgID: p.OrgID, UserID: u.ID, TokenID: tok.ID,
		// Dfns generates credIds for token keys as base64url of a ci-… id.
		CredID: credential.EncodeBase64URL([]byte(newID("ci"))),
		Kind:   KindKey, Name: req.Name, PublicKey: req.PublicKey, Algorithm: string(pub.Algorithm),
		IsActive: true, CreatedAt: now,
	}
	tok.CredentialUUID = cred.UUID
	return &LongLived{Token: tok, Credential: cred}, perm, nil
}

// mintLongLived stores l and mints its token.
func (s *Service) mintLongLived(ctx context.Context, l *LongLived, username string) (string, error) {
	err := s.store.CreateLongLived(ctx, *l)
	if errors.Is(err, ErrDuplicate) {
		return "", Errorf(Conflict, "name already taken")
	}
	if err != nil {
		return "", internalErr(err)
	}
	t := l.Token
	tok, err := s.tokens.Mint(token.Claims{ID: t.ID, OrgID: t.OrgID, UserID: t.UserID, Username: username,
		Kind: t.Kind, IssuedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt})
	if err != nil {
		return "", internalErr(err)
	}
	return tok, nil
}

// tokenView completes a token record with its credential and permission.
func (s *Service) tokenView(ctx context.Context, t *AccessToken) (*TokenView, error) {
	v := &TokenView{Token: t}
	if t.CredentialUUID != "" {
		c, err := s.store.CredentialByUUID(ctx, t.OrgID, t.CredentialUUID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, internalErr(err)
		}
		v.Credential = c
	}
	if t.PermissionID != "" {
		pm, err := s.store.Permission(ctx, t.OrgID, t.PermissionID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, internalErr(err)
		}
		v.Permission = pm
	}
	return v, nil
}

// saveToken writes the mutable fields of t.
func (s *Service) saveToken(ctx context.Context, p *Principal, t *AccessToken, what string) (*TokenView, error) {
	err := s.store.UpdateAccessToken(ctx, t)
	if errors.Is(err, ErrDuplicate) {
		return nil, Errorf(Conflict, "name already taken")
	}
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(NotFound, "token not found")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	s.log.InfoContext(ctx, string(t.Kind)+" "+what, "org", p.OrgID, "token", t.ID, "by", p.UserID)
	return s.tokenView(ctx, t)
}

func applyTokenUpdate(t *AccessToken, req *UpdateTokenRequest) error {
	if req.Name == nil && req.ExternalID == nil {
		return Errorf(Invalid, "nothing to update: give name or externalId")
	}
	if req.Name != nil {
		if err := validName("name", *req.Name); err != nil {
			return err
		}
		if len(*req.Name) > 100 {
			return Errorf(Invalid, "name must be at most 100 characters")
		}
		t.Name = *req.Name
	}
	if req.ExternalID != nil {
		if len(*req.ExternalID) > 200 {
			return Errorf(Invalid, "externalId must be at most 200 characters")
		}
		t.ExternalID = *req.ExternalID
	}
	return nil
}

// CreatePAT creates a personal access token for the caller's user. Only a
// user's own login session may: a PAT or service account cannot mint PATs
// (spec 5.6). The token is returned here once and never stored.
func (s *Service) CreatePAT(ctx context.Context, p *Principal, req *CreateTokenRequest) (*TokenView, string, error) {
	if !p.IsUserSession() {
		return nil, "", Errorf(Forbidden, "%s tokens cannot create personal access tokens", p.Kind)
	}
	u, err := s.orgUser(ctx, p, p.UserID)
	if err != nil {
		return nil, "", err
	}
	l, perm, err := s.newLongLived(ctx, p, u, token.KindPAT, req)
	if err != nil {
		return nil, "", err
	}
	if perm != nil {
		// A PAT never holds more than its user, but a restriction the user
		// could not grant would still be a grant: the same rule applies.
		if err := s.confirmHolds(ctx, p, "cannot create a personal access token with this permission", permissionAuthority(perm)); err != nil {
			return nil, "", err
		}
		l.Token.PermissionID = perm.ID
	}
	tok, err := s.mintLongLived(ctx, l, u.Username)
	if err != nil {
		return nil, "", err
	}
	s.log.InfoContext(ctx, "PAT created", "org", p.OrgID, "user", p.UserID, "token", l.Token.ID)
	return &TokenView{Token: l.Token, Credential: l.Credential, Permission: perm}, tok, nil
}

// ownPAT loads a PAT of the caller's user; other users' PATs, archived
// ones and other orgs' are not found.
func (s *Service) ownPAT(ctx context.Context, p *Principal, id string) (*AccessToken, error) {
	if err := validID("tokenId", id); err != nil {
		return nil, err
	}
	t, err := s.store.AccessToken(ctx, p.OrgID, id)
	if errors.Is(err, ErrNotFound) || (err == nil && (t.UserID != p.UserID || t.Kind != token.KindPAT || t.IsArchived)) {
		return nil, Errorf(NotFound, "personal access token not found")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	return t, nil
}

// ListPATs lists the caller's user's PATs (archived ones are gone).
func (s *Service) ListPATs(ctx context.Context, p *Principal) ([]*TokenView, error) {
	ts, err := s.store.AccessTokens(ctx, p.OrgID, p.UserID, token.KindPAT)
	if err != nil {
		return nil, internalErr(err)
	}
	out := []*TokenView{}
	for _, t := range ts {
		if t.IsArchived {
			continue
		}
		v, err := s.tokenView(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// PAT returns one of the caller's user's PATs.
func (s *Service) PAT(ctx context.Context, p *Principal, id string) (*TokenView, error) {
	t, err := s.ownPAT(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.tokenView(ctx, t)
}

// UpdatePAT renames a PAT or changes its external id.
func (s *Service) UpdatePAT(ctx context.Context, p *Principal, id string, req *UpdateTokenRequest) (*TokenView, error) {
	t, err := s.ownPAT(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := applyTokenUpdate(t, req); err != nil {
		return nil, err
	}
	return s.saveToken(ctx, p, t, "updated")
}

// SetPATActive activates or deactivates a PAT; a deactivated PAT is
// refused on its next request, on every replica.
func (s *Service) SetPATActive(ctx context.Context, p *Principal, id string, active bool) (*TokenView, error) {
	t, err := s.ownPAT(ctx, p, id)
	if err != nil {
		return nil, err
	}
	t.IsActive = active
	return s.saveToken(ctx, p, t, map[bool]string{true: "activated", false: "deactivated"}[active])
}

// ArchivePAT revokes a PAT for good.
func (s *Service) ArchivePAT(ctx context.Context, p *Principal, id string) (*TokenView, error) {
	t, err := s.ownPAT(ctx, p, id)
	if err != nil {
		return nil, err
	}
	t.IsArchived, t.IsActive = true, false
	return s.saveToken(ctx, p, t, "archived")
}
