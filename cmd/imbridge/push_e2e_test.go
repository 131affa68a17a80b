package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// Through the binary, in both delivery modes: a push results batch of 100 entries is
// answered OK and becomes 100 records, keyed by recipient, in the batch's order per
// recipient; Chat's retry of the batch a second later (another RequestTime and Sign)
// is published again with the same ce_ids, so a consumer drops it as a redelivery.
func TestPushBatchEndToEnd(t *testing.T) { modes(t, testPushBatchEndToEnd) }

func testPushBatchEndToEnd(t *testing.T, mode string) {
	brokers := kafkatest.Brokers(t)
	kafkatest.Kcat(t)
	topic := kafkatest.CreateTopic(t, brokers, "push-e2e", 3)
	p := startBridge(t, "IMBRIDGE_DELIVERY="+mode, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","),
		"IMBRIDGE_TOPIC_PUSH_ALL_MEMBER="+topic)
	var entries []string
	for i := range 100 {
		entries = append(entries, fmt.Sprintf(`{"CallbackCommand":"Push.AllMemberPush","EventType":1,"TaskId":"task-%02d",`+
			`"TaskTime":1557481127,"EventTime":%d,"To_Account":"u%d","PushPlatform":1,"PushStage":1,"ErrCode":0,"ErrInfo":"OK"}`, i, 1557481128+i, i%7))
	}
	body := `{"Events":[` + strings.Join(entries, ",") + `]}`
	now := time.Now()
	for _, at := range []time.Time{now, now.Add(time.Second)} {
		if status, answer := post(t, p.signedURL(bridge.CommandAllMemberPush, e2eToken, at), body); status != 200 || answer != okAnswer {
			t.Fatalf("answer %d %s", status, answer)
		}
	}
	kafkatest.WaitCount(t, brokers, topic, 200, 30*time.Second)
	msgs := kafkatest.KcatConsume(t, brokers, topic)
	if len(msgs) != 200 {
		t.Fatalf("%d records, want 100 twice", len(msgs))
	}
	tasks := map[string][]string{} // recipient -> tasks in partition order
	ids := map[string]int{}
	for _, m := range msgs {
		i := strings.Index(m.Payload, `"taskId":"task-`)
		if i < 0 {
			t.Fatalf("record without a task: %s", m.Payload)
		}
		tasks[m.Key] = append(tasks[m.Key], m.Payload[i+len(`"taskId":"task-`):i+len(`"taskId":"task-`)+2])
		id, _ := m.Header(bridge.HeaderID)
		ids[id]++
	}
	for u := range 7 {
		var want []string
		for i := u; i < 100; i += 7 {
			want = append(want, fmt.Sprintf("%02d", i))
		}
		want = append(want, want...)
		if got := tasks[fmt.Sprintf("u%d", u)]; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("u%d: tasks %v, want %v", u, got, want)
		}
	}
	if len(ids) != 100 {
		t.Fatalf("%d distinct ce_ids over the batch and its retry, want 100", len(ids))
	}
	for id, n := range ids {
		if n != 2 {
			t.Fatalf("ce_id %q on %d records, want 2", id, n)
		}
	}
}
