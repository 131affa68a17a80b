package bridge

import (
	"net/url"
	"strings"
	"time"
)

// Query parameter names, as Chat spells them in the callback URL.
const (
	ParamSDKAppID        = "SdkAppid"
	ParamCallbackCommand = "CallbackCommand"
	ParamContentType     = "contenttype"
	ParamClientIP        = "ClientIP"
	ParamOptPlatform     = "OptPlatform"
	ParamSign            = "Sign"
	ParamRequestTime     = "RequestTime"
)

// Query holds the callback URL's query parameters, each as Chat sent it.
// An absent parameter is the empty string.
type Query struct {
	SDKAppID        string
	CallbackCommand string
	ContentType     string
	ClientIP        string
	OptPlatform     string
	Sign            string
	RequestTime     string
}

// ParseQuery extracts the callback parameters from the URL's query. A parameter that
// appears more than once is a bad request: which of its values Chat meant is unknowable,
// and a verifier and a mapper reading different copies would be an attack surface.
// Unknown parameters are ignored.
func ParseQuery(v url.Values) (Query, error) {
	var q Query
	for _, p := range []struct {
		name string
		dst  *string
	}{
		{ParamSDKAppID, &q.SDKAppID},
		{ParamCallbackCommand, &q.CallbackCommand},
		{ParamContentType, &q.ContentType},
		{ParamClientIP, &q.ClientIP},
		{ParamOptPlatform, &q.OptPlatform},
		{ParamSign, &q.Sign},
		{ParamRequestTime, &q.RequestTime},
	} {
		vals := v[p.name]
		if len(vals) > 1 {
			return Query{}, Errorf(KindBadRequest, "query parameter %s appears %d times; it must appear once", p.name, len(vals))
		}
		if len(vals) == 1 {
			*p.dst = vals[0]
		}
	}
	return q, nil
}

// queryParams are the parameters of Query in ParseQuery's order, with their fields.
var queryParams = [...]string{ParamSDKAppID, ParamCallbackCommand, ParamContentType, ParamClientIP, ParamOptPlatform, ParamSign, ParamRequestTime}

func (q *Query) field(i int) *string {
	return [...]*string{&q.SDKAppID, &q.CallbackCommand, &q.ContentType, &q.ClientIP, &q.OptPlatform, &q.Sign, &q.RequestTime}[i]
}

// fastQueryParams is the most parameters ParseRawQuery reads without url.ParseQuery,
// far below url.ParseQuery's own limit (10,000 by default): Chat sends seven.
const fastQueryParams = 64

// ParseRawQuery is ParseQuery of url.ParseQuery(raw), with the same result and the same
// errors (a malformed query is KindBadRequest "query string is malformed: ..."), but
// without building url.Values when nothing in raw needs unescaping (no '%', '+' or
// ';'), as in Chat's queries: the values are then substrings of raw.
func ParseRawQuery(raw string) (Query, error) {
	if strings.ContainsAny(raw, "%+;") || strings.Count(raw, "&") >= fastQueryParams {
		return parseQueryValues(raw)
	}
	var q Query
	var seen uint8
	for rest := raw; rest != ""; {
		var kv string
		kv, rest, _ = strings.Cut(rest, "&")
		k, v, _ := strings.Cut(kv, "=")
		for i, name := range queryParams {
			if k != name {
				continue
			}
			if seen&(1<<i) != 0 {
				return parseQueryValues(raw) // refused there, with the count
			}
			seen |= 1 << i
			*q.field(i) = v
			break
		}
	}
	return q, nil
}

func parseQueryValues(raw string) (Query, error) {
	values, err := url.ParseQuery(raw)
	if err != nil {
		return Query{}, Errorf(KindBadRequest, "query string is malformed: %.120s", err)
	}
	return ParseQuery(values)
}

// Callback is one verified request from Chat: its query, its raw body and when
// imbridge received it. Map turns it into events.
type Callback struct {
	Query Query
	// AppID is the verified numeric SDKAppID.
	AppID uint64
	// Body is the raw request body, exactly as received.
	Body []byte
	// ReceivedAt is when imbridge received the request; it becomes the events'
	// receivedAt and takes no part in their eventId.
	ReceivedAt time.Time
	// MaxPairs is the most PairList entries accepted; 0 means DefaultMaxPairs. More
	// is KindTooLarge.
	MaxPairs int
	// MaxRecordBytes caps the bytes of the records one callback makes; 0 means
	// DefaultMaxRecordBytes. The cap is also at most RecordBytesPerBodyByte times the
	// body. A callback past it makes no events (KindTooLarge, quarantined by default).
	MaxRecordBytes int64
}

// DefaultMaxRecordBytes is Callback.MaxRecordBytes' default: with the body limit of
// 1 MiB, one callback cannot make records of more than 8 MiB, whatever it lists.
const DefaultMaxRecordBytes = 8 << 20

// RecordBytesPerBodyByte bounds the amplification of one callback: its records may
// take at most this many times its body's bytes (a list of short entries, each copied
// into an event with the callback's envelope, is what Chat sends at most).
const RecordBytesPerBodyByte = 64

// DefaultMaxPairs is the most PairList entries a callback may carry by default: ten
// times the 1,000 that Chat's REST API removes in one call.
const DefaultMaxPairs = 10000
