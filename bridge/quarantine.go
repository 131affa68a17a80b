package bridge

import (
	"regexp"
	"strconv"
	"unicode/utf8"
)

// TypeQuarantined is the CloudEvents type of a quarantined callback's record.
const TypeQuarantined = "imbridge.quarantined.v1"

// Headers of a quarantined callback's record, beside the CloudEvents ones: what a
// consumer or `imbridge replay` needs to map the body later as if it had been mapped
// when it arrived (the same eventIds).
const (
	// HeaderQuarantineReason says why the callback could not be mapped, in the words
	// of the answer imbridge would have given (at most MaxReasonBytes).
	HeaderQuarantineReason = "imbridge_quarantine_reason"
	// HeaderQuarantineKind is the reason's class, as metrics count it: bad_request,
	// too_large or unsupported.
	HeaderQuarantineKind = "imbridge_quarantine_kind"
	// HeaderCallbackCommand is CallbackCommand from the callback URL, as sent.
	HeaderCallbackCommand = "imbridge_callback_command"
	// HeaderReceivedAt is when imbridge received the callback (RFC 3339 UTC, ms).
	HeaderReceivedAt = "imbridge_received_at"
	// HeaderRequestTime is RequestTime from the callback URL, as sent (absent when
	// none was sent).
	HeaderRequestTime = "imbridge_request_time"
	// HeaderClientIP and HeaderOptPlatform are ClientIP and OptPlatform from the URL.
	HeaderClientIP    = "imbridge_client_ip"
	HeaderOptPlatform = "imbridge_opt_platform"
)

// MaxReasonBytes bounds HeaderQuarantineReason.
const MaxReasonBytes = 512

// cleanCommand is what a command must look like to become a record's key.
var cleanCommand = regexp.MustCompile(`^[A-Za-z0-9_.]{1,64}$`)

// QuarantineEvent returns the one event that keeps a verified callback imbridge could
// not map (reason: a *Error of KindBadRequest, KindTooLarge or KindUnsupported), for
// topic: Chat never sends a callback again, so a callback that passed the signature
// and SDKAppID checks is kept rather than refused. The record's value is the body
// exactly as received, its content-type the request's (contentType, or
// application/octet-stream when empty), its key the command when that is 1 to 64 of
// [A-Za-z0-9_.] (else empty), and its headers carry the reason, the query's fields and
// the receiving time, each Go-quoted when it holds a control character. Its eventId is derived like the callback's events' (see
// EventID), at an index no mapping uses, so that a quarantined callback kept twice has
// one eventId.
func QuarantineEvent(cb Callback, topic, contentType string, reason error) Event {
	e := envelope(cb, Route{Topic: topic, Type: TypeQuarantined}, 0, nil)
	e.ID = EventID(eventIDSeed(cb), -1)
	if CleanCommand(cb.Query.CallbackCommand) {
		e.Subject.Key = cb.Query.CallbackCommand
	}
	e.Raw = cb.Body
	if e.Raw == nil {
		e.Raw = []byte{}
	}
	e.ContentType = headerSafe(contentType)
	if e.ContentType == "" {
		e.ContentType = "application/octet-stream"
	}
	hdr := func(k, v string) { e.Headers = append(e.Headers, Header{Key: k, Value: []byte(headerSafe(v))}) }
	hdr(HeaderQuarantineReason, truncateUTF8(ErrorMessage(reason), MaxReasonBytes))
	hdr(HeaderQuarantineKind, ErrorKind(reason).String())
	hdr(HeaderCallbackCommand, cb.Query.CallbackCommand)
	hdr(HeaderReceivedAt, e.ReceivedAt)
	if cb.Query.RequestTime != "" {
		hdr(HeaderRequestTime, cb.Query.RequestTime)
	}
	if cb.Query.ClientIP != "" {
		hdr(HeaderClientIP, cb.Query.ClientIP)
	}
	if cb.Query.OptPlatform != "" {
		hdr(HeaderOptPlatform, cb.Query.OptPlatform)
	}
	return e
}

// CleanCommand reports whether command may become a record's key: 1 to 64 of
// A-Z a-z 0-9 _ and ., as every command Chat documents is.
func CleanCommand(command string) bool { return cleanCommand.MatchString(command) }

// Quarantinable reports whether a callback refused with err after authentication is
// kept in quarantine instead: a body imbridge cannot map (KindBadRequest), one whose
// events would be too large (KindTooLarge from the mapping or the topics' limits), or
// one sent in a form imbridge does not read (KindUnsupported). A body over the body
// limit is never read whole and cannot be kept.
func Quarantinable(err error) bool {
	switch ErrorKind(err) {
	case KindBadRequest, KindTooLarge, KindUnsupported:
		return true
	}
	return false
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// headerSafe is s for a header, or s quoted as Go quotes it (\r, \x1b, \u202e, ...)
// when it holds a character that is not printable or invalid UTF-8, so that no header
// carries one raw.
func headerSafe(s string) string {
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		// Not printable: C0 and C1 controls, line and paragraph separators, the
		// direction overrides and other format characters a terminal may act on.
		if !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
