package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/signet-auth/signet/internal/httpapi"
)

func TestCORS(t *testing.T) {
	e := newEnv(t, stores(t)["sqlite"](t))
	api, err := httpapi.New(httpapi.Config{Service: e.svc, JWKS: e.iss.JWKS, Ping: e.store.Ping, CORSOrigins: []string{"https://app.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(method, origin string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/auth/login/init", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		return w
	}
	pre := serve("OPTIONS", "https://app.example.com", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type,x-dfns-useraction,x-dfns-sdk-version")
	if pre.Code != http.StatusNoContent || pre.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		pre.Header().Get("Access-Control-Allow-Headers") == "" {
		t.Fatalf("allowed preflight: %d %v", pre.Code, pre.Header())
	}
	if w := serve("OPTIONS", "https://evil.example.com", "Access-Control-Request-Method", "POST"); w.Code != http.StatusForbidden || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign preflight: %d %v", w.Code, w.Header())
	}
	if w := serve("POST", "https://app.example.com"); w.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("simple request lacks CORS headers: %v", w.Header())
	}
	if w := serve("POST", "https://evil.example.com"); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin got CORS headers: %v", w.Header())
	}
	// With no origins configured, nothing is allowed.
	w := httptest.NewRecorder()
	r := httptest.NewRequest("OPTIONS", "/auth/login/init", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Access-Control-Request-Method", "POST")
	e.api.ServeHTTP(w, r)
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("default server allowed an origin: %v", w.Header())
	}
}
