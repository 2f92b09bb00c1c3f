package auth

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/signet-auth/signet/internal/token"
)

// Operation names signet knows (spec 6.1): the current auth and
// permissions operations of @dfns/sdk 0.8.21, then the legacy names the
// enum still accepts.
var operations = []string{
	"Auth:Logs:Read",
	"Auth:Users:Create", "Auth:Users:Read", "Auth:Users:Update", "Auth:Users:Activate",
	"Auth:Users:Deactivate", "Auth:Users:Delete",
	"Auth:ServiceAccounts:Create", "Auth:ServiceAccounts:Read", "Auth:ServiceAccounts:Update",
	"Auth:ServiceAccounts:Deactivate", "Auth:ServiceAccounts:Activate", "Auth:ServiceAccounts:Delete",
	"Auth:Pats:Create",
	"Auth:Register:Delegated", "Auth:Login:Delegated", "Auth:Recover:Delegated",
	"Permissions:Archive", "Permissions:Create", "Permissions:Read", "Permissions:Update",
	"Permissions:Assign", "Permissions:Revoke", "Permissions:Assignments:Read",
	"Orgs:Read", "Orgs:Update", "Orgs:Settings:Read", "Orgs:Settings:Update",
	"Policies:Create", "Policies:Read", "Policies:Update", "Policies:Archive",
	"Policies:Approvals:Read", "Policies:Approvals:Approve",
	// legacy
	"Auth:Action:Sign",
	"Auth:Apps:Read", "Auth:Apps:Create", "Auth:Apps:Update",
	"Auth:Creds:Create", "Auth:Creds:Read", "Auth:Creds:Update", "Auth:Creds:Code:Create",
	"Auth:Types:Application", "Auth:Types:Employee", "Auth:Types:EndUser", "Auth:Types:Pat",
	"Auth:Types:ServiceAccount", "Internal:Auth:Types:Staff", "Auth:Users:Delegate",
	"PermissionAssignments:Create", "PermissionAssignments:Read", "PermissionAssignments:Revoke",
}

// AllOperations returns every operation name signet knows, the content of
// ManagedFullAdminAccess.
func AllOperations() []string { return slices.Clone(operations) }

// IsOperation reports whether op is an operation a permission may name:
// signet's own or one the operator declared.
func (s *Service) IsOperation(op string) bool { return s.ops[op] }

// validOperation checks the shape of an operator-declared operation name:
// two to four segments of letters and digits separated by colons.
func validOperation(op string) bool {
	parts := strings.Split(op, ":")
	if len(parts) < 2 || len(parts) > 4 || len(op) > 100 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// Authorize checks that p may perform op. A user and a service account hold
// the operations of their assignments; a PAT holds its user's operations as
// they are now, intersected with its own assignment when it has one (spec
// 12.8).
//
// The operations are cached under the org's authorization version, which
// Authenticate read with the token in its one store query: every write to
// the org's permissions or assignments bumps that version in the writing
// transaction (migration 0005), so a change committed on any replica is a
// cache miss on the very next request everywhere (spec 12.8-12.9), and a
// request whose version is current needs no store read here.
func (s *Service) Authorize(ctx context.Context, p *Principal, op string) error {
	var key operationsKey
	var ops []string
	hit := false
	if p.authzKnown {
		key = operationsKey{org: p.OrgID, identity: p.UserID, version: p.authzVersion}
		if p.Kind == token.KindPAT {
			key.permission = p.PermissionID
		}
		ops, hit = s.opsCache.get(key)
		s.cacheLookup(CacheOperations, hit)
	}
	if !hit {
		var err error
		if ops, err = s.operations(ctx, p); err != nil {
			return err
		}
		if p.authzKnown {
			s.opsCache.put(key, ops)
		}
	}
	if _, ok := slices.BinarySearch(ops, op); !ok {
		return Errorf(Forbidden, "%s %s is not authorized to perform operation (%s)", p.UserKind, p.UserID, op)
	}
	return nil
}

// operations reads from the store what p may do, sorted and deduplicated:
// its user's operations, intersected for a restricted PAT with its
// permission's (an archived or vanished permission grants nothing).
func (s *Service) operations(ctx context.Context, p *Principal) ([]string, error) {
	ops, err := s.store.Operations(ctx, p.OrgID, p.UserID)
	if err != nil {
		return nil, internalErr(err)
	}
	ops = slices.Clone(ops)
	slices.Sort(ops)
	ops = slices.Compact(ops)
	if p.Kind == token.KindPAT && p.PermissionID != "" && len(ops) > 0 {
		pm, err := s.store.Permission(ctx, p.OrgID, p.PermissionID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, internalErr(err)
		}
		if err != nil || pm.IsArchived {
			return nil, nil
		}
		ops = slices.DeleteFunc(ops, func(op string) bool { return !slices.Contains(pm.Operations, op) })
	}
	return ops, nil
}
