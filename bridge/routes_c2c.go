package bridge

import "math"

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
	// CommandC2CAfterModifyMsg: a one-to-one message was modified (edited by its
	// sender or through the REST API).
	CommandC2CAfterModifyMsg = "C2C.CallbackAfterModifyMsg"
	// CommandBotOnC2CMessage: a one-to-one message was sent to a chatbot.
	CommandBotOnC2CMessage = "Bot.OnC2CMessage"
)

// c2cRoutes are the routes of one-to-one messages: C2C.* webhooks and messages to
// chatbots (Bot.OnC2CMessage), keyed by the conversation (both directions of one pair
// of users together), apart from conversation reads, keyed by the reader.
var c2cRoutes = []Route{
	{Name: "c2c-message-sent", Command: CommandC2CAfterSendMsg, Topic: TopicC2C, Type: "imbridge.c2c.message.sent.v1",
		Decode: decodeC2CSendMsg, Key: "the conversation: From_Account and To_Account sorted, as a JSON array (events.ConversationKey)", Events: "one per callback"},
	{Name: "c2c-message-recalled", Command: CommandC2CAfterMsgWithDraw, Topic: TopicC2C, Type: "imbridge.c2c.message.recalled.v1",
		Decode: decodeC2CMsgWithDraw, Key: "the conversation: From_Account and To_Account sorted, as a JSON array (events.ConversationKey)", Events: "one per callback"},
	// A read is keyed by the reader, so that one user's read state of every
	// conversation is in one partition; it carries LastReadTime, which tells which
	// messages it covers without their order (README, "Reads are keyed by the reader").
	{Name: "c2c-conversation-read", Command: CommandC2CAfterMsgReport, Topic: TopicC2C, Type: "imbridge.c2c.conversation.read.v1",
		Decode: decodeC2CMsgReport, Key: "Report_Account", Events: "one per callback"},
	{Name: "c2c-message-extension-changed", Command: CommandC2CAfterMsgExtension, Topic: TopicC2C, Type: "imbridge.c2c.message.extension.changed.v1",
		Decode: decodeC2CMsgExtension, Key: "the conversation: From_Account and To_Account sorted, as a JSON array (events.ConversationKey)", Events: "one per callback"},
	// A modification joins its message's conversation, so that it follows the message
	// on one partition.
	{Name: "c2c-message-modified", Command: CommandC2CAfterModifyMsg, Topic: TopicC2C, Type: "imbridge.c2c.message.modified.v1",
		Decode: decodeC2CModifyMsg, Key: "the conversation: From_Account and To_Account sorted, as a JSON array (events.ConversationKey)", Events: "one per callback"},
	// A message to a chatbot is a one-to-one message: it joins the conversation of the
	// user and the bot (To_Account).
	{Name: "bot-c2c-message", Command: CommandBotOnC2CMessage, Topic: TopicC2C, Type: "imbridge.bot.c2c.message.v1",
		Decode: decodeBotC2CMessage, Key: "the conversation: From_Account and To_Account (the chatbot) sorted, as a JSON array (events.ConversationKey)", Events: "one per callback"},
}

// ConversationKey is the message key of a one-to-one conversation: the two accounts
// sorted bytewise, as a compact JSON array (["alice","bob"]) escaped as encoding/json
// escapes (the README's "The one-to-one key" specifies it), so that both directions of
// one conversation share a key, and so a partition. bridge/events.ConversationKey is
// the consumers' copy; a test holds the two and every route to one key.
func ConversationKey(a, b string) string {
	if b < a {
		a, b = b, a
	}
	k := append([]byte{'['}, appendJSONString(nil, a)...)
	k = append(k, ',')
	k = appendJSONString(k, b)
	return string(append(k, ']'))
}

// decodeC2CSendMsg reads C2C.CallbackAfterSendMsg: the message (MsgBody and
// CloudCustomData as sent) and, when it was refused, why (SendMsgResult, ErrorInfo).
func decodeC2CSendMsg(o Object) ([]Subject, int64) { return decodeC2CMessage(o, true) }

// decodeBotC2CMessage reads Bot.OnC2CMessage: a one-to-one message to a chatbot
// (To_Account), the body of C2C.CallbackAfterSendMsg without UnreadMsgNum.
func decodeBotC2CMessage(o Object) ([]Subject, int64) { return decodeC2CMessage(o, false) }

