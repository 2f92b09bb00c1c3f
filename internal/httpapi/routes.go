package httpapi

import "net/http"

// routes is the route table: every endpoint signet serves, who may call it,
// whether it must be user-action signed, and the operation it needs (spec
// 5.0, 6). Enforcement reads this table only.
func (s *Server) routes() []route {
	return []route{
		{method: "GET", pattern: "/healthz", access: public, h: s.healthz},
		{method: "GET", pattern: "/.well-known/jwks.json", access: public, h: s.jwksHandler},

		{method: "POST", pattern: "/auth/registration/init", access: public, h: s.registrationInit},
		// Bearer = the temporary token, checked by the handler.
		{method: "POST", pattern: "/auth/registration", access: public, h: s.registerUser},
		{method: "POST", pattern: "/auth/login/init", access: public, h: s.loginInit},
		{method: "POST", pattern: "/auth/login", access: public, h: s.login},
		{method: "PUT", pattern: "/auth/logout", access: bearer, op: noOperation, unsigned: true, h: s.logout},

		{method: "POST", pattern: "/auth/action/init", access: bearer, op: noOperation, unsigned: true, h: s.actionInit},
		{method: "POST", pattern: "/auth/action", access: bearer, op: noOperation, unsigned: true, h: s.actionComplete},

		{method: "GET", pattern: "/auth/users/{userId}", access: bearer, op: "Auth:Users:Read", h: s.getUser},

		{method: "GET", pattern: "/auth/credentials", access: bearer, op: noOperation, h: s.listCredentials},
		{method: "POST", pattern: "/auth/credentials/init", access: bearer, op: noOperation, unsigned: true, h: s.credentialInit},
		{method: "POST", pattern: "/auth/credentials", access: bearer, op: noOperation, h: s.createCredential},
		{method: "PUT", pattern: "/auth/credentials/activate", access: bearer, op: noOperation, h: s.activateCredential},
		{method: "PUT", pattern: "/auth/credentials/deactivate", access: bearer, op: noOperation, h: s.deactivateCredential},
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ *call) error {
	if err := s.ping(r.Context()); err != nil {
		s.log.ErrorContext(r.Context(), "health check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) jwksHandler(w http.ResponseWriter, r *http.Request, _ *call) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.jwks())
	return nil
}
