package kafka_test

import (
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
)

var update = flag.Bool("update", false, "rewrite the record fixtures under testdata/records")

// fixtureMessage is a Kafka message byte for byte: what consumers see.
type fixtureMessage struct {
	Topic   string      `json:"topic"`
	Key     string      `json:"key"`
	Headers [][2]string `json:"headers"`
	Value   string      `json:"value"`
}

// goldenRecords maps every golden callback of bridge/testdata/map with the default
// routes and returns its messages as they go to Kafka.
func goldenRecords(t *testing.T, path string) []fixtureMessage {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var in struct {
		Query      string
		ReceivedAt time.Time
		Body       json.RawMessage
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	v, err := url.ParseQuery(in.Query)
	if err != nil {
		t.Fatal(err)
	}
	q, err := bridge.ParseQuery(v)
	if err != nil {
		t.Fatal(err)
	}
	route, ok := bridge.NewRoutes(bridge.DefaultRoutes...).Lookup(q.CallbackCommand)
	if !ok {
		t.Fatalf("no route for %s", q.CallbackCommand)
	}
	events, err := bridge.Map(bridge.Callback{Query: q, AppID: 1400187352, Body: in.Body, ReceivedAt: in.ReceivedAt}, route)
	if err != nil {
		t.Fatal(err)
	}
	var out []fixtureMessage
	for i := range events {
		m := kafka.Message(&events[i])
		fm := fixtureMessage{Topic: m.Topic, Key: string(m.Key), Value: string(m.Value)}
		for _, h := range m.Headers {
			fm.Headers = append(fm.Headers, [2]string{h.Key, string(h.Value)})
		}
		out = append(out, fm)
	}
	return out
}

// The messages of every golden callback are byte-identical to the committed fixtures:
// topic, key, headers in order, value. A change here is a change consumers see.
func TestRecordsMatchFixtures(t *testing.T) {
	inputs, _ := filepath.Glob("../testdata/map/*.input.json")
	if len(inputs) == 0 {
		t.Fatal("no golden callbacks")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input.json")
		t.Run(name, func(t *testing.T) {
			got := goldenRecords(t, in)
			fixture := filepath.Join("testdata", "records", name+".json")
			if *update {
				b, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(fixture, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(fixture)
			if err != nil {
				t.Fatal(err)
			}
			var want []fixtureMessage
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("messages differ from %s (-want +got):\n%s", fixture, d)
			}
		})
	}
}