// decodeC2CMessage reads a one-to-one message as C2C.CallbackAfterSendMsg and
// Bot.OnC2CMessage send it; unread reads UnreadMsgNum, which only the former has.
func decodeC2CMessage(o Object, unread bool) ([]Subject, int64) {
	from, to, msgKey := o.RequiredAccount("From_Account"), o.RequiredAccount("To_Account"), o.Required("MsgKey")
	var unreadNum any // left out
	if unread {
		unreadNum = o.Int("UnreadMsgNum")
	}
	return one(ConversationKey(from, to), Fields(
		"fromAccount", from,
		"toAccount", to,
		"msgKey", msgKey,
		"msgId", o.Str("MsgId"),
		"msgSeq", o.Uint("MsgSeq", math.MaxUint32),
		"msgRandom", o.Uint("MsgRandom", math.MaxUint32),
		"msgTime", o.Int("MsgTime"),
		"onlineOnlyFlag", o.Int("OnlineOnlyFlag"),
		"sendMsgResult", o.Int("SendMsgResult"),
		"errorInfo", o.Str("ErrorInfo"),
		"unreadMsgNum", unreadNum,
		"msgBody", o.Array("MsgBody"),
		"cloudCustomData", o.JSON("CloudCustomData"),
	)), o.EventTime()
}

// decodeC2CMsgWithDraw reads C2C.CallbackAfterMsgWithDraw: the recalled message's
// MsgKey.
func decodeC2CMsgWithDraw(o Object) ([]Subject, int64) {
	from, to, msgKey := o.RequiredAccount("From_Account"), o.RequiredAccount("To_Account"), o.Required("MsgKey")
	return one(ConversationKey(from, to), Fields(
		"fromAccount", from,
		"toAccount", to,
		"msgKey", msgKey,
		"unreadMsgNum", o.Int("UnreadMsgNum"),
	)), o.EventTime()
}

// decodeC2CMsgReport reads C2C.CallbackAfterMsgReport: who read the conversation
// with whom, and up to when; keyed by the reader.
func decodeC2CMsgReport(o Object) ([]Subject, int64) {
	reporter, peer := o.RequiredAccount("Report_Account"), o.RequiredAccount("Peer_Account")
	return one(reporter, Fields(
		"reportAccount", reporter,
		"peerAccount", peer,
		"lastReadTime", o.Int("LastReadTime"),
		"unreadMsgNum", o.Int("UnreadMsgNum"),
	)), o.EventTime()
}

// decodeC2CMsgExtension reads C2C.CallbackAfterC2CMsgExtension: the message whose
// extensions changed, how (OperateType, required) and the extensions, as sent.
func decodeC2CMsgExtension(o Object) ([]Subject, int64) {
	from, to, msgKey := o.RequiredAccount("From_Account"), o.RequiredAccount("To_Account"), o.Required("MsgKey")
	if !o.Has("OperateType") {
		o.Fail("OperateType", "is missing")
	}
	return one(ConversationKey(from, to), Fields(
		"fromAccount", from,
		"toAccount", to,
		"msgKey", msgKey,
		"operateType", o.Int("OperateType"),
		"extensionList", o.Array("ExtensionList"),
		"seq", o.Uint("Seq", math.MaxUint64),
	)), o.EventTime()
}

// decodeC2CModifyMsg reads C2C.CallbackAfterModifyMsg: the modified message (MsgKey,
// as its send and recall carry it), who modified it (Operator_Account: the sender, or
// an admin), and its MsgBody and CloudCustomData after the change, as sent; Chat's
// page does not say whether it leaves out what did not change, so an absent one is
// published absent.
func decodeC2CModifyMsg(o Object) ([]Subject, int64) {
	from, to, msgKey := o.RequiredAccount("From_Account"), o.RequiredAccount("To_Account"), o.Required("MsgKey")
	return one(ConversationKey(from, to), Fields(
		"fromAccount", from,
		"toAccount", to,
		"msgKey", msgKey,
		"operatorAccount", o.Account("Operator_Account"),
		"msgSeq", o.Uint("MsgSeq", math.MaxUint32),
		"msgRandom", o.Uint("MsgRandom", math.MaxUint32),
		"msgTime", o.Int("MsgTime"),
		"msgBody", o.Array("MsgBody"),
		"cloudCustomData", o.JSON("CloudCustomData"),
	)), o.EventTime()
}
