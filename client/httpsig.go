package client

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/dunglas/httpsfv"
)

// RFC 9421 HTTP Message Signatures (docs/httpsig.md): a Key credential signs
// the request itself, in place of the two calls of the Dfns user-action
// flow.

// SignatureLabel is the label of the signature SignRequest adds.
const SignatureLabel = "sig1"

// AcceptSignature is the response field (RFC 9421 section 5.1) by which a
// signet server advertises that it accepts RFC 9421 signed requests.
const AcceptSignature = "Accept-Signature"

// httpsigAlg is the RFC 9421 algorithm of each Key algorithm (secp256k1:
// signet's own name; the registry has none).
var httpsigAlg = map[Algorithm]string{
	ES256: "ecdsa-p256-sha256", ES384: "ecdsa-p384-sha384", EdDSA: "ed25519",
	RS256: "rsa-v1_5-sha256", ES256K: "ecdsa-secp256k1-sha256",
}

// SignRequest signs req, whose body is body (nil: none), as signet requires
// (RFC 9421): it sets Content-Digest (sha-256, RFC 9530) when there is a
// body, then Signature-Input and Signature under label "sig1", covering
// @method, @target-uri, authorization (set Authorization first) and
// content-digest, with created = now, a random nonce, keyid = the
// credential id and alg = the key's algorithm.
func (k *KeySigner) SignRequest(req *http.Request, body []byte, now time.Time) error {
	alg := httpsigAlg[k.alg]
	if alg == "" {
		return fmt.Errorf("client: key signer: no RFC 9421 algorithm for %s", k.alg)
	}
	if req.Header.Get("Authorization") == "" {
		return errors.New("client: sign request: set Authorization before signing")
	}
	components := []string{"@method", "@target-uri", "authorization"}
	if len(body) > 0 {
		d := sha256.Sum256(body)
		req.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(d[:])+":")
		components = append(components, "content-digest")
	}
	nonce := make([]byte, 24)
	_, _ = rand.Read(nonce)
	items := make([]httpsfv.Item, len(components))
	for i, c := range components {
		items[i] = httpsfv.NewItem(c)
	}
	params := httpsfv.NewParams()
	params.Add("created", now.Unix())
	params.Add("nonce", base64.RawURLEncoding.EncodeToString(nonce))
	params.Add("keyid", k.credID)
	params.Add("alg", alg)
	in := httpsfv.NewDictionary()
	in.Add(SignatureLabel, httpsfv.InnerList{Items: items, Params: params})
	input, err := httpsfv.Marshal(in)
	if err != nil {
		return fmt.Errorf("client: sign request: %w", err)
	}
	// The signature base, RFC 9421 section 2.5.
	var b strings.Builder
	for _, c := range components {
		var v string
		switch c {
		case "@method":
			v = req.Method
		case "@target-uri":
			u := req.URL
			v = strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + u.EscapedPath()
			if u.RawQuery != "" {
				v += "?" + u.RawQuery
			}
		default:
			v = strings.TrimSpace(strings.Join(req.Header.Values(c), ", "))
		}
		fmt.Fprintf(&b, "%q: %s\n", c, v)
	}
	b.WriteString(`"@signature-params": ` + strings.TrimPrefix(input, SignatureLabel+"="))
	sig, err := k.signRFC9421([]byte(b.String()))
	if err != nil {
		return err
	}
	out := httpsfv.NewDictionary()
	out.Add(SignatureLabel, httpsfv.NewItem(sig))
	sv, err := httpsfv.Marshal(out)
	if err != nil {
		return fmt.Errorf("client: sign request: %w", err)
	}
	req.Header.Set("Signature-Input", input)
	req.Header.Set("Signature", sv)
	return nil
}

// signRFC9421 signs base as RFC 9421 section 3.3 says for the key's
// algorithm: ECDSA as r||s of fixed size, P-384 with SHA-384.
func (k *KeySigner) signRFC9421(base []byte) ([]byte, error) {
	var digest []byte
	var h crypto.Hash
	size := 32
	switch k.alg {
	case EdDSA:
		return k.sign(base)
	case ES384:
		d := sha512.Sum384(base)
		digest, h, size = d[:], crypto.SHA384, 48
	default:
		d := sha256.Sum256(base)
		digest, h = d[:], crypto.SHA256
	}
	sig, err := k.priv.Sign(rand.Reader, digest, h)
	if err != nil {
		return nil, fmt.Errorf("client: key signer: %w", err)
	}
	if k.alg == RS256 {
		return sig, nil
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(sig, &rs); err != nil {
		return nil, fmt.Errorf("client: key signer: ECDSA signature is not DER: %w", err)
	}
	raw := make([]byte, 2*size)
	rs.R.FillBytes(raw[:size])
	rs.S.FillBytes(raw[size:])
	return raw, nil
}
