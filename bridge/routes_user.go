package bridge

import (
	"encoding/json"
	"math"
)

// Commands of the user and account webhooks.
const (
	// CommandStateChange: a user logged in or out, was disconnected, or set a custom
	// status.
	CommandStateChange = "State.StateChange"
	// CommandPortraitSet: a user's profile fields were updated.
	CommandPortraitSet = "Profile.CallbackPortraitSet"
	// CommandOfficialAccountInfoChanged: an official account's profile changed.
	CommandOfficialAccountInfoChanged = "OfficialAccount.CallbackAfterOfficialAccountInfoChanged"
	// CommandBotOnGroupMessage: chatbots were @-mentioned in a group message.
	CommandBotOnGroupMessage = "Bot.OnGroupMessage"
)

// userRoutes are the routes of users and accounts: State.StateChange and Profile.CallbackPortraitSet keyed by the user, OfficialAccount.* by the official account, Bot.* by GroupId.
var userRoutes = []Route{
	{Name: "state-changed", Command: CommandStateChange, Topic: TopicState, Type: "imbridge.state.changed.v1",
		Decode: decodeStateChange, Key: "Info.To_Account", Events: "one per callback"},
	{Name: "profile-updated", Command: CommandPortraitSet, Topic: TopicProfile, Type: "imbridge.profile.updated.v1",
		Decode: decodePortraitSet, Key: "From_Account", Events: "one per callback"},
	{Name: "official-info-changed", Command: CommandOfficialAccountInfoChanged, Topic: TopicOfficialAccount, Type: "imbridge.official.info.changed.v1",
		Decode: decodeOfficialAccountInfoChanged, Key: "Official_Account", Events: "one per callback"},
	// A bot mention is a group message: it joins the group's messages on the group
	// message topic, with every bot mentioned in one event.
	{Name: "bot-group-message", Command: CommandBotOnGroupMessage, Topic: TopicGroupMessage, Type: "imbridge.bot.group.message.v1",
		Decode: decodeBotOnGroupMessage, Key: "GroupId", Events: "one per callback"},
}

// decodeStateChange reads State.StateChange: whose state changed (Info.To_Account),
// how (Info.Action, required) and why, and the devices kicked off (as sent).
func decodeStateChange(o Object) ([]Subject, int64) {
	info := o.Object("Info", true)
	user, action := info.RequiredAccount("To_Account"), info.Required("Action")
	return one(user, Fields(
		"toAccount", user,
		"action", action,
		"reason", info.Str("Reason"),
		"kickedDevice", o.Array("KickedDevice"),
		"info", json.RawMessage(info.Bytes()),
	)), o.EventTime()
}

// decodePortraitSet reads Profile.CallbackPortraitSet: whose profile changed and the
// items set (ProfileItem, as sent).
func decodePortraitSet(o Object) ([]Subject, int64) {
	user := o.RequiredAccount("From_Account")
	return one(user, Fields(
		"fromAccount", user,
		"operatorAccount", o.Account("Operator_Account"),
		"profileItem", o.Array("ProfileItem"),
	)), o.EventTime()
}

// decodeOfficialAccountInfoChanged reads
// OfficialAccount.CallbackAfterOfficialAccountInfoChanged. Name, Introduction, FaceUrl
// and Organization are the values after the change; one Chat left out is published
// absent, one set to "" as "".
func decodeOfficialAccountInfoChanged(o Object) ([]Subject, int64) {
	account := o.ID("Official_Account")
	return one(account, Fields(
		"officialAccount", account,
		"operatorAccount", o.Account("Operator_Account"),
		"name", o.Text("Name"),
		"introduction", o.Text("Introduction"),
		"faceUrl", o.Text("FaceUrl"),
		"organization", o.Text("Organization"),
	)), o.EventTime()
}

// decodeBotOnGroupMessage reads Bot.OnGroupMessage: the group message that mentioned
// chatbots, with every bot mentioned (AtRobots_Account) in one event.
func decodeBotOnGroupMessage(o Object) ([]Subject, int64) {
	groupID := o.ID("GroupId")
	topicID, groupType, from, operator := o.SubjectStr("TopicId"), o.Str("Type"), o.Account("From_Account"), o.Account("Operator_Account")
	robots := o.Accounts("AtRobots_Account", "")
	return one(groupID, Fields(
		"groupId", groupID,
		"topicId", topicID,
		"groupType", groupType,
		"fromAccount", from,
		"operatorAccount", operator,
		"atRobotsAccount", orNil(robots),
		"random", o.Uint("Random", math.MaxUint32),
		"msgSeq", o.Uint("MsgSeq", MaxMsgSeq),
		"msgTime", o.Int("MsgTime"),
		"onlineOnlyFlag", o.Int("OnlineOnlyFlag"),
		"msgBody", o.Array("MsgBody"),
		"cloudCustomData", o.JSON("CloudCustomData"),
	)), o.EventTime()
}
