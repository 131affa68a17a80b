package events

import "encoding/json"

// Types of the one-to-one message events: their records are keyed by the
// conversation (ConversationKey), a conversation read's by the reader.
const (
	TypeC2CMessageSent             = "imbridge.c2c.message.sent.v1"
	TypeC2CMessageRecalled         = "imbridge.c2c.message.recalled.v1"
	TypeC2CConversationRead        = "imbridge.c2c.conversation.read.v1"
	TypeC2CMessageExtensionChanged = "imbridge.c2c.message.extension.changed.v1"
	TypeC2CMessageModified         = "imbridge.c2c.message.modified.v1"
	// TypeBotC2CMessage is a message to a chatbot, on the one-to-one topic.
	TypeBotC2CMessage = "imbridge.bot.c2c.message.v1"
)

// c2cTypes are the event types of bridge's c2c routes.
var c2cTypes = map[string]func() webhookEvent{
	TypeC2CMessageSent:             func() webhookEvent { return &C2CMessageSent{} },
	TypeC2CMessageRecalled:         func() webhookEvent { return &C2CMessageRecalled{} },
	TypeC2CConversationRead:        func() webhookEvent { return &C2CConversationRead{} },
	TypeC2CMessageExtensionChanged: func() webhookEvent { return &C2CMessageExtensionChanged{} },
	TypeC2CMessageModified:         func() webhookEvent { return &C2CMessageModified{} },
	TypeBotC2CMessage:              func() webhookEvent { return &BotC2CMessage{} },
}

// ConversationKey is the record key of a one-to-one conversation's events: the two
// accounts ordered by their UTF-8 bytes, the smaller first, as a compact JSON array
// (["alice","bob"]), the same for both directions. The strings are escaped as
// encoding/json escapes them: `"` and `\` with a backslash; \n, \r, \t, \b, \f; other
// bytes below 0x20 as \u00XX; <, > and & as \u003c, \u003e, \u0026; U+2028 and U+2029
// as \u2028 and \u2029; every other character as its UTF-8 bytes (README, "The
// one-to-one key", says it for other languages).
func ConversationKey(a, b string) string {
	if b < a {
		a, b = b, a
	}
	k, _ := json.Marshal([2]string{a, b}) // strings always marshal
	return string(k)
}

// C2CMessageSent is a one-to-one message Chat delivered (C2C.CallbackAfterSendMsg);
// SendMsgResult is 0 when delivery succeeded. Pointers are nil when Chat left the
// field out.
type C2CMessageSent struct {
	Envelope
	FromAccount    string  `json:"fromAccount"`
	ToAccount      string  `json:"toAccount"`
	MsgKey         string  `json:"msgKey"`
	MsgID          string  `json:"msgId,omitempty"`
	MsgSeq         *uint32 `json:"msgSeq,omitempty"`
	MsgRandom      *uint32 `json:"msgRandom,omitempty"`
	MsgTime        *int64  `json:"msgTime,omitempty"`
	OnlineOnlyFlag *int64  `json:"onlineOnlyFlag,omitempty"`
	SendMsgResult  *int64  `json:"sendMsgResult,omitempty"`
	ErrorInfo      string  `json:"errorInfo,omitempty"`
	UnreadMsgNum   *int64  `json:"unreadMsgNum,omitempty"`
	// MsgBody and CloudCustomData are the JSON Chat sent: an array of {MsgType,
	// MsgContent}, and (as documented) a string.
	MsgBody         json.RawMessage `json:"msgBody,omitempty"`
	CloudCustomData json.RawMessage `json:"cloudCustomData,omitempty"`
}

func (e *C2CMessageSent) key() string { return ConversationKey(e.FromAccount, e.ToAccount) }

// C2CMessageRecalled is a one-to-one message that was recalled
// (C2C.CallbackAfterMsgWithDraw).
type C2CMessageRecalled struct {
	Envelope
	FromAccount  string `json:"fromAccount"`
	ToAccount    string `json:"toAccount"`
	MsgKey       string `json:"msgKey"`
	UnreadMsgNum *int64 `json:"unreadMsgNum,omitempty"`
}

