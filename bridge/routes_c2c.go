package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
)

// Commands of the one-to-one message webhooks.
const (
	// CommandC2CAfterSendMsg: a one-to-one message was delivered (or refused, with
	// SendMsgResult saying why).
	CommandC2CAfterSendMsg = "C2C.CallbackAfterSendMsg"
	// CommandC2CAfterMsgWithDraw: a one-to-one message was recalled.
	CommandC2CAfterMsgWithDraw = "C2C.CallbackAfterMsgWithDraw"
	// CommandC2CAfterMsgReport: a user marked a one-to-one conversation read.
	CommandC2CAfterMsgReport = "C2C.CallbackAfterMsgReport"
	// CommandC2CAfterMsgExtension: the key-value extensions of a one-to-one message
	// were set, deleted or cleared.
	CommandC2CAfterMsgExtension = "C2C.CallbackAfterC2CMsgExtension"
)

// c2cRoutes are the routes of one-to-one messages: C2C.* webhooks, keyed by the conversation (both directions of one pair of users together).
var c2cRoutes = []Route{
	{Name: "c2c-message-sent", Command: CommandC2CAfterSendMsg, Topic: TopicC2C, Type: "imbridge.c2c.message.sent.v1",
		Decode: decodeC2CSendMsg, Key: "the conversation: From_Account and To_Account sorted, as a JSON array", Events: "one per callback"},
	{Name: "c2c-message-recalled", Command: CommandC2CAfterMsgWithDraw, Topic: TopicC2C, Type: "imbridge.c2c.message.recalled.v1",
		Decode: decodeC2CMsgWithDraw, Key: "the conversation: From_Account and To_Account sorted, as a JSON array", Events: "one per callback"},
	{Name: "c2c-conversation-read", Command: CommandC2CAfterMsgReport, Topic: TopicC2C, Type: "imbridge.c2c.conversation.read.v1",
		Decode: decodeC2CMsgReport, Key: "the conversation: Report_Account and Peer_Account sorted, as a JSON array", Events: "one per callback"},
	{Name: "c2c-message-extension-changed", Command: CommandC2CAfterMsgExtension, Topic: TopicC2C, Type: "imbridge.c2c.message.extension.changed.v1",
		Decode: decodeC2CMsgExtension, Key: "the conversation: From_Account and To_Account sorted, as a JSON array", Events: "one per callback"},
}

// ConversationKey is the message key of a one-to-one conversation: the two accounts
// sorted bytewise, as a compact JSON array (["alice","bob"]), so that both directions
// of one conversation share a key, and so a partition.
func ConversationKey(a, b string) string {
	if b < a {
		a, b = b, a
	}
	k := append([]byte{'['}, appendJSONString(nil, a)...)
	k = append(k, ',')
	k = appendJSONString(k, b)
	return string(append(k, ']'))
}

// unmarshalFields decodes a webhook object (the body, already checked by CheckJSON,
// or one of its members) into v, a pointer to a struct of the command's documented
// fields, each tagged with its JSON name. Names match exactly, unlike
// encoding/json's case-insensitive matching, so that imbridge and a schema validator
// read the same members. A member of the wrong type is a KindBadRequest error naming
// it (with prefix, such as "Info.", before the name).
func unmarshalFields(body []byte, prefix string, v any) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Errorf(KindBadRequest, "%s must be an object", strings.TrimSuffix(prefix, "."))
		}
		return Errorf(KindBadRequest, "body: %v", err)
	}
	return fieldsOf(members, prefix, v)
}

// fieldsOf is unmarshalFields for an object already read into its members.
func fieldsOf(members map[string]json.RawMessage, prefix string, v any) error {
	rv := reflect.ValueOf(v).Elem()
	rt := rv.Type()
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		raw, ok := members[name]
		if !ok {
			continue
		}
		if err := unmarshalMember(raw, rv.Field(i).Addr().Interface()); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return Errorf(KindBadRequest, "%s%s must be %s", prefix, name, fieldTypeWords(rt.Field(i).Type.String()))
			}
			return Errorf(KindBadRequest, "%s%s: %v", prefix, name, err)
		}
	}
	return nil
}

