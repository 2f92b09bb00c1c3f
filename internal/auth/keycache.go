package auth

import (
	"strings"

	"github.com/signet-auth/signet/internal/credential"
	"github.com/signet-auth/signet/internal/lru"
)

// keyCacheSize bounds the parsed-key cache: an entry holds a PEM string (a
// few hundred bytes, RSA ones about 1 KiB) and its parsed key.
const keyCacheSize = 4096

// parsedKeys remembers the public keys of Key credentials as parsed from
// their stored PEM, so that an RFC 9421 signed request does not decode the
// PEM and the SPKI on every request (~11 us of the request's CPU, profile
// in docs/performance.md, "sigperf"). The key is the PEM text itself: a hit
// is the very bytes that parsed before, so the cache can never answer for
// another or a changed key. Which credential may sign, and whether it is
// active, is still read from the store on every request: the cache holds no
// state, only the result of a pure function.
type parsedKeys struct {
	c *lru.Cache[string, *credential.PublicKey]
}

func newParsedKeys(max int) *parsedKeys {
	return &parsedKeys{c: lru.New[string, *credential.PublicKey](max)}
}

// parse returns credential.ParsePublicKeyPEM(pem), from the cache when it
// parsed before. Errors are not cached.
func (k *parsedKeys) parse(pem string) (*credential.PublicKey, error) {
	if pub, ok := k.c.Get(pem); ok {
		return pub, nil
	}
	pub, err := credential.ParsePublicKeyPEM(pem)
	if err != nil {
		return nil, err
	}
	k.c.Put(strings.Clone(pem), pub)
	return pub, nil
}
