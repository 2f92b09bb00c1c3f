package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/signet-auth/signet/client"
)

// httpsigPost is the same POST as signedPost, signed with RFC 9421 by the
// user's Key credential (client.KeySigner.SignRequest) instead of through
// action init and action: one round trip (docs/httpsig.md).
func httpsigPost(s *signet) op {
	return func(ctx context.Context, c *http.Client) (time.Duration, error) {
		ks, err := client.NewKeySigner(s.user.credID, s.user.priv)
		if err != nil {
			return 0, err
		}
		req, err := http.NewRequestWithContext(ctx, "POST", s.base+"/orders", strings.NewReader(postBody))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.user.token)
		start := time.Now()
		if err := ks.SignRequest(req, []byte(postBody), time.Now()); err != nil {
			return 0, err
		}
		res, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		d := time.Since(start)
		if err != nil {
			return 0, err
		}
		if res.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("RFC 9421 POST %s/orders: %d %.200s", s.base, res.StatusCode, b)
		}
		return d, nil
	}
}
