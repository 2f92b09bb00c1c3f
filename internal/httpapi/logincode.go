package httpapi

import "net/http"

// Login codes (spec 5.1): the handler only; the rules are in
// internal/auth/logincode.go.

type sendLoginCodeRequest struct {
	Username string `json:"username"`
	OrgID    string `json:"orgId"`
}

func (s *Server) sendLoginCode(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *sendLoginCodeRequest) (map[string]string, error) {
		return success(s.svc.SendLoginCode(r.Context(), req.OrgID, req.Username))
	})
}
