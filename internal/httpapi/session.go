package httpapi

import (
	"net/http"

	"github.com/signet-auth/signet/internal/auth"
)

func (s *Server) registrationInit(w http.ResponseWriter, r *http.Request, c *call) error {
	var req struct {
		OrgID            string `json:"orgId"`
		Username         string `json:"username"`
		RegistrationCode string `json:"registrationCode"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	ch, err := s.svc.RegistrationInit(r.Context(), req.OrgID, req.Username, req.RegistrationCode)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}

// registeredJSON is the answer of /auth/registration (spec 5.2); the
// credential kind is given under both names the SDK and docs use.
type registeredJSON struct {
	Credential struct {
		UUID           string              `json:"uuid"`
		Kind           auth.CredentialKind `json:"kind"`
		CredentialKind auth.CredentialKind `json:"credentialKind"`
		Name           string              `json:"name"`
	} `json:"credential"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		OrgID    string `json:"orgId"`
	} `json:"user"`
}

func (s *Server) registerUser(w http.ResponseWriter, r *http.Request, c *call) error {
	tok, ok := bearerToken(r)
	if !ok {
		return auth.Errorf(auth.Unauthenticated, "Not Authorized.")
	}
	var req auth.RegisterRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	res, err := s.svc.Register(r.Context(), tok, &req)
	if err != nil {
		return err
	}
	var out registeredJSON
	out.Credential.UUID = res.Credential.UUID
	out.Credential.Kind = res.Credential.Kind
	out.Credential.CredentialKind = res.Credential.Kind
	out.Credential.Name = res.Credential.Name
	out.User.ID, out.User.Username, out.User.OrgID = res.User.ID, res.User.Username, res.User.OrgID
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) loginInit(w http.ResponseWriter, r *http.Request, c *call) error {
	var req struct {
		OrgID    string `json:"orgId"`
		Username string `json:"username"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	ch, err := s.svc.LoginInit(r.Context(), req.OrgID, req.Username)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}

// signedRequest is the body of /auth/login and /auth/action.
type signedRequest struct {
	ChallengeIdentifier string          `json:"challengeIdentifier"`
	FirstFactor         *auth.Assertion `json:"firstFactor"`
	SecondFactor        *auth.Assertion `json:"secondFactor,omitempty"`
}

func (c *call) signed() (*signedRequest, error) {
	var req signedRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	if req.FirstFactor == nil {
		return nil, auth.Errorf(auth.Invalid, "firstFactor is required")
	}
	if req.SecondFactor != nil {
		return nil, auth.Errorf(auth.Invalid, "secondFactor is not supported")
	}
	return &req, nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, c *call) error {
	req, err := c.signed()
	if err != nil {
		return err
	}
	tok, err := s.svc.Login(r.Context(), req.ChallengeIdentifier, req.FirstFactor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, c *call) error {
	var req struct {
		AllSessions bool `json:"allSessions"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.svc.Logout(r.Context(), c.p, req.AllSessions); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "success"})
	return nil
}

func (s *Server) actionInit(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.ActionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ch, err := s.svc.ActionInit(r.Context(), c.p, &req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}

func (s *Server) actionComplete(w http.ResponseWriter, r *http.Request, c *call) error {
	req, err := c.signed()
	if err != nil {
		return err
	}
	tok, err := s.svc.ActionComplete(r.Context(), c.p, req.ChallengeIdentifier, req.FirstFactor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"userAction": tok})
	return nil
}
