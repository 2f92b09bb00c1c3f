package credential

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

func TestParsePublicKeyPEM(t *testing.T) {
	t.Parallel()
	keys := allKeys(t)
	p256 := keys[0].pem
	rsaPriv := rsa2048(t)

	secpPriv, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	secpDER := func(point []byte) []byte {
		der, _ := hex.DecodeString("3036301006072a8648ce3d020106052b8104000a0322" + "00")
		der[1] = byte(len(der) - 2 + len(point)) // SEQUENCE length
		der[len(der)-2] = byte(len(point) + 1)   // BIT STRING length
		return append(der, point...)
	}
	hybrid := secpPriv.PubKey().SerializeUncompressed()
	hybrid[0] = 0x06 | (hybrid[64] & 1)
	offCurve := secpPriv.PubKey().SerializeUncompressed()
	offCurve[64] ^= 1

	p256Priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p256Point, _ := p256Priv.PublicKey.Bytes()
	p256Off := bytes0(p256Point)
	p256Off[64] ^= 1
	p256DER, _ := x509.MarshalPKIXPublicKey(&p256Priv.PublicKey)
	p256OffDER := []byte(strings.Replace(string(p256DER), string(p256Point), string(p256Off), 1))

	// An EC SPKI whose parameters are not a named curve (NULL here; explicit
	// curve parameters are refused the same way).
	ecNullParams, err := asn1.Marshal(struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}{
		pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}, Parameters: asn1.NullRawValue},
		asn1.BitString{Bytes: p256Point, BitLength: 8 * len(p256Point)},
	})
	if err != nil {
		t.Fatal(err)
	}

	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edPKCS8, _ := x509.MarshalPKCS8PrivateKey(edPriv)

	weakRSA := &rsa.PublicKey{N: oddNumber(t, 1024), E: 65537}
	hugeRSA := &rsa.PublicKey{N: oddNumber(t, 16392), E: 65537}
	evenRSA := &rsa.PublicKey{N: new(big.Int).Lsh(oddNumber(t, 2047), 1), E: 65537}
	evenExpRSA := &rsa.PublicKey{N: rsaPriv.N, E: 65536}

	tests := []struct {
		name    string
		in      string
		wantAlg Algorithm
		wantMsg string // for errors: a substring of Msg
	}{
		{name: "P-256", in: keys[0].pem, wantAlg: ES256},
		{name: "P-384", in: keys[1].pem, wantAlg: ES384},
		{name: "secp256k1", in: keys[2].pem, wantAlg: ES256K},
		{name: "Ed25519", in: keys[3].pem, wantAlg: EdDSA},
		{name: "RSA-2048 SPKI", in: keys[4].pem, wantAlg: RS256},
		{name: "RSA-2048 PKCS#1", in: keys[5].pem, wantAlg: RS256},
		{name: "secp256k1 compressed", in: pemOf("PUBLIC KEY", secpDER(secpPriv.PubKey().SerializeCompressed())), wantAlg: ES256K},
		{name: "escaped newlines", in: strings.ReplaceAll(p256, "\n", `\n`), wantAlg: ES256},
		{name: "escaped CRLF", in: strings.ReplaceAll(p256, "\n", `\r\n`), wantAlg: ES256},
		{name: "CRLF", in: strings.ReplaceAll(p256, "\n", "\r\n"), wantAlg: ES256},
		{name: "no trailing newline", in: strings.TrimSpace(p256), wantAlg: ES256},
		{name: "whitespace around", in: " \t\n" + p256 + "\n\n  \t", wantAlg: ES256},
		{name: "escaped newlines and trailing real newline", in: strings.TrimSpace(strings.ReplaceAll(p256, "\n", `\n`)) + "\n", wantAlg: ES256},

		{name: "empty", in: "", wantMsg: "invalid PEM public key"},
		{name: "garbage", in: "not a key", wantMsg: "invalid PEM public key"},
		{name: "bare base64", in: strings.Join(strings.Split(p256, "\n")[1:3], ""), wantMsg: "invalid PEM public key"},
		{name: "garbage body", in: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", wantMsg: "invalid PEM public key"},
		{name: "bad base64 body", in: "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n", wantMsg: "invalid PEM public key"},
		{name: "mismatched END", in: strings.Replace(p256, "END PUBLIC", "END RSA PUBLIC", 1), wantMsg: "invalid PEM public key"},
		{name: "two blocks", in: p256 + keys[3].pem, wantMsg: "exactly one PEM block"},
		{name: "same block twice", in: p256 + p256, wantMsg: "exactly one PEM block"},
		{name: "broken block then good block",
			in: "-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----\n" + p256, wantMsg: "exactly one PEM block"},
		{name: "text before", in: "key:\n" + p256, wantMsg: "exactly one PEM block"},
		{name: "text after", in: p256 + "thanks\n", wantMsg: "exactly one PEM block"},
		{name: "headers", in: strings.Replace(p256, "-----\n", "-----\nComment: hi\n\n", 1), wantMsg: "headers"},
		{name: "private key", in: pemOf("PRIVATE KEY", edPKCS8), wantMsg: `PEM type must be "PUBLIC KEY" or "RSA PUBLIC KEY"`},
		{name: "EC PUBLIC KEY type", in: strings.ReplaceAll(p256, "PUBLIC KEY", "EC PUBLIC KEY"), wantMsg: "PEM type"},
		{name: "certificate", in: strings.ReplaceAll(p256, "PUBLIC KEY", "CERTIFICATE"), wantMsg: "PEM type"},
		{name: "PKCS#1 in PUBLIC KEY", in: pemOf("PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaPriv.PublicKey)),
			wantMsg: "bad SubjectPublicKeyInfo"},
		{name: "SPKI in RSA PUBLIC KEY", in: strings.ReplaceAll(keys[4].pem, "PUBLIC KEY", "RSA PUBLIC KEY"),
			wantMsg: "bad PKCS#1"},
		{name: "SPKI with trailing data", in: pemOf("PUBLIC KEY", append(p256DER, 0)), wantMsg: "bad SubjectPublicKeyInfo"},
		{name: "RSA-1024", in: spkiPEM(t, weakRSA), wantMsg: "RSA key must be at least 2048 bits"},
		{name: "RSA-1024 PKCS#1", in: pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(weakRSA)),
			wantMsg: "RSA key must be at least 2048 bits"},
		{name: "RSA too large", in: spkiPEM(t, hugeRSA), wantMsg: "RSA key must be at most 16384 bits"},
		{name: "RSA even modulus", in: spkiPEM(t, evenRSA), wantMsg: "invalid RSA public key"},
		{name: "RSA even exponent", in: pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(evenExpRSA)),
			wantMsg: "invalid RSA public key"},
		{name: "EC without named curve", in: pemOf("PUBLIC KEY", ecNullParams), wantMsg: "bad elliptic curve parameters"},
		{name: "P-521", in: spkiPEM(t, &p521.PublicKey), wantMsg: "unsupported elliptic curve"},
		{name: "P-224", in: spkiPEM(t, &p224.PublicKey), wantMsg: "unsupported elliptic curve"},
		{name: "X25519", in: spkiPEM(t, x25519.PublicKey()), wantMsg: "unsupported key type"},
		{name: "P-256 point off the curve", in: pemOf("PUBLIC KEY", p256OffDER), wantMsg: "invalid PEM public key"},
		{name: "secp256k1 hybrid point", in: pemOf("PUBLIC KEY", secpDER(hybrid)), wantMsg: "invalid secp256k1 public key"},
		{name: "secp256k1 point off the curve", in: pemOf("PUBLIC KEY", secpDER(offCurve)), wantMsg: "invalid secp256k1 public key"},
		{name: "secp256k1 empty point", in: pemOf("PUBLIC KEY", secpDER(nil)), wantMsg: "invalid secp256k1 public key"},
		{name: "too large", in: p256 + strings.Repeat(" ", 64<<10), wantMsg: "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParsePublicKeyPEM(tt.in)
			if tt.wantMsg != "" {
				if kindOf(t, err) != Malformed {
					t.Fatalf("ParsePublicKeyPEM = %v, %v; want Malformed", k, err)
				}
				if msg := err.(*Error).Msg; !strings.Contains(msg, tt.wantMsg) {
					t.Errorf("Msg = %q, want it to contain %q", msg, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePublicKeyPEM: %v", err)
			}
			if k.Algorithm != tt.wantAlg {
				t.Errorf("Algorithm = %v, want %v", k.Algorithm, tt.wantAlg)
			}
		})
	}
}

