package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/httpsig"
)

// rfc9421Post is a signed POST through the gateway as an RFC 9421 signer
// makes it (docs/httpsig.md): one request, signed over @method,
// @target-uri, authorization and content-digest, with a fresh nonce; no
// action init or complete.
func rfc9421Post(s *signet) op {
	return func(ctx context.Context, c *http.Client) (time.Duration, error) {
		req, err := s.user.signedRequest(ctx, "POST", s.base+"/orders", postBody)
		if err != nil {
			return 0, err
		}
		t0 := time.Now()
		res, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		d := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if res.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("RFC 9421 POST: %d %.200s", res.StatusCode, b)
		}
		return d, nil
	}
}

// signedRequest builds a request signed with the session's Key credential
// (ecdsa-p256-sha256: r||s, RFC 9421 section 3.3.4).
func (s *session) signedRequest(ctx context.Context, method, target, body string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Digest", httpsig.ContentDigest([]byte(body)))
	nonce := make([]byte, 24)
	rand.Read(nonce)
	params := fmt.Sprintf(`("@method" "@target-uri" "authorization" "content-digest");created=%d;nonce="%s";keyid="%s";alg="%s"`,
		time.Now().Unix(), base64.RawURLEncoding.EncodeToString(nonce), s.credID, httpsig.ECDSAP256SHA256)
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	base, err := httpsig.Base(&httpsig.Message{Method: method, URL: u, Header: req.Header},
		&httpsig.Signature{Components: []string{"@method", "@target-uri", "authorization", "content-digest"}, Params: params})
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(base)
	r, sv, err := ecdsa.Sign(rand.Reader, s.priv, h[:])
	if err != nil {
		return nil, err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	req.Header.Set("Signature-Input", "sig1="+params)
	req.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return req, nil
}
