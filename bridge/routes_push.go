package bridge

import "math"

// Commands of the push results: the Push plugin's reports of what became of each push
// to each recipient, in batches of 1 to 100 Events with no top-level CallbackCommand
// (each event names its command). Chat retries a batch after a delay when the app is
// over its callback rate, so an event may arrive more than once: its ID is derived from
// the push and the recipient (IdentityEventID), the same in every request.
const (
	// CommandAllMemberPush: results of pushes to all users, to tags or to single
	// users made with the push REST APIs.
	CommandAllMemberPush = "Push.AllMemberPush"
	// CommandOfflinePush: results of the offline pushes of ordinary one-to-one and
	// group messages.
	CommandOfflinePush = "Push.OfflinePush"
)

// TopicPush holds the push results, keyed by the recipient (To_Account).
const TopicPush = "imbridge.push"

// MaxPushEventSeconds bounds a push event's EventTime, in Unix seconds:
// 9999-12-31T23:59:59Z, so that it stays an int64 in milliseconds.
const MaxPushEventSeconds = 253402300799

// pushRoutes are the push result routes: one topic, keyed by the recipient, so that
// one user's push history is in order in one partition.
var pushRoutes = []Route{
	{Name: "push-all-member", Command: CommandAllMemberPush, Topic: TopicPush, Type: "imbridge.push.all.member.v1",
		Decode: decodeAllMemberPush, Key: "Events[].To_Account", Events: "one per Events entry"},
	{Name: "push-offline", Command: CommandOfflinePush, Topic: TopicPush, Type: "imbridge.push.offline.v1",
		Decode: decodeOfflinePush, Key: "Events[].To_Account", Events: "one per Events entry"},
}

// decodeAllMemberPush reads Push.AllMemberPush: one subject per Events entry, keyed by
// its recipient (To_Account, required), naming its push task (TaskId, required). The
// event's ID is derived from everything the entry reports (pushIdentity), all of which
// a retried batch repeats, and not from the request.
func decodeAllMemberPush(o Object) ([]Subject, int64) {
	var subjects []Subject
	twins := map[string]int{}
	for _, e := range o.Elements("Events", true) {
		entry := e.Object()
		pushEntryCommand(entry, CommandAllMemberPush)
		taskID, to := entry.ID("TaskId"), entry.RequiredAccount("To_Account")
		eventType, platform, stage, at := entry.Int("EventType"), entry.Int("PushPlatform"), entry.Int("PushStage"), pushEventTime(entry)
		taskTime, errCode, errInfo := entry.Int("TaskTime"), entry.Int("ErrCode"), entry.Str("ErrInfo")
		extra := entry.Extra()
		subjects = append(subjects, Subject{Key: to, EventTime: at,
			Identity: pushIdentity(twins, taskID, to, eventType, platform, stage, at, taskTime, errCode, errInfo, string(extra)),
			Fields: Fields("toAccount", to, "taskId", taskID, "eventType", eventType,
				"taskTime", taskTime, "pushPlatform", platform, "pushStage", stage,
				"errCode", errCode, "errInfo", errInfo, "entryExtra", extra)})
	}
	return subjects, o.EventTime()
}

// decodeOfflinePush reads Push.OfflinePush: one subject per Events entry, keyed by its
// recipient (To_Account, required), naming the message pushed (MsgKey for a one-to-one
// message, GroupID (so spelled) and MsgSeq for a group's) and the push (PushID). An
// entry must name its push or its message. The event's ID is derived from everything
// the entry reports (pushIdentity).
func decodeOfflinePush(o Object) ([]Subject, int64) {
	var subjects []Subject
	twins := map[string]int{}
	for _, e := range o.Elements("Events", true) {
		entry := e.Object()
		pushEntryCommand(entry, CommandOfflinePush)
		from, to := entry.Account("From_Account"), entry.RequiredAccount("To_Account")
		pushID, msgKey, groupID := entry.Str("PushID"), entry.Str("MsgKey"), entry.Str("GroupID")
		if pushID == "" && msgKey == "" && groupID == "" {
			entry.Fail("PushID", "is missing, and so are MsgKey and GroupID: the entry names no push")
		}
		msgSeq := entry.Uint("MsgSeq", math.MaxUint64)
		eventType, platform, stage, at := entry.Int("EventType"), entry.Int("PushPlatform"), entry.Int("PushStage"), pushEventTime(entry)
		msgRandom, msgTime := entry.Uint("MsgRandom", math.MaxUint32), entry.Int("MsgTime")
		errCode, errInfo := entry.Int("ErrCode"), entry.Str("ErrInfo")
		extra := entry.Extra()
		subjects = append(subjects, Subject{Key: to, EventTime: at,
			Identity: pushIdentity(twins, pushID, msgKey, groupID, msgSeq, from, to, eventType, platform, stage, at,
				msgRandom, msgTime, errCode, errInfo, string(extra)),
			Fields: Fields("fromAccount", from, "toAccount", to, "eventType", eventType,
				"pushPlatform", platform, "pushStage", stage, "msgKey", msgKey, "groupId", groupID, "msgSeq", msgSeq,
				"msgRandom", msgRandom, "msgTime", msgTime, "pushId", pushID,
				"errCode", errCode, "errInfo", errInfo, "entryExtra", extra)})
	}
	return subjects, o.EventTime()
}

// pushIdentity is the Identity of a push entry: every member it reports (parts, its
// members nobody reads as sent among them), so that two entries that differ in
// anything (a second device's failure beside a success) get different IDs, and the
// same batch retried gets the same ones. Twins, entries identical in every member,
// are told apart by their order among themselves (twins counts them), which a retry
// repeats too.
func pushIdentity(twins map[string]int, parts ...any) string {
	id := Identity(parts...)
	n := twins[id]
	twins[id]++
	if n > 0 {
		id = Identity(id, int64(n))
	}
	return id
}

// pushEntryCommand reads an Events entry's CallbackCommand, which Chat always sends and
// which must be the batch's (the query's): a batch whose entries name another command
// would be read with another command's fields.
func pushEntryCommand(entry Object, command string) {
	if c := entry.Required("CallbackCommand"); c != "" && c != command {
		entry.Fail("CallbackCommand", "is %q, not %s", truncate(c, 64), command)
	}
}

// pushEventTime reads an Events entry's EventTime, Unix seconds (not milliseconds as
// elsewhere), as Unix milliseconds; 0 when absent or 0 (then kept in entryExtra).
func pushEventTime(entry Object) int64 {
	s, ok := entry.Uint("EventTime", MaxPushEventSeconds).(uint64)
	if ok && s == 0 {
		entry.keep("EventTime") // no time: in entryExtra as sent
	}
	return int64(s) * 1000
}
