package httpapi

import (
	"net/http"

	"github.com/signet-auth/signet/internal/auth"
)

// actionJSON is a spent user action as /auth/action/verify shows it.
type actionJSON struct {
	ID             string `json:"id"`
	OrgID          string `json:"orgId"`
	UserID         string `json:"userId"`
	TokenID        string `json:"tokenId"`
	CredentialUUID string `json:"credentialUuid"`
	Method         string `json:"method"`
	Path           string `json:"path"`
	Query          string `json:"query,omitempty"`
	DateCreated    string `json:"dateCreated"`
}

// verifyAction lets a service beside signet (the Go middleware) spend a
// user-action token it received, under exactly the rules signet applies to
// its own routes: the caller's bearer token is the one the original request
// carried, so only the identity that signed can spend its action; single
// use and the bindings to method, path, query and payload are checked by
// the same UseAction call (spec 12.1-12.3). The payload is sent in full so
// the JSON comparison of spec 12.2 applies.
func (s *Server) verifyAction(w http.ResponseWriter, r *http.Request, c *call) error {
	var req verifyActionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Method == "" || req.Path == "" {
		return auth.Errorf(auth.Invalid, "method and path are required")
	}
	a, err := s.svc.UseAction(r.Context(), c.p, req.UserAction, req.Method, req.Path, req.Query, []byte(req.Payload))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, verifyActionAnswer{Action: actionJSON{
		ID: a.ID, OrgID: a.OrgID, UserID: a.UserID, TokenID: a.TokenID, CredentialUUID: a.CredentialUUID,
		Method: a.Method, Path: a.Path, Query: a.Query, DateCreated: date(a.CreatedAt),
	}})
	return nil
}
