package credential

import "fmt"

// ErrorKind classifies an Error so that callers can map it to a response
// without looking at messages.
type ErrorKind int

const (
	// Malformed means the input could not be decoded or parsed, or uses
	// something signet does not support (bad base64, bad JSON, bad PEM,
	// unsupported key, bad DER). Callers answer 400.
	Malformed ErrorKind = iota + 1
	// Rejected means the input is well-formed but does not prove what it
	// must: wrong signature, wrong challenge, wrong clientData type.
	// Callers answer 401.
	Rejected
)

// String returns a lower-case name for logs.
func (k ErrorKind) String() string {
	switch k {
	case Malformed:
		return "malformed"
	case Rejected:
		return "rejected"
	default:
		return fmt.Sprintf("ErrorKind(%d)", int(k))
	}
}

// Error is the only error type returned by this package.
//
// Msg is safe to show to API clients: it never contains key material,
// signatures, challenges or parser internals. Err carries the internal cause
// for logs and may be nil.
type Error struct {
	Kind ErrorKind
	Msg  string
	Err  error
}

// Error returns Msg followed by the internal cause, if any. It is meant for
// logs; clients get Msg only.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

func malformed(msg string, err error) *Error {
	return &Error{Kind: Malformed, Msg: msg, Err: err}
}

func rejected(msg string, err error) *Error {
	return &Error{Kind: Rejected, Msg: msg, Err: err}
}
