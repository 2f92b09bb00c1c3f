package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// session is a registered user with a login token and the P-256 Key
// credential it signs with, as @dfns/sdk-keysigner does. Its methods take
// the HTTP client to use, so that every load client keeps its own
// connection.
type session struct {
	base                    string // signet's base URL
	orgID, userID, username string
	credID                  string
	priv                    *ecdsa.PrivateKey
	token                   string
}

// bootstrapped is what `signet bootstrap` prints.
type bootstrapped struct {
	OrgID            string `json:"orgId"`
	UserID           string `json:"userId"`
	Username         string `json:"username"`
	RegistrationCode string `json:"registrationCode"`
}

// register registers the bootstrapped user with a fresh P-256 key and logs
// in, over HTTP, as an SDK would.
func register(ctx context.Context, c *http.Client, base string, b bootstrapped) (*session, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	s := &session{base: base, orgID: b.OrgID, userID: b.UserID, username: b.Username, credID: "load-key-" + randomID(), priv: k}
	var ch struct {
		Challenge string `json:"challenge"`
		Temp      string `json:"temporaryAuthenticationToken"`
	}
	if err := s.call(ctx, c, "POST", "/auth/registration/init", "", map[string]string{"orgId": s.orgID, "username": b.Username, "registrationCode": b.RegistrationCode}, &ch); err != nil {
		return nil, err
	}
	att, err := s.attest(ch.Challenge)
	if err != nil {
		return nil, err
	}
	if err := s.call(ctx, c, "POST", "/auth/registration", ch.Temp, map[string]any{"firstFactorCredential": att}, nil); err != nil {
		return nil, err
	}
	if s.token, err = s.login(ctx, c); err != nil {
		return nil, err
	}
	return s, nil
}

// login is a Key login (spec 3.3): login init, sign the challenge, login.
// It returns the login token.
func (s *session) login(ctx context.Context, c *http.Client) (string, error) {
	var ch struct {
		Challenge           string `json:"challenge"`
		ChallengeIdentifier string `json:"challengeIdentifier"`
		Token               string `json:"token"`
	}
	if err := s.call(ctx, c, "POST", "/auth/login/init", "", map[string]string{"orgId": s.orgID, "username": s.username}, &ch); err != nil {
		return "", err
	}
	if err := s.call(ctx, c, "POST", "/auth/login", "", map[string]any{"challengeIdentifier": ch.ChallengeIdentifier, "firstFactor": s.assert(ch.Challenge)}, &ch); err != nil {
		return "", err
	}
	if ch.Token == "" {
		return "", fmt.Errorf("POST /auth/login: no token in the answer")
	}
	return ch.Token, nil
}

// userAction gets a user-action token for one request (spec 4.1): action
// init, sign the challenge, action.
func (s *session) userAction(ctx context.Context, c *http.Client, method, path, payload string) (string, error) {
	var ch struct {
		Challenge           string `json:"challenge"`
		ChallengeIdentifier string `json:"challengeIdentifier"`
		UserAction          string `json:"userAction"`
	}
	if err := s.call(ctx, c, "POST", "/auth/action/init", s.token, map[string]string{
		"userActionPayload": payload, "userActionHttpMethod": method, "userActionHttpPath": path, "userActionServerKind": "Api",
	}, &ch); err != nil {
		return "", err
	}
	if err := s.call(ctx, c, "POST", "/auth/action", s.token, map[string]any{"challengeIdentifier": ch.ChallengeIdentifier, "firstFactor": s.assert(ch.Challenge)}, &ch); err != nil {
		return "", err
	}
	return ch.UserAction, nil
}

// signedCall sends in to path with the login token, user-action signed
// (spec 4.1: action init, sign, action, then the request with
// X-DFNS-USERACTION), and decodes the answer into out.
func (s *session) signedCall(ctx context.Context, c *http.Client, method, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ua, err := s.userAction(ctx, c, method, path, string(b))
	if err != nil {
		return err
	}
	return s.send(ctx, c, method, path, s.token, ua, b, out)
}

func (s *session) call(ctx context.Context, c *http.Client, method, path, tok string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return s.send(ctx, c, method, path, tok, "", b, out)
}

// send makes one request with body b; ua, when set, is its user action.
func (s *session) send(ctx context.Context, c *http.Client, method, path, tok, ua string, b []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ua != "" {
		req.Header.Set("X-DFNS-USERACTION", ua)
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %.200s", method, path, res.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (s *session) sign(msg []byte) []byte {
	h := sha256.Sum256(msg)
	sig, err := s.priv.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		panic(err) // ECDSA signing with crypto/rand does not fail
	}
	return sig
}

func clientData(typ, challenge string) []byte {
	return []byte(`{"type":"` + typ + `","challenge":"` + challenge + `"}`)
}

// attest builds a Key attestation over challenge (spec 3.5).
func (s *session) attest(challenge string) (map[string]any, error) {
	der, err := x509.MarshalPKIXPublicKey(s.priv.Public())
	if err != nil {
		return nil, err
	}
	pub := strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	cd := clientData("key.create", challenge)
	h := sha256.Sum256(cd)
	var fp bytes.Buffer
	enc := json.NewEncoder(&fp)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		ClientDataHash string `json:"clientDataHash"`
		PublicKey      string `json:"publicKey"`
	}{hex.EncodeToString(h[:]), pub}); err != nil {
		return nil, err
	}
	sig := s.sign(bytes.TrimSuffix(fp.Bytes(), []byte("\n")))
	ad, err := json.Marshal(map[string]string{"publicKey": pub, "signature": hex.EncodeToString(sig)})
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"credentialKind": "Key",
		"credentialInfo": map[string]string{"credId": s.credID, "clientData": b64(cd), "attestationData": b64(ad)},
	}, nil
}

// assert builds a Key assertion over challenge (spec 3.3).
func (s *session) assert(challenge string) map[string]any {
	cd := clientData("key.get", challenge)
	return map[string]any{
		"kind":                "Key",
		"credentialAssertion": map[string]string{"credId": s.credID, "clientData": b64(cd), "signature": b64(s.sign(cd))},
	}
}