func (e *C2CMessageRecalled) key() string { return ConversationKey(e.FromAccount, e.ToAccount) }

// C2CConversationRead is a user marking a one-to-one conversation read
// (C2C.CallbackAfterMsgReport), keyed by the reader (ReportAccount): one user's reads
// of every conversation are in one partition.
type C2CConversationRead struct {
	Envelope
	ReportAccount string `json:"reportAccount"`
	PeerAccount   string `json:"peerAccount"`
	// LastReadTime is when the conversation was read, Unix seconds.
	LastReadTime *int64 `json:"lastReadTime,omitempty"`
	UnreadMsgNum *int64 `json:"unreadMsgNum,omitempty"`
}

func (e *C2CConversationRead) key() string { return e.ReportAccount }

// C2CMessageExtensionChanged is a change of a one-to-one message's key-value
// extensions (C2C.CallbackAfterC2CMsgExtension): OperateType 1 set, 2 deleted, 3
// cleared.
type C2CMessageExtensionChanged struct {
	Envelope
	FromAccount string `json:"fromAccount"`
	ToAccount   string `json:"toAccount"`
	MsgKey      string `json:"msgKey"`
	OperateType int64  `json:"operateType"`
	// ExtensionList is the JSON Chat sent: {Key, Value, Seq} entries.
	ExtensionList json.RawMessage `json:"extensionList,omitempty"`
	Seq           *uint64         `json:"seq,omitempty"`
}

func (e *C2CMessageExtensionChanged) key() string { return ConversationKey(e.FromAccount, e.ToAccount) }

// C2CMessageModified is a one-to-one message that was modified
// (C2C.CallbackAfterModifyMsg), on its conversation's key: it follows the message's
// C2CMessageSent in one partition. MsgKey is the message's, as C2CMessageSent has it.
type C2CMessageModified struct {
	Envelope
	FromAccount string `json:"fromAccount"`
	ToAccount   string `json:"toAccount"`
	MsgKey      string `json:"msgKey"`
	// OperatorAccount modified the message: its sender, or an admin.
	OperatorAccount string  `json:"operatorAccount,omitempty"`
	MsgSeq          *uint32 `json:"msgSeq,omitempty"`
	MsgRandom       *uint32 `json:"msgRandom,omitempty"`
	// MsgTime is when the message was first sent, Unix seconds.
	MsgTime *int64 `json:"msgTime,omitempty"`
	// MsgBody and CloudCustomData are the content after the change, the JSON Chat
	// sent; nil when Chat left them out.
	MsgBody         json.RawMessage `json:"msgBody,omitempty"`
	CloudCustomData json.RawMessage `json:"cloudCustomData,omitempty"`
}

func (e *C2CMessageModified) key() string { return ConversationKey(e.FromAccount, e.ToAccount) }

// BotC2CMessage is a one-to-one message sent to a chatbot, ToAccount (Bot.OnC2CMessage):
// C2CMessageSent's fields without UnreadMsgNum, keyed by the conversation of the user
// and the bot. Pointers are nil when Chat left the field out.
type BotC2CMessage struct {
	Envelope
	FromAccount    string  `json:"fromAccount"`
	ToAccount      string  `json:"toAccount"`
	MsgKey         string  `json:"msgKey"`
	MsgID          string  `json:"msgId,omitempty"`
	MsgSeq         *uint32 `json:"msgSeq,omitempty"`
	MsgRandom      *uint32 `json:"msgRandom,omitempty"`
	MsgTime        *int64  `json:"msgTime,omitempty"`
	OnlineOnlyFlag *int64  `json:"onlineOnlyFlag,omitempty"`
	SendMsgResult  *int64  `json:"sendMsgResult,omitempty"`
	ErrorInfo      string  `json:"errorInfo,omitempty"`
	// MsgBody and CloudCustomData are the JSON Chat sent.
	MsgBody         json.RawMessage `json:"msgBody,omitempty"`
	CloudCustomData json.RawMessage `json:"cloudCustomData,omitempty"`
}

func (e *BotC2CMessage) key() string { return ConversationKey(e.FromAccount, e.ToAccount) }
