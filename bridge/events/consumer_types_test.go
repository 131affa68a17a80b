package events_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/events"
)

// A consumer reading with this package's types loses nothing imbridge publishes: every
// route's documented sample, with a member no route reads and (for groups) a topic
// and a type, decodes into its type, and that value written as JSON again has every
// member of the record, with the same value (extra and entryExtra included).
func TestConsumerTypesKeepEveryMember(t *testing.T) {
	for _, route := range bridge.DefaultRoutes {
		t.Run(route.Name, func(t *testing.T) {
			sample, err := bridge.Sample(route)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			if err := json.Unmarshal(sample, &body); err != nil {
				t.Fatal(err)
			}
			body["ImbridgeProbe"] = []any{"<&>", 1.5}
			if _, ok := body["SdkAppId"]; ok {
				body["SdkAppId"] = 7 // asRecord's
			}
			if route.Topic == bridge.TopicGroup || route.Topic == bridge.TopicGroupMessage {
				if id, _ := body["TopicId"].(string); id == "" && body["TopicIdList"] == nil {
					body["TopicId"] = "@TGS#_g@TOPIC#_t"
				}
				if _, ok := body["Type"]; !ok {
					body["Type"] = "Community"
				}
			}
			for _, list := range []string{"PairList", "NewMemberList", "ExitMemberList", "MemberList", "GroupMsgReceiptList", "SubscribeAccountList", "FollowList", "Events"} {
				entries, _ := body[list].([]any)
				for _, e := range entries {
					if m, ok := e.(map[string]any); ok {
						m["ProbeInEntry"] = "x"
					}
				}
			}
			raw, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			key, value, headers := asRecord(t, route, route.Command, string(raw))
			ev, err := events.Decode(key, value, headers)
			if err != nil {
				t.Fatalf("Decode: %v\n%s", err, value)
			}
			again, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			var published, read map[string]any
			if err := json.Unmarshal(value, &published); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(again, &read); err != nil {
				t.Fatal(err)
			}
			if _, ok := published["extra"]; !ok {
				t.Fatalf("the record has no extra: %s", value)
			}
			for name, v := range published {
				if !reflect.DeepEqual(read[name], v) {
					t.Errorf("%T: %s is %v once decoded; the record has %v", ev, name, read[name], v)
				}
			}
		})
	}
}
