package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Audit logs (spec 8).

// AuditLogsRequest selects the signed actions of GET /auth/action/logs.
type AuditLogsRequest struct {
	StartTime time.Time
	EndTime   time.Time
	UserID    string // optional
}

// ListAuditLogs returns the signed actions between StartTime and EndTime as
// CSV (header "Date Performed,Audit Log ID,User ID,Username,Primary
// Credential ID,Action Path,Summary"); a last line starting with
// "# TRUNCATED" says more rows matched.
func (c *Client) ListAuditLogs(ctx context.Context, req AuditLogsRequest) (string, error) {
	q := url.Values{}
	q.Set("startTime", req.StartTime.UTC().Format(time.RFC3339Nano))
	q.Set("endTime", req.EndTime.UTC().Format(time.RFC3339Nano))
	if req.UserID != "" {
		q.Set("userId", req.UserID)
	}
	var csv string
	return csv, c.do(ctx, &request{method: http.MethodGet, path: "/auth/action/logs", query: q, out: &csv})
}

// AuditLog is one signed action, with what an auditor needs to verify its
// signature again.
type AuditLog struct {
	ID                    string  `json:"id"`
	Action                string  `json:"action"`
	ActionToken           string  `json:"actionToken"`
	UserID                *string `json:"userId"`
	Username              *string `json:"username"`
	DatePerformed         *string `json:"datePerformed"`
	FirstFactorCredential struct {
		ID        string  `json:"id"`
		Kind      *string `json:"kind"`
		PublicKey string  `json:"publicKey"`
		Assertion *struct {
			AuthenticatorData *string `json:"authenticatorData"`
			ClientData        string  `json:"clientData"`
			Signature         string  `json:"signature"`
		} `json:"assertion"`
	} `json:"firstFactorCredential"`
	// Signet holds what signet adds (the entry's place in its hash chain,
	// the challenge, the payload hash, the outcome).
	Signet json.RawMessage `json:"signet,omitempty"`
}

// GetAuditLog returns one signed action (GET /auth/action/logs/:id).
func (c *Client) GetAuditLog(ctx context.Context, id string) (*AuditLog, error) {
	var out AuditLog
	return &out, c.do(ctx, &request{method: http.MethodGet, path: pathf("/auth/action/logs/%s", id), out: &out})
}
