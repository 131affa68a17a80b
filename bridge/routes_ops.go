package bridge

import "math"

// Commands of the app-level alarms: they name no group or user, only the app.
const (
	// CommandGroupQuotaAlarm: a group was created when the day's net new groups were
	// past 70% of the app's daily limit.
	CommandGroupQuotaAlarm = "Group.CallbackOnDailyGroupQuotaAlarm"
	// CommandRequestOverLimit: calls of a REST API reached 80% of its rate limit.
	CommandRequestOverLimit = "Alert.RequestOverLimit"
)

// TopicOps holds the app-level alarms (quota, rate limit), keyed by the SDKAppID.
const TopicOps = "imbridge.ops"

// KeySDKAppID is the Key of a route keyed by the callback's SDKAppID (the query's
// SdkAppid, in decimal) rather than by a field of the body: an alarm about the whole app.
const KeySDKAppID = "the SDKAppID (the query's SdkAppid, in decimal)"

// opsRoutes are the app-level alarm routes: one topic for operations, keyed by the
// SDKAppID, so that one app's alarms are in order in one partition.
var opsRoutes = []Route{
	{Name: "ops-group-quota-alarm", Command: CommandGroupQuotaAlarm, Topic: TopicOps, Type: "imbridge.ops.group.quota.alarm.v1",
		Decode: decodeGroupQuotaAlarm, Key: KeySDKAppID, Events: "one per callback"},
	{Name: "ops-api-rate-alarm", Command: CommandRequestOverLimit, Topic: TopicOps, Type: "imbridge.ops.api.rate.alarm.v1",
		Decode: decodeRequestOverLimit, Key: KeySDKAppID, Events: "one per callback"},
}

// decodeGroupQuotaAlarm reads Group.CallbackOnDailyGroupQuotaAlarm: the net number of
// groups created today (QuotaUsed) and the app's daily limit (Quota), both required.
// Its EventTime is a string in Chat's sample and an integer in its table: both are
// read.
func decodeGroupQuotaAlarm(o Object) ([]Subject, int64) {
	used, quota := o.RequiredUint("QuotaUsed", math.MaxInt64), o.RequiredUint("Quota", math.MaxInt64)
	return one("", Fields("quotaUsed", used, "quota", quota)), o.EventTime()
}

// decodeRequestOverLimit reads Alert.RequestOverLimit: the REST API
// (v4/<ServiceName>/<Command>), its observed rate (Request, per second) and its limit
// (Limit), all required. The body has no EventTime: the event's version comes from the
// request's time.
func decodeRequestOverLimit(o Object) ([]Subject, int64) {
	service, command := o.Required("ServiceName"), o.Required("Command")
	request, limit := o.RequiredUint("Request", math.MaxInt64), o.RequiredUint("Limit", math.MaxInt64)
	return one("", Fields("serviceName", service, "command", command, "request", request, "limit", limit)), o.EventTime()
}
