package auth

import (
	"strings"

	"github.com/signet-auth/signet/internal/lru"
)

// loginKeyCacheSize bounds the login-key cache: an entry holds a few ids,
// a user name and a PEM (a few hundred bytes, RSA ones about 1 KiB).
const loginKeyCacheSize = 4096

// loginKeys remembers, for the Key and PasswordProtectedKey credentials of
// users who passed login init (or a login's read), what a login needs to
// verify an answer without reading the store (Login's readless path,
// session.go; docs/performance.md, "pglogin5"):
//
// facts that never change: a credential's uuid, kind and public key, and
// the user and org it belongs to (the key). No statement of either store
// updates a credential's public_key, kind, user_id, org_id or cred_id, or
// deletes a credential (only is_active and sign_count change); users' ids
// and orgs never change. The user's name, which can change, is not
// cached: the login's write returns it (CreateLoginForChallenge), so a
// rename between init and login changes nothing on either path.
//
// No state is cached: whether the user and the credential may still log in
// is checked by the login's write, in the commit that spends the challenge.
// Only kinds whose check has no effect on the store are cached (effectless:
// a passkey's check moves its sign counter, and a replayed passkey
// assertion must be refused before it, by a read).
type loginKeys struct {
	c *lru.Cache[loginKeyID, loginKey]
}

// loginKeyID is a credential as a login answer names it: the challenge's
// org and user, and the answer's credId (unique in its org).
type loginKeyID struct{ org, user, credID string }

type loginKey struct {
	uuid string
	kind CredentialKind
	pem  string // parsed on use, through Service.keys
}

func newLoginKeys(max int) *loginKeys {
	return &loginKeys{c: lru.New[loginKeyID, loginKey](max)}
}

// fill records u's active effectless credentials among creds (u's own, as
// UserWithCredentials and LoginSubject return them), for a user who passed
// every login check, and forgets u's inactive ones.
func (k *loginKeys) fill(u *User, creds []*Credential) {
	for _, c := range creds {
		if !effectless(c.Kind) || c.OrgID != u.OrgID || c.UserID != u.ID || c.TokenID != "" {
			continue
		}
		id := loginKeyID{org: strings.Clone(u.OrgID), user: strings.Clone(u.ID), credID: strings.Clone(c.CredID)}
		if !c.IsActive {
			k.c.Remove(id)
			continue
		}
		k.c.Put(id, loginKey{uuid: strings.Clone(c.UUID), kind: c.Kind, pem: strings.Clone(c.PublicKey)})
	}
}

// get returns the entry of (org, user, credID).
func (k *loginKeys) get(org, user, credID string) (loginKey, bool) {
	return k.c.Get(loginKeyID{org, user, credID})
}

// drop forgets (org, user, credID): its login write was refused.
func (k *loginKeys) drop(org, user, credID string) {
	k.c.Remove(loginKeyID{org, user, credID})
}