func fieldTypeWords(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "string":
		return "a string"
	case "uint32":
		return "an integer from 0 to 4294967295"
	case "int64":
		return "an integer"
	case "uint64":
		return "a non-negative integer"
	case "[]*string":
		return "an array of strings"
	default:
		return "of the documented type"
	}
}

// fieldAccount checks a required UserID field: present, not empty, at most
// MaxAccountBytes, without NUL.
func fieldAccount(name string, v *string) error {
	switch {
	case v == nil:
		return Errorf(KindBadRequest, "%s is missing", name)
	case *v == "":
		return Errorf(KindBadRequest, "%s is empty", name)
	case len(*v) > MaxAccountBytes:
		return Errorf(KindBadRequest, "%s is %d bytes; at most %d are allowed", name, len(*v), MaxAccountBytes)
	case strings.IndexByte(*v, 0) >= 0:
		return Errorf(KindBadRequest, "%s contains a NUL character", name)
	}
	return nil
}

// fieldRequired checks a required string field that is not a UserID.
func fieldRequired(name string, v *string) error {
	if v == nil {
		return Errorf(KindBadRequest, "%s is missing", name)
	}
	if *v == "" {
		return Errorf(KindBadRequest, "%s is empty", name)
	}
	return nil
}

// fieldArray checks that a field kept as the JSON Chat sent, when present and not
// null, is an array.
func fieldArray(name string, raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || raw[0] == '[' {
		return nil
	}
	return Errorf(KindBadRequest, "%s must be an array", name)
}

// fieldRaw drops a JSON null, so that Fields leaves the member out.
func fieldRaw(raw json.RawMessage) json.RawMessage {
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	return raw
}

