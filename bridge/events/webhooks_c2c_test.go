package events_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/events"
)

// goldenBody is the body of a route's golden callback, bridge/testdata/map/<name>.input.json,
// compact as Chat sends it (the file indents it).
func goldenBody(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "map", name+".input.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in struct{ Body json.RawMessage }
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, in.Body); err != nil {
		t.Fatal(err)
	}
	return compact.String()
}

func routeNamed(t *testing.T, name string) bridge.Route {
	t.Helper()
	for _, r := range bridge.DefaultRoutes {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no route %s", name)
	return bridge.Route{}
}

func i64(v int64) *int64   { return &v }
func u32(v uint32) *uint32 { return &v }
func u64(v uint64) *uint64 { return &v }

func TestDecodeC2C(t *testing.T) {
	tests := []struct {
		route string
		want  any
		key   string
	}{
		{"c2c-message-sent", &events.C2CMessageSent{FromAccount: "jared", ToAccount: "Jonh", MsgKey: "48374_2837546_1557481126",
			MsgSeq: u32(48374), MsgRandom: u32(2837546), MsgTime: i64(1557481126), OnlineOnlyFlag: i64(1), SendMsgResult: i64(0),
			ErrorInfo: "send msg succeed", UnreadMsgNum: i64(7),
			MsgBody:         json.RawMessage(`[{"MsgType":"TIMTextElem","MsgContent":{"Text":"red packet"}}]`),
			CloudCustomData: json.RawMessage(`"your cloud custom data"`)}, `["Jonh","jared"]`},
		{"c2c-message-recalled", &events.C2CMessageRecalled{FromAccount: "jared", ToAccount: "Jonh", MsgKey: "48374_2837546_1557481126",
			UnreadMsgNum: i64(7)}, `["Jonh","jared"]`},
		{"c2c-conversation-read", &events.C2CConversationRead{ReportAccount: "jared", PeerAccount: "Jonh", LastReadTime: i64(1614754606),
			UnreadMsgNum: i64(7)}, `jared`},
		{"c2c-message-extension-changed", &events.C2CMessageExtensionChanged{FromAccount: "user1", ToAccount: "user2",
			MsgKey: "93847636_1287657_1764688415", OperateType: 1,
			ExtensionList: json.RawMessage(`[{"Key":"k1","Value":"v1","Seq":1},{"Key":"k2","Value":"v2","Seq":1},{"Key":"k3","Value":"v3","Seq":1}]`),
			Seq:           u64(1)}, `["user1","user2"]`},
		{"c2c-message-modified", &events.C2CMessageModified{FromAccount: "jared", ToAccount: "Jonh", MsgKey: "609_690_1769771529",
			OperatorAccount: "jared", MsgSeq: u32(609), MsgRandom: u32(690), MsgTime: i64(1769771529),
			MsgBody:         json.RawMessage(`[{"MsgType":"TIMTextElem","MsgContent":{"Text":"2026-01-30T11:20:26.548Z"}}]`),
			CloudCustomData: json.RawMessage(`"1769772027"`)}, `["Jonh","jared"]`},
		{"bot-c2c-message", &events.BotC2CMessage{FromAccount: "jared", ToAccount: "Jonh", MsgKey: "48374_2837546_1557481126",
			MsgSeq: u32(48374), MsgRandom: u32(2837546), MsgTime: i64(1557481126), OnlineOnlyFlag: i64(1), SendMsgResult: i64(0),
			ErrorInfo:       "send msg succeed",
			MsgBody:         json.RawMessage(`[{"MsgType":"TIMTextElem","MsgContent":{"Text":"red packet"}}]`),
			CloudCustomData: json.RawMessage(`"your cloud custom data"`)}, `["Jonh","jared"]`},
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
			// The envelope is checked by the other Decode tests; here, the route's fields.
			if d := cmp.Diff(tt.want, ev, cmp.FilterPath(func(p cmp.Path) bool {
				return p.Last().String() == ".Envelope"
			}, cmp.Ignore())); d != "" {
				t.Fatalf("decoded (-want +got):\n%s", d)
			}
			if env := envelopeOf(ev); env.CallbackCommand != route.Command || env.SDKAppID != 7 || env.Version == 0 {
				t.Fatalf("envelope %+v", env)
			}
			if _, err := events.Decode([]byte(`["a","b"]`), value, headers); err == nil {
				t.Fatal("a record with another conversation's key decoded")
			}
		})
	}
}

