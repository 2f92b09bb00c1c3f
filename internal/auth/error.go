package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
)

// Code classifies a domain error. One table in internal/httpapi maps codes to
// HTTP statuses; domain code never chooses a status itself (STYLE.md habit 2).
type Code string

// The error codes of signet.
const (
	Invalid         Code = "invalid"                // the request is malformed or breaks a rule
	Unauthenticated Code = "unauthenticated"        // who is calling cannot be established
	Forbidden       Code = "forbidden"              // the caller may not do this
	NotFound        Code = "not_found"              // no such thing (or not in the caller's org)
	Conflict        Code = "conflict"               // it already exists
	RateLimited     Code = "rate_limited"           // too many attempts
	Internal        Code = "internal"               // anything else; its detail never leaves the server
	ActionUsed      Code = "action_used"            // a user-action token presented a second time
	ActionInvalid   Code = "action_invalid"         // X-DFNS-USERACTION missing, unknown or not bound to this request
	TooLarge        Code = "payload_too_large"      // the body exceeds the configured limit
	UnsupportedType Code = "unsupported_media_type" // a body that is not JSON
	NotAllowed      Code = "method_not_allowed"     // no such method on this path
	// Unavailable: a dependency (the database) did not answer in time or
	// could not be reached; the request may be retried later. It is never
	// chosen by a rule: ErrorCode derives it from the cause (IsUnavailable).
	Unavailable Code = "unavailable"
)

// Error is a domain error: a code, a message safe to show to clients, and
// the internal cause for logs. Message must never hold a secret.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// wrap returns an *Error carrying cause for logs.
func wrap(code Code, msg string, cause error) *Error {
	return &Error{Code: code, Message: msg, Err: cause}
}

// ErrorCode returns the code of err, Internal for errors that are not *Error.
// An internal error whose cause is an unavailable dependency (IsUnavailable)
// is Unavailable: the request failed through no fault of its own and may be
// retried.
func ErrorCode(err error) Code {
	var e *Error
	code := Internal
	if errors.As(err, &e) {
		code = e.Code
	}
	if code == Internal && IsUnavailable(err) {
		return Unavailable
	}
	return code
}

// ErrorMessage returns the client-safe message of err; "internal error" for
// anything that is not an *Error or is Internal, and one fixed message for
// Unavailable.
func ErrorMessage(err error) string {
	var e *Error
	switch code := ErrorCode(err); {
	case code == Unavailable:
		return msgUnavailable
	case errors.As(err, &e) && code != Internal:
		return e.Message
	}
	return "internal error"
}

// IsUnavailable reports whether err was caused by a dependency that did not
// answer in time or could not be reached, rather than by a bug or by the
// request: a store error marked ErrUnavailable (stores mark their drivers'
// connection, timeout and lock errors by type or code), a deadline that
// passed, a network error, or a connection cut mid-answer. Errors are told
// apart by type, never by message text.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var ne *net.OpError
	return errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Messages shared by several rules. Every authentication failure carries the
// same message so that a caller learns nothing about which users,
// credentials or tokens exist (spec 12.10).
const (
	msgNotAuthorized = "Not Authorized."
	msgActionInvalid = "user action signature is missing or invalid"
	msgActionUsed    = "user action has already been used"
	msgChallengeBad  = "Challenge token is not valid."
	msgInternal      = "internal error"
	msgUnavailable   = "service temporarily unavailable, retry later"
)

// errUnauthenticated is the one answer to every failed authentication. A
// cause that is an unavailable database is not a failed authentication:
// the caller gets the 503 of an outage (alike for every caller), not a 401
// that would make a client drop a good token.
func errUnauthenticated(cause error) *Error {
	if IsUnavailable(cause) {
		return internalErr(cause)
	}
	return wrap(Unauthenticated, msgNotAuthorized, cause)
}

// Store sentinel errors. Stores return these (possibly wrapped) so the domain
// can tell outcomes apart without looking at driver errors.
var (
	// ErrNotFound: no row matched.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate: a unique constraint was violated.
	ErrDuplicate = errors.New("duplicate")
	// ErrUsed: a single-use record was already used.
	ErrUsed = errors.New("already used")
	// ErrUnavailable: the database could not be reached, did not answer
	// in time, or cannot write now (locked, disk full, I/O error). Stores
	// wrap their driver's error with it, recognised by type or code.
	ErrUnavailable = errors.New("database unavailable")
	// ErrLimit: the owner already holds as many records of this kind as
	// it may.
	ErrLimit = errors.New("limit reached")
	// ErrLastAdmin: the write would leave the org with no active holder of
	// ManagedFullAdminAccess, or its last one with no active credential
	// (AdminGuardStore). Nothing was written.
	ErrLastAdmin = errors.New("last active full admin")
	// ErrRefused: a write's precondition, which the store checks in the
	// same commit, did not hold (CreateLoginForChallenge). What the
	// operation says it writes even then was written; nothing else was.
	ErrRefused = errors.New("precondition refused")
)