// fieldPtr returns a pointer's value for Fields: nil (left out) for a nil pointer.
func fieldPtr[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func fieldStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func decodeC2CSendMsg(body WebhookBody) ([]Subject, int64, error) {
	var b struct {
		FromAccount     *string         `json:"From_Account"`
		ToAccount       *string         `json:"To_Account"`
		MsgSeq          *uint32         `json:"MsgSeq"`
		MsgRandom       *uint32         `json:"MsgRandom"`
		MsgTime         *int64          `json:"MsgTime"`
		MsgKey          *string         `json:"MsgKey"`
		MsgID           *string         `json:"MsgId"`
		OnlineOnlyFlag  *int64          `json:"OnlineOnlyFlag"`
		SendMsgResult   *int64          `json:"SendMsgResult"`
		ErrorInfo       *string         `json:"ErrorInfo"`
		UnreadMsgNum    *int64          `json:"UnreadMsgNum"`
		MsgBody         json.RawMessage `json:"MsgBody"`
		CloudCustomData json.RawMessage `json:"CloudCustomData"`
		EventTime       json.RawMessage `json:"EventTime"`
	}
	if err := fieldsOf(body.Members, "", &b); err != nil {
		return nil, 0, err
	}
	for _, err := range []error{
		fieldAccount("From_Account", b.FromAccount),
		fieldAccount("To_Account", b.ToAccount),
		fieldRequired("MsgKey", b.MsgKey),
		fieldArray("MsgBody", b.MsgBody),
	} {
		if err != nil {
			return nil, 0, err
		}
	}
	et, err := EventTime(b.EventTime)
	if err != nil {
		return nil, 0, err
	}
	return []Subject{{
		Key: ConversationKey(*b.FromAccount, *b.ToAccount),
		Fields: Fields(
			"fromAccount", *b.FromAccount,
			"toAccount", *b.ToAccount,
			"msgKey", *b.MsgKey,
			"msgId", fieldStr(b.MsgID),
			"msgSeq", fieldPtr(b.MsgSeq),
			"msgRandom", fieldPtr(b.MsgRandom),
			"msgTime", fieldPtr(b.MsgTime),
			"onlineOnlyFlag", fieldPtr(b.OnlineOnlyFlag),
			"sendMsgResult", fieldPtr(b.SendMsgResult),
			"errorInfo", fieldStr(b.ErrorInfo),
			"unreadMsgNum", fieldPtr(b.UnreadMsgNum),
			"msgBody", fieldRaw(b.MsgBody),
			"cloudCustomData", fieldRaw(b.CloudCustomData),
		),
	}}, et, nil
}

func decodeC2CMsgWithDraw(body WebhookBody) ([]Subject, int64, error) {
	var b struct {
		FromAccount  *string         `json:"From_Account"`
		ToAccount    *string         `json:"To_Account"`
		MsgKey       *string         `json:"MsgKey"`
		UnreadMsgNum *int64          `json:"UnreadMsgNum"`
		EventTime    json.RawMessage `json:"EventTime"`
	}
	if err := fieldsOf(body.Members, "", &b); err != nil {
		return nil, 0, err
	}
	for _, err := range []error{
		fieldAccount("From_Account", b.FromAccount),
		fieldAccount("To_Account", b.ToAccount),
		fieldRequired("MsgKey", b.MsgKey),
	} {
		if err != nil {
			return nil, 0, err
		}
	}
	et, err := EventTime(b.EventTime)
	if err != nil {
		return nil, 0, err
	}
	return []Subject{{
		Key: ConversationKey(*b.FromAccount, *b.ToAccount),
		Fields: Fields(
			"fromAccount", *b.FromAccount,
			"toAccount", *b.ToAccount,
			"msgKey", *b.MsgKey,
			"unreadMsgNum", fieldPtr(b.UnreadMsgNum),
		),
	}}, et, nil
}

func decodeC2CMsgReport(body WebhookBody) ([]Subject, int64, error) {
	var b struct {
		ReportAccount *string         `json:"Report_Account"`
		PeerAccount   *string         `json:"Peer_Account"`
		LastReadTime  *int64          `json:"LastReadTime"`
		UnreadMsgNum  *int64          `json:"UnreadMsgNum"`
		EventTime     json.RawMessage `json:"EventTime"`
	}
	if err := fieldsOf(body.Members, "", &b); err != nil {
		return nil, 0, err
	}
	for _, err := range []error{
		fieldAccount("Report_Account", b.ReportAccount),
		fieldAccount("Peer_Account", b.PeerAccount),
	} {
		if err != nil {
			return nil, 0, err
		}
	}
	et, err := EventTime(b.EventTime)
	if err != nil {
		return nil, 0, err
	}
	return []Subject{{
		Key: ConversationKey(*b.ReportAccount, *b.PeerAccount),
		Fields: Fields(
			"reportAccount", *b.ReportAccount,
			"peerAccount", *b.PeerAccount,
			"lastReadTime", fieldPtr(b.LastReadTime),
			"unreadMsgNum", fieldPtr(b.UnreadMsgNum),
		),
	}}, et, nil
}

func decodeC2CMsgExtension(body WebhookBody) ([]Subject, int64, error) {
	var b struct {
		FromAccount   *string         `json:"From_Account"`
		ToAccount     *string         `json:"To_Account"`
		MsgKey        *string         `json:"MsgKey"`
		OperateType   *int64          `json:"OperateType"`
		ExtensionList json.RawMessage `json:"ExtensionList"`
		Seq           *uint64         `json:"Seq"`
		EventTime     json.RawMessage `json:"EventTime"`
	}
	if err := fieldsOf(body.Members, "", &b); err != nil {
		return nil, 0, err
	}
	for _, err := range []error{
		fieldAccount("From_Account", b.FromAccount),
		fieldAccount("To_Account", b.ToAccount),
		fieldRequired("MsgKey", b.MsgKey),
		fieldArray("ExtensionList", b.ExtensionList),
	} {
		if err != nil {
			return nil, 0, err
		}
	}
	if b.OperateType == nil {
		return nil, 0, Errorf(KindBadRequest, "OperateType is missing")
	}
	et, err := EventTime(b.EventTime)
	if err != nil {
		return nil, 0, err
	}
	return []Subject{{
		Key: ConversationKey(*b.FromAccount, *b.ToAccount),
		Fields: Fields(
			"fromAccount", *b.FromAccount,
			"toAccount", *b.ToAccount,
			"msgKey", *b.MsgKey,
			"operateType", *b.OperateType,
			"extensionList", fieldRaw(b.ExtensionList),
			"seq", fieldPtr(b.Seq),
		),
	}}, et, nil
}
