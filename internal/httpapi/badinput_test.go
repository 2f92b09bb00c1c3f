package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestBadInput proves that malformed requests get a clear JSON error with
// the right status and change nothing in the store.
func TestBadInput(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		credsBefore := e.do("GET", "/auth/credentials", u.token, nil).raw

		// A fresh registration challenge for the credential cases.
		regAttempt := func(cred any) resp {
			b, err := e.svc.Bootstrap(t.Context(), "bad input org", "bad")
			if err != nil {
				t.Fatal(err)
			}
			r := e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": b.Org.ID, "username": "bad", "registrationCode": b.Code})
			return e.do("POST", "/auth/registration", r.str("temporaryAuthenticationToken"), map[string]any{"firstFactorCredential": cred})
		}
		k := newKeySigner(t, "ES256")
		withInfo := func(field, value string) func() resp {
			return func() resp {
				b, _ := e.svc.Bootstrap(t.Context(), "bad input org", "bad")
				r := e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": b.Org.ID, "username": "bad", "registrationCode": b.Code})
				att := k.attest(r.str("challenge"))
				att["credentialInfo"].(map[string]string)[field] = value
				return e.do("POST", "/auth/registration", r.str("temporaryAuthenticationToken"), map[string]any{"firstFactorCredential": att})
			}
		}
		attData := func(pemText, sigHex string) string {
			j, _ := json.Marshal(map[string]string{"publicKey": pemText, "signature": sigHex})
			return base64.RawURLEncoding.EncodeToString(j)
		}
		big := `{"userActionPayload":"` + strings.Repeat("a", 70<<10) + `","userActionHttpMethod":"POST","userActionHttpPath":"/x"}`

		tests := []struct {
			name   string
			run    func() resp
			status int
		}{
			{"malformed JSON", func() resp { return e.do("POST", "/auth/login/init", "", `{"orgId":`) }, 400},
			{"duplicate keys", func() resp {
				return e.do("POST", "/auth/login/init", "", `{"orgId":"a","orgId":"b","username":"x"}`)
			}, 400},
			{"trailing data", func() resp { return e.do("POST", "/auth/login/init", "", `{} {}`) }, 400},
			{"wrong JSON type", func() resp { return e.do("POST", "/auth/login/init", "", `{"orgId":1}`) }, 400},
			{"missing fields", func() resp { return e.do("POST", "/auth/login/init", "", `{}`) }, 400},
			{"wrong content type", func() resp {
				return e.do("POST", "/auth/login/init", "", `orgId=x`, "Content-Type", "application/x-www-form-urlencoded")
			}, 415},
			{"oversized body", func() resp { return e.do("POST", "/auth/action/init", u.token, big) }, 413},
			{"unknown route", func() resp { return e.do("GET", "/auth/nothing", "", nil) }, 404},
			{"wrong method", func() resp { return e.do("DELETE", "/auth/login", "", nil) }, 405},
			{"unknown credential kind", func() resp {
				return regAttempt(map[string]any{"credentialKind": "Magic", "credentialInfo": map[string]string{"credId": "x"}})
			}, 400},
			{"deprecated Password kind", func() resp {
				return regAttempt(map[string]any{"credentialKind": "Password", "credentialInfo": map[string]string{"credId": "x"}})
			}, 400},
			{"Fido2 before passkeys land", func() resp {
				return regAttempt(map[string]any{"credentialKind": "Fido2", "credentialInfo": map[string]string{"credId": "x", "clientData": "e30", "attestationData": "e30"}})
			}, 400},
			{"malformed base64 clientData", withInfo("clientData", "!!!not base64!!!"), 400},
			{"clientData not JSON", withInfo("clientData", base64.RawURLEncoding.EncodeToString([]byte("nope"))), 400},
			{"attestationData not JSON", withInfo("attestationData", base64.RawURLEncoding.EncodeToString([]byte("{"))), 400},
			{"malformed PEM", withInfo("attestationData", attData("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "00")), 400},
			{"not a PEM at all", withInfo("attestationData", attData("hello", "00")), 400},
			{"malformed DER signature", withInfo("attestationData", attData(k.pem, "3003020101")), 400},
			{"signature not hex", withInfo("attestationData", attData(k.pem, "zz")), 400},
			{"malformed assertion base64", func() resp {
				r := e.do("POST", "/auth/action/init", u.token, map[string]string{"userActionPayload": "", "userActionHttpMethod": "PUT", "userActionHttpPath": "/x"})
				return e.do("POST", "/auth/action", u.token, map[string]any{"challengeIdentifier": r.str("challengeIdentifier"),
					"firstFactor": map[string]any{"kind": "Key", "credentialAssertion": map[string]string{"credId": u.signer.credID, "clientData": "%%%", "signature": "%%%"}}})
			}, 400},
			{"payload not JSON", func() resp {
				return e.do("POST", "/auth/action/init", u.token, map[string]string{"userActionPayload": "{nope", "userActionHttpMethod": "PUT", "userActionHttpPath": "/x"})
			}, 400},
			{"relative path", func() resp {
				return e.do("POST", "/auth/action/init", u.token, map[string]string{"userActionPayload": "", "userActionHttpMethod": "PUT", "userActionHttpPath": "x"})
			}, 400},
			{"bad method", func() resp {
				return e.do("POST", "/auth/action/init", u.token, map[string]string{"userActionPayload": "", "userActionHttpMethod": "TRACE", "userActionHttpPath": "/x"})
			}, 400},
			{"no bearer", func() resp { return e.do("GET", "/auth/credentials", "", nil) }, 401},
			{"basic auth", func() resp { return e.do("GET", "/auth/credentials", "", nil, "Authorization", "Basic YTpi") }, 401},
			{"registration without temp token", func() resp { return e.do("POST", "/auth/registration", "", `{}`) }, 401},
			{"registration with a login token", func() resp { return e.do("POST", "/auth/registration", u.token, `{"firstFactorCredential":{}}`) }, 401},
			{"wrong registration code", func() resp {
				return e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": u.orgID, "username": "nobody", "registrationCode": "AAAAA-AAAAA"})
			}, 401},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := tt.run()
				if r.status != tt.status {
					t.Fatalf("got %d %s, want %d", r.status, r.raw, tt.status)
				}
				if r.errMsg() == "" || r.body["error"].(map[string]any)["status"] != float64(tt.status) {
					t.Fatalf("error body %s lacks message or status", r.raw)
				}
			})
		}
		if after := e.do("GET", "/auth/credentials", u.token, nil).raw; string(after) != string(credsBefore) {
			t.Fatalf("bad input changed the credentials:\n%s\n%s", credsBefore, after)
		}
	})
}

// TestRegistrationCodeSingleUse proves a registration code registers once:
// inits that are not completed leave it valid, the registration spends it.
func TestRegistrationCodeSingleUse(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		b, err := e.svc.Bootstrap(t.Context(), "org", "first")
		if err != nil {
			t.Fatal(err)
		}
		req := map[string]string{"orgId": b.Org.ID, "username": "first", "registrationCode": strings.ToLower(b.Code)}
		if r := e.do("POST", "/auth/registration/init", "", req); r.status != 200 {
			t.Fatalf("first use: %d %s", r.status, r.raw)
		}
		if r := e.do("POST", "/auth/registration/init", "", req); r.status != 200 {
			t.Fatalf("second init, the first abandoned: %d %s", r.status, r.raw)
		}
		e.register(b.Org.ID, "first", b.Code)
		if r := e.do("POST", "/auth/registration/init", "", req); r.status != 401 {
			t.Fatalf("use after registering: %d %s", r.status, r.raw)
		}
	})
}
