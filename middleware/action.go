package middleware

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Action is a user action signet confirmed and consumed.
type Action struct {
	ID             string    `json:"id"`
	OrgID          string    `json:"orgId"`
	UserID         string    `json:"userId"`
	TokenID        string    `json:"tokenId"`
	CredentialUUID string    `json:"credentialUuid"`
	Method         string    `json:"method"`
	Path           string    `json:"path"`
	Query          string    `json:"query,omitempty"`
	DateCreated    time.Time `json:"dateCreated"`
}

// ActionError is signet's refusal of a user action: 403 action_invalid
// (missing, unknown, or bound to another request or caller), 400
// action_used (replayed), 401 (the bearer token is no longer valid).
type ActionError struct {
	Status  int
	Code    string
	Message string
}

func (e *ActionError) Error() string {
	return fmt.Sprintf("middleware: user action refused: %d %s: %s", e.Status, e.Code, e.Message)
}

// actionVerifyRequest is the body of POST /auth/action/verify (the
// endpoint proposed for signet).
type actionVerifyRequest struct {
	UserAction string `json:"userAction"`
	Method     string `json:"method"`
	Path       string `json:"path"`
	Query      string `json:"query,omitempty"`
	Payload    string `json:"payload"`
}

// VerifyAction asks signet whether userAction (the X-DFNS-USERACTION
// header) authorises this request of the caller holding token: method, the
// escaped path and raw query as the client sent them, and the exact body.
// signet checks it exactly as for its own routes (spec 12.1-12.3) and
// consumes it, so it can never be used twice, here or anywhere.
func (v *Verifier) VerifyAction(ctx context.Context, token, userAction, method, path, query string, body []byte) (*Action, error) {
	if userAction == "" {
		return nil, &ActionError{Status: http.StatusForbidden, Code: "action_invalid", Message: "user action signature is missing or invalid"}
	}
	reqBody, err := json.Marshal(actionVerifyRequest{UserAction: userAction, Method: method, Path: path, Query: query, Payload: string(body)})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.verifyURL, bytes.NewReader(reqBody))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("middleware: verify action: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("middleware: verify action: %w", err)
	}
	switch res.StatusCode {
	case http.StatusOK:
		var out struct {
			Action *Action `json:"action"`
		}
		if err := json.Unmarshal(raw, &out); err != nil || out.Action == nil {
			return nil, fmt.Errorf("middleware: verify action: unexpected answer %q", raw)
		}
		return out.Action, nil
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		return nil, &ActionError{Status: res.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return nil, fmt.Errorf("middleware: verify action: signet does not serve POST %s (status %d)", v.cfg.ActionVerifyPath, res.StatusCode)
	}
	return nil, fmt.Errorf("middleware: verify action: status %d", res.StatusCode)
}
