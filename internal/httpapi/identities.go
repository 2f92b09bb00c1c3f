package httpapi

import (
	"net/http"

	"github.com/signet-auth/signet/internal/auth"
)

// page reads the pagination query parameters (spec 1.6).
func page(r *http.Request) (auth.Page, error) {
	n, err := auth.ParseLimit(r.URL.Query().Get("limit"))
	if err != nil {
		return auth.Page{}, err
	}
	return auth.Page{Limit: n, Token: r.URL.Query().Get("paginationToken")}, nil
}

// list is a page of items; nextPageToken is absent on the last page.
type list[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"nextPageToken,omitempty"`
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c *call) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	vs, next, err := s.svc.ListUsers(r.Context(), c.p, auth.UserKind(r.URL.Query().Get("kind")), pg)
	if err != nil {
		return err
	}
	out := list[userJSON]{Items: make([]userJSON, 0, len(vs)), NextPageToken: next}
	for _, v := range vs {
		out.Items = append(out.Items, userOut(v))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.CreateUserRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	v, err := s.svc.CreateUser(r.Context(), c.p, &req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userOut(v))
	return nil
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	var req updateUserRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	v, err := s.svc.UpdateUser(r.Context(), c.p, r.PathValue("userId"), req.IsSSORequired)
	return writeUser(w, v, err)
}

func writeUser(w http.ResponseWriter, v *auth.UserView, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userOut(v))
	return nil
}

func (s *Server) activateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.svc.SetUserActive(r.Context(), c.p, r.PathValue("userId"), true)
	return writeUser(w, v, err)
}

func (s *Server) deactivateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.svc.SetUserActive(r.Context(), c.p, r.PathValue("userId"), false)
	return writeUser(w, v, err)
}

func (s *Server) archiveUser(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.svc.ArchiveUser(r.Context(), c.p, r.PathValue("userId"))
	return writeUser(w, v, err)
}

func (s *Server) resendRegistrationCode(w http.ResponseWriter, r *http.Request, c *call) error {
	var req registrationCodeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.svc.ResendRegistrationCode(r.Context(), req.OrgID, req.Username); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, message{Message: "success"})
	return nil
}

// tokenJSON is a PAT or service-account token as the API shows it (spec
// 5.6); accessToken only in the create answer.
type tokenJSON struct {
	AccessToken           string           `json:"accessToken,omitempty"`
	DateCreated           string           `json:"dateCreated"`
	ExpiresAt             string           `json:"expiresAt"`
	CredID                string           `json:"credId"`
	IsActive              bool             `json:"isActive"`
	Kind                  string           `json:"kind"`
	LinkedUserID          string           `json:"linkedUserId"`
	LinkedAppID           string           `json:"linkedAppId"`
	Name                  string           `json:"name"`
	OrgID                 string           `json:"orgId"`
	PermissionAssignments []assignmentJSON `json:"permissionAssignments"`
	PublicKey             string           `json:"publicKey"`
	TokenID               string           `json:"tokenId"`
	ExternalID            string           `json:"externalId,omitempty"`
}

func tokenOut(v *auth.TokenView, secret string) tokenJSON {
	t := v.Token
	out := tokenJSON{
		AccessToken: secret, DateCreated: date(t.CreatedAt), ExpiresAt: date(t.ExpiresAt),
		IsActive: t.IsActive && !t.IsArchived, Kind: string(t.Kind), LinkedUserID: t.UserID, Name: t.Name,
		OrgID: t.OrgID, PermissionAssignments: []assignmentJSON{}, TokenID: t.ID, ExternalID: t.ExternalID,
	}
	if v.Credential != nil {
		out.CredID, out.PublicKey = v.Credential.CredID, v.Credential.PublicKey
	}
	if pm := v.Permission; pm != nil && t.PermissionID != "" {
		out.PermissionAssignments = append(out.PermissionAssignments, assignmentJSON{
			PermissionName: pm.Name, PermissionID: pm.ID, Operations: pm.Operations,
		})
	}
	return out
}

func (s *Server) createPAT(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.CreateTokenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	v, tok, err := s.svc.CreatePAT(r.Context(), c.p, &req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenOut(v, tok))
	return nil
}

func (s *Server) listPATs(w http.ResponseWriter, r *http.Request, c *call) error {
	vs, err := s.svc.ListPATs(r.Context(), c.p)
	if err != nil {
		return err
	}
	out := list[tokenJSON]{Items: make([]tokenJSON, 0, len(vs))}
	for _, v := range vs {
		out.Items = append(out.Items, tokenOut(v, ""))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func writeToken(w http.ResponseWriter, v *auth.TokenView, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenOut(v, ""))
	return nil
}

func (s *Server) getPAT(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.svc.PAT(r.Context(), c.p, r.PathValue("tokenId"))
	return writeToken(w, v, err)
}

func (s *Server) updatePAT(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.UpdateTokenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	v, err := s.svc.UpdatePAT(r.Context(), c.p, r.PathValue("tokenId"), &req)
	return writeToken(w, v, err)
}

func (s *Server) activatePAT(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.svc.SetPATActive(r.Context(), c.p, r.PathValue("tokenId"), true)
	return writeToken(w, v, err)
}

func (s *Server) deactivatePAT(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.svc.SetPATActive(r.Context(), c.p, r.PathValue("tokenId"), false)
	return writeToken(w, v, err)
}

func (s *Server) archivePAT(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.svc.ArchivePAT(r.Context(), c.p, r.PathValue("tokenId"))
	return writeToken(w, v, err)
}

// serviceAccountJSON is a service account as the API shows it (spec 5.7).
type serviceAccountJSON struct {
	UserInfo     userJSON    `json:"userInfo"`
	AccessTokens []tokenJSON `json:"accessTokens"`
}

func serviceAccountOut(v *auth.ServiceAccountView, secret string) serviceAccountJSON {
	out := serviceAccountJSON{UserInfo: userOut(v.User), AccessTokens: make([]tokenJSON, 0, len(v.Tokens))}
	for _, t := range v.Tokens {
		out.AccessTokens = append(out.AccessTokens, tokenOut(t, secret))
	}
	return out
}

func writeServiceAccount(w http.ResponseWriter, v *auth.ServiceAccountView, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, serviceAccountOut(v, ""))
	return nil
}

func (s *Server) createServiceAccount(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.CreateTokenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	v, tok, err := s.svc.CreateServiceAccount(r.Context(), c.p, &req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, serviceAccountOut(v, tok))
	return nil
}

func (s *Server) listServiceAccounts(w http.ResponseWriter, r *http.Request, c *call) error {
	vs, err := s.svc.ListServiceAccounts(r.Context(), c.p)
	if err != nil {
		return err
	}
	out := list[serviceAccountJSON]{Items: make([]serviceAccountJSON, 0, len(vs))}
	for _, v := range vs {
		out.Items = append(out.Items, serviceAccountOut(v, ""))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getServiceAccount(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.svc.ServiceAccount(r.Context(), c.p, r.PathValue("serviceAccountId"))
	return writeServiceAccount(w, v, err)
}

func (s *Server) updateServiceAccount(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.UpdateTokenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	v, err := s.svc.UpdateServiceAccount(r.Context(), c.p, r.PathValue("serviceAccountId"), &req)
	return writeServiceAccount(w, v, err)
}

func (s *Server) activateServiceAccount(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.svc.SetServiceAccountActive(r.Context(), c.p, r.PathValue("serviceAccountId"), true)
	return writeServiceAccount(w, v, err)
}

func (s *Server) deactivateServiceAccount(w http.ResponseWriter, r *http.Request, c *call) error {
	// The body may carry {force}; there are no approval policies to bypass.
	var req forceRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	v, err := s.svc.SetServiceAccountActive(r.Context(), c.p, r.PathValue("serviceAccountId"), false)
	return writeServiceAccount(w, v, err)
}

func (s *Server) archiveServiceAccount(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.svc.ArchiveServiceAccount(r.Context(), c.p, r.PathValue("serviceAccountId"))
	return writeServiceAccount(w, v, err)
}
