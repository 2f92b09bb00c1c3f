package httpapi

import (
	"net/http"

	"github.com/signet-auth/signet/internal/auth"
)

// Recovery (spec 5.3) and credential codes (spec 5.4): handlers only; the
// rules are in internal/auth (recovery.go, codes.go).

type sendRecoveryCodeRequest struct {
	Username string `json:"username"`
	OrgID    string `json:"orgId"`
}

func (s *Server) sendRecoveryCode(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *sendRecoveryCodeRequest) (map[string]string, error) {
		return success(s.svc.SendRecoveryCode(r.Context(), req.OrgID, req.Username))
	})
}

func (s *Server) recoveryInit(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *auth.RecoveryInitRequest) (*auth.RecoveryChallenge, error) {
		return s.svc.RecoveryInit(r.Context(), req)
	})
}

func (s *Server) recoverUser(w http.ResponseWriter, r *http.Request, c *call) error {
	tok, err := tempToken(r)
	if err != nil {
		return err
	}
	return answer(w, c, func(req *auth.RecoverRequest) (registeredJSON, error) {
		res, err := s.svc.Recover(r.Context(), tok, req)
		if err != nil {
			return registeredJSON{}, err
		}
		return registeredOut(res), nil
	})
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
	return answer(w, c, func(req *auth.CredentialCodeRequest) (credentialCodeAnswer, error) {
		code, err := s.svc.CreateCredentialCode(r.Context(), c.p, req)
		if err != nil {
			return credentialCodeAnswer{}, err
		}
		return credentialCodeAnswer{Code: code.Code, Expiration: date(code.Expiration)}, nil
	})
}

type credentialCodeInitRequest struct {
	CredentialKind auth.CredentialKind `json:"credentialKind"`
	Code           string              `json:"code"`
}

func (s *Server) credentialCodeInit(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *credentialCodeInitRequest) (*auth.CredentialChallenge, error) {
		return s.svc.CredentialCodeInit(r.Context(), req.CredentialKind, req.Code)
	})
}

func (s *Server) credentialCodeVerify(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *auth.CreateCredentialRequest) (credentialJSON, error) {
		cr, err := s.svc.CreateCredentialWithCode(r.Context(), req)
		if err != nil {
			return credentialJSON{}, err
		}
		return credentialOut(cr), nil
	})
}

// delegatedRecovery answers POST /auth/recover/user/delegated.
func (s *Server) delegatedRecovery(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *auth.DelegatedRecoveryRequest) (*auth.RecoveryChallenge, error) {
		return s.svc.DelegatedRecovery(r.Context(), c.p, req)
	})
}
