package bridge

import "encoding/json"

// CommandModerationResult: the cloud moderation service judged a piece of content (a
// message, a profile, a group's or a member's profile, a relationship); by default only
// violations are reported. Its body has no CallbackCommand and no EventTime: the
// command is in the URL only.
const CommandModerationResult = "ContentCallback.ResultNotify"

// TopicModeration holds the moderation verdicts, keyed by the subject their Scene
// names (see decodeModerationResult).
const TopicModeration = "imbridge.moderation"

// Scenes of a moderation verdict, as Chat names what was checked.
const (
	SceneC2C             = "C2C"
	SceneC2CCustom       = "C2CCustom"
	SceneGroup           = "Group"
	SceneGroupCustom     = "GroupCustom"
	SceneGroupInfo       = "GroupInfo"
	SceneGroupMemberInfo = "GroupMemberInfo"
)

// moderationRoutes are the moderation verdict routes: a topic of their own, keyed by
// the conversation, group or user that was checked.
var moderationRoutes = []Route{
	{Name: "moderation-result", Command: CommandModerationResult, Topic: TopicModeration, Type: "imbridge.moderation.result.v1",
		Decode: decodeModerationResult, Key: ModerationKey, Events: "one per callback"},
}

// ModerationKey is the Key of the moderation route: the subject the Scene names.
const ModerationKey = "by Scene: C2C, C2CCustom: the conversation (From_Account and ContactItem.To_Account sorted, as a JSON array); " +
	"Group, GroupCustom: ContactItem.ToGroupId; GroupInfo, GroupMemberInfo: ContactItem.ToGroupId, else From_Account; any other: From_Account"

// decodeModerationResult reads ContentCallback.ResultNotify: what was checked (Scene,
// required) and who produced it (From_Account, required), whom a message was for
// (ContactItem: To_Account, required in a one-to-one scene, or ToGroupId, required in
// a group message scene; also carried whole as sent), the content (ContentType,
// TextContent, FileURL, MsgID) and the verdict (CtxcbResult: 1 blocked, 0 passed, and
// the Ctxcb* details). TextContent (an array in the Chinese table and the sample, a
// string in the English table) and CtxcbKeywords are carried as sent. The body's own
// SdkAppId has been checked against the query's (checkBodyAppID): read, not carried.
func decodeModerationResult(o Object) ([]Subject, int64) {
	scene, from := o.Required("Scene"), o.RequiredAccount("From_Account")
	o.JSON("SdkAppId")
	contact := o.Object("ContactItem", false)
	to, group := contact.account("To_Account", contact.SubjectStr("To_Account")), contact.SubjectStr("ToGroupId")
	key := from
	switch scene {
	case SceneC2C, SceneC2CCustom:
		if to == "" {
			missing(contact, "To_Account", contact.v.Get("To_Account"))
		}
		key = ConversationKey(from, to)
	case SceneGroup, SceneGroupCustom:
		if group == "" {
			missing(contact, "ToGroupId", contact.v.Get("ToGroupId"))
		}
		key = group
	case SceneGroupInfo, SceneGroupMemberInfo:
		if group != "" {
			key = group
		}
	}
	return one(key, Fields(
		"scene", scene,
		"fromAccount", from,
		"contactType", contact.Int("ContactType"),
		"toAccount", to,
		"toGroupId", group,
		"contentType", o.Str("ContentType"),
		"textContent", o.JSON("TextContent"),
		"fileUrl", o.Str("FileURL"),
		"msgId", o.Str("MsgID"),
		"ctxcbResult", o.Int("CtxcbResult"),
		"ctxcbRequestId", o.Str("CtxcbRequestId"),
		"ctxcbKeywords", o.JSON("CtxcbKeywords"),
		"ctxcbSuggestion", o.Str("CtxcbSuggestion"),
		"ctxcbLabel", o.Str("CtxcbLabel"),
		"ctxcbSubLabel", o.Str("CtxcbSubLabel"),
		"ctxcbSubLabelDesc", o.Str("CtxcbSubLabelDesc"),
		"ctxcbLibName", o.Str("CtxcbLibName"),
		"cloudCustomData", o.JSON("CloudCustomData"),
		"contactItem", json.RawMessage(contact.Bytes()),
	)), o.EventTime()
}
