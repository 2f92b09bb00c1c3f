package client

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Claims are the claims of a signet token that a client may want to show
// or act on: who it is and when it expires.
type Claims struct {
	Subject  string `json:"sub"`
	ID       string `json:"jti"`
	Exp      int64  `json:"exp"`
	Username string `json:"https://custom/username"`
	App      struct {
		UserID string `json:"userId"`
		OrgID  string `json:"orgId"`
		Kind   string `json:"tokenKind"`
	} `json:"https://custom/app_metadata"`
}

// ExpiresAt is the token's expiry (exp), the zero time when it has none.
func (c *Claims) ExpiresAt() time.Time {
	if c.Exp == 0 {
		return time.Time{}
	}
	return time.Unix(c.Exp, 0).UTC()
}

// Expired reports whether the token has an expiry and it is not after now.
func (c *Claims) Expired(now time.Time) bool {
	return c.Exp != 0 && !now.Before(time.Unix(c.Exp, 0))
}

// ParseClaims reads the claims of a signet token WITHOUT verifying its
// signature: it is for display and for telling an expired session from a
// refused one before calling the server. The server verifies every token
// it accepts; never base a decision about trust on these claims.
func ParseClaims(token string) (*Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("client: the token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("client: the token's payload: %w", err)
	}
	var c Claims
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("client: the token's payload: %w", err)
	}
	return &c, nil
}
