package auth

import (
	"context"
	"errors"

	"github.com/signet-auth/signet/internal/token"
)

// ServiceAccountView is a service account: its user and its tokens (spec
// 5.7).
type ServiceAccountView struct {
	User   *UserView
	Tokens []*TokenView
}

// CreateServiceAccount creates an org-wide machine identity with its own
// key. It starts with no permissions; giving permissionId also needs
// Permissions:Assign (spec 12.8) and every operation the permission grants
// (escalation.go). A PAT cannot create one.
func (s *Service) CreateServiceAccount(ctx context.Context, p *Principal, req *CreateTokenRequest) (*ServiceAccountView, string, error) {
	if p.Kind == token.KindPAT {
		return nil, "", Errorf(Forbidden, "personal access tokens cannot create service accounts")
	}
	if p.UserKind != CustomerEmployee {
		return nil, "", Errorf(Forbidden, "only employees can create service accounts")
	}
	if req.PermissionID != "" {
		if err := s.Authorize(ctx, p, "Permissions:Assign"); err != nil {
			return nil, "", err
		}
	}
	now := s.clock()
	u := &User{ID: newID("us"), OrgID: p.OrgID, Username: req.Name, Kind: CustomerEmployee, IsActive: true,
		IsRegistered: true, IsServiceAccount: true, ExternalID: req.ExternalID, CreatedAt: now}
	l, perm, err := s.newLongLived(ctx, p, u, token.KindServiceAccount, req)
	if err != nil {
		return nil, "", err
	}
	l.User = u
	if perm != nil {
		if err := s.confirmHolds(ctx, p, "cannot create a service account with this permission", permissionAuthority(perm)); err != nil {
			return nil, "", err
		}
		l.Assignment = &Assignment{ID: newID("as"), OrgID: p.OrgID, PermissionID: perm.ID, IdentityID: u.ID,
			CreatedAt: now, UpdatedAt: now}
		// The assignment is a Permissions:Assign activity like any other
		// (permissions.go): a policy that would block or hold it refuses
		// it here, where an identity that does not exist yet cannot wait
		// for an approval.
		if err := s.refuseGoverned(ctx, p, ActivityPermissionsAssign, perm.ID); err != nil {
			return nil, "", err
		}
	}
	tok, err := s.mintLongLived(ctx, l, u.Username)
	if err != nil {
		return nil, "", err
	}
	s.log.InfoContext(ctx, "service account created", "org", p.OrgID, "serviceAccount", u.ID, "token", l.Token.ID, "by", p.UserID)
	v, err := s.serviceAccountView(ctx, u)
	if err != nil {
		return nil, "", err
	}
	return v, tok, nil
}

func (s *Service) serviceAccountView(ctx context.Context, u *User) (*ServiceAccountView, error) {
	uv, err := s.userView(ctx, u)
	if err != nil {
		return nil, err
	}
	ts, err := s.store.AccessTokens(ctx, u.OrgID, u.ID, token.KindServiceAccount)
	if err != nil {
		return nil, internalErr(err)
	}
	v := &ServiceAccountView{User: uv, Tokens: []*TokenView{}}
	for _, t := range ts {
		if t.IsArchived {
			continue
		}
		tv, err := s.tokenView(ctx, t)
		if err != nil {
			return nil, err
		}
		v.Tokens = append(v.Tokens, tv)
	}
	return v, nil
}

