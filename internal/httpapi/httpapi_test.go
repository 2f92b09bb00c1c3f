package httpapi_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// forEachStore runs f against a fresh server on every store backend.
func forEachStore(t *testing.T, f func(t *testing.T, e *env)) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, newEnv(t, open(t)))
		})
	}
}

func TestFlow(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		r := e.do("GET", "/auth/users/"+u.userID, u.token, nil)
		if r.status != 200 || r.str("userId") != u.userID || r.body["isRegistered"] != true {
			t.Fatalf("getUser: %d %s", r.status, r.raw)
		}
		k2 := newKeySigner(t, "EdDSA")
		uuid2 := e.addKey(u, k2)
		r = e.do("GET", "/auth/credentials", u.token, nil)
		if items, _ := r.body["items"].([]any); r.status != 200 || len(items) != 2 {
			t.Fatalf("listCredentials: %d %s", r.status, r.raw)
		}
		// The new Ed25519 key logs in and signs.
		tok2 := e.login(u, k2)
		if r := e.do("GET", "/auth/credentials", tok2, nil); r.status != 200 {
			t.Fatalf("list with second login: %d", r.status)
		}
		body := fmt.Sprintf(`{"credentialUuid":%q}`, uuid2)
		if r := e.signed(u, "PUT", "/auth/credentials/deactivate", body); r.status != 200 || r.str("message") != "success" {
			t.Fatalf("deactivate: %d %s", r.status, r.raw)
		}
		// The session opened with the deactivated key ends at once.
		if r := e.do("GET", "/auth/credentials", tok2, nil); r.status != 401 {
			t.Fatalf("session of deactivated credential: %d, want 401", r.status)
		}
		if r := e.signed(u, "PUT", "/auth/credentials/activate", body); r.status != 200 {
			t.Fatalf("activate: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/.well-known/jwks.json", "", nil); r.status != 200 || !strings.Contains(string(r.raw), `"kty":"OKP"`) {
			t.Fatalf("jwks: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/healthz", "", nil); r.status != 200 {
			t.Fatalf("healthz: %d", r.status)
		}
	})
}

// TestUserActionAttacks proves each way of misusing a user-action token
// fails (spec 12.3).
func TestUserActionAttacks(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		other := e.newUser()
		k2 := newKeySigner(t, "EdDSA")
		uuid2 := e.addKey(u, k2)
		body := fmt.Sprintf(`{"credentialUuid":%q}`, uuid2)
		path := "/auth/credentials/activate"

		tests := []struct {
			name   string
			run    func() resp
			status int
			msg    string
		}{
			{"missing header", func() resp { return e.do("PUT", path, u.token, body) }, 403, "user action signature is missing or invalid"},
			{"garbage header", func() resp { return e.do("PUT", path, u.token, body, "X-DFNS-USERACTION", "garbage") }, 403, "user action signature is missing or invalid"},
			{"replayed", func() resp {
				ua := e.mustUserAction(u.token, u.signer, "PUT", path, body)
				if r := e.do("PUT", path, u.token, body, "X-DFNS-USERACTION", ua); r.status != 200 {
					t.Fatalf("first use: %d %s", r.status, r.raw)
				}
				return e.do("PUT", path, u.token, body, "X-DFNS-USERACTION", ua)
			}, 400, "user action has already been used"},
			{"other path", func() resp {
				ua := e.mustUserAction(u.token, u.signer, "PUT", path, body)
				return e.do("PUT", "/auth/credentials/deactivate", u.token, body, "X-DFNS-USERACTION", ua)
			}, 403, ""},
			{"other method", func() resp {
				ua := e.mustUserAction(u.token, u.signer, "POST", path, body)
				return e.do("PUT", path, u.token, body, "X-DFNS-USERACTION", ua)
			}, 403, ""},
			{"other body", func() resp {
				ua := e.mustUserAction(u.token, u.signer, "PUT", path, body)
				return e.do("PUT", path, u.token, `{"credentialUuid":"cr-other"}`, "X-DFNS-USERACTION", ua)
			}, 403, ""},
			{"signed query differs", func() resp {
				ua := e.mustUserAction(u.token, u.signer, "PUT", path+"?force=true", body)
				return e.do("PUT", path+"?force=false", u.token, body, "X-DFNS-USERACTION", ua)
			}, 403, ""},
			{"another identity's token", func() resp {
				ua := e.mustUserAction(other.token, other.signer, "PUT", path, body)
				return e.do("PUT", path, u.token, body, "X-DFNS-USERACTION", ua)
			}, 403, ""},
			{"another session of the same user", func() resp {
				tok2 := e.login(u, u.signer)
				ua := e.mustUserAction(tok2, u.signer, "PUT", path, body)
				return e.do("PUT", path, u.token, body, "X-DFNS-USERACTION", ua)
			}, 403, ""},
			{"expired", func() resp {
				ua := e.mustUserAction(u.token, u.signer, "PUT", path, body)
				e.clock.Advance(6 * time.Minute)
				defer e.clock.Advance(-6 * time.Minute)
				return e.do("PUT", path, u.token, body, "X-DFNS-USERACTION", ua)
			}, 403, ""},
			{"signed by another user's key", func() resp {
				return e.userAction(u.token, other.signer, "PUT", path, body)
			}, 401, "Not Authorized."},
			{"wrong key with the right credId", func() resp {
				forged := newKeySigner(t, "ES256")
				forged.credID = u.signer.credID
				return e.userAction(u.token, forged, "PUT", path, body)
			}, 401, "Not Authorized."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := tt.run()
				if r.status != tt.status || (tt.msg != "" && r.errMsg() != tt.msg) {
					t.Fatalf("got %d %s, want %d %q", r.status, r.raw, tt.status, tt.msg)
				}
			})
		}
	})
}

