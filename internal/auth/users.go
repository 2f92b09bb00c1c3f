package auth

import (
	"context"
	"errors"
)

// UserView is a user with its permission assignments, as the API shows it.
type UserView struct {
	User        *User
	Credentials []*Credential
	Assignments []AssignedPermission
}

// User returns a user of the caller's org. Ids of other orgs are not found.
func (s *Service) User(ctx context.Context, p *Principal, id string) (*UserView, error) {
	if err := validID("userId", id); err != nil {
		return nil, err
	}
	u, err := s.store.User(ctx, p.OrgID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(NotFound, "user not found")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	as, err := s.store.Assignments(ctx, p.OrgID, u.ID)
	if err != nil {
		return nil, internalErr(err)
	}
	creds, err := s.store.Credentials(ctx, p.OrgID, u.ID)
	if err != nil {
		return nil, internalErr(err)
	}
	return &UserView{User: u, Credentials: creds, Assignments: as}, nil
}
