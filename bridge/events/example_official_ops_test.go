package events_test

import (
	"fmt"
	"maps"
	"slices"

	"github.com/imbridge/imbridge/bridge/events"
)

// A consumer of imbridge.official keeps each official account's subscribers: one event
// per subscriber added or removed, every event of one account in one partition (key
// Official_Account), ordered across replicas by Newer.
func ExampleDecode_officialSubscribers() {
	subscribers := map[string]map[string]int64{} // account -> subscriber -> version
	records := append(
		published("OfficialAccount.CallbackAfterAddSubscriber", `{"CallbackCommand":"OfficialAccount.CallbackAfterAddSubscriber","Official_Account":"@TOA#_oa","Operator_Account":"107867","SubscribeAccountList":[{"Subscriber_Account":"jared"},{"Subscriber_Account":"leckie"}],"EventTime":1670574414123}`),
		published("OfficialAccount.CallbackAfterDeleteSubscriber", `{"CallbackCommand":"OfficialAccount.CallbackAfterDeleteSubscriber","Official_Account":"@TOA#_oa","Operator_Account":"leckie","SubscribeAccountList":[{"Subscriber_Account":"leckie"}],"EventTime":1670574415000}`)...)
	for _, r := range records {
		ev, err := events.Decode(r[0].([]byte), r[1].([]byte), r[2].([]events.Header))
		if err != nil {
			panic(err)
		}
		switch e := ev.(type) {
		case *events.OfficialSubscriberAdded:
			if subscribers[e.OfficialAccount] == nil {
				subscribers[e.OfficialAccount] = map[string]int64{}
			}
			if events.Newer(e.Version, subscribers[e.OfficialAccount][e.SubscriberAccount]) {
				subscribers[e.OfficialAccount][e.SubscriberAccount] = e.Version
			}
		case *events.OfficialSubscriberRemoved:
			if events.Newer(e.Version, subscribers[e.OfficialAccount][e.SubscriberAccount]) {
				delete(subscribers[e.OfficialAccount], e.SubscriberAccount)
			}
		}
	}
	fmt.Println(slices.Sorted(maps.Keys(subscribers["@TOA#_oa"])))
	// Output: [jared]
}

// A consumer of imbridge.ops alerts on the app-level alarms; the key is the SDKAppID.
func ExampleDecode_opsAlarms() {
	records := append(
		published("Alert.RequestOverLimit", `{"CallbackCommand":"Alert.RequestOverLimit","ServiceName":"openim","Command":"batchsendmsg","Request":510,"Limit":200}`),
		published("Group.CallbackOnDailyGroupQuotaAlarm", `{"CallbackCommand":"Group.CallbackOnDailyGroupQuotaAlarm","QuotaUsed":7321,"Quota":10000,"EventTime":"1670574414123"}`)...)
	for _, r := range records {
		ev, err := events.Decode(r[0].([]byte), r[1].([]byte), r[2].([]events.Header))
		if err != nil {
			panic(err)
		}
		switch e := ev.(type) {
		case *events.APIRateAlarm:
			fmt.Printf("app %s: v4/%s/%s at %d calls/s, limit %d\n", r[0], e.ServiceName, e.Command, e.Request, e.Limit)
		case *events.GroupQuotaAlarm:
			fmt.Printf("app %s: %d of %d new groups today\n", r[0], e.QuotaUsed, e.Quota)
		}
	}
	// Output:
	// app 1400000000: v4/openim/batchsendmsg at 510 calls/s, limit 200
	// app 1400000000: 7321 of 10000 new groups today
}