// TestConcurrentUse proves two concurrent uses of one user-action token
// cannot both pass.
func TestConcurrentUse(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		body := fmt.Sprintf(`{"credentialUuid":%q}`, u.credUUID)
		path := "/auth/credentials/activate"
		for round := 0; round < 3; round++ {
			ua := e.mustUserAction(u.token, u.signer, "PUT", path, body)
			const n = 16
			var wg sync.WaitGroup
			statuses := make(chan int, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses <- e.do("PUT", path, u.token, body, "X-DFNS-USERACTION", ua).status
				}()
			}
			wg.Wait()
			close(statuses)
			ok := 0
			for s := range statuses {
				switch s {
				case 200:
					ok++
				case 400:
				default:
					t.Errorf("unexpected status %d", s)
				}
			}
			if ok != 1 {
				t.Fatalf("round %d: %d concurrent uses passed, want exactly 1", round, ok)
			}
		}
	})
}

// TestChallengeAttacks proves challenges are single use and expire.
func TestChallengeAttacks(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		initLogin := func() resp {
			return e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": u.username})
		}
		t.Run("answered twice", func(t *testing.T) {
			r := initLogin()
			req := map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": u.signer.assert(r.str("challenge"))}
			if r := e.do("POST", "/auth/login", "", req); r.status != 200 {
				t.Fatalf("first answer: %d %s", r.status, r.raw)
			}
			if r := e.do("POST", "/auth/login", "", req); r.status != 400 || r.errMsg() != "Challenge token is not valid." {
				t.Fatalf("second answer: %d %s", r.status, r.raw)
			}
		})
		t.Run("wrong answer burns it", func(t *testing.T) {
			r := initLogin()
			id, ch := r.str("challengeIdentifier"), r.str("challenge")
			bad := newKeySigner(t, "ES256")
			bad.credID = u.signer.credID
			if r := e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": id, "firstFactor": bad.assert(ch)}); r.status != 401 {
				t.Fatalf("wrong key: %d %s", r.status, r.raw)
			}
			if r := e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": id, "firstFactor": u.signer.assert(ch)}); r.status != 400 {
				t.Fatalf("right key after wrong: %d %s", r.status, r.raw)
			}
		})
		t.Run("expired", func(t *testing.T) {
			r := initLogin()
			e.clock.Advance(16 * time.Minute)
			defer e.clock.Advance(-16 * time.Minute)
			r = e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": u.signer.assert(r.str("challenge"))})
			if r.status != 400 {
				t.Fatalf("expired challenge: %d %s", r.status, r.raw)
			}
		})
		t.Run("signed over another challenge", func(t *testing.T) {
			r1, r2 := initLogin(), initLogin()
			r := e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": r1.str("challengeIdentifier"), "firstFactor": u.signer.assert(r2.str("challenge"))})
			if r.status != 401 {
				t.Fatalf("other challenge: %d %s", r.status, r.raw)
			}
		})
		t.Run("login challenge used for an action", func(t *testing.T) {
			r := initLogin()
			r = e.do("POST", "/auth/action", u.token, map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": u.signer.assert(r.str("challenge"))})
			if r.status != 400 {
				t.Fatalf("login challenge as action: %d %s", r.status, r.raw)
			}
		})
		t.Run("action challenge of another identity", func(t *testing.T) {
			other := e.newUser()
			r := e.do("POST", "/auth/action/init", other.token, map[string]string{"userActionPayload": "", "userActionHttpMethod": "PUT", "userActionHttpPath": "/x"})
			r = e.do("POST", "/auth/action", u.token, map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": u.signer.assert(r.str("challenge"))})
			if r.status != 400 {
				t.Fatalf("other's challenge: %d %s", r.status, r.raw)
			}
		})
	})
}

