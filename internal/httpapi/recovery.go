package httpapi

import (
	"net/http"

	"github.com/signet-auth/signet/internal/auth"
)

// Recovery (spec 5.3) and credential codes (spec 5.4): handlers only; the
// rules are in internal/auth (recovery.go, codes.go).

func (s *Server) sendRecoveryCode(w http.ResponseWriter, r *http.Request, c *call) error {
	var req struct {
		Username string `json:"username"`
		OrgID    string `json:"orgId"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.svc.SendRecoveryCode(r.Context(), req.OrgID, req.Username); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "success"})
	return nil
}

func (s *Server) recoveryInit(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.RecoveryInitRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ch, err := s.svc.RecoveryInit(r.Context(), &req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}

func (s *Server) recoverUser(w http.ResponseWriter, r *http.Request, c *call) error {
	tok, ok := bearerToken(r)
	if !ok {
		return auth.Errorf(auth.Unauthenticated, "Not Authorized.")
	}
	var req auth.RecoverRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	res, err := s.svc.Recover(r.Context(), tok, &req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, registeredOut(res))
	return nil
}

// registeredOut is the answer of a registration or a recovery.
func registeredOut(res *auth.Registered) registeredJSON {
	var out registeredJSON
	out.Credential.UUID = res.Credential.UUID
	out.Credential.Kind = res.Credential.Kind
	out.Credential.CredentialKind = res.Credential.Kind
	out.Credential.Name = res.Credential.Name
	out.User.ID, out.User.Username, out.User.OrgID = res.User.ID, res.User.Username, res.User.OrgID
	return out
}

func (s *Server) createCredentialCode(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.CredentialCodeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	code, err := s.svc.CreateCredentialCode(r.Context(), c.p, &req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"code": code.Code, "expiration": date(code.Expiration)})
	return nil
}

func (s *Server) credentialCodeInit(w http.ResponseWriter, r *http.Request, c *call) error {
	var req struct {
		CredentialKind auth.CredentialKind `json:"credentialKind"`
		Code           string              `json:"code"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	ch, err := s.svc.CredentialCodeInit(r.Context(), req.CredentialKind, req.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}

func (s *Server) credentialCodeVerify(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.CreateCredentialRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	cr, err := s.svc.CreateCredentialWithCode(r.Context(), &req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, credentialOut(cr))
	return nil
}
