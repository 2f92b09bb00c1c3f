package httpapi

import (
	"net/http"

	"github.com/signet-auth/signet/internal/auth"
)

type registrationInitRequest struct {
	OrgID            string `json:"orgId"`
	Username         string `json:"username"`
	RegistrationCode string `json:"registrationCode"`
}

func (s *Server) registrationInit(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *registrationInitRequest) (*auth.RegistrationChallenge, error) {
		return s.svc.RegistrationInit(r.Context(), req.OrgID, req.Username, req.RegistrationCode)
	})
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
	tok, err := tempToken(r)
	if err != nil {
		return err
	}
	return answer(w, c, func(req *auth.RegisterRequest) (registeredJSON, error) {
		res, err := s.svc.Register(r.Context(), tok, req)
		if err != nil {
			return registeredJSON{}, err
		}
		return registeredOut(res), nil
	})
}

type loginInitRequest struct {
	OrgID    string `json:"orgId"`
	Username string `json:"username"`
	// LoginCode, mailed by /auth/login/code, unlocks the user's
	// PasswordProtectedKey credentials (auth/logincode.go).
	LoginCode string `json:"loginCode,omitempty"`
}

func (s *Server) loginInit(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *loginInitRequest) (*auth.SignChallenge, error) {
		return s.svc.LoginInit(r.Context(), req.OrgID, req.Username, req.LoginCode)
	})
}

// signedRequest is the body of /auth/login and /auth/action.
type signedRequest struct {
	ChallengeIdentifier string          `json:"challengeIdentifier"`
	FirstFactor         *auth.Assertion `json:"firstFactor"`
	SecondFactor        *auth.Assertion `json:"secondFactor,omitempty"`
}

func (req *signedRequest) validate() error {
	if req.FirstFactor == nil {
		return auth.Errorf(auth.Invalid, "firstFactor is required")
	}
	if req.SecondFactor != nil {
		return auth.Errorf(auth.Invalid, "secondFactor is not supported")
	}
	return nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *signedRequest) (tokenAnswer, error) {
		tok, err := s.svc.Login(r.Context(), req.ChallengeIdentifier, req.FirstFactor)
		return tokenAnswer{Token: tok}, err
	})
}

type logoutRequest struct {
	AllSessions bool `json:"allSessions"`
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *logoutRequest) (map[string]string, error) {
		return success(s.svc.Logout(r.Context(), c.p, req.AllSessions))
	})
}

func (s *Server) actionInit(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *auth.ActionRequest) (*auth.SignChallenge, error) {
		return s.svc.ActionInit(r.Context(), c.p, req)
	})
}

func (s *Server) actionComplete(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *signedRequest) (userActionAnswer, error) {
		tok, id, err := s.svc.ActionComplete(r.Context(), c.p, req.ChallengeIdentifier, req.FirstFactor)
		return userActionAnswer{UserAction: tok, ID: id}, err
	})
}

type delegatedLoginRequest struct {
	Username string `json:"username"`
}

// delegatedLogin answers POST /auth/login/delegated: a login token for an
// end user of the calling service account's org.
func (s *Server) delegatedLogin(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *delegatedLoginRequest) (tokenAnswer, error) {
		tok, err := s.svc.DelegatedLogin(r.Context(), c.p, req.Username)
		return tokenAnswer{Token: tok}, err
	})
}

// delegatedRegistration answers POST /auth/registration/delegated: a new
// EndUser of the calling service account's org and its registration
// challenge.
func (s *Server) delegatedRegistration(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *auth.DelegatedRegistrationRequest) (*auth.RegistrationChallenge, error) {
		return s.svc.DelegatedRegistration(r.Context(), c.p, req)
	})
}

// registeredEndUserJSON is the answer of /auth/registration/enduser.
type registeredEndUserJSON struct {
	registeredJSON
	Authentication struct {
		Token string `json:"token"`
	} `json:"authentication"`
	Wallets []any `json:"wallets"`
}

// registerEndUser answers POST /auth/registration/enduser (Bearer = the
// temporary token of a delegated registration).
func (s *Server) registerEndUser(w http.ResponseWriter, r *http.Request, c *call) error {
	tok, err := tempToken(r)
	if err != nil {
		return err
	}
	return answer(w, c, func(req *auth.RegisterEndUserRequest) (registeredEndUserJSON, error) {
		res, err := s.svc.RegisterEndUser(r.Context(), tok, req)
		if err != nil {
			return registeredEndUserJSON{}, err
		}
		out := registeredEndUserJSON{registeredJSON: registeredOut(res.Registered), Wallets: []any{}}
		out.Authentication.Token = res.Token
		return out, nil
	})
}
