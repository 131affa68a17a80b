package bridge

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller of the callback endpoint should be told.
// The HTTP adapter maps each Kind to one status code in one place.
type Kind int

const (
	// KindInternal is an unexpected failure of imbridge itself (a bug or a broken
	// dependency). Its message is not shown to the client.
	KindInternal Kind = iota
	// KindBadRequest: the request is malformed (query, body, fields).
	KindBadRequest
	// KindForbidden: the request is not for this app (SdkAppid missing or not ours).
	KindForbidden
	// KindUnauthorized: the signature is missing, malformed, wrong or stale.
	KindUnauthorized
	// KindTooLarge: the body exceeds the configured limit.
	KindTooLarge
	// KindUnavailable: the events could not be made safe now; the caller may retry.
	KindUnavailable
	// KindURITooLong: the query string exceeds its limit.
	KindURITooLong
	// KindUnsupported: the body is sent in a form imbridge does not read (a
	// Content-Encoding such as gzip).
	KindUnsupported
)

// String returns the outcome label of the kind, as used in logs.
func (k Kind) String() string {
	switch k {
	case KindBadRequest:
		return "bad_request"
	case KindForbidden:
		return "forbidden"
	case KindUnauthorized:
		return "unauthorized"
	case KindTooLarge:
		return "too_large"
	case KindUnavailable:
		return "unavailable"
	case KindURITooLong:
		return "uri_too_long"
	case KindUnsupported:
		return "unsupported"
	default:
		return "internal"
	}
}

// Error is an error with a Kind and a message that is safe to show to the client.
// Err, if set, is the cause; it is logged, never shown.
type Error struct {
	Kind    Kind
	Message string
	// Reason, if set, is a fixed short label of the cause (for metrics), such as
	// "mismatch" for a wrong signature.
	Reason string
	Err    error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with a formatted client-safe message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind returns the Kind of the first *Error in err's chain, or KindInternal.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorReason returns the Reason of the first *Error in err's chain, or "".
func ErrorReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// ErrorMessage returns the client-safe message of err: the Message of the first *Error
// in its chain, or "internal error" for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
