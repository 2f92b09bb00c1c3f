package httpapi

import (
	"net/http"

	"github.com/signet-auth/signet/internal/auth"
)

// assignmentJSON is one entry of a user's permissionAssignments (spec 5.5).
type assignmentJSON struct {
	PermissionName string   `json:"permissionName"`
	PermissionID   string   `json:"permissionId"`
	AssignmentID   string   `json:"assignmentId"`
	Operations     []string `json:"operations"`
}

// userJSON is a user as the API shows it (spec 5.5).
type userJSON struct {
	UserID                string           `json:"userId"`
	Username              string           `json:"username"`
	Name                  string           `json:"name"`
	Kind                  auth.UserKind    `json:"kind"`
	CredentialUUID        string           `json:"credentialUuid"`
	OrgID                 string           `json:"orgId"`
	Permissions           []string         `json:"permissions"`
	IsActive              bool             `json:"isActive"`
	IsServiceAccount      bool             `json:"isServiceAccount"`
	IsRegistered          bool             `json:"isRegistered"`
	IsSSORequired         bool             `json:"isSSORequired"`
	PermissionAssignments []assignmentJSON `json:"permissionAssignments"`
}

func userOut(v *auth.UserView) userJSON {
	u := v.User
	out := userJSON{
		UserID: u.ID, Username: u.Username, Name: u.Username, Kind: u.Kind, OrgID: u.OrgID,
		Permissions: []string{}, IsActive: u.IsActive && !u.IsArchived, IsServiceAccount: u.IsServiceAccount,
		IsRegistered: u.IsRegistered, IsSSORequired: u.IsSSORequired, PermissionAssignments: []assignmentJSON{},
	}
	for _, c := range v.Credentials {
		if c.IsActive {
			out.CredentialUUID = c.UUID
			break
		}
	}
	seen := map[string]bool{}
	for _, a := range v.Assignments {
		for _, op := range a.Permission.Operations {
			if !seen[op] && !a.Permission.IsArchived {
				seen[op] = true
				out.Permissions = append(out.Permissions, op)
			}
		}
		out.PermissionAssignments = append(out.PermissionAssignments, assignmentJSON{
			PermissionName: a.Permission.Name, PermissionID: a.Permission.ID,
			AssignmentID: a.Assignment.ID, Operations: a.Permission.Operations,
		})
	}
	return out
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.svc.User(r.Context(), c.p, r.PathValue("userId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userOut(v))
	return nil
}
