package main

import (
	"encoding/json"
	"net"
	"net/http"

	"github.com/signet-auth/signet/internal/oidc/oidctest"
)

// helperServer serves the helpers on a port of their own (the provider's
// router is zitadel's) and returns its base URL.
func helperServer(issuer string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oidctest/id-token", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ ClientID, ClientSecret, Email, Password string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			reply(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		tok, err := oidctest.IDToken(r.Context(), issuer, req.ClientID, req.ClientSecret, req.Email, req.Password)
		if err != nil {
			reply(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		reply(w, http.StatusOK, map[string]string{"idToken": tok})
	})
	mux.HandleFunc("POST /oidctest/login", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ URL, Email, Password string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			reply(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		loc, err := oidctest.Login(r.Context(), req.URL, req.Email, req.Password)
		if err != nil {
			reply(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		reply(w, http.StatusOK, map[string]string{"location": loc.String()})
	})
	go http.Serve(ln, mux)
	return "http://" + ln.Addr().String(), nil
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
