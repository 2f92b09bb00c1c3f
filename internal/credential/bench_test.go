package credential

import (
	"crypto/elliptic"
	"testing"
)

// BenchmarkVerifyKeyAssertion measures a whole Key assertion check (spec
// 3.3: clientData parse, challenge check, signature) per algorithm, i.e. the
// CPU cost of one login or user action.
func BenchmarkVerifyKeyAssertion(b *testing.B) {
	keys := []testKey{
		newECDSAKey(b, "P-256", ES256, elliptic.P256()),
		newECDSAKey(b, "P-384", ES384, elliptic.P384()),
		newSecp256k1Key(b),
		newEd25519Key(b),
		newRSAKey(b, false),
	}
	const ch = "c2lnbmV0LWJlbmNobWFyay1jaGFsbGVuZ2UtMzItYnl0ZXM"
	for _, k := range keys {
		pub, err := ParsePublicKeyPEM(k.pem)
		if err != nil {
			b.Fatal(err)
		}
		cd := keysignerClientData("key.get", ch)
		sig := k.sign(cd)
		b.Run(string(k.alg), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := VerifyKeyAssertion(pub, cd, sig, ch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
