package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// Store wraps s so the store calls a request makes are timed and their
// failures counted, labelled by operation. It times the calls on the
// request paths (authentication, challenges, user actions, logins,
// permission checks, audit, health); every other call passes through
// untimed through the embedded Store, so a method added to auth.Store
// later needs nothing here.
func (m *Metrics) Store(s auth.Store) auth.Store { return &store{Store: s, m: m} }

type store struct {
	auth.Store
	m *Metrics
}

// observe records one call of op that took since start and ended with err.
func (s *store) observe(op string, start time.Time, err error) {
	s.m.storeLatency.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, auth.ErrNotFound) && !errors.Is(err, auth.ErrDuplicate) && !errors.Is(err, auth.ErrUsed) &&
		!errors.Is(err, auth.ErrRefused) {
		s.m.storeErrors.WithLabelValues(op).Inc()
	}
}

func (s *store) Org(ctx context.Context, id string) (*auth.Org, error) {
	start := time.Now()
	v, err := s.Store.Org(ctx, id)
	s.observe("Org", start, err)
	return v, err
}

func (s *store) User(ctx context.Context, orgID, id string) (*auth.User, error) {
	start := time.Now()
	v, err := s.Store.User(ctx, orgID, id)
	s.observe("User", start, err)
	return v, err
}

func (s *store) UserByUsername(ctx context.Context, orgID, username string) (*auth.User, error) {
	start := time.Now()
	v, err := s.Store.UserByUsername(ctx, orgID, username)
	s.observe("UserByUsername", start, err)
	return v, err
}

func (s *store) Credentials(ctx context.Context, orgID, userID string) ([]*auth.Credential, error) {
	start := time.Now()
	v, err := s.Store.Credentials(ctx, orgID, userID)
	s.observe("Credentials", start, err)
	return v, err
}

func (s *store) UserWithCredentials(ctx context.Context, orgID, username string) (*auth.User, []*auth.Credential, error) {
	start := time.Now()
	u, cs, err := s.Store.UserWithCredentials(ctx, orgID, username)
	s.observe("UserWithCredentials", start, err)
	return u, cs, err
}

func (s *store) LoginSubject(ctx context.Context, orgID, userID, challengeID string) (bool, *auth.User, []*auth.Credential, error) {
	start := time.Now()
	spent, u, cs, err := s.Store.LoginSubject(ctx, orgID, userID, challengeID)
	s.observe("LoginSubject", start, err)
	return spent, u, cs, err
}

func (s *store) TokenCredentials(ctx context.Context, orgID, tokenID string) ([]*auth.Credential, error) {
	start := time.Now()
	v, err := s.Store.TokenCredentials(ctx, orgID, tokenID)
	s.observe("TokenCredentials", start, err)
	return v, err
}

func (s *store) CredentialByUUID(ctx context.Context, orgID, uuid string) (*auth.Credential, error) {
	start := time.Now()
	v, err := s.Store.CredentialByUUID(ctx, orgID, uuid)
	s.observe("CredentialByUUID", start, err)
	return v, err
}

func (s *store) UpdateSignCount(ctx context.Context, uuid string, old, new uint32) error {
	start := time.Now()
	err := s.Store.UpdateSignCount(ctx, uuid, old, new)
	s.observe("UpdateSignCount", start, err)
	return err
}

func (s *store) CreateAccessToken(ctx context.Context, t *auth.AccessToken) error {
	start := time.Now()
	err := s.Store.CreateAccessToken(ctx, t)
	s.observe("CreateAccessToken", start, err)
	return err
}

func (s *store) CreateAccessTokenForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, t *auth.AccessToken) error {
	start := time.Now()
	err := s.Store.CreateAccessTokenForChallenge(ctx, challengeID, expiresAt, t)
	s.observe("CreateAccessTokenForChallenge", start, err)
	return err
}

func (s *store) CreateLoginForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, t *auth.AccessToken, kind auth.CredentialKind) (string, error) {
	start := time.Now()
	v, err := s.Store.CreateLoginForChallenge(ctx, challengeID, expiresAt, t, kind)
	s.observe("CreateLoginForChallenge", start, err)
	return v, err
}

