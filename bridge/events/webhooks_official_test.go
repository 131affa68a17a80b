package events_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/imbridge/imbridge/bridge/events"
)

// The official account and operations routes' first records, from the documented
// samples, decode to their types with the key each type states.
func TestDecodeOfficialAndOps(t *testing.T) {
	sub := func(who string) events.OfficialSubscription {
		return events.OfficialSubscription{OfficialAccount: "@TOA#_test_OA_for_penn", OperatorAccount: "leckie", SubscriberAccount: who}
	}
	tests := []struct {
		route string
		want  any
		key   string
	}{
		{"official-created", &events.OfficialCreated{OfficialAccount: "@TOA#_test_OA_for_penn", OperatorAccount: "107867",
			OwnerAccount: "107867", Name: sp("TestOfficialAccount")}, "@TOA#_test_OA_for_penn"},
		{"official-destroyed", &events.OfficialDestroyed{OfficialAccount: "@TOA#_test_OA_for_penn", OwnerAccount: "107867",
			Name: sp("TestOfficialAccount")}, "@TOA#_test_OA_for_penn"},
		{"official-subscriber-added", &events.OfficialSubscriberAdded{OfficialSubscription: events.OfficialSubscription{
			OfficialAccount: "@TOA#_test_for_penn", OperatorAccount: "107867", SubscriberAccount: "jared"}}, "@TOA#_test_for_penn"},
		{"official-subscriber-removed", &events.OfficialSubscriberRemoved{OfficialSubscription: sub("jared")}, "@TOA#_test_OA_for_penn"},
		{"official-full", &events.OfficialFull{OfficialAccount: "@TOA#_test_OA_for_penn"}, "@TOA#_test_OA_for_penn"},
		// asRecord maps with SDKAppID 7: the alarms' key.
		{"ops-group-quota-alarm", &events.GroupQuotaAlarm{QuotaUsed: 7321, Quota: 10000}, "7"},
		{"ops-api-rate-alarm", &events.APIRateAlarm{ServiceName: "openim", Command: "batchsendmsg", Request: 510, Limit: 200}, "7"},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			route := routeNamed(t, tt.route)
			key, value, headers := asRecord(t, route, route.Command, goldenBody(t, tt.route))
			if string(key) != tt.key {
				t.Fatalf("key %s, want %s", key, tt.key)
			}
			ev, err := events.Decode(key, value, headers)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, ev, cmpopts.IgnoreFields(events.Envelope{}, "EventID", "SDKAppID", "CallbackCommand", "ReceivedAt", "RequestTime", "EventTime", "Version")); d != "" {
				t.Fatalf("decoded (-want +got):\n%s", d)
			}
			if _, err := events.Decode([]byte("other"), value, headers); err == nil {
				t.Fatal("a record with another key decoded")
			}
		})
	}
}
