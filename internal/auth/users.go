package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// UserView is a user with what the API shows alongside it.
type UserView struct {
	User        *User
	Credentials []*Credential
	Assignments []AssignedPermission
}

// orgUser loads a user of p's org; ids of other orgs are simply not found.
func (s *Service) orgUser(ctx context.Context, p *Principal, id string) (*User, error) {
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
	return u, nil
}

func (s *Service) userView(ctx context.Context, u *User) (*UserView, error) {
	as, err := s.store.Assignments(ctx, u.OrgID, u.ID)
	if err != nil {
		return nil, internalErr(err)
	}
	creds, err := s.store.Credentials(ctx, u.OrgID, u.ID)
	if err != nil {
		return nil, internalErr(err)
	}
	return &UserView{User: u, Credentials: creds, Assignments: as}, nil
}

// User returns a user of the caller's org.
func (s *Service) User(ctx context.Context, p *Principal, id string) (*UserView, error) {
	u, err := s.orgUser(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.userView(ctx, u)
}

// Page asks for one page of a list (spec 1.6).
type Page struct {
	Limit int    // 0 = the default
	Token string // the nextPageToken of the previous page
}

const (
	defaultPage = 100
	maxPage     = 1000
)

// ParseLimit reads the limit query parameter.
func ParseLimit(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPage {
		return 0, Errorf(Invalid, "limit must be a number from 1 to %d", maxPage)
	}
	return n, nil
}

// pageQuery turns a Page into a store query asking one item more than
// needed, so the answer tells whether another page follows.
func pageQuery(pg Page) (PageQuery, int, error) {
	limit := pg.Limit
	if limit == 0 {
		limit = defaultPage
	}
	if len(pg.Token) > 200 || strings.ContainsAny(pg.Token, "\x00\r\n") {
		return PageQuery{}, 0, Errorf(Invalid, "paginationToken is malformed")
	}
	return PageQuery{After: pg.Token, Limit: limit + 1}, limit, nil
}

// nextToken trims a list fetched with pageQuery and returns the token of
// the next page ("" on the last).
func nextToken[T any](items []T, limit int, id func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, id(items[limit-1])
}

// ListUsers lists the people of the caller's org (service accounts are
// listed by ListServiceAccounts), optionally of one kind.
func (s *Service) ListUsers(ctx context.Context, p *Principal, kind UserKind, pg Page) ([]*UserView, string, error) {
	if kind != "" && kind != CustomerEmployee && kind != EndUser {
		return nil, "", Errorf(Invalid, "kind must be CustomerEmployee or EndUser")
	}
	q, limit, err := pageQuery(pg)
	if err != nil {
		return nil, "", err
	}
	us, err := s.store.ListUsers(ctx, p.OrgID, UserQuery{Kind: kind, After: q.After, Limit: q.Limit})
	if err != nil {
		return nil, "", internalErr(err)
	}
	us, next := nextToken(us, limit, func(u *User) string { return u.ID })
	out := make([]*UserView, 0, len(us))
	for _, u := range us {
		v, err := s.userView(ctx, u)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	return out, next, nil
}

// CreateUserRequest is the body of POST /auth/users (spec 5.5).
type CreateUserRequest struct {
	Email         string   `json:"email"`
	Kind          UserKind `json:"kind"`
	ExternalID    string   `json:"externalId,omitempty"`
	IsSSORequired bool     `json:"isSSORequired,omitempty"`
	PublicKey     string   `json:"publicKey,omitempty"`
}

// CreateUser adds a person to the caller's org. The user is not registered
// until it completes /auth/registration with the code sent by the
// configured delivery; the code never appears in the answer.
func (s *Service) CreateUser(ctx context.Context, p *Principal, req *CreateUserRequest) (*UserView, error) {
	if err := validName("email", req.Email); err != nil {
		return nil, err
	}
	if req.Kind != CustomerEmployee {
		return nil, Errorf(Invalid, "kind must be CustomerEmployee (end users register through delegated registration)")
	}
	if len(req.ExternalID) > 200 {
		return nil, Errorf(Invalid, "externalId must be at most 200 characters")
	}
	if req.PublicKey != "" {
		return nil, Errorf(Invalid, "publicKey is not supported; the user registers its own credential")
	}
	now := s.clock()
	u := &User{ID: newID("us"), OrgID: p.OrgID, Username: req.Email, Kind: req.Kind, IsActive: true,
		IsSSORequired: req.IsSSORequired, ExternalID: req.ExternalID, CreatedAt: now}
	err := s.store.CreateUser(ctx, u)
	if errors.Is(err, ErrDuplicate) {
		return nil, Errorf(Conflict, "a user with this email already exists")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	if _, err := s.newRegistrationCode(ctx, u, true); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "user created", "org", p.OrgID, "user", u.ID, "by", p.UserID)
	return &UserView{User: u}, nil
}

// newRegistrationCode stores a fresh code for u, voiding the old one, and
// hands it to the delivery when deliver is set. It returns the code for the
// operator's CLI only.
func (s *Service) newRegistrationCode(ctx context.Context, u *User, deliver bool) (string, error) {
	code, rc := s.registrationCode(u.ID)
	if err := s.store.SetRegistrationCode(ctx, rc); err != nil {
		return "", internalErr(err)
	}
	if deliver {
		if s.cfg.Delivery == nil {
			s.log.InfoContext(ctx, "no code delivery configured; use `signet user invite`", "org", u.OrgID, "user", u.ID)
			return code, nil
		}
		org, err := s.store.Org(ctx, u.OrgID)
		if err != nil {
			return "", internalErr(err)
		}
		if err := s.cfg.Delivery.SendRegistrationCode(ctx, org, u, code); err != nil {
			s.log.ErrorContext(ctx, "registration code delivery failed", "org", u.OrgID, "user", u.ID, "err", err)
			return "", wrap(Internal, msgInternal, err)
		}
	}
	return code, nil
}

// ResendRegistrationCode mails an unregistered user a new code (PUT
// /auth/registration/code). Anyone may ask, so it never voids the
// outstanding code: the new one is added beside it (at most maxLiveCodes
// live at once). Without a code delivery no code could reach the user, so
// the request is refused, for every user alike. It answers the same, after
// the same work, whether or not the user exists: the code is stored and
// mailed in the background (sendLater).
func (s *Service) ResendRegistrationCode(ctx context.Context, orgID, username string) error {
	if err := validID("orgId", orgID); err != nil {
		return err
	}
	if err := validID("username", username); err != nil {
		return err
	}
	if s.cfg.Delivery == nil {
		return Errorf(Forbidden, msgNoDelivery)
	}
	u, err := s.store.UserByUsername(ctx, orgID, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return internalErr(err)
	}
	if reason := cannotRegister(u); reason != "" {
		s.log.InfoContext(ctx, "registration code not resent", "org", orgID, "reason", reason)
		return nil
	}
	s.sendLater(ctx, "registration code resend", func(ctx context.Context) error {
		code, rc := s.registrationCode(u.ID)
		err := s.store.AddRegistrationCode(ctx, rc, s.clock(), maxLiveCodes)
		if errors.Is(err, ErrLimit) {
			s.log.InfoContext(ctx, "registration code not resent", "org", orgID, "user", u.ID, "reason", "too many live codes")
			return nil
		}
		if err != nil {
			return err
		}
		return s.deliverRegistrationCode(ctx, u, code)
	})
	return nil
}

// msgNoDelivery refuses a code that could reach nobody.
const msgNoDelivery = "codes cannot be sent: this server has no code delivery (SMTP) configured; ask an administrator"

// deliverRegistrationCode mails code to u (in the background: sendLater
// logs its error).
func (s *Service) deliverRegistrationCode(ctx context.Context, u *User, code string) error {
	org, err := s.store.Org(ctx, u.OrgID)
	if err != nil {
		return internalErr(err)
	}
	if err := s.cfg.Delivery.SendRegistrationCode(ctx, org, u, code); err != nil {
		return fmt.Errorf("registration code delivery to user %s: %w", u.ID, err)
	}
	s.log.InfoContext(ctx, "registration code sent", "org", u.OrgID, "user", u.ID)
	return nil
}

// InviteUser issues a fresh registration code for an unregistered user and
// returns it to the operator (signet users invite).
func (s *Service) InviteUser(ctx context.Context, orgID, username string) (string, error) {
	u, err := s.store.UserByUsername(ctx, orgID, username)
	if errors.Is(err, ErrNotFound) {
		return "", Errorf(NotFound, "user not found")
	}
	if err != nil {
		return "", internalErr(err)
	}
	if u.IsRegistered {
		return "", Errorf(Conflict, "user is already registered")
	}
	if u.IsServiceAccount || !u.IsActive || u.IsArchived {
		return "", Errorf(Invalid, "user cannot register")
	}
	return s.newRegistrationCode(ctx, u, false)
}

// person loads a user that the /auth/users mutations may change: a person
// of the org other than the caller.
func (s *Service) person(ctx context.Context, p *Principal, id string) (*User, error) {
	u, err := s.orgUser(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if u.IsServiceAccount {
		return nil, Errorf(Invalid, "this is a service account; use /auth/service-accounts")
	}
	if u.IsArchived {
		return nil, Errorf(NotFound, "user not found")
	}
	return u, nil
}

func (s *Service) saveUser(ctx context.Context, p *Principal, u *User, what string) (*UserView, error) {
	err := s.store.UpdateUserKeepingAdmin(ctx, u)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(NotFound, "user not found")
	}
	if errors.Is(err, ErrLastAdmin) {
		return nil, lastAdminConflict(verbOf(what))
	}
	if errors.Is(err, ErrDuplicate) {
		return nil, Errorf(Conflict, "name already taken")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	s.log.InfoContext(ctx, "user "+what, "org", p.OrgID, "user", u.ID, "by", p.UserID)
	return s.userView(ctx, u)
}

// UpdateUser changes a user's settings (spec 5.5: isSSORequired).
func (s *Service) UpdateUser(ctx context.Context, p *Principal, id string, ssoRequired *bool) (*UserView, error) {
	u, err := s.person(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if ssoRequired == nil {
		return nil, Errorf(Invalid, "isSSORequired is required")
	}
	u.IsSSORequired = *ssoRequired
	return s.saveUser(ctx, p, u, "updated")
}

// SetUserActive activates or deactivates a user. A deactivated user, its
// sessions and its PATs stop working on the next request. Nobody can
// deactivate themselves, nobody can (de)activate a user holding operations
// they do not hold, and the org's last active full admin stays active
// (escalation.go).
func (s *Service) SetUserActive(ctx context.Context, p *Principal, id string, active bool) (*UserView, error) {
	u, err := s.person(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if u.ID == p.UserID && !active {
		return nil, Errorf(Invalid, "you cannot deactivate yourself")
	}
	verb := map[bool]string{true: "activate", false: "deactivate"}[active]
	if err := s.confirmCovers(ctx, p, u.ID, "cannot "+verb+" this user"); err != nil {
		return nil, err
	}
	if !active {
		if err := s.confirmNotLastAdmin(ctx, u, verb); err != nil {
			return nil, err
		}
	}
	u.IsActive = active
	return s.saveUser(ctx, p, u, map[bool]string{true: "activated", false: "deactivated"}[active])
}

// ArchiveUser archives a user for good (DELETE /auth/users/:id), under the
// same rules as deactivating it.
func (s *Service) ArchiveUser(ctx context.Context, p *Principal, id string) (*UserView, error) {
	u, err := s.person(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if u.ID == p.UserID {
		return nil, Errorf(Invalid, "you cannot archive yourself")
	}
	if err := s.confirmCovers(ctx, p, u.ID, "cannot archive this user"); err != nil {
		return nil, err
	}
	if err := s.confirmNotLastAdmin(ctx, u, "archive"); err != nil {
		return nil, err
	}
	u.IsArchived, u.IsActive = true, false
	return s.saveUser(ctx, p, u, "archived")
}
