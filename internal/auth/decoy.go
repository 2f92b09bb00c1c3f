package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// Login decoys (issue 11, docs/abuse.md). The Dfns API answers
// /auth/login/init for a user it does not know with 401 "User not found"
// (spec 5.1): anyone may ask, so that answer lists an org's users to
// whoever guesses their names. signet answers every login/init request
// that passes input validation with a challenge. For a user who cannot log
// in (unknown, deactivated, archived, unregistered, a service account, or
// no usable credential) the challenge is a decoy: sealed like a real one,
// but for a user id no user has, so no answer to it can ever log anyone in (Login loads
// the challenge's user first and finds none), and its allowCredentials
// list credential ids that exist nowhere. Those ids are an HMAC of the org
// and username under a key derived from the challenge key, which every
// replica shares: asking twice, or asking another replica, lists the same
// ids, as it does for a real user. A refused answer burns the decoy as it
// burns a real challenge, so a wrong answer costs the same either way.

// decoyUserPrefix starts the user id sealed in a decoy challenge: a real
// user id starts with "us-" (newID), so no user has it.
const decoyUserPrefix = "dy"

// isDecoyUser reports whether a challenge's user id is a decoy's.
func isDecoyUser(userID string) bool { return strings.HasPrefix(userID, decoyUserPrefix+"-") }

// decoyKeyLabel separates the decoy key from every other use of the
// challenge key.
const decoyKeyLabel = "signet login decoy credentials v1"

// decoyIDLen is the length in bytes of a decoy credential id: 32, the
// length of the ids of common passkey authenticators and of a SHA-256
// fingerprint, which Key credential ids often are.
const decoyIDLen = 32

// newDecoyKey derives the decoy key from the challenge key, or draws a
// random one when there is none (a Service of its own, as in tests).
func newDecoyKey(challengeKey []byte) []byte {
	if challengeKey == nil {
		k := make([]byte, sha256.Size)
		rand.Read(k)
		return k
	}
	m := hmac.New(sha256.New, challengeKey)
	m.Write([]byte(decoyKeyLabel))
	return m.Sum(nil)
}

// decoyAllowList returns the stable fake credential list of (orgID,
// username): one or two credentials, of the kinds a real user of this
// server could hold (passkeys only when they are configured).
func (s *Service) decoyAllowList(orgID, username string) AllowCredentials {
	m := hmac.New(sha256.New, s.decoyKey)
	// Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(orgID)))
	m.Write(n[:])
	m.Write([]byte(orgID))
	m.Write([]byte(username))
	seed := m.Sum(nil)
	out := AllowCredentials{Key: []AllowCredential{}, WebAuthn: []AllowCredential{}}
	count := 1 + int(seed[0]&1)
	for i := range count {
		m.Reset()
		m.Write(seed)
		m.Write([]byte{byte(i)})
		id := m.Sum(nil)[:decoyIDLen]
		c := AllowCredential{Type: "public-key", ID: base64.RawURLEncoding.EncodeToString(id)}
		if s.fido2 != nil && seed[1+i]&1 == 1 {
			out.WebAuthn = append(out.WebAuthn, c)
		} else {
			out.Key = append(out.Key, c)
		}
	}
	return out
}
