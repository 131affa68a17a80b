package bridge

import (
	"testing"
)

// The app-level alarms are keyed by the callback's SDKAppID in decimal, whatever the
// body says, on the operations topic.
func TestOpsRoutesKeys(t *testing.T) {
	routes := NewRoutes(DefaultRoutes...)
	tests := []struct {
		cmd, body, fields string
	}{
		{CommandGroupQuotaAlarm, `{"CallbackCommand":"Group.CallbackOnDailyGroupQuotaAlarm","QuotaUsed":"7321","Quota":10000,"EventTime":"1670574414123"}`,
			`"quotaUsed":7321,"quota":10000`},
		{CommandRequestOverLimit, `{"CallbackCommand":"Alert.RequestOverLimit","ServiceName":"openim","Command":"batchsendmsg","Request":510,"Limit":"200","SdkAppid":"1"}`,
			`"serviceName":"openim","command":"batchsendmsg","request":510,"limit":200,"extra":{"SdkAppid":"1"}`},
	}
	for _, tt := range tests {
		route, ok := routes.Lookup(tt.cmd)
		if !ok || route.Topic != TopicOps || route.Key != KeySDKAppID {
			t.Fatalf("%s: route %+v", tt.cmd, route)
		}
		for _, app := range []uint64{1400187352, 18446744073709551615} {
			evs, err := Map(Callback{Query: Query{CallbackCommand: tt.cmd}, AppID: app, Body: []byte(tt.body)}, route)
			if err != nil {
				t.Fatalf("%s: %v", tt.body, err)
			}
			if len(evs) != 1 || string(evs[0].Key()) != map[uint64]string{1400187352: "1400187352", 18446744073709551615: "18446744073709551615"}[app] ||
				string(evs[0].Subject.Fields) != tt.fields {
				t.Fatalf("%s, app %d: %d events, key %q, fields %s", tt.cmd, app, len(evs), evs[0].Key(), evs[0].Subject.Fields)
			}
		}
	}
}

func TestOpsRoutesReject(t *testing.T) {
	const (
		quota = `{"CallbackCommand":"Group.CallbackOnDailyGroupQuotaAlarm",`
		rate  = `{"CallbackCommand":"Alert.RequestOverLimit",`
	)
	tests := []struct {
		cmd, give, want string
	}{
		{CommandGroupQuotaAlarm, quota + `"Quota":10000}`, "QuotaUsed is missing"},
		{CommandGroupQuotaAlarm, quota + `"QuotaUsed":7321}`, "Quota is missing"},
		{CommandGroupQuotaAlarm, quota + `"QuotaUsed":-1,"Quota":10000}`, "QuotaUsed must be an integer from 0 to 9223372036854775807"},
		{CommandGroupQuotaAlarm, quota + `"QuotaUsed":1.5,"Quota":10000}`, "QuotaUsed must be an integer from 0 to 9223372036854775807"},
		{CommandGroupQuotaAlarm, quota + `"QuotaUsed":"many","Quota":10000}`, "QuotaUsed must be an integer from 0 to 9223372036854775807"},
		{CommandGroupQuotaAlarm, quota + `"QuotaUsed":1,"Quota":10000,"EventTime":"x"}`, "EventTime must be a non-negative integer of Unix milliseconds, or those digits as a string"},
		{CommandRequestOverLimit, rate + `"Command":"c","Request":1,"Limit":2}`, "ServiceName is missing"},
		{CommandRequestOverLimit, rate + `"ServiceName":"","Command":"c","Request":1,"Limit":2}`, "ServiceName is empty"},
		{CommandRequestOverLimit, rate + `"ServiceName":"s","Command":5,"Request":1,"Limit":2}`, "Command must be a string"},
		{CommandRequestOverLimit, rate + `"ServiceName":"s","Command":"c","Limit":2}`, "Request is missing"},
		{CommandRequestOverLimit, rate + `"ServiceName":"s","Command":"c","Request":1}`, "Limit is missing"},
		{CommandRequestOverLimit, rate + `"ServiceName":"s","Command":"c","Request":1,"Limit":9223372036854775808}`, "Limit must be an integer from 0 to 9223372036854775807"},
	}
	routes := NewRoutes(DefaultRoutes...)
	for _, tt := range tests {
		route, _ := routes.Lookup(tt.cmd)
		_, err := Map(Callback{Query: Query{CallbackCommand: tt.cmd}, AppID: 1, Body: []byte(tt.give)}, route)
		if ErrorKind(err) != KindBadRequest || err.Error() != tt.want {
			t.Errorf("%s: %v, want bad_request %q", tt.give, err, tt.want)
		}
	}
}
