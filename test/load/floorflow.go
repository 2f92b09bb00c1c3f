package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"
)

// The floor of the Dfns flow (docs/load.md, "The floor"): the floor process
// also answers action init and action, and forwards a request carrying
// X-DFNS-USERACTION, with the least any server must do for the three round
// trips of user action signing (spec 4.1), and nothing of what makes it
// signet:
//
//   - action init: the JSON body read, a random challenge and id made and
//     kept in memory with what the action binds (method, path, payload);
//   - action: the JSON body read, the challenge taken out of memory (used
//     once), the Key assertion's client data checked (type, challenge) and
//     its P-256 signature verified, a random user action kept in memory;
//   - the request: the user action taken out of memory (used once) and its
//     binding compared with the request's method, path and body, then the
//     plain proxy.
//
// No bearer token, no key lookup, no audit, and no durable write but on
// PostgreSQL (floorpg.go: the challenge answered, the user action used); its answers
// carry only the fields the client reads. Its ratio to the plain proxy
// bounds what any implementation of the Dfns flow can reach on the machine.

// floorFlow holds the floor's challenges and user actions, in memory.
type floorFlow struct {
	f *floorVerifier // its keys

	mu         sync.Mutex
	challenges map[string]floorPending // by challenge id
	actions    map[string]floorPending // by user action
}

// floorPending is an open challenge or an unused user action.
type floorPending struct {
	challenge          string
	method, path, body string
	expires            time.Time
}

// floorTTL bounds how long the floor keeps a challenge or a user action.
const floorTTL = time.Minute

func newFloorFlow(f *floorVerifier) *floorFlow {
	return &floorFlow{f: f, challenges: map[string]floorPending{}, actions: map[string]floorPending{}}
}

// put keeps p in m under a new random id, which it returns.
func (ff *floorFlow) put(m map[string]floorPending, p floorPending, now time.Time) string {
	b := make([]byte, 16)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	ff.mu.Lock()
	defer ff.mu.Unlock()
	if len(m) >= 1<<16 {
		for k, v := range m {
			if now.After(v.expires) {
				delete(m, k)
			}
		}
	}
	m[id] = p
	return id
}

// take removes id from m and returns what it held, if it had not expired.
func (ff *floorFlow) take(m map[string]floorPending, id string, now time.Time) (floorPending, bool) {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	p, ok := m[id]
	delete(m, id)
	return p, ok && now.Before(p.expires)
}

// actionInit answers POST /auth/action/init.
func (ff *floorFlow) actionInit(body []byte, now time.Time) (any, error) {
	var in struct {
		Payload string `json:"userActionPayload"`
		Method  string `json:"userActionHttpMethod"`
		Path    string `json:"userActionHttpPath"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Method == "" || in.Path == "" {
		return nil, errors.New("bad action init")
	}
	b := make([]byte, 32)
	rand.Read(b)
	ch := base64.RawURLEncoding.EncodeToString(b)
	id := ff.put(ff.challenges, floorPending{challenge: ch, method: in.Method, path: in.Path, body: in.Payload, expires: now.Add(floorTTL)}, now)
	return map[string]string{"challenge": ch, "challengeIdentifier": id}, nil
}

// action answers POST /auth/action: a Key assertion over the challenge.
func (ff *floorFlow) action(ctx context.Context, body []byte, now time.Time) (any, error) {
	var in struct {
		ChallengeIdentifier string `json:"challengeIdentifier"`
		FirstFactor         struct {
			Kind      string `json:"kind"`
			Assertion struct {
				CredID     string `json:"credId"`
				ClientData string `json:"clientData"`
				Signature  string `json:"signature"`
			} `json:"credentialAssertion"`
		} `json:"firstFactor"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.FirstFactor.Kind != "Key" {
		return nil, errors.New("bad action")
	}
	p, ok := ff.take(ff.challenges, in.ChallengeIdentifier, now)
	if !ok {
		return nil, errors.New("unknown challenge")
	}
	a := in.FirstFactor.Assertion
	pub, ok := ff.f.pubs[a.CredID].(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("unknown credential")
	}
	cd, err1 := base64.RawURLEncoding.DecodeString(a.ClientData)
	sig, err2 := base64.RawURLEncoding.DecodeString(a.Signature)
	var c struct{ Type, Challenge string }
	if err1 != nil || err2 != nil || json.Unmarshal(cd, &c) != nil || c.Type != "key.get" || c.Challenge != p.challenge {
		return nil, errors.New("bad assertion")
	}
	h := sha256.Sum256(cd)
	if !ecdsa.VerifyASN1(pub, h[:], sig) {
		return nil, errors.New("bad signature")
	}
	if err := ff.f.mark(ctx, "c:"+in.ChallengeIdentifier); err != nil {
		return nil, err
	}
	p.expires = now.Add(floorTTL)
	return map[string]string{"userAction": ff.put(ff.actions, p, now)}, nil
}

// use spends the user action of r, whose body is body.
func (ff *floorFlow) use(r *http.Request, body []byte, now time.Time) error {
	ua := r.Header.Get("X-DFNS-USERACTION")
	p, ok := ff.take(ff.actions, ua, now)
	if !ok || p.method != r.Method || p.path != r.URL.Path || p.body != string(body) {
		return errors.New("bad user action")
	}
	return ff.f.mark(r.Context(), "a:"+ua)
}

// floorFlowPost is the floor's Dfns flow cell: action init, sign, action,
// then the POST, as signedPost makes it against signet.
func floorFlowPost(t *targets, base string) op {
	return flowPost(&session{base: base, token: floorToken, credID: floorP256, priv: t.floorKeys[floorP256].(*ecdsa.PrivateKey)}, base)
}
