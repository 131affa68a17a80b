package bridge

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the event's JSON value without reflection (it runs once per
// published event): the envelope's members as json.Marshal gives them for the Event's
// fields, with the subject's Fields after callbackCommand and its Trailer after
// eventTime, followed by "version" (Version); a test holds it to that.
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"eventId":`...)
	dst = appendJSONString(dst, e.ID)
	dst = append(dst, `,"sdkAppId":`...)
	dst = strconv.AppendUint(dst, e.SDKAppID, 10)
	dst = append(dst, `,"callbackCommand":`...)
	dst = appendJSONString(dst, e.CallbackCommand)
	if len(e.Subject.Fields) > 0 {
		dst = append(dst, ',')
		dst = append(dst, e.Subject.Fields...)
	}
	dst = append(dst, `,"receivedAt":`...)
	dst = appendJSONString(dst, e.ReceivedAt)
	if e.ClientIP != "" {
		dst = append(dst, `,"clientIp":`...)
		dst = appendJSONString(dst, e.ClientIP)
	}
	if e.OptPlatform != "" {
		dst = append(dst, `,"optPlatform":`...)
		dst = appendJSONString(dst, e.OptPlatform)
	}
	if e.RequestTime != 0 {
		dst = append(dst, `,"requestTime":`...)
		dst = strconv.AppendInt(dst, e.RequestTime, 10)
	}
	if e.EventTime != 0 {
		dst = append(dst, `,"eventTime":`...)
		dst = strconv.AppendInt(dst, e.EventTime, 10)
	}
	if len(e.Subject.Trailer) > 0 {
		dst = append(dst, ',')
		dst = append(dst, e.Subject.Trailer...)
	}
	if e.VersionClamped {
		dst = append(dst, `,"versionClamped":true`...)
	}
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendInt(dst, e.Version(), 10)
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json does by default: \" \\ \n \r \t
// \b \f escaped, other control characters, <, >, & and U+2028/U+2029 as \u00XX, invalid
// UTF-8 as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
