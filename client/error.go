package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Error is an answer of the server that is not a success: any status outside
// 2xx, and 202, which the contract reserves for "a policy requires approval"
// (spec 1.3). Use errors.As to reach it:
//
//	var e *client.Error
//	if errors.As(err, &e) && e.Status == http.StatusNotFound { ... }
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is signet's machine-readable code (e.g. "unauthenticated",
	// "not_found", "action_used"); "policy_pending" for a 202; empty when
	// the server sent none.
	Code string
	// Message is the server's message, safe to show to people.
	Message string
	// RequestID is the server's X-Request-Id, for its logs.
	RequestID string
	// Body is the raw response (for a 202, the change request or approval).
	Body json.RawMessage
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "signet: %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// CodePolicyPending is Error.Code for a 202 answer.
const CodePolicyPending = "policy_pending"

// newError reads an error answer: signet's {"error":{"status","code",
// "message"}}, the older {"error":{"message"}}, or a top-level "message"
// (spec 1.4); a body that is none of these leaves the status text.
func newError(res *http.Response, raw []byte) *Error {
	e := &Error{Status: res.StatusCode, RequestID: res.Header.Get("X-Request-Id")}
	if json.Valid(raw) {
		e.Body = json.RawMessage(raw)
	}
	if res.StatusCode == http.StatusAccepted {
		e.Code = CodePolicyPending
		e.Message = "Operation triggered a policy pending approval"
		return e
	}
	var body struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(raw, &body) == nil {
		var inner struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(body.Error, &inner) == nil {
			e.Code, e.Message = inner.Code, inner.Message
		}
		if e.Message == "" {
			e.Message = body.Message
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(res.StatusCode)
	}
	return e
}
