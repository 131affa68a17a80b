package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imbridge/imbridge/bridge/internal/strictjson"
)

// Subject is what one event of a route says beyond the envelope every event has
// (eventId, sdkAppId, callbackCommand, receivedAt, clientIp, optPlatform, requestTime,
// eventTime, version): the message key, which keeps one subject's history in order on
// one partition, and the route's own JSON members.
type Subject struct {
	// Key is the Kafka message key: a group, a user, or a conversation.
	Key string
	// Fields are JSON object members without the braces, such as
	// `"groupId":"g1","memberAccount":"u1"`, written into the event after
	// callbackCommand.
	Fields []byte
	// Trailer are JSON members written after eventTime: the fields of
	// Sns.CallbackFriendAdd, where its events have always had them. Usually empty.
	Trailer []byte
	// Order, when set, is what consumers order the subject's changes by instead of
	// Key (see Versioner): a relationship's two accounts.
	Order string
	// EventTime, when not 0, is this subject's own EventTime (Unix milliseconds),
	// instead of the callback's: an entry of a batch that carries its own time (Push.*).
	EventTime int64
	// Identity, when not "", is what the event's ID is derived from (with the SDKAppID
	// and the command: see IdentityEventID) instead of the callback's bytes and the
	// event's place in it: an entry Chat may send again in another request (Push.*,
	// retried after a delay), whose ID must then be the same; the body's members no
	// route read (extra) are part of it. Make it with Identity.
	Identity string
}

// Decoder reads the body of one command into its subjects (one event each, in order)
// and the EventTime it carries (Unix milliseconds, 0 when absent, read with
// Object.EventTime: what it does not read goes to the events' extra), from the body's
// object. It reads through Object, which keeps the first error with the field's path;
// Map refuses the callback with it.
type Decoder func(top Object) (subjects []Subject, eventTime int64)

// mapWebhook is Map without the checks of the keys and the budget: the body parsed
// once, one event per subject the route's decoder finds.
func mapWebhook(cb Callback, route Route) ([]Event, error) {
	body, err := ParseBody(cb.Body)
	if err != nil {
		return nil, err
	}
	top := body.Top()
	if err := checkCommand(top, cb.Query.CallbackCommand, route); err != nil {
		return nil, err
	}
	if route.Command != "" { // the unrouted route keeps what it cannot judge
		if err := checkBodyAppID(top, cb.AppID); err != nil {
			return nil, err
		}
	}
	maxEvents := cb.MaxPairs
	if maxEvents <= 0 {
		maxEvents = DefaultMaxPairs
	}
	// A callback that lists subjects copies these into each of its events: bounded, so
	// that one body cannot make records many times its size. (The unrouted route
	// copies nothing.)
	if route.Command != "" {
		// Encoded into a buffer on the stack when it fits (as every member that passes does).
		var encoded [2*MaxSharedMemberBytes + 2]byte
		for _, name := range SharedMembers {
			// Counted as encoded in the events: JSON escaping turns a < into six bytes.
			if n := len(appendJSONString(encoded[:0], top.peekStr(name))) - 2; n > MaxSharedMemberBytes {
				return nil, Errorf(KindBadRequest, "%s is %d bytes once encoded; at most %d are accepted", name, n, MaxSharedMemberBytes)
			}
		}
		for _, list := range listMembers {
			if n := top.Len(list); n > maxEvents {
				return nil, Errorf(KindTooLarge, "%s has %d entries; at most %d are accepted", list, n, maxEvents)
			}
		}
	}
	subjects, eventTime := route.Decode(top)
	if err := body.Err(); err != nil {
		return nil, err
	}
	switch {
	case route.Key == KeySDKAppID:
		for i := range subjects {
			subjects[i].Key = strconv.FormatUint(cb.AppID, 10)
		}
	case route.Command == "" && len(subjects) == 1:
		// The command (the body's equals it when sent; a query-only command's body
		// has none).
		subjects[0].Key = cb.Query.CallbackCommand
	}
	// What the route did not read goes with every event, as sent (the unrouted
	// route carries the whole body): joined once the budget, which counts it, holds.
	var member []byte
	var extra json.RawMessage
	if route.Command != "" {
		if extra = top.Extra(); extra != nil {
			member = Fields("extra", extra)
		}
	}
	if len(subjects) == 0 {
		return nil, Errorf(KindBadRequest, "%s has nothing to publish", truncate(cb.Query.CallbackCommand, 64))
	}
	if len(subjects) > maxEvents {
		return nil, Errorf(KindTooLarge, "%s lists %d subjects; at most %d are accepted", truncate(cb.Query.CallbackCommand, 64), len(subjects), maxEvents)
	}
	// The envelope's strings and the event IDs in one allocation.
	var strs strings.Builder
	strs.Grow(envelopeStrings + eventIDLen*len(subjects))
	common := envelope(cb, route, eventTime, &strs)
	if err := checkRecordBudget(cb, common, subjects, len(member)); err != nil {
		return nil, err
	}
	if len(member) > 0 {
		for i := range subjects {
			subjects[i].Fields = joinFields(subjects[i].Fields, member)
		}
	}
	seed := eventIDSeed(cb)
	events := make([]Event, len(subjects))
	ids := appendEventIDs(&strs, seed, len(subjects))
	for i, s := range subjects {
		e := common
		e.ID = ids[i*eventIDLen : (i+1)*eventIDLen]
		if s.Identity != "" {
			// With the body's members no route read: two batches that differ there
			// alone are not one.
			e.ID = IdentityEventID(cb.AppID, cb.Query.CallbackCommand, s.Identity+string(extra))
		}
		if s.EventTime > 0 {
			e.EventTime, e.Time = s.EventTime, time.UnixMilli(s.EventTime).UTC()
		}
		e.Subject = s
		events[i] = e
	}
	return events, nil
}

