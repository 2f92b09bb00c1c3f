package httpapi

import (
	"net/http"

	"github.com/signet-auth/signet/internal/auth"
)

// permissionJSON is a permission as the API shows it (spec 6).
type permissionJSON struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Operations  []string `json:"operations"`
	Status      string   `json:"status"`
	IsImmutable bool     `json:"isImmutable"`
	IsArchived  bool     `json:"isArchived"`
	DateCreated string   `json:"dateCreated"`
	DateUpdated string   `json:"dateUpdated"`
}

func permissionOut(p *auth.Permission) permissionJSON {
	return permissionJSON{ID: p.ID, Name: p.Name, Operations: p.Operations, Status: "Active", IsImmutable: p.IsImmutable,
		IsArchived: p.IsArchived, DateCreated: date(p.CreatedAt), DateUpdated: date(p.UpdatedAt)}
}

// assignmentObjJSON is an assignment as the permissions API shows it.
type assignmentObjJSON struct {
	ID           string `json:"id"`
	PermissionID string `json:"permissionId"`
	IdentityID   string `json:"identityId"`
	IsImmutable  bool   `json:"isImmutable"`
	DateCreated  string `json:"dateCreated"`
	DateUpdated  string `json:"dateUpdated"`
}

func assignmentOut(a *auth.Assignment) assignmentObjJSON {
	return assignmentObjJSON{ID: a.ID, PermissionID: a.PermissionID, IdentityID: a.IdentityID, IsImmutable: a.IsImmutable,
		DateCreated: date(a.CreatedAt), DateUpdated: date(a.UpdatedAt)}
}

func writePermission(w http.ResponseWriter, p *auth.Permission, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, permissionOut(p))
	return nil
}

func (s *Server) createPermission(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.PermissionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := s.svc.CreatePermission(r.Context(), c.p, &req)
	return writePermission(w, p, err)
}

func (s *Server) listPermissions(w http.ResponseWriter, r *http.Request, c *call) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	ps, next, err := s.svc.ListPermissions(r.Context(), c.p, pg)
	if err != nil {
		return err
	}
	out := list[permissionJSON]{Items: make([]permissionJSON, 0, len(ps)), NextPageToken: next}
	for _, p := range ps {
		out.Items = append(out.Items, permissionOut(p))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getPermission(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.svc.Permission(r.Context(), c.p, r.PathValue("permissionId"))
	return writePermission(w, p, err)
}

func (s *Server) updatePermission(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.PermissionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := s.svc.UpdatePermission(r.Context(), c.p, r.PathValue("permissionId"), &req)
	return writePermission(w, p, err)
}

func (s *Server) archivePermission(w http.ResponseWriter, r *http.Request, c *call) error {
	var req archivePermissionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.IsArchived == nil {
		return auth.Errorf(auth.Invalid, "isArchived is required")
	}
	p, err := s.svc.ArchivePermission(r.Context(), c.p, r.PathValue("permissionId"), *req.IsArchived)
	return writePermission(w, p, err)
}

func (s *Server) createAssignment(w http.ResponseWriter, r *http.Request, c *call) error {
	var req createAssignmentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	a, err := s.svc.CreateAssignment(r.Context(), c.p, r.PathValue("permissionId"), req.IdentityID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, assignmentOut(a))
	return nil
}

func (s *Server) listAssignments(w http.ResponseWriter, r *http.Request, c *call) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	as, next, err := s.svc.ListAssignments(r.Context(), c.p, r.PathValue("permissionId"), pg)
	if err != nil {
		return err
	}
	out := list[assignmentObjJSON]{Items: make([]assignmentObjJSON, 0, len(as)), NextPageToken: next}
	for _, a := range as {
		out.Items = append(out.Items, assignmentOut(a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteAssignment(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.svc.DeleteAssignment(r.Context(), c.p, r.PathValue("permissionId"), r.PathValue("assignmentId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent) // spec 6: 204, the SDK does not read the body
	return nil
}
