package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/signet-auth/signet/client"
	"github.com/signet-auth/signet/internal/auth"
)

// TestHTTPSigPublicURL: behind a proxy (Config.PublicURL, --public-url),
// @target-uri is the public URL's scheme and authority with the path and
// query as received; a signature over the address signet listens on, or
// over another public host or scheme, is refused, and X-Forwarded-* fields
// change nothing.
func TestHTTPSigPublicURL(t *testing.T) {
	pub, _ := url.Parse("https://signet.example.com")
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t), func(c *auth.Config) { c.PublicURL = pub })
			u := e.newUser()
			ks, err := client.NewKeySigner(u.signer.credID, u.signer.priv)
			if err != nil {
				t.Fatal(err)
			}
			// signedFor signs a POST /permissions as addressed to base.
			signedFor := func(base string, hdr map[string]string) *sigReq {
				body := permissionBody()
				req, _ := http.NewRequest("POST", base+"/permissions", nil)
				req.Header.Set("Authorization", "Bearer "+u.token)
				req.Header.Set("Content-Type", "application/json")
				for k, v := range hdr {
					req.Header.Set(k, v)
				}
				if err := ks.SignRequest(req, []byte(body), e.clock.Now()); err != nil {
					t.Fatal(err)
				}
				return &sigReq{method: "POST", path: "/permissions", token: u.token, body: []byte(body), hdr: req.Header}
			}
			tests := []struct {
				name   string
				s      *sigReq
				status int
			}{
				{"the public URL", signedFor("https://signet.example.com", nil), 200},
				{"the listening address", signedFor(e.url, nil), 401},
				{"the listening address, with X-Forwarded-* naming it", signedFor(e.url,
					map[string]string{"X-Forwarded-Proto": "http", "X-Forwarded-Host": e.url[len("http://"):]}), 401},
				{"another host", signedFor("https://evil.example.com", nil), 401},
				{"another scheme", signedFor("http://signet.example.com", nil), 401},
				{"another port", signedFor("https://signet.example.com:8443", nil), 401},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					if r := e.send(tt.s); r.status != tt.status {
						t.Fatalf("got %d %s, want %d", r.status, r.raw, tt.status)
					}
				})
			}
		})
	}
}
