package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
	"github.com/imbridge/imbridge/schema"
	"github.com/imbridge/imbridge/schema/schematest"
)

// goldenCallback is one of bridge/testdata/map's documented sample callbacks.
type goldenCallback struct {
	name, command string
	body          string
}

func goldenCallbacks(t *testing.T) []goldenCallback {
	t.Helper()
	files, _ := filepath.Glob("../../bridge/testdata/map/*.input.json")
	if len(files) == 0 {
		t.Fatal("no sample callbacks in bridge/testdata/map")
	}
	var out []goldenCallback
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var in struct {
			Query string
			Body  json.RawMessage
		}
		if err := json.Unmarshal(raw, &in); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		q, err := url.ParseQuery(in.Query)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, goldenCallback{name: strings.TrimSuffix(filepath.Base(f), ".input.json"),
			command: q.Get("CallbackCommand"), body: string(in.Body)})
	}
	return out
}

// wireRecord is a published record as a consumer compares it: receivedAt and version,
// which follow the receiving process's clock, left out of the value.
type wireRecord struct {
	Topic, Key, ID, Type string
	Value                map[string]any
}

func valueWithoutReceivedAt(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("value %s: %v", b, err)
	}
	delete(v, "receivedAt")
	// The version depends on the receiving replica's clock and on what it gave the
	// same subject before (the version rule, held by bridge/httpapi's tests); here it
	// need only be at least the callback's own time.
	version, _ := v["version"].(float64)
	least, _ := v["eventTime"].(float64)
	if least == 0 {
		rt, _ := v["requestTime"].(float64)
		least = rt * 1000
	}
	if version < least {
		t.Fatalf("value %s: version below the callback's time %.0f", b, least)
	}
	delete(v, "version")
	return v
}

func sortRecords(rs []wireRecord) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
}

// TestEveryRouteEndToEnd sends the documented sample callback of every command through
// the binary, signed, and reads every topic back with kcat: each record is the one
// bridge.Map gives for that callback (topic, key, ce_id, ce_type, value), valid against
// its event schema, in both delivery modes. The unrouted topic, when set, receives a
// command without a route; when unset, such a callback publishes nothing.
func TestEveryRouteEndToEnd(t *testing.T) { modes(t, testEveryRouteEndToEnd) }

func testEveryRouteEndToEnd(t *testing.T, mode string) {
	brokers := kafkatest.Brokers(t)
	kafkatest.Kcat(t)
	topics := map[string]string{} // default topic -> this test's
	env := []string{"IMBRIDGE_DELIVERY=" + mode, "IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ",")}
	routes := map[string]bridge.Route{}
	for _, r := range bridge.DefaultRoutes {
		if topics[r.Topic] == "" {
			topics[r.Topic] = kafkatest.CreateTopic(t, brokers, "every-"+strings.ReplaceAll(r.Topic, ".", "-"), 3)
		}
		r.Topic = topics[r.Topic]
		routes[r.Command] = r
		env = append(env, "IMBRIDGE_TOPIC_"+strings.ToUpper(strings.ReplaceAll(r.Name, "-", "_"))+"="+r.Topic)
	}
	unrouted := kafkatest.CreateTopic(t, brokers, "every-unrouted", 1)
	p := startBridge(t, append(env, "IMBRIDGE_TOPIC_UNROUTED="+unrouted)...)

	want := map[string][]wireRecord{} // topic -> records
	covered := map[string]bool{}
	now := time.Now()
	for _, gc := range goldenCallbacks(t) {
		route, ok := routes[gc.command]
		if !ok {
			t.Fatalf("%s: no route for %s", gc.name, gc.command)
		}
		covered[gc.command] = true
		u := p.signedURL(gc.command, e2eToken, now)
		if status, answer := post(t, u, gc.body); status != 200 || answer != okAnswer {
			t.Fatalf("%s: answer %d %s", gc.name, status, answer)
		}
		parsed, _ := url.Parse(u)
		q, err := bridge.ParseQuery(parsed.Query())
		if err != nil {
			t.Fatal(err)
		}
		events, err := bridge.Map(bridge.Callback{Query: q, AppID: 1400187352, Body: []byte(gc.body), ReceivedAt: now}, route)
		if err != nil {
			t.Fatalf("%s: Map: %v", gc.name, err)
		}
		for _, r := range bridge.Records(events) {
			want[r.Topic] = append(want[r.Topic], wireRecord{Topic: r.Topic, Key: string(r.Key), ID: string(r.HeaderValue(bridge.HeaderID)),
				Type: string(r.HeaderValue(bridge.HeaderType)), Value: valueWithoutReceivedAt(t, r.Value)})
		}
	}
	for _, r := range bridge.DefaultRoutes {
		if !covered[r.Command] {
			t.Errorf("no sample callback for %s in bridge/testdata/map", r.Command)
		}
	}
	// A command without a route goes to the unrouted topic, whole.
	future := `{"CallbackCommand":"Future.CallbackAfterSomething","Thing":{"Id":"x"}}`
	if status, answer := post(t, p.signedURL("Future.CallbackAfterSomething", e2eToken, now), future); status != 200 || answer != okAnswer {
		t.Fatalf("unrouted: %d %s", status, answer)
	}

	schemas := map[string]bool{}
	for topic, ws := range want {
		kafkatest.WaitCount(t, brokers, topic, int64(len(ws)), 30*time.Second)
		var got []wireRecord
		for _, m := range kafkatest.KcatConsume(t, brokers, topic) {
			id, _ := m.Header(bridge.HeaderID)
			typ, _ := m.Header(bridge.HeaderType)
			got = append(got, wireRecord{Topic: m.Topic, Key: m.Key, ID: id, Type: typ, Value: valueWithoutReceivedAt(t, []byte(m.Payload))})
			if err := schematest.Validate(schematest.Compile(t, schema.EventSchema(typ)), []byte(m.Payload)); err != nil {
				t.Fatalf("%s record %s does not match %s: %v", typ, m.Payload, schema.EventSchema(typ), err)
			}
			schemas[typ] = true
		}
		sortRecords(ws)
		sortRecords(got)
		if d := cmp.Diff(ws, got); d != "" {
			t.Fatalf("topic %s (-want +got):\n%s", topic, d)
		}
	}
	kafkatest.WaitCount(t, brokers, unrouted, 1, 30*time.Second)
	msgs := kafkatest.KcatConsume(t, brokers, unrouted)
	var v struct{ Body json.RawMessage }
	if len(msgs) != 1 || msgs[0].Key != "Future.CallbackAfterSomething" || json.Unmarshal([]byte(msgs[0].Payload), &v) != nil ||
		string(v.Body) != future {
		t.Fatalf("unrouted topic: %+v", msgs)
	}
	t.Logf("%s mode: %d event types through %d topics, read back with kcat", mode, len(schemas), len(want))

	// Without the unrouted topic, such a callback is answered OK and publishes nothing.
	p2 := startBridge(t, env...)
	if status, answer := post(t, p2.signedURL("Future.CallbackAfterSomething", e2eToken, now), future); status != 200 || answer != okAnswer {
		t.Fatalf("unrouted, off: %d %s", status, answer)
	}
	time.Sleep(500 * time.Millisecond)
	if n := kafkatest.Count(t, brokers, unrouted); n != 1 {
		t.Fatalf("the unrouted topic holds %d records after a callback with the topic unset, want 1", n)
	}
}
