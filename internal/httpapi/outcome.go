package httpapi

import (
	"net/http"

	"github.com/signet-auth/signet/internal/auth"
)

// actionOutcomeJSON is GET /auth/action/{id}: what became of the caller's
// user action (docs/faults.md has the retry rule it serves).
type actionOutcomeJSON struct {
	ID          string       `json:"id"`
	Method      string       `json:"method"`
	Path        string       `json:"path"`
	Query       string       `json:"query,omitempty"`
	State       string       `json:"state"`
	DateCreated string       `json:"dateCreated,omitempty"`
	ExpiresAt   string       `json:"expiresAt,omitempty"`
	DateUsed    *string      `json:"dateUsed"`
	Outcome     *outcomeJSON `json:"outcome"`
}

type outcomeJSON struct {
	Status        int    `json:"status"`
	DateCompleted string `json:"dateCompleted"`
}

func (s *Server) getActionOutcome(w http.ResponseWriter, r *http.Request, c *call) error {
	o, err := s.svc.ActionOutcome(r.Context(), c.p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, actionOutcomeOut(o))
	return nil
}

func actionOutcomeOut(o *auth.ActionOutcome) actionOutcomeJSON {
	out := actionOutcomeJSON{ID: o.ID, Method: o.Method, Path: o.Path, Query: o.Query, State: o.State}
	if !o.CreatedAt.IsZero() {
		out.DateCreated = date(o.CreatedAt)
	}
	if !o.ExpiresAt.IsZero() {
		out.ExpiresAt = date(o.ExpiresAt)
	}
	if o.UsedAt != nil {
		d := date(*o.UsedAt)
		out.DateUsed = &d
	}
	if o.Status != 0 && o.CompletedAt != nil {
		out.Outcome = &outcomeJSON{Status: o.Status, DateCompleted: date(*o.CompletedAt)}
	}
	return out
}
