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
func (s *Service) Authorize(ctx context.Context, p *Principal, op string) error {
	ops, err := s.store.Operations(ctx, p.OrgID, p.UserID)
	if err != nil {
		return internalErr(err)
	}
	ok := slices.Contains(ops, op)
	if ok && p.Kind == token.KindPAT && p.PermissionID != "" {
		// The PAT's own restriction: an archived or vanished permission
		// grants nothing.
		pm, err := s.store.Permission(ctx, p.OrgID, p.PermissionID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return internalErr(err)
		}
		ok = err == nil && !pm.IsArchived && slices.Contains(pm.Operations, op)
	}
	if !ok {
		return Errorf(Forbidden, "%s %s is not authorized to perform operation (%s)", p.UserKind, p.UserID, op)
	}
	return nil
}
