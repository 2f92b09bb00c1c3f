package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkUserActionRoundTrip measures one complete signed request as the
// SDK makes it: action init, sign, action complete, then the signed request
// itself, over loopback HTTP, on each store.
func BenchmarkUserActionRoundTrip(b *testing.B) {
	for name, open := range stores(nil) {
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, open(b))
			u := e.newUser()
			body := `{"credentialUuid":"` + u.credUUID + `"}`
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if r := e.signed(u, "PUT", "/auth/credentials/activate", body); r.status != 200 {
					b.Fatalf("signed request: %d %s", r.status, r.raw)
				}
			}
		})
	}
}

// BenchmarkAuthenticatedGET measures a GET with bearer verification
// (signature, then the per-request revocation check in the store).
func BenchmarkAuthenticatedGET(b *testing.B) {
	for name, open := range stores(nil) {
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, open(b))
			u := e.newUser()
			req := httptest.NewRequest("GET", "/auth/credentials", nil)
			req.Header.Set("Authorization", "Bearer "+u.token)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				e.api.ServeHTTP(w, req)
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "items") {
					b.Fatalf("GET: %d", w.Code)
				}
			}
		})
	}
}
