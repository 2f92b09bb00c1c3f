package main

import (
	"context"
	"crypto"
	"net/http"
	"strings"
	"time"

	"github.com/signet-auth/signet/client"
)

// httpsigPost is the same POST as signedPost, signed with RFC 9421 by the
// user's Key credential (client.KeySigner.SignRequest) instead of through
// action init and action: one round trip (docs/httpsig.md).
func httpsigPost(s *signet) op {
	return httpsigOp(s.base+"/orders", s.user.token, s.user.credID, s.user.priv)
}

// httpsigOp POSTs postBody to url with the bearer token tok, signed with
// RFC 9421 by priv as credential credID, and wants a 200. The signer is
// made once, as a client keeps it, not once per request.
func httpsigOp(url, tok, credID string, priv crypto.Signer) op {
	ks, err := client.NewKeySigner(credID, priv)
	return func(ctx context.Context, c *http.Client) (time.Duration, error) {
		if err != nil {
			return 0, err
		}
		return sendHTTPSig(ctx, c, url, tok, ks)
	}
}

// sendHTTPSig is one request of httpsigOp.
func sendHTTPSig(ctx context.Context, c *http.Client, url, tok string, ks *client.KeySigner) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(postBody))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	start := time.Now()
	if err := ks.SignRequest(req, []byte(postBody), time.Now()); err != nil {
		return 0, err
	}
	return roundTrip(c, req, start)
}