// listMembers are the top-level lists whose entries become one event each: a list
// longer than Callback.MaxPairs is refused before it is read. (To_Account is a list in
// Follow.CallbackAfterFollowDelete only; a string, elsewhere, has no length.)
var listMembers = []string{"PairList", "NewMemberList", "ExitMemberList", "MemberList", "MsgSeqList", "TopicIdList", "GroupMsgReceiptList",
	"SubscribeAccountList", "FollowList", "To_Account", "Events"}

// SharedMembers are the top-level members of webhook bodies that a callback listing
// several subjects (members, messages, receipts) copies into each of its events; each
// is at most MaxSharedMemberBytes long. Chat's group and topic IDs are far shorter.
var SharedMembers = []string{"GroupId", "TopicId", "Type", "JoinType", "ExitType", "EventType", "EventCause", "Official_Account", "ClientCmd"}

// MaxSharedMemberBytes bounds each of SharedMembers.
const MaxSharedMemberBytes = 128

// QueryOnlyCommands are the commands whose bodies Chat documents without a top-level
// CallbackCommand: the push results (Push.*: a batch of Events, each naming its
// command) and the moderation verdicts (the command in the URL only). Such a body is
// matched by the query's command; one that has a CallbackCommand must still agree.
var QueryOnlyCommands = []string{CommandAllMemberPush, CommandOfflinePush, CommandModerationResult}

// checkCommand checks the body's CallbackCommand against the query's and, for a route
// of its own, the route's command. Only a body of QueryOnlyCommands may leave it out.
func checkCommand(top Object, query string, route Route) error {
	if !top.Has("CallbackCommand") {
		if !slices.Contains(QueryOnlyCommands, query) {
			return Errorf(KindBadRequest, "CallbackCommand is missing from the body")
		}
		if route.Command != "" && query != route.Command {
			return Errorf(KindBadRequest, "CallbackCommand %q is not %s", truncate(query, 64), route.Command)
		}
		return nil
	}
	body := top.Str("CallbackCommand")
	if err := top.b.Err(); err != nil {
		return err
	}
	if body != query {
		return Errorf(KindBadRequest, "CallbackCommand in the body (%q) differs from the query's (%q)",
			truncate(body, 64), truncate(query, 64))
	}
	if route.Command != "" && body != route.Command {
		return Errorf(KindBadRequest, "CallbackCommand %q is not %s", truncate(body, 64), route.Command)
	}
	return nil
}

// checkBodyAppID checks a body's own SdkAppId (ContentCallback.ResultNotify sends one)
// against the verified query's: a body that names another app is not this app's
// callback. It marks nothing read: a route that does not read it carries it under
// extra.
func checkBodyAppID(top Object, appID uint64) error {
	v := top.v.Get("SdkAppId")
	if k := v.Kind(); k == strictjson.Absent || k == strictjson.Null {
		return nil
	}
	neg, id, ok := exactInteger(integerToken(v))
	if !ok || (neg && id != 0) {
		return Errorf(KindBadRequest, "SdkAppId must be a non-negative integer")
	}
	if id != appID {
		return Errorf(KindBadRequest, "SdkAppId in the body (%d) differs from the query's SdkAppid (%d)", id, appID)
	}
	return nil
}

// MaxMsgSeq bounds a group message's MsgSeq, in every route that carries one.
const MaxMsgSeq = math.MaxUint64

// JSONInteger reads a JSON number token as an int64, also when written with a fraction
// of zero or an exponent (12.0, 1.2e3), as JSON Schema's "integer" takes it, exactly
// (no rounding: 1.0000000001 and 1e-999999999 are not integers). It reports false for
// a fraction, a value out of int64's range, a token over MaxNumberToken bytes, or
// anything else.
func JSONInteger(token []byte) (int64, bool) { return exactInt64(token) }

// Fields builds a Subject's JSON members from name/value pairs, in order: a value is
// written as json.Marshal writes it (strings escaped as the events' other strings),
// except a json.RawMessage, which is written byte for byte as given, without its
// surrounding whitespace: the JSON Chat sent (message bodies, custom data), never
// re-encoded. It must be valid JSON (the Body's values are). Values that are nil, "",
// or an empty json.RawMessage are left out.
func Fields(kv ...any) []byte {
	var b []byte
	for i := 0; i+1 < len(kv); i += 2 {
		name, v := kv[i].(string), kv[i+1]
		switch x := v.(type) {
		case nil:
			continue
		case string:
			if x == "" {
				continue
			}
		case json.RawMessage:
			raw := bytes.TrimSpace(x)
			if len(raw) == 0 {
				continue
			}
			if len(b) > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, name)
			b = append(append(b, ':'), raw...)
			continue
		}
		val, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("bridge.Fields: %s: %v", name, err)) // a decoder's bug, never the input's
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, name)
		b = append(b, ':')
		b = append(b, val...)
	}
	return b
}