func (s *store) Principal(ctx context.Context, orgID, tokenID string) (*auth.PrincipalState, error) {
	start := time.Now()
	v, err := s.Store.Principal(ctx, orgID, tokenID)
	s.observe("Principal", start, err)
	return v, err
}

func (s *store) PrincipalSigners(ctx context.Context, orgID, tokenID string) (*auth.PrincipalState, []*auth.Credential, error) {
	start := time.Now()
	v, cs, err := s.Store.PrincipalSigners(ctx, orgID, tokenID)
	s.observe("PrincipalSigners", start, err)
	return v, cs, err
}

func (s *store) SpendChallenge(ctx context.Context, id string, expiresAt time.Time) error {
	start := time.Now()
	err := s.Store.SpendChallenge(ctx, id, expiresAt)
	s.observe("SpendChallenge", start, err)
	return err
}

func (s *store) ChallengeSpent(ctx context.Context, id string) (bool, error) {
	start := time.Now()
	v, err := s.Store.ChallengeSpent(ctx, id)
	s.observe("ChallengeSpent", start, err)
	return v, err
}

func (s *store) CreateAction(ctx context.Context, a *auth.Action) error {
	start := time.Now()
	err := s.Store.CreateAction(ctx, a)
	s.observe("CreateAction", start, err)
	return err
}

func (s *store) CreateActionForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, a *auth.Action, pending *audit.Entry) error {
	start := time.Now()
	err := s.Store.CreateActionForChallenge(ctx, challengeID, expiresAt, a, pending)
	s.observe("CreateActionForChallenge", start, err)
	return err
}

func (s *store) QueueOutcome(ctx context.Context, o *audit.Outcome, done func(error)) {
	start := time.Now()
	s.Store.QueueOutcome(ctx, o, func(err error) {
		s.observe("QueueOutcome", start, err)
		done(err)
	})
}

func (s *store) SpendActionForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, a *auth.Action, entry *audit.Entry, target string, now time.Time) error {
	start := time.Now()
	err := s.Store.SpendActionForChallenge(ctx, challengeID, expiresAt, a, entry, target, now)
	s.observe("SpendActionForChallenge", start, err)
	return err
}

func (s *store) UseAction(ctx context.Context, tokenHash []byte, now time.Time) (*auth.Action, error) {
	start := time.Now()
	v, err := s.Store.UseAction(ctx, tokenHash, now)
	s.observe("UseAction", start, err)
	return v, err
}

func (s *store) Operations(ctx context.Context, orgID, identityID string) ([]string, error) {
	start := time.Now()
	v, err := s.Store.Operations(ctx, orgID, identityID)
	s.observe("Operations", start, err)
	return v, err
}

func (s *store) RecordOutcome(ctx context.Context, o *audit.Outcome) error {
	start := time.Now()
	err := s.Store.RecordOutcome(ctx, o)
	s.observe("RecordOutcome", start, err)
	return err
}

func (s *store) Ping(ctx context.Context) error {
	start := time.Now()
	err := s.Store.Ping(ctx)
	s.observe("Ping", start, err)
	return err
}

func (s *store) Sweep(ctx context.Context, now time.Time) (int64, error) {
	start := time.Now()
	v, err := s.Store.Sweep(ctx, now)
	s.observe("Sweep", start, err)
	return v, err
}

func (s *store) SigningKeys(ctx context.Context) ([]token.StoredKey, error) {
	start := time.Now()
	v, err := s.Store.SigningKeys(ctx)
	s.observe("SigningKeys", start, err)
	return v, err
}

func (s *store) UseAuditedAction(ctx context.Context, tokenHash []byte, target string, now time.Time) (*auth.Action, *audit.Entry, error) {
	start := time.Now()
	a, e, err := s.Store.UseAuditedAction(ctx, tokenHash, target, now)
	s.observe("UseAuditedAction", start, err)
	return a, e, err
}

var _ auth.Store = (*store)(nil)