// TestBearerAttacks proves forged, altered and revoked tokens fail.
func TestBearerAttacks(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		other := e.newUser()
		parts := strings.Split(u.token, ".")
		var claims jwt.MapClaims
		if _, _, err := jwt.NewParser().ParseUnverified(u.token, &claims); err != nil {
			t.Fatal(err)
		}
		_, foreignKey, _ := ed25519.GenerateKey(rand.Reader)
		sign := func(m jwt.SigningMethod, key any, hdr map[string]any) string {
			tk := jwt.NewWithClaims(m, claims)
			for k, v := range hdr {
				tk.Header[k] = v
			}
			s, err := tk.SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		var hdr map[string]any
		if _, _, err := jwt.NewParser().ParseUnverified(u.token, &claims); err != nil {
			t.Fatal(err)
		}
		hb, _ := jwt.NewParser().DecodeSegment(parts[0])
		json.Unmarshal(hb, &hdr)
		kid := hdr["kid"]

		tests := []struct {
			name string
			tok  string
		}{
			{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": kid})},
			{"HS256 with a guessable key", sign(jwt.SigningMethodHS256, []byte("secret"), map[string]any{"kid": kid})},
			{"EdDSA by a foreign key", sign(jwt.SigningMethodEdDSA, foreignKey, map[string]any{"kid": kid})},
			{"altered payload", parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2]},
			{"garbage", "not-a-token"},
			{"empty segments", ".."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if r := e.do("GET", "/auth/credentials", tt.tok, nil); r.status != 401 || r.errMsg() != "Not Authorized." {
					t.Fatalf("got %d %s", r.status, r.raw)
				}
			})
		}
		t.Run("token of another org", func(t *testing.T) {
			if r := e.do("GET", "/auth/users/"+u.userID, other.token, nil); r.status != 404 {
				t.Fatalf("cross-org read: %d %s", r.status, r.raw)
			}
		})
		t.Run("expired", func(t *testing.T) {
			e.clock.Advance(7 * time.Hour)
			defer e.clock.Advance(-7 * time.Hour)
			if r := e.do("GET", "/auth/credentials", u.token, nil); r.status != 401 {
				t.Fatalf("expired token: %d %s", r.status, r.raw)
			}
		})
		t.Run("temporary token as bearer", func(t *testing.T) {
			b, _ := e.svc.Bootstrap(t.Context(), "temp org", "temp")
			r := e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": b.Org.ID, "username": "temp", "registrationCode": b.Code})
			if r := e.do("GET", "/auth/credentials", r.str("temporaryAuthenticationToken"), nil); r.status != 401 {
				t.Fatalf("temp token accepted as bearer: %d", r.status)
			}
		})
		t.Run("logged out", func(t *testing.T) {
			tok := e.login(u, u.signer)
			if r := e.do("PUT", "/auth/logout", tok, nil); r.status != 200 || r.str("message") == "" {
				t.Fatalf("logout: %d %s", r.status, r.raw)
			}
			if r := e.do("GET", "/auth/credentials", tok, nil); r.status != 401 {
				t.Fatalf("logged-out token: %d", r.status)
			}
			if r := e.do("GET", "/auth/credentials", u.token, nil); r.status != 200 {
				t.Fatalf("other session ended too: %d", r.status)
			}
		})
		t.Run("deactivated credential cannot log in", func(t *testing.T) {
			k := newKeySigner(t, "EdDSA")
			uuid := e.addKey(u, k)
			if r := e.signed(u, "PUT", "/auth/credentials/deactivate", fmt.Sprintf(`{"credentialUuid":%q}`, uuid)); r.status != 200 {
				t.Fatalf("deactivate: %d %s", r.status, r.raw)
			}
			r := e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": u.username})
			if strings.Contains(string(r.raw), k.credID) {
				t.Fatal("deactivated credential offered in allowCredentials")
			}
			r = e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": k.assert(r.str("challenge"))})
			if r.status != 401 {
				t.Fatalf("login with deactivated credential: %d %s", r.status, r.raw)
			}
		})
	})
}
