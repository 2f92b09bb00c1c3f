package auth

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/signet-auth/signet/internal/token"
)

// This file is the one rule about moving authority (docs/authorization.md):
//
//   - nobody grants what they do not hold: creating a permission, changing
//     a permission's operations, archiving or unarchiving one, assigning one
//     to anyone, and creating a service account or PAT with a permissionId
//     need the caller to hold, at that moment and through its own
//     assignments (a PAT: within its restriction), every operation that the
//     permission grants (confirmHolds);
//   - nobody acts on authority above their own: deactivating, activating,
//     archiving an identity or revoking one of its assignments need the
//     caller to hold every operation that identity holds (confirmCovers);
//   - nobody removes the org's last way in: its last active holder of
//     ManagedFullAdminAccess is neither deactivated nor archived, nor is
//     that holder's last active credential deactivated (confirmNotLastAdmin
//     answers early; the store's guarded write, AdminGuardStore, decides
//     atomically, so concurrent requests cannot together remove it).
//
// It is the same idea as Kubernetes RBAC's escalation prevention (a role or
// binding may only carry rules the requester already holds), applied to
// every path that changes what an identity may do. Every check reads the
// store, never the operations cache: the cache is keyed by the authorization
// version the request's token was read with, and the rule must judge
// authority as it is when the write is decided.

// FullAdminPermission is the name of the immutable permission bootstrap
// gives an org's first user. Its holders hold every operation, including
// operator-declared ones and any that later versions add.
const FullAdminPermission = "ManagedFullAdminAccess"

// isFullAdmin reports whether pm is an org's ManagedFullAdminAccess: the
// immutable one bootstrap made, not a user-made permission of that name
// (names of user-made permissions are free text).
func isFullAdmin(pm *Permission) bool { return pm.IsImmutable && pm.Name == FullAdminPermission }

// authority is what an identity may do: everything (a holder of
// ManagedFullAdminAccess), or a set of operations.
type authority struct {
	all bool
	ops map[string]bool
}

func (a authority) holds(op string) bool { return a.all || a.ops[op] }

// intersect returns what both a and b hold: a PAT holds its user's
// authority within its restricting permission.
func (a authority) intersect(b authority) authority {
	switch {
	case a.all:
		return b
	case b.all:
		return a
	}
	out := authority{ops: map[string]bool{}}
	for op := range a.ops {
		if b.ops[op] {
			out.ops[op] = true
		}
	}
	return out
}

// permissionAuthority is what a permission grants; an archived permission
// grants nothing.
func permissionAuthority(pm *Permission) authority {
	if pm.IsArchived {
		return authority{}
	}
	if isFullAdmin(pm) {
		return authority{all: true}
	}
	a := authority{ops: make(map[string]bool, len(pm.Operations))}
	for _, op := range pm.Operations {
		a.ops[op] = true
	}
	return a
}

// expand lists the operations a holds: for everything, every operation
// this server knows (signet's and the operator's).
func (s *Service) expand(a authority) []string {
	src := a.ops
	if a.all {
		src = s.ops
	}
	out := make([]string, 0, len(src))
	for op := range src {
		out = append(out, op)
	}
	slices.Sort(out)
	return out
}

// lacking returns, sorted, the operations of want that have does not hold.
func (s *Service) lacking(have, want authority) []string {
	if have.all {
		return nil
	}
	var out []string
	for _, op := range s.expand(want) {
		if !have.holds(op) {
			out = append(out, op)
		}
	}
	return out
}

// identityAuthority reads from the store what an identity (a user or a
// service account) holds now through its assignments.
func (s *Service) identityAuthority(ctx context.Context, orgID, identityID string) (authority, error) {
	as, err := s.store.Assignments(ctx, orgID, identityID)
	if err != nil {
		return authority{}, internalErr(err)
	}
	a := authority{ops: map[string]bool{}}
	for i := range as {
		pa := permissionAuthority(&as[i].Permission)
		if pa.all {
			return pa, nil
		}
		for op := range pa.ops {
			a.ops[op] = true
		}
	}
	return a, nil
}

// callerAuthority reads from the store what p holds now: its user's (or
// service account's) authority, and for a PAT made with a permissionId no
// more than that permission grants (an archived or vanished one: nothing).
func (s *Service) callerAuthority(ctx context.Context, p *Principal) (authority, error) {
	a, err := s.identityAuthority(ctx, p.OrgID, p.UserID)
	if err != nil {
		return authority{}, err
	}
	if p.Kind == token.KindPAT && p.PermissionID != "" {
		pm, err := s.store.Permission(ctx, p.OrgID, p.PermissionID)
		if errors.Is(err, ErrNotFound) {
			return authority{}, nil
		}
		if err != nil {
			return authority{}, internalErr(err)
		}
		a = a.intersect(permissionAuthority(pm))
	}
	return a, nil
}

