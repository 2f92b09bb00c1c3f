package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/signet-auth/signet/internal/httpsig"
)

// The floor (docs/load.md, "The floor"): what any server must spend on an
// RFC 9421 signed POST that signet's goals are stated for, with nothing of
// what makes it signet. The "floor" baseline process is the plain proxy
// with, in front of it, the verification the issue requires of every
// signed request and nothing else:
//
//   - the body read and its Content-Digest checked (RFC 9530);
//   - Signature-Input and Signature parsed, the base built and the
//     signature verified (signet's own httpsig package, so that the
//     parsing and the base cost what they cost in signet);
//   - created within the window, keyid the one key it knows;
//   - the nonce used once, in a map in memory.
//
// What it leaves out is what a real server cannot: the bearer token is not
// checked, the key is not looked up, the nonce is not durable (no write, no
// fsync) and nothing is audited. The load generator's side is the same as
// for signet (client.KeySigner.SignRequest), with a P-256 key as signet's
// cell and with an Ed25519 key. The ratio of these cells to the plain proxy
// bounds what any implementation of the one-round-trip signed POST can
// reach with that algorithm on the machine that ran it.
const (
	floorKeyEnv = "SIGNET_LOAD_FLOOR_KEYS" // the keys the floor verifies with: keyid=PKIX DER in base64, comma-separated
	floorWindow = 5 * time.Minute
)

// floorKeys are the floor cells' keys, by keyid: P-256 as signet's RFC
// 9421 cell signs with, and Ed25519, the cheapest of signet's algorithms to
// sign and verify together on the machines we measured (RSA verifies
// faster but signs ~30 times slower).
type floorKeys map[string]crypto.Signer

// Keyids of floorKeys.
const (
	floorP256    = "floor-p256"
	floorEd25519 = "floor-ed25519"
)

// newFloorKeys makes the floor's keys and the value of floorKeyEnv that
// hands their public halves to the floor process.
func newFloorKeys() (floorKeys, string, error) {
	p, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	_, e, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", err
	}
	ks := floorKeys{floorP256: p, floorEd25519: e}
	var env []string
	for _, id := range []string{floorP256, floorEd25519} {
		der, err := x509.MarshalPKIXPublicKey(ks[id].Public())
		if err != nil {
			return nil, "", err
		}
		env = append(env, id+"="+base64.StdEncoding.EncodeToString(der))
	}
	return ks, strings.Join(env, ","), nil
}

// floorVerifier checks what the floor checks; its nonces live in memory.
type floorVerifier struct {
	pubs map[string]crypto.PublicKey // by keyid
	// db, unless nil, also marks each single-use thing (a nonce, a
	// challenge answered, a user action used) in a database, once, for
	// good, and answers GETs by their token's state: the floor on
	// PostgreSQL (floorpg.go).
	db *floorDB

	mu sync.Mutex
	// The nonces seen in this window and the one before: a nonce stays at
	// least a window, longer than a signature it was part of is accepted,
	// and spending one costs the same however many were seen (pruning one
	// map on a size cap scanned it all on every spend once the cap was
	// reached with nothing expired yet, slowing the floor in long runs).
	nonces, older map[string]bool
	rotated       time.Time // when nonces was started
}

// newFloorVerifier reads the keys newFloorKeys encoded.
func newFloorVerifier(env string) (*floorVerifier, error) {
	f := &floorVerifier{pubs: map[string]crypto.PublicKey{}, nonces: map[string]bool{}}
	for kv := range strings.SplitSeq(env, ",") {
		id, b64, _ := strings.Cut(kv, "=")
		der, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", floorKeyEnv, err)
		}
		if f.pubs[id], err = x509.ParsePKIXPublicKey(der); err != nil {
			return nil, fmt.Errorf("%s: %w", floorKeyEnv, err)
		}
	}
	return f, nil
}

// verify checks r's signature over r and body at now.
func (f *floorVerifier) verify(r *http.Request, body []byte, now time.Time) error {
	nonce, err := f.check(r, body, now)
	if err != nil {
		return err
	}
	return f.mark(r.Context(), "n:"+nonce)
}

// mark makes id used for good when the floor has a database.
func (f *floorVerifier) mark(ctx context.Context, id string) error {
	if f.db == nil {
		return nil
	}
	return f.db.mark(ctx, id)
}

// check is verify without the database; it returns the nonce it spent in
// memory.
func (f *floorVerifier) check(r *http.Request, body []byte, now time.Time) (string, error) {
	sig, err := httpsig.Parse(r.Header)
	if err != nil {
		return "", err
	}
	pub, ok := f.pubs[sig.KeyID]
	if !ok {
		return "", errors.New("unknown keyid")
	}
	if !sig.HasCreated || sig.Nonce == "" {
		return "", errors.New("created and nonce are required")
	}
	if c := time.Unix(sig.Created, 0); c.Before(now.Add(-floorWindow)) || c.After(now.Add(time.Minute)) {
		return "", errors.New("created is outside the window")
	}
	if len(body) > 0 {
		if err := httpsig.CheckContentDigest(r.Header.Values("Content-Digest"), body); err != nil {
			return "", err
		}
	}
	base, err := httpsig.Base(httpsig.Request(r), sig)
	if err != nil {
		return "", err
	}
	if err := httpsig.Verify(sig.Alg, pub, base, sig.Value); err != nil {
		return "", err
	}
	return sig.Nonce, f.spend(sig.Nonce, now)
}

// spend marks nonce used; a window after the last rotation, the nonces
// seen become the older ones and the oldest are forgotten.
func (f *floorVerifier) spend(nonce string, now time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.nonces[nonce] || f.older[nonce] {
		return errors.New("nonce already used")
	}
	if now.Sub(f.rotated) > floorWindow {
		f.older, f.nonces, f.rotated = f.nonces, map[string]bool{}, now
	}
	f.nonces[nonce] = true
	return nil
}

// floorHandler is the floor process: action init and action
// (floorflow.go) answered from memory; any other request verified, by its
// user action or its RFC 9421 signature, then sent through the plain proxy.
func floorHandler(rp *httputil.ReverseProxy, db *floorDB) (http.Handler, error) {
	f, err := newFloorVerifier(os.Getenv(floorKeyEnv))
	if err != nil {
		return nil, err
	}
	f.db = db
	ff := newFloorFlow(f)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
			return
		}
		var answer any
		switch {
		case r.Method == "POST" && r.URL.Path == "/auth/action/init":
			answer, err = ff.actionInit(body, now)
		case r.Method == "POST" && r.URL.Path == "/auth/action":
			answer, err = ff.action(r.Context(), body, now)
		case r.Header.Get("X-DFNS-USERACTION") != "":
			err = ff.use(r, body, now)
		case r.Method == "GET" && db != nil:
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if err = errors.New("no bearer token"); ok {
				err = db.token(r.Context(), tok)
			}
		default:
			err = f.verify(r, body, now)
		}
		if err != nil {
			http.Error(w, `{"error":"unauthenticated"}`, http.StatusUnauthorized)
			return
		}
		if answer != nil {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(answer)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	}), nil
}

// floorPost is a floor cell's operation: the RFC 9421 POST of httpsigPost,
// signed with the floor's key keyID, to the floor process at base.
func floorPost(t *targets, base, keyID string) op {
	return httpsigOp(base+"/orders", floorToken, keyID, t.floorKeys[keyID])
}
