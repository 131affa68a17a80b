package bridge

import "strings"

// Switch says how a routed callback is switched on in Chat, as Chat's documentation
// names it. The README's console table is generated from Switches.
type Switch struct {
	// English is the callback's name in the English documentation: the command list
	// (product 1047, page 34355) or the callback's own page. Empty: none of the copies
	// of the documentation read gives one.
	English string
	// Chinese is the name in the Chinese documentation (the Chinese console's), when
	// a copy read gives one. Empty: none does.
	Chinese string
	// Page is the callback's documentation page.
	Page string
	// Where says how it is switched on when it is not a switch in the Chat console's
	// callback configuration (empty: it is one).
	Where string
}

// Documentation pages of Chat (product 1047), of Chat on cloud.tencent.com (269), and of
// the Call product (647).
const (
	chatDoc = "https://www.tencentcloud.com/document/product/1047/"
	chatZH  = "https://cloud.tencent.com/document/product/269/"
	callDoc = "https://www.tencentcloud.com/document/product/647/"
)

// Switches holds, for every command of DefaultRoutes, how Chat's documentation names
// its switch; a test holds the two together.
var Switches = map[string]Switch{
	CommandBlackListDelete: {English: "After a User Is Removed from Blocklist", Page: chatDoc + "34362"},
	CommandBlackListAdd:    {English: "After a User Is Added to Blocklist", Page: chatDoc + "34361"},
	CommandFriendAdd:       {English: "After a Friend Is Added", Page: chatDoc + "34359"},
	CommandFriendDelete:    {English: "After a Friend Is Deleted", Page: chatDoc + "34360"},
	"Follow.CallbackAfterFollowAdd": {English: "After a User Is Followed", Chinese: "关注之后回调", Page: chatDoc + "70355",
		Where: "Chat's console, with the following feature (a premium edition)"},
	"Follow.CallbackAfterFollowDelete": {English: "After a User Is Unfollowed", Chinese: "取关之后回调", Page: chatDoc + "70356",
		Where: "Chat's console, with the following feature (a premium edition)"},
	"C2C.CallbackAfterSendMsg":         {English: "After a One-to-One Message Is Sent", Page: chatDoc + "34365"},
	"C2C.CallbackAfterMsgWithDraw":     {English: "After A One-to-One Message Is Recalled", Page: chatDoc + "43466"},
	"C2C.CallbackAfterMsgReport":       {English: "After a One-to-One message Is Marked as Read", Page: chatDoc + "43465"},
	"C2C.CallbackAfterC2CMsgExtension": {English: "After a One-to-One Message Extension Is Configured", Page: chatDoc + "76006"},
	"C2C.CallbackAfterModifyMsg":       {Chinese: "单聊消息编辑之后回调", Page: chatZH + "128224"},
	"Bot.OnC2CMessage": {English: "Callback After Sending a One-to-One Message to a Chatbot", Chinese: "单聊机器人消息回调",
		Page: chatDoc + "68952"},
	"Group.CallbackAfterCreateGroup":        {English: "After a Group Is Created", Page: chatDoc + "34369"},
	"Group.CallbackAfterNewMemberJoin":      {English: "After a User Joins a Group", Page: chatDoc + "34372"},
	"Group.CallbackAfterMemberExit":         {English: "After a User Leaves a Group", Page: chatDoc + "34373"},
	"Group.CallbackAfterSendMsg":            {English: "After a Group Message Is Sent", Page: chatDoc + "34375"},
	"Group.CallbackAfterGroupDestroyed":     {English: "After a Group Is Disbanded", Page: chatDoc + "34377"},
	"Group.CallbackAfterGroupInfoChanged":   {English: "After Group Profile Is Modified", Page: chatDoc + "34378"},
	"Group.CallbackAfterRecallMsg":          {English: "Callback After Recalling Group Messages", Page: chatDoc + "46979"},
	"Group.CallbackAfterGroupFull":          {English: "After a Group Is Full", Page: chatDoc + "34376"},
	"Group.CallbackAfterMemberFieldChanged": {English: "Callback After Group Member Profile Changed", Page: chatDoc + "60393"},
	"Group.CallbackAfterModifyMsg":          {Chinese: "群内消息编辑后回调", Page: chatZH + "129193"},
	"Group.CallbackAfterCreateTopic":        {English: "After a Topic Is Created", Page: chatDoc + "49464"},
	"Group.CallbackAfterTopicDestroyed":     {English: "After a Topic Is Deleted", Page: chatDoc + "49465"},
	"Group.CallbackAfterTopicInfoChanged":   {English: "Topic Profile Change Webhook", Page: chatDoc + "49466"},
	"Group.CallbackAfterReadReceipt":        {English: "Callback After Read Receipt", Page: chatDoc + "60395"},
	"Group.CallbackAfterGroupAttrChanged":   {English: "Callback After Group Attribute Changed", Page: chatDoc + "60394"},
	"Group.CallbackAfterChangeGroupOwner":   {English: "Callback After the Group Owner Changed", Page: chatDoc + "60396"},
	"Group.CallbackOnMemberStateChange": {English: "Webhook for Online and Offline Status of Audio-Video Group Members",
		Page: chatDoc + "48734"},
	"Group.CallbackSendMsgException":       {English: "Webhook for Exceptions When Group Messages Are Sent", Page: chatDoc + "49462"},
	"Group.CallbackAfterGroupMsgExtension": {English: "After a Group Message Extension Is Configured", Page: chatDoc + "76007"},
	"State.StateChange":                    {English: "Webhook for status change", Page: chatDoc + "34357"},
	"Profile.CallbackPortraitSet":          {English: "After a Profile Is Updated", Page: chatDoc + "48733"},
	"OfficialAccount.CallbackAfterOfficialAccountInfoChanged": {English: "After Official Account Profile Is Modified", Page: chatDoc + "60797",
		Where: "Chat's console; on cloud.tencent.com, a support ticket"},
	"Bot.OnGroupMessage": {English: "Callback After Reminding a Chatbot in a Group", Page: chatDoc + "68953",
		Where: "Chat's console, with its chatbot event callback on"},
	"OfficialAccount.CallbackAfterCreateOfficialAccount": {Chinese: "创建公众号之后回调", Page: chatDoc + "60796",
		Where: "Chat's console; on cloud.tencent.com, a support ticket"},
	"OfficialAccount.CallbackAfterOfficialAccountDestroyed": {English: "After Official Account Is Destroyed", Chinese: "销毁公众号之后回调",
		Page: chatDoc + "60798", Where: "Chat's console; on cloud.tencent.com, a support ticket"},
	"OfficialAccount.CallbackAfterAddSubscriber": {English: "After Official Account Is Subscribed", Chinese: "订阅公众号之后回调",
		Page: chatDoc + "60800", Where: "Chat's console; on cloud.tencent.com, a support ticket"},
	"OfficialAccount.CallbackAfterDeleteSubscriber": {Chinese: "删除订阅者之后回调", Page: "https://trtc.io/zh/document/60802",
		Where: "Chat's console; on cloud.tencent.com, a support ticket"},
	"OfficialAccount.CallbackAfterOfficialAccountFull": {English: "After a Official Account Is Full", Chinese: "公众号可订阅的人数已满之后回调",
		Page: chatDoc + "60801", Where: "Chat's console; on cloud.tencent.com, a support ticket"},
	"Group.CallbackOnDailyGroupQuotaAlarm": {English: "Group Creation Daily Net Increase Threshold Alarm Callback",
		Chinese: "群组日净增上限阈值告警回调", Page: chatDoc + "57455"},
	"Alert.RequestOverLimit": {English: "API Overclocking Alarm Callbacks", Chinese: "接口超频告警回调", Page: chatDoc + "60256",
		Where: "no switch: on once a callback URL is set"},
	"Call.CallbackAfterStartCall": {English: "Callback after Call Initiation", Page: callDoc + "68941",
		Where: "the Call product's REST API (set callback configuration), not Chat's console"},
	"Call.CallbackAfterEndCall": {English: "Callback after Call Ends", Page: callDoc + "68940",
		Where: "the Call product's REST API (set callback configuration), not Chat's console"},
	"Call.CallbackAfterMemberChanged": {English: "Callback after Member Changed", Page: callDoc + "69215",
		Where: "the Call product's REST API (set callback configuration), not Chat's console"},
	"Push.AllMemberPush": {English: "All Users / Tags / UserID Push Callback", Page: chatDoc + "67551",
		Where: "the Push plugin's callback settings in Chat's console (push service enabled)"},
	"Push.OfflinePush": {English: "Other Push Callbacks", Chinese: "IM 消息推送回调", Page: chatDoc + "67552",
		Where: "the Push plugin's callback settings in Chat's console (push service enabled)"},
	"ContentCallback.ResultNotify": {Chinese: "云端审核结果回调", Page: chatZH + "95616",
		Where: "cloud moderation's settings in Chat's console (return moderation results; allow-listed apps only)"},
}

// BeforeCallback reports whether command names one of Chat's before-callbacks
// ("Before" in its name, such as C2C.CallbackBeforeSendMsg, or Sns.CallbackPrev...):
// Chat waits for their answer and reads OK as "allow", so they do not belong on
// imbridge's URL. imbridge routes none of them.
func BeforeCallback(command string) bool {
	_, name, _ := strings.Cut(command, ".")
	return strings.Contains(name, "Before") || strings.HasPrefix(name, "CallbackPrev")
}
