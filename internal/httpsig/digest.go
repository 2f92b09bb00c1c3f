package httpsig

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/dunglas/httpsfv"
)

// ContentDigest is the RFC 9530 Content-Digest field of body with sha-256.
func ContentDigest(body []byte) string {
	d := sha256.Sum256(body)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(d[:]) + ":"
}

// CheckContentDigest verifies the Content-Digest field (its lines, as
// received) against body
// (RFC 9530 section 2): it must be a Dictionary of byte sequences; every
// member of an algorithm signet knows (sha-256, sha-512) must match, and at
// least one must be present. Members of other algorithms are refused: a
// digest nobody checked would be covered by the signature all the same.
func CheckContentDigest(lines []string, body []byte) error {
	d, _, err := dictionaryLines("Content-Digest", lines)
	if err != nil {
		return err
	}
	if len(d.Names()) == 0 {
		return errorf("Content-Digest is empty")
	}
	for _, alg := range d.Names() {
		m, _ := d.Get(alg)
		it, ok := m.(httpsfv.Item)
		var got []byte
		if ok {
			got, ok = it.Value.([]byte)
		}
		if !ok {
			return errorf("Content-Digest %s must be a byte sequence", alg)
		}
		var want []byte
		switch strings.ToLower(alg) {
		case "sha-256":
			s := sha256.Sum256(body)
			want = s[:]
		case "sha-512":
			s := sha512.Sum512(body)
			want = s[:]
		default:
			return errorf("Content-Digest algorithm %q is not supported (sha-256, sha-512)", alg)
		}
		if subtle.ConstantTimeCompare(got, want) != 1 {
			return errorf("Content-Digest does not match the body")
		}
	}
	return nil
}
