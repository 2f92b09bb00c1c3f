package strictjson

import "testing"

// The bodies of a Key login (POST /auth/login) and of an action init with a
// small payload, as the official SDK sends them.
var (
	benchLogin = []byte(`{"challengeIdentifier":"eyJhbGciOiJFUzI1NiJ9.eyJ0eXAiOiJsb2dpbiIsIm9yZyI6Im9yLTAxIiwibm9uY2UiOiJhYmNkZWZnaGlqa2xtbm9wIn0.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl","firstFactor":{"kind":"Key","credentialAssertion":{"credId":"Y3JlZGVudGlhbC1pZC0wMTIzNDU2Nzg5","clientData":"eyJ0eXBlIjoia2V5LmdldCIsImNoYWxsZW5nZSI6ImFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1Njc4OSIsIm9yaWdpbiI6Imh0dHBzOi8vYXBwLmV4YW1wbGUuY29tIiwiY3Jvc3NPcmlnaW4iOmZhbHNlfQ","signature":"MEUCIQDx1234567890abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghij_-"}}}`)
	benchInit  = []byte(`{"userActionPayload":"{\"amount\":\"12.50\",\"currency\":\"EUR\",\"reference\":\"order-42\",\"items\":[{\"sku\":\"a-1\",\"qty\":2},{\"sku\":\"b-7\",\"qty\":1}]}","userActionHttpMethod":"POST","userActionHttpPath":"/orders","userActionServerKind":"Api"}`)
	benchBody  = []byte(`{"amount":"12.50","currency":"EUR","reference":"order-42","items":[{"sku":"a-1","qty":2},{"sku":"b-7","qty":1}]}`)
)

type benchAssertion struct {
	Kind                string `json:"kind"`
	CredentialAssertion *struct {
		CredID     string `json:"credId"`
		ClientData string `json:"clientData"`
		Signature  string `json:"signature"`
	} `json:"credentialAssertion"`
}

type benchLoginReq struct {
	ChallengeIdentifier string          `json:"challengeIdentifier"`
	FirstFactor         *benchAssertion `json:"firstFactor"`
	SecondFactor        *benchAssertion `json:"secondFactor,omitempty"`
}

type benchInitReq struct {
	Payload    *string `json:"userActionPayload"`
	HTTPMethod string  `json:"userActionHttpMethod"`
	HTTPPath   string  `json:"userActionHttpPath"`
	ServerKind string  `json:"userActionServerKind,omitempty"`
}

// BenchmarkStrict prices what a request pays strictjson, the one-pass parser
// (impl=onepass) beside the three-pass implementation it replaced
// (impl=legacy), in the same binary.
func BenchmarkStrict(b *testing.B) {
	impls := []struct {
		name      string
		decode    func([]byte, any) error
		canonical func([]byte) ([]byte, error)
		check     func([]byte) error
	}{
		{"legacy", legacyDecode, legacyCanonical, legacyCheck},
		{"onepass", Decode, Canonical, Check},
	}
	for _, im := range impls {
		b.Run("decode-login/impl="+im.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var v benchLoginReq
				if err := im.decode(benchLogin, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The pass alone, without Decode's json.Unmarshal.
		b.Run("check-login/impl="+im.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := im.check(benchLogin); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("decode-init/impl="+im.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var v benchInitReq
				if err := im.decode(benchInit, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("canonical-body/impl="+im.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := im.canonical(benchBody); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
