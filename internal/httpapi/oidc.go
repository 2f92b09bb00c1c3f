package httpapi

import (
	"net/http"

	"github.com/signet-auth/signet/internal/auth"
)

// Social login and SSO over OpenID Connect (docs/oidc.md): the bodies and
// answers of @dfns/sdk 0.8.21 (SocialLoginBody, SsoLoginInitBody,
// SsoLoginBody); the domain decides everything.

// socialLogin answers POST /auth/login/social.
func (s *Server) socialLogin(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *auth.SocialRequest) (tokenAnswer, error) {
		tok, err := s.svc.SocialLogin(r.Context(), req)
		return tokenAnswer{Token: tok}, err
	})
}

// socialRegistration answers POST /auth/registration/social.
func (s *Server) socialRegistration(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *auth.SocialRequest) (*auth.RegistrationChallenge, error) {
		return s.svc.SocialRegistration(r.Context(), req)
	})
}

type ssoLoginInitRequest struct {
	OrgID       string `json:"orgId"`
	ClientID    string `json:"clientId"`
	RedirectURI string `json:"redirectUri"`
}

type ssoLoginInitAnswer struct {
	SSORedirectURL string `json:"ssoRedirectUrl"`
}

// ssoLoginInit answers POST /auth/login/sso/init.
func (s *Server) ssoLoginInit(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *ssoLoginInitRequest) (ssoLoginInitAnswer, error) {
		u, err := s.svc.SSOLoginInit(r.Context(), req.OrgID, req.ClientID, req.RedirectURI)
		return ssoLoginInitAnswer{SSORedirectURL: u}, err
	})
}

// ssoLogin answers POST /auth/login/sso.
func (s *Server) ssoLogin(w http.ResponseWriter, r *http.Request, c *call) error {
	return answer(w, c, func(req *auth.SSOLoginRequest) (tokenAnswer, error) {
		tok, err := s.svc.SSOLogin(r.Context(), req)
		return tokenAnswer{Token: tok}, err
	})
}

type ssoProvidersAnswer struct {
	ClientIDs []string `json:"clientIds"`
}

// ssoProviders answers GET /auth/login/sso/providers?orgId=: the client
// ids of the org's OpenID providers, so that a login page can offer SSO
// (not in Dfns' API; the web page uses it).
func (s *Server) ssoProviders(w http.ResponseWriter, r *http.Request, c *call) error {
	ids, err := s.svc.HasSSO(r.Context(), r.URL.Query().Get("orgId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ssoProvidersAnswer{ClientIDs: ids})
	return nil
}
