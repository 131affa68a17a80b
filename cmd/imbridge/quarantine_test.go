package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// Against the binary and a real broker, read back with kcat: every authenticated
// callback that cannot be mapped is answered OK and kept whole on the quarantine topic
// with its reason (a body that is not JSON, more pairs than IMBRIDGE_MAX_PAIRS,
// commands that differ, a Content-Encoding, records over their topic's
// max.message.bytes, a body of the full body limit), in both delivery modes; a command
// without a route goes to the unrouted topic; a wrong signature is still refused and
// kept nowhere.
func TestQuarantine(t *testing.T) {
	modes(t, func(t *testing.T, mode string) {
		brokers := kafkatest.Brokers(t)
		quarantine := kafkatest.CreateTopicWithLimit(t, brokers, "quarantine", 1, bridge.QuarantineMaxMessageBytes)
		unrouted := kafkatest.CreateTopic(t, brokers, "unrouted", 1)
		blocklist := kafkatest.CreateTopic(t, brokers, "q-blocklist", 1)
		tiny := kafkatest.CreateTopicWithLimit(t, brokers, "q-tiny", 1, 300) // no friend event fits
		p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_DELIVERY="+mode,
			"IMBRIDGE_ROUTES=blocklist-delete,friend-add", "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+blocklist, "IMBRIDGE_TOPIC_FRIEND_ADD="+tiny,
			"IMBRIDGE_TOPIC_QUARANTINE="+quarantine, "IMBRIDGE_TOPIC_UNROUTED="+unrouted, "IMBRIDGE_MAX_PAIRS=5", "IMBRIDGE_LOG_LEVEL=info")
		waitUntil(t, "the topics' limits to be read", 20*time.Second, func() bool {
			return strings.Contains(p.log.String(), "kafka topic limits read")
		})
		del := bridge.CommandBlackListDelete
		pairs := func(n int) string {
			return `{"CallbackCommand":"` + del + `","PairList":[` + strings.TrimSuffix(strings.Repeat(`{"From_Account":"a","To_Account":"b"},`, n), ",") + `]}`
		}
		type sent struct{ command, body, encoding, kind, reason string }
		cases := []sent{
			{del, "PairList=a,b", "", "bad_request", "JSON"},
			{del, pairs(6), "", "too_large", "6"},
			{del, strings.Replace(pairs(1), del, bridge.CommandBlackListAdd, 1), "", "bad_request", "differs"},
			{del, "\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip", "unsupported", "Content-Encoding"},
			{bridge.CommandFriendAdd, friendAddBody("u1", "friend_add"), "", "too_large", "max.message.bytes"},
			{del, strings.Repeat("x", 1<<20), "", "bad_request", "JSON"}, // the whole body limit
		}
		for _, c := range cases {
			req, err := http.NewRequest(http.MethodPost, p.signedURL(c.command, e2eToken, time.Now()), strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if c.encoding != "" {
				req.Header.Set("Content-Encoding", c.encoding)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(answer) != okAnswer {
				t.Fatalf("%.40q: answered %d %s, want OK", c.body, resp.StatusCode, answer)
			}
		}
		if status, answer := post(t, p.signedURL("OfficialAccount.CallbackAfterSendMsg", e2eToken, time.Now()), `{"CallbackCommand":"OfficialAccount.CallbackAfterSendMsg"}`); status != 200 {
			t.Fatalf("unrouted: %d %s", status, answer)
		}
		if status, _ := post(t, strings.Replace(p.signedURL(del, e2eToken, time.Now()), "Sign=", "Sign=0", 1), "PairList=a,b"); status != 401 {
			t.Fatalf("a wrong signature answered %d, want 401", status)
		}

		kafkatest.WaitCount(t, brokers, quarantine, int64(len(cases)), 30*time.Second)
		kept := kafkatest.KcatConsume(t, brokers, quarantine)
		raw := kafkatest.ReadAll(t, brokers, quarantine) // the exact bytes: kcat -J escapes invalid UTF-8
		if len(kept) != len(cases) || len(raw) != len(cases) {
			t.Fatalf("%d records on the quarantine topic (%d read by kafka-go), want %d", len(kept), len(raw), len(cases))
		}
		for i, m := range kept {
			c := cases[i]
			m.Payload = string(raw[i].Value)
			kind, _ := m.Header(bridge.HeaderQuarantineKind)
			reason, _ := m.Header(bridge.HeaderQuarantineReason)
			command, _ := m.Header(bridge.HeaderCallbackCommand)
			typ, _ := m.Header(bridge.HeaderType)
			if m.Payload != c.body || m.Key != c.command || command != c.command || kind != c.kind || typ != bridge.TypeQuarantined ||
				!strings.Contains(reason, c.reason) {
				t.Errorf("record %d: key %q, %d payload bytes (sent %d), kind %q, reason %q", i, m.Key, len(m.Payload), len(c.body), kind, reason)
			}
		}
		if n := kafkatest.Count(t, brokers, blocklist) + kafkatest.Count(t, brokers, tiny); n != 0 {
			t.Fatalf("%d events published for callbacks that were quarantined", n)
		}
		kafkatest.WaitCount(t, brokers, unrouted, 1, 30*time.Second)
		if u := kafkatest.KcatConsume(t, brokers, unrouted); len(u) != 1 || u[0].Key != "OfficialAccount.CallbackAfterSendMsg" {
			t.Fatalf("unrouted topic: %+v", u)
		}
		if !strings.Contains(p.log.String(), `"outcome":"quarantined"`) {
			t.Fatal("no request line with outcome quarantined")
		}
	})
}