// serviceAccount loads an unarchived service account of the caller's org.
func (s *Service) serviceAccount(ctx context.Context, p *Principal, id string) (*User, error) {
	u, err := s.orgUser(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !u.IsServiceAccount || u.IsArchived {
		return nil, Errorf(NotFound, "service account not found")
	}
	return u, nil
}

// ListServiceAccounts lists the org's service accounts.
func (s *Service) ListServiceAccounts(ctx context.Context, p *Principal) ([]*ServiceAccountView, error) {
	out := []*ServiceAccountView{}
	after := ""
	for {
		us, err := s.store.ListUsers(ctx, p.OrgID, UserQuery{ServiceAccounts: true, After: after, Limit: maxPage})
		if err != nil {
			return nil, internalErr(err)
		}
		for _, u := range us {
			if u.IsArchived {
				continue
			}
			v, err := s.serviceAccountView(ctx, u)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if len(us) < maxPage {
			return out, nil
		}
		after = us[len(us)-1].ID
	}
}

// ServiceAccount returns one service account.
func (s *Service) ServiceAccount(ctx context.Context, p *Principal, id string) (*ServiceAccountView, error) {
	u, err := s.serviceAccount(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.serviceAccountView(ctx, u)
}

// changeServiceAccount applies f to the account and to each of its tokens
// and saves them.
func (s *Service) changeServiceAccount(ctx context.Context, p *Principal, id, what string, fu func(*User) error, ft func(*AccessToken)) (*ServiceAccountView, error) {
	u, err := s.serviceAccount(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := fu(u); err != nil {
		return nil, err
	}
	err = s.store.UpdateUserKeepingAdmin(ctx, u)
	if errors.Is(err, ErrLastAdmin) {
		return nil, lastAdminConflict(verbOf(what))
	}
	if errors.Is(err, ErrDuplicate) {
		return nil, Errorf(Conflict, "name already taken")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	if ft != nil {
		ts, err := s.store.AccessTokens(ctx, p.OrgID, u.ID, token.KindServiceAccount)
		if err != nil {
			return nil, internalErr(err)
		}
		for _, t := range ts {
			if t.IsArchived {
				continue
			}
			ft(t)
			if err := s.store.UpdateAccessToken(ctx, t); err != nil {
				return nil, internalErr(err)
			}
		}
	}
	s.log.InfoContext(ctx, "service account "+what, "org", p.OrgID, "serviceAccount", u.ID, "by", p.UserID)
	return s.serviceAccountView(ctx, u)
}

// UpdateServiceAccount renames a service account or changes its external id.
func (s *Service) UpdateServiceAccount(ctx context.Context, p *Principal, id string, req *UpdateTokenRequest) (*ServiceAccountView, error) {
	return s.changeServiceAccount(ctx, p, id, "updated", func(u *User) error {
		t := &AccessToken{Name: u.Username, ExternalID: u.ExternalID}
		if err := applyTokenUpdate(t, req); err != nil {
			return err
		}
		u.Username, u.ExternalID = t.Name, t.ExternalID
		return nil
	}, func(t *AccessToken) {
		if req.Name != nil {
			t.Name = *req.Name
		}
		if req.ExternalID != nil {
			t.ExternalID = *req.ExternalID
		}
	})
}

// SetServiceAccountActive activates or deactivates a service account; its
// token is refused on the next request, on every replica. Either needs the
// caller to hold every operation the account holds (escalation.go), and
// the org's last active full admin stays active.
func (s *Service) SetServiceAccountActive(ctx context.Context, p *Principal, id string, active bool) (*ServiceAccountView, error) {
	verb := map[bool]string{true: "activate", false: "deactivate"}[active]
	return s.changeServiceAccount(ctx, p, id, verb+"d",
		func(u *User) error {
			if u.ID == p.UserID && !active {
				return Errorf(Invalid, "a service account cannot deactivate itself")
			}
			if err := s.confirmCovers(ctx, p, u.ID, "cannot "+verb+" this service account"); err != nil {
				return err
			}
			if !active {
				if err := s.confirmNotLastAdmin(ctx, u, verb); err != nil {
					return err
				}
			}
			u.IsActive = active
			return nil
		}, func(t *AccessToken) { t.IsActive = active })
}

// ArchiveServiceAccount archives a service account and its tokens for good,
// under the same rules as deactivating it.
func (s *Service) ArchiveServiceAccount(ctx context.Context, p *Principal, id string) (*ServiceAccountView, error) {
	return s.changeServiceAccount(ctx, p, id, "archived", func(u *User) error {
		if err := s.confirmCovers(ctx, p, u.ID, "cannot archive this service account"); err != nil {
			return err
		}
		if err := s.confirmNotLastAdmin(ctx, u, "archive"); err != nil {
			return err
		}
		u.IsArchived, u.IsActive = true, false
		return nil
	}, func(t *AccessToken) { t.IsArchived, t.IsActive = true, false })
}
