package httpapi

import (
	"net/http"
	"strings"
)

// corsHeaders are the request headers browser clients of the official SDK
// send (spec 1.2), plus the legacy Dfns ones older SDKs add, and those of
// RFC 9421 signed requests (docs/httpsig.md).
const corsHeaders = "Authorization, Content-Type, X-DFNS-USERACTION, X-DFNS-SDK-VERSION, X-DFNS-APPID, X-DFNS-NONCE, X-DFNS-APPSECRET, X-Request-Id, Signature, Signature-Input, Content-Digest, WebAuthn-Authenticator-Data, WebAuthn-Client-Data"

// cors lets web apps on the configured origins call signet from a browser
// (issue 4.5). Tokens travel in the Authorization header, never in
// cookies, so credentials mode is not enabled. Origins not configured get
// no CORS headers, and their preflights are refused.
func (s *Server) cors(next http.Handler) http.Handler {
	if len(s.corsOrigins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		allowed := s.corsOrigins[origin]
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !allowed {
			if preflight {
				writeJSON(w, http.StatusForbidden, errorJSON(http.StatusForbidden, "forbidden", "origin not allowed"))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "X-Request-Id, Accept-Signature")
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// originSet normalises the configured origins for exact lookup.
func originSet(origins []string) map[string]bool {
	m := map[string]bool{}
	for _, o := range origins {
		m[strings.TrimSuffix(o, "/")] = true
	}
	return m
}

func errorJSON(status int, code, msg string) errorBody {
	var b errorBody
	b.Error.Status, b.Error.Code, b.Error.Message = status, code, msg
	return b
}