// refuse is the one refusal of the rule: 403, naming what the caller lacks.
func refuse(what string, missing []string) *Error {
	return Errorf(Forbidden, "%s: it needs operations the caller does not hold (%s)", what, strings.Join(missing, ", "))
}

// confirmHolds refuses, naming what is missing, unless p holds every
// operation of grants: the rule for every path that gives authority.
func (s *Service) confirmHolds(ctx context.Context, p *Principal, what string, grants authority) error {
	have, err := s.callerAuthority(ctx, p)
	if err != nil {
		return err
	}
	if missing := s.lacking(have, grants); len(missing) > 0 {
		s.log.WarnContext(ctx, "escalation refused", "org", p.OrgID, "by", p.UserID, "token", p.TokenID, "what", what, "missing", missing)
		return refuse(what, missing)
	}
	return nil
}

// opsAuthority is the authority a list of operation names grants.
func opsAuthority(ops ...[]string) authority {
	a := authority{ops: map[string]bool{}}
	for _, l := range ops {
		for _, op := range l {
			a.ops[op] = true
		}
	}
	return a
}

// confirmCovers refuses unless p holds every operation identityID holds:
// nobody deactivates, archives, reactivates or strips an identity above
// their own authority.
func (s *Service) confirmCovers(ctx context.Context, p *Principal, identityID, what string) error {
	target, err := s.identityAuthority(ctx, p.OrgID, identityID)
	if err != nil {
		return err
	}
	return s.confirmHolds(ctx, p, what, target)
}

// isActiveAdmin reports whether u can still act as a full admin: active,
// registered, not archived, holding ManagedFullAdminAccess.
func (s *Service) isActiveAdmin(ctx context.Context, u *User) (bool, error) {
	if !u.IsActive || u.IsArchived || !u.IsRegistered {
		return false, nil
	}
	a, err := s.identityAuthority(ctx, u.OrgID, u.ID)
	return a.all, err
}

// otherActiveAdmin reports whether the org has an active full admin other
// than userID. Only holders of the org's ManagedFullAdminAccess count.
func (s *Service) otherActiveAdmin(ctx context.Context, orgID, userID string) (bool, error) {
	as, err := s.store.Assignments(ctx, orgID, userID)
	if err != nil {
		return false, internalErr(err)
	}
	for i := range as {
		pm := &as[i].Permission
		if !isFullAdmin(pm) || pm.IsArchived {
			continue
		}
		after := ""
		for {
			page, err := s.store.ListAssignments(ctx, orgID, pm.ID, PageQuery{After: after, Limit: maxPage})
			if err != nil {
				return false, internalErr(err)
			}
			for _, a := range page {
				if a.IdentityID == userID {
					continue
				}
				u, err := s.store.User(ctx, orgID, a.IdentityID)
				if errors.Is(err, ErrNotFound) {
					continue
				}
				if err != nil {
					return false, internalErr(err)
				}
				if u.IsActive && !u.IsArchived && u.IsRegistered {
					return true, nil
				}
			}
			if len(page) < maxPage {
				break
			}
			after = page[len(page)-1].ID
		}
	}
	return false, nil
}

// confirmNotLastAdmin refuses (409) to take u out of action when u is the
// org's last active full admin: the org would have nobody left who can
// grant or repair anything.
func (s *Service) confirmNotLastAdmin(ctx context.Context, u *User, what string) error {
	admin, err := s.isActiveAdmin(ctx, u)
	if err != nil || !admin {
		return err
	}
	other, err := s.otherActiveAdmin(ctx, u.OrgID, u.ID)
	if err != nil {
		return err
	}
	if !other {
		return lastAdminConflict(what)
	}
	return nil
}

// lastAdminConflict is the 409 for taking the org's last active full admin
// out of action, whether the domain's read saw it first or the store's
// guarded write (AdminGuardStore) refused it.
func lastAdminConflict(what string) error {
	return Errorf(Conflict, "cannot %s the org's last active holder of %s", what, FullAdminPermission)
}

// verbOf turns a past participle of the log messages ("archived",
// "deactivated", "updated") into the verb of the 409 message.
func verbOf(what string) string { return strings.TrimSuffix(what, "d") }