func envelopeOf(ev any) events.Envelope {
	switch e := ev.(type) {
	case *events.C2CMessageSent:
		return e.Envelope
	case *events.C2CMessageRecalled:
		return e.Envelope
	case *events.C2CConversationRead:
		return e.Envelope
	case *events.C2CMessageExtensionChanged:
		return e.Envelope
	case *events.C2CMessageModified:
		return e.Envelope
	case *events.BotC2CMessage:
		return e.Envelope
	}
	return events.Envelope{}
}

// The key a consumer computes is the key imbridge wrote.
func TestConversationKeyAgrees(t *testing.T) {
	for _, p := range [][2]string{{"alice", "bob"}, {"bob", "alice"}, {`x"<&>`, "\u2028"}, {"张三", "Z"}} {
		if got, want := events.ConversationKey(p[0], p[1]), bridge.ConversationKey(p[0], p[1]); got != want {
			t.Errorf("%q: events %s, bridge %s", p, got, want)
		}
	}
}

// Every one-to-one route keys its records as ConversationKey computes from the
// accounts a consumer decodes, in both directions, also for accounts with characters
// JSON escapes (sent escaped or raw), a non-BMP character sent as a surrogate pair and
// a control character; and the key is the one the README specifies, byte for byte.
func TestConversationKeyOfEveryRoute(t *testing.T) {
	const (
		rawA = `"x\"\\<y>\u0026\u2028\u00e9\n\b\f\u0001"` // as the body sends it
		rawB = `"\ud83d\ude00bob"`
		want = `["x\"\\\u003cy\u003e\u0026\u2028é\n\b\f\u0001","😀bob"]`
	)
	for _, route := range bridge.DefaultRoutes {
		if route.Topic != bridge.TopicC2C || route.Command == bridge.CommandC2CAfterMsgReport {
			continue // a conversation read is keyed by the reader
		}
		from, to := "From_Account", "To_Account"
		for _, accounts := range [][2]string{{rawA, rawB}, {rawB, rawA}} {
			var body map[string]json.RawMessage
			if err := json.Unmarshal([]byte(goldenBody(t, route.Name)), &body); err != nil {
				t.Fatal(err)
			}
			body[from], body[to] = json.RawMessage(accounts[0]), json.RawMessage(accounts[1])
			b, _ := json.Marshal(body)
			evs, err := bridge.Map(bridge.Callback{Query: bridge.Query{CallbackCommand: route.Command}, AppID: 1400187352, Body: b}, route)
			if err != nil {
				t.Fatalf("route %s: %v", route.Name, err)
			}
			key, value, headers := record(t, evs[0])
			ev, err := events.Decode(key, value, headers)
			if err != nil {
				t.Fatalf("route %s: %v", route.Name, err)
			}
			var got struct{ A, B string }
			fields := map[string]*string{"fromAccount": &got.A, "toAccount": &got.B, "reportAccount": &got.A, "peerAccount": &got.B}
			var payload map[string]any
			_ = json.Unmarshal(value, &payload)
			for f, p := range fields {
				if s, ok := payload[f].(string); ok {
					*p = s
				}
			}
			if computed := events.ConversationKey(got.A, got.B); string(key) != computed || string(key) != want {
				t.Errorf("route %s (%T): key %s; ConversationKey(%q, %q) = %s; specified %s", route.Name, ev, key, got.A, got.B, computed, want)
			}
		}
	}
}