// TestParsePublicKeyPEMHidesPrivateKey: a user pasting a private key must not
// see it (or anything from it) echoed in an error, nor have it logged.
func TestParsePublicKeyPEMHidesPrivateKey(t *testing.T) {
	t.Parallel()
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(edPriv)
	for _, typ := range []string{"PRIVATE KEY", "PUBLIC KEY", "RSA PUBLIC KEY"} {
		in := pemOf(typ, der)
		_, err := ParsePublicKeyPEM(in)
		if kindOf(t, err) != Malformed {
			t.Fatalf("%s: err = %v, want Malformed", typ, err)
		}
		body := base64.StdEncoding.EncodeToString(der)
		for _, s := range []string{err.Error(), err.(*Error).Msg} {
			if strings.Contains(s, body[:16]) || strings.Contains(s, hex.EncodeToString(der[len(der)-8:])) {
				t.Errorf("%s: error %q shows key material", typ, s)
			}
		}
	}
}

func TestParsedKeys(t *testing.T) {
	t.Parallel()
	// Compressed and uncompressed secp256k1 SPKI give the same key.
	priv, _ := secp256k1.GeneratePrivateKey()
	a, err := ParsePublicKeyPEM(secp256k1PEM(priv.PubKey()))
	if err != nil {
		t.Fatal(err)
	}
	if !a.Key.(*secp256k1.PublicKey).IsEqual(priv.PubKey()) {
		t.Errorf("secp256k1 key = %v, want %v", a.Key, priv.PubKey())
	}
	// PKCS#1 and SPKI of one RSA key give equal keys and fingerprints.
	rk := rsa2048(t)
	spki, err := ParsePublicKeyPEM(spkiPEM(t, &rk.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	pkcs1, err := ParsePublicKeyPEM(pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rk.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	if !spki.Key.(*rsa.PublicKey).Equal(pkcs1.Key) {
		t.Errorf("PKCS#1 and SPKI keys differ")
	}
	if spki.Fingerprint() != pkcs1.Fingerprint() {
		t.Errorf("fingerprints differ: SPKI %s, PKCS#1 %s", spki.Fingerprint(), pkcs1.Fingerprint())
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	for _, k := range allKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			pub, err := ParsePublicKeyPEM(k.pem)
			if err != nil {
				t.Fatal(err)
			}
			// Expected: SHA-256 over the canonical SPKI DER, computed here
			// without the package (secp256k1: the prefix written out in
			// the test helpers).
			var der []byte
			if sk, ok := pub.Key.(*secp256k1.PublicKey); ok {
				der, _ = hex.DecodeString(secp256k1SPKIPrefix)
				der = append(der, sk.SerializeUncompressed()...)
			} else if der, err = x509.MarshalPKIXPublicKey(pub.Key); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(der)
			want := "SHA256:" + strings.TrimRight(base64.StdEncoding.EncodeToString(sum[:]), "=")
			if got := pub.Fingerprint(); got != want {
				t.Errorf("Fingerprint() = %q, want %q", got, want)
			}
			// A PublicKey built by hand (no DER kept) has the same one.
			if got := (&PublicKey{Key: pub.Key}).Fingerprint(); got != want {
				t.Errorf("Fingerprint() of a hand-built key = %q, want %q", got, want)
			}
		})
	}
	if got := (*PublicKey)(nil).Fingerprint(); got != "" {
		t.Errorf("nil.Fingerprint() = %q", got)
	}
	if got := (&PublicKey{Key: "not a key"}).Fingerprint(); got != "" {
		t.Errorf("Fingerprint() of an unsupported key = %q", got)
	}
}

// TestVerify covers PublicKey.Verify beyond the assertion flow: signature
// encodings (spec 3.4) and keys built by hand.
func TestVerify(t *testing.T) {
	t.Parallel()
	msg := []byte(`{"type":"key.get","challenge":"abc"}`)

	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	secp, _ := secp256k1.GeneratePrivateKey()
	ed := newEd25519Key(t)
	edPub, _ := ParsePublicKeyPEM(ed.pem)
	rk := rsa2048(t)

	p256Sig, _ := ecdsa.SignASN1(rand.Reader, p256, sha(msg))
	secpSig := secpecdsa.Sign(secp, sha(msg)) // low S, as decred always makes
	secpR, secpS := secpSig.R(), secpSig.S()
	secpRB, secpSB := secpR.Bytes(), secpS.Bytes()
	secpRInt, secpSInt := new(big.Int).SetBytes(secpRB[:]), new(big.Int).SetBytes(secpSB[:])

	der := func(r, s *big.Int) []byte {
		b, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// highS returns the other valid signature (r, n-s): OpenSSL, hence Node,
	// does not normalise S, so half of the secp256k1 signatures real
	// clients send are high-S.
	highS := func(sig []byte, n *big.Int) []byte {
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(sig, &rs); err != nil {
			t.Fatal(err)
		}
		return der(rs.R, new(big.Int).Sub(n, rs.S))
	}
	// longForm re-encodes a DER SEQUENCE with a non-minimal length (BER).
	longForm := func(sig []byte) []byte {
		return append([]byte{0x30, 0x81, sig[1]}, sig[2:]...)
	}

	keyP256 := &PublicKey{Key: &p256.PublicKey, Algorithm: ES256}
	keySecp := &PublicKey{Key: secp.PubKey(), Algorithm: ES256K}
	keyRSA := &PublicKey{Key: &rk.PublicKey, Algorithm: RS256}
	rsaSig := newRSAKey(t, false).sign(msg)

	tests := []struct {
		name string
		key  *PublicKey
		sig  []byte
		want ErrorKind
	}{
		{name: "P-256", key: keyP256, sig: p256Sig},
		{name: "P-256 high S", key: keyP256, sig: highS(p256Sig, elliptic.P256().Params().N)},
		{name: "P-256 BER length", key: keyP256, sig: longForm(p256Sig), want: Malformed},
		{name: "P-256 r = 0", key: keyP256, sig: der(big.NewInt(0), big.NewInt(1)), want: Malformed},
		{name: "P-256 s < 0", key: keyP256, sig: der(big.NewInt(1), big.NewInt(-1)), want: Malformed},
		{name: "P-256 r = n", key: keyP256, sig: der(elliptic.P256().Params().N, big.NewInt(1)), want: Rejected},
		{name: "P-256 empty", key: keyP256, sig: nil, want: Malformed},
		{name: "P-256 too large", key: keyP256, sig: make([]byte, 64<<10+1), want: Malformed},
		{name: "secp256k1", key: keySecp, sig: secpSig.Serialize()},
		{name: "secp256k1 high S", key: keySecp, sig: highS(secpSig.Serialize(), secp256k1.S256().N)},
		{name: "secp256k1 re-encoded", key: keySecp, sig: der(secpRInt, secpSInt)},
		{name: "secp256k1 BER length", key: keySecp, sig: longForm(secpSig.Serialize()), want: Malformed},
		{name: "secp256k1 r = 0", key: keySecp, sig: der(big.NewInt(0), secpSInt), want: Malformed},
		{name: "secp256k1 raw r||s", key: keySecp, sig: append(secpRB[:], secpSB[:]...), want: Malformed},
		{name: "secp256k1 other message", key: keySecp, sig: secpecdsa.Sign(secp, sha([]byte("x"))).Serialize(), want: Rejected},
		{name: "Ed25519", key: edPub, sig: ed.sign(msg)},
		{name: "Ed25519 short", key: edPub, sig: ed.sign(msg)[:63], want: Malformed},
		{name: "Ed25519 other message", key: edPub, sig: ed.sign([]byte("x")), want: Rejected},
		{name: "RSA", key: keyRSA, sig: rsaSig},
		{name: "RSA short", key: keyRSA, sig: rsaSig[1:], want: Malformed},
		{name: "RSA zero", key: keyRSA, sig: make([]byte, 256), want: Rejected},
		{name: "nil PublicKey", key: nil, sig: p256Sig, want: Malformed},
		{name: "nil Key", key: &PublicKey{}, sig: p256Sig, want: Malformed},
		{name: "nil *ecdsa.PublicKey", key: &PublicKey{Key: (*ecdsa.PublicKey)(nil)}, sig: p256Sig, want: Malformed},
		{name: "P-521 built by hand", key: &PublicKey{Key: mustECDSA(t, elliptic.P521())}, sig: p256Sig, want: Malformed},
		{name: "short Ed25519 key built by hand", key: &PublicKey{Key: ed25519.PublicKey(make([]byte, 31))},
			sig: ed.sign(msg), want: Malformed},
		{name: "RSA-1024 built by hand", key: &PublicKey{Key: &rsa.PublicKey{N: oddNumber(t, 1024), E: 65537}},
			sig: make([]byte, 128), want: Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.key.Verify(msg, tt.sig)
			if got := kindOf(t, err); got != tt.want {
				t.Fatalf("Verify: kind %v, want %v (err: %v)", got, tt.want, err)
			}
		})
	}
}

func mustECDSA(t *testing.T, c elliptic.Curve) *ecdsa.PublicKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &k.PublicKey
}

// oddNumber returns a random odd number of exactly bits bits: enough to
// stand for an RSA modulus that is refused before any arithmetic.
func oddNumber(t *testing.T, bits int) *big.Int {
	t.Helper()
	b := make([]byte, (bits+7)/8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	n := new(big.Int).SetBytes(b)
	n.SetBit(n, bits-1, 1)
	for i := n.BitLen() - 1; i >= bits; i-- {
		n.SetBit(n, i, 0)
	}
	return n.SetBit(n, 0, 1)
}

func bytes0(b []byte) []byte { return append([]byte(nil), b...) }
