package auth

import (
	"github.com/signet-auth/signet/internal/credential"
	"github.com/signet-auth/signet/internal/lru"
)

// keyCacheSize is the most parsed Key public keys kept in memory: a few
// hundred bytes each.
const keyCacheSize = 4096

// parsedKeys keeps the Key public keys that were parsed before, by their
// stored PEM text (a login and an action completion parsed the same PEM
// every time, about 20 us each). The PEM text is the whole key, so an entry
// is never stale; whether the credential may sign is decided by its stored
// record, read on every request, never by this cache. Only PEM read from
// the store is put here (never a client's input), so its size bounds it.
type parsedKeys struct {
	c *lru.Cache[string, *credential.PublicKey]
}

func newParsedKeys(max int) *parsedKeys {
	return &parsedKeys{c: lru.New[string, *credential.PublicKey](max)}
}

// parse returns the parsed key of the stored PEM text pemText.
// The *credential.PublicKey it returns is shared: callers only read it.
func (k *parsedKeys) parse(pemText string) (*credential.PublicKey, error) {
	if pub, ok := k.c.Get(pemText); ok {
		return pub, nil
	}
	pub, err := credential.ParsePublicKeyPEM(pemText)
	if err != nil {
		return nil, err
	}
	k.c.Put(pemText, pub)
	return pub, nil
}
