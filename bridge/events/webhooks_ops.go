package events

import "strconv"

// Types of the app-level alarms, on the operations topic, keyed by the SDKAppID in
// decimal (the app as a whole: no group or user is named).
const (
	// TypeGroupQuotaAlarm: the day's net new groups are past 70% of the app's limit.
	TypeGroupQuotaAlarm = "imbridge.ops.group.quota.alarm.v1"
	// TypeAPIRateAlarm: a REST API's call rate reached 80% of its limit.
	TypeAPIRateAlarm = "imbridge.ops.api.rate.alarm.v1"
)

// opsTypes are the event types of bridge's operations routes.
var opsTypes = map[string]func() webhookEvent{
	TypeGroupQuotaAlarm: func() webhookEvent { return &GroupQuotaAlarm{} },
	TypeAPIRateAlarm:    func() webhookEvent { return &APIRateAlarm{} },
}

// appKey is the key of an app-level event: its SDKAppID in decimal.
func appKey(e *Envelope) string { return strconv.FormatUint(e.SDKAppID, 10) }

// GroupQuotaAlarm says the app's net new groups of the day (QuotaUsed: created minus
// dismissed) are past 70% of its daily limit (Quota)
// (Group.CallbackOnDailyGroupQuotaAlarm).
type GroupQuotaAlarm struct {
	Envelope
	QuotaUsed uint64 `json:"quotaUsed"`
	Quota     uint64 `json:"quota"`
}

func (e *GroupQuotaAlarm) key() string { return appKey(&e.Envelope) }

// APIRateAlarm says calls of the REST API v4/ServiceName/Command reached Request per
// second, 80% or more of its Limit (Alert.RequestOverLimit). Chat sends no EventTime:
// Version comes from RequestTime.
type APIRateAlarm struct {
	Envelope
	ServiceName string `json:"serviceName"`
	// Command is the API's command (batchsendmsg), not the callback's (CallbackCommand).
	Command string `json:"command"`
	Request uint64 `json:"request"`
	Limit   uint64 `json:"limit"`
}

func (e *APIRateAlarm) key() string { return appKey(&e.Envelope) }
