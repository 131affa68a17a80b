package kafka_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// A batch of 100 push results (Chat's largest) becomes 100 records in a real broker,
// each keyed by its recipient, and one recipient's records are in the batch's order in
// its partition; the batch sent again, as Chat retries it, carries the same ce_ids.
func TestPushBatchRecordsInOrderPerRecipient(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "push-batch", 3)
	var entries []string
	for i := range 100 {
		entries = append(entries, fmt.Sprintf(`{"CallbackCommand":"Push.AllMemberPush","EventType":1,"TaskId":"task-%02d",`+
			`"EventTime":%d,"To_Account":"u%d","PushPlatform":1,"PushStage":1,"ErrCode":0}`, i, 1557481128+i, i%7))
	}
	body := []byte(`{"Events":[` + strings.Join(entries, ",") + `]}`)
	route, _ := bridge.NewRoutes(bridge.DefaultRoutes...).Lookup(bridge.CommandAllMemberPush)
	route.Topic = topic
	p, err := kafka.New(kafka.Config{Brokers: brokers, Topics: []string{topic}}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, requestTime := range []string{"1669872112", "1669872175"} { // the first delivery, then Chat's retry
		events, err := bridge.Map(bridge.Callback{Query: bridge.Query{CallbackCommand: bridge.CommandAllMemberPush, RequestTime: requestTime},
			AppID: 1400187352, Body: body, ReceivedAt: time.Now()}, route)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Publish(ctx, bridge.Records(events)); err != nil {
			t.Fatal(err)
		}
	}
	msgs := kafkatest.ReadAll(t, brokers, topic)
	if len(msgs) != 200 {
		t.Fatalf("the topic holds %d records, want 100 twice", len(msgs))
	}
	tasks := map[string][]string{} // recipient -> task of each record, in partition order
	ids := map[string]int{}        // ce_id -> records
	for _, m := range msgs {
		var task string
		if _, err := fmt.Sscanf(string(m.Value[strings.Index(string(m.Value), `"taskId":"`)+len(`"taskId":"`):]), "task-%2s", &task); err != nil {
			t.Fatalf("%s: %v", m.Value, err)
		}
		tasks[string(m.Key)] = append(tasks[string(m.Key)], task)
		for _, h := range m.Headers {
			if h.Key == bridge.HeaderID {
				ids[string(h.Value)]++
			}
		}
	}
	for u := range 7 {
		var want []string
		for i := u; i < 100; i += 7 {
			want = append(want, fmt.Sprintf("%02d", i))
		}
		want = append(want, want...) // the retry, after the first delivery
		if got := tasks[fmt.Sprintf("u%d", u)]; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("u%d's records: tasks %v, want %v", u, got, want)
		}
	}
	if len(ids) != 100 {
		t.Fatalf("%d distinct ce_ids in two deliveries of 100 events, want 100", len(ids))
	}
	for id, n := range ids {
		if n != 2 {
			t.Fatalf("ce_id %s on %d records, want 2", id, n)
		}
	}
}
