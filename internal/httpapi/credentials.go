package httpapi

import (
	"net/http"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// credentialJSON is a credential as the API shows it (spec 5.4).
type credentialJSON struct {
	Kind           auth.CredentialKind `json:"kind"`
	CredentialID   string              `json:"credentialId"`
	CredentialUUID string              `json:"credentialUuid"`
	DateCreated    string              `json:"dateCreated"`
	IsActive       bool                `json:"isActive"`
	Name           string              `json:"name"`
	PublicKey      string              `json:"publicKey"`
	RelyingPartyID string              `json:"relyingPartyId"`
	Origin         string              `json:"origin"`
}

// date formats a time as Dfns does: ISO-8601 UTC with milliseconds.
func date(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func credentialOut(c *auth.Credential) credentialJSON {
	return credentialJSON{
		Kind: c.Kind, CredentialID: c.CredID, CredentialUUID: c.UUID, DateCreated: date(c.CreatedAt),
		IsActive: c.IsActive, Name: c.Name, PublicKey: auth.DisplayPublicKey(c), RelyingPartyID: c.RPID, Origin: c.Origin,
	}
}

func (s *Server) listCredentials(w http.ResponseWriter, r *http.Request, c *call) error {
	cs, err := s.svc.Credentials(r.Context(), c.p)
	if err != nil {
		return err
	}
	items := make([]credentialJSON, 0, len(cs))
	for _, cr := range cs {
		items = append(items, credentialOut(cr))
	}
	writeJSON(w, http.StatusOK, list[credentialJSON]{Items: items})
	return nil
}

func (s *Server) credentialInit(w http.ResponseWriter, r *http.Request, c *call) error {
	var req credentialInitRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ch, err := s.svc.CredentialInit(r.Context(), c.p, req.Kind)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}

func (s *Server) createCredential(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.CreateCredentialRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	cr, err := s.svc.CreateCredential(r.Context(), c.p, &req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, credentialOut(cr))
	return nil
}

func (s *Server) setCredentialActive(w http.ResponseWriter, r *http.Request, c *call, active bool) error {
	var req credentialUUIDRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.svc.SetCredentialActive(r.Context(), c.p, req.CredentialUUID, active); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, message{Message: "success"})
	return nil
}

func (s *Server) activateCredential(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.setCredentialActive(w, r, c, true)
}

func (s *Server) deactivateCredential(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.setCredentialActive(w, r, c, false)
}

// listApplications answers GET /auth/apps (deprecated upstream) with the
// org's applications: signet keeps none (auth.Application).
func (s *Server) listApplications(w http.ResponseWriter, r *http.Request, c *call) error {
	apps, err := s.svc.Applications(r.Context(), c.p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[auth.Application]{Items: apps})
	return nil
}

// getApplication answers GET /auth/apps/{appId}: 404 for every id.
func (s *Server) getApplication(w http.ResponseWriter, r *http.Request, c *call) error {
	app, err := s.svc.ApplicationByID(r.Context(), c.p, r.PathValue("appId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, app)
	return nil
}
