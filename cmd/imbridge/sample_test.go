package main

import (
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// sampleRecord is what a sample's record is compared by: its eventId depends on the
// RequestTime imbridge sample signs with.
type sampleRecord struct{ Topic, Key, Type string }

// imbridge sample --post, run as a user would against a running imbridge, sends the
// documented sample of every route signed with the SDKAppID and token of the
// environment (an SDKAppID other than the samples' own: a body's SdkAppId, which
// ContentCallback.ResultNotify's carries, is set to it); every one is answered 200 OK
// and its events arrive on the route's topic, with the keys and types bridge.Map gives
// the same body.
func TestSamplePostEveryRoute(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topics := map[string]string{} // default topic -> this test's
	env := []string{"IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ",")}
	for _, r := range bridge.DefaultRoutes {
		if topics[r.Topic] == "" {
			topics[r.Topic] = kafkatest.CreateTopic(t, brokers, "sample-"+strings.ReplaceAll(r.Topic, ".", "-"), 3)
		}
		env = append(env, "IMBRIDGE_TOPIC_"+strings.ToUpper(strings.ReplaceAll(r.Name, "-", "_"))+"="+topics[r.Topic])
	}
	const appID = "1400000001"
	p := startBridge(t, append(env, "IMBRIDGE_SDKAPPID="+appID)...)
	want := map[string][]sampleRecord{}
	for _, r := range bridge.DefaultRoutes {
		cmd := exec.Command(binary(t), "sample", "--post", p.callbackURL, r.Command)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "IMBRIDGE_SDKAPPID=" + appID, "IMBRIDGE_CALLBACK_TOKEN=" + e2eToken}
		out, err := cmd.Output()
		if got := strings.TrimSpace(string(out)); err != nil || got != "200 "+okAnswer {
			t.Fatalf("imbridge sample --post %s: %v: %q, want %q", r.Command, err, got, "200 "+okAnswer)
		}
		body, err := bridge.Sample(r)
		if err != nil {
			t.Fatal(err)
		}
		q := bridge.Query{SDKAppID: appID, CallbackCommand: r.Command, RequestTime: "1669872112"}
		route := r
		route.Topic = topics[r.Topic]
		events, err := bridge.Map(bridge.Callback{Query: q, AppID: 1400000001, Body: withAppID(body, appID), ReceivedAt: time.Now()}, route)
		if err != nil {
			t.Fatalf("%s: Map: %v", r.Command, err)
		}
		for _, rec := range bridge.Records(events) {
			want[rec.Topic] = append(want[rec.Topic], sampleRecord{rec.Topic, string(rec.Key), string(rec.HeaderValue(bridge.HeaderType))})
		}
	}
	total := 0
	for topic, ws := range want {
		kafkatest.WaitCount(t, brokers, topic, int64(len(ws)), 30*time.Second)
		var got []sampleRecord
		for _, m := range kafkatest.KcatConsume(t, brokers, topic) {
			typ, _ := m.Header(bridge.HeaderType)
			got = append(got, sampleRecord{m.Topic, m.Key, typ})
		}
		less := func(s []sampleRecord) func(i, j int) bool {
			return func(i, j int) bool { return s[i].Key+s[i].Type < s[j].Key+s[j].Type }
		}
		sort.SliceStable(ws, less(ws))
		sort.SliceStable(got, less(got))
		if d := cmp.Diff(ws, got); d != "" {
			t.Fatalf("topic %s (-want +got):\n%s", topic, d)
		}
		total += len(got)
	}
	t.Logf("%d routes' samples posted with imbridge sample --post, %d records on %d topics", len(bridge.DefaultRoutes), total, len(want))
}

// imbridge sample answers a bad command line with what to do, exit status 2, and
// prints a sample by command or by route name.
func TestSampleCommandLine(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	tests := []struct {
		name       string
		args       []string
		env        func(string) (string, bool)
		wantStatus int
		wantErr    string
		wantOut    string
	}{
		{"by route name", []string{"group-full"}, env(), 0, "", "{\n  \"CallbackCommand\": \"Group.CallbackAfterGroupFull\",\n  \"GroupId\": \"@TGS#2J4SZEAEL\",\n  \"EventTime\": \"1670574414123\"\n}\n"},
		{"no command", nil, env(), 2, "imbridge sample: one COMMAND is required (imbridge sample --list lists them)", ""},
		{"unknown command", []string{"C2C.CallbackBeforeSendMsg"}, env(), 2,
			`imbridge sample: "C2C.CallbackBeforeSendMsg" is neither a routed command nor a route name (imbridge sample --list lists them)`, ""},
		{"two commands", []string{"group-full", "group-created"}, env(), 2, "imbridge sample: one COMMAND is required", ""},
		{"no SDKAppID", []string{"--post", "http://127.0.0.1:1/callback", "group-full"}, env("IMBRIDGE_CALLBACK_TOKEN", "t"), 2,
			`imbridge sample: --post needs the SDKAppID: --sdkappid or IMBRIDGE_SDKAPPID (a number), not ""`, ""},
		{"no token", []string{"group-full", "--post", "http://127.0.0.1:1/callback"}, env("IMBRIDGE_SDKAPPID", "1400000000"), 2,
			"imbridge sample: --post needs the callback token: IMBRIDGE_CALLBACK_TOKEN, IMBRIDGE_CALLBACK_TOKEN_FILE or --token", ""},
		{"not a URL", []string{"--post", "127.0.0.1:8080", "group-full"}, env("IMBRIDGE_SDKAPPID", "1400000000", "IMBRIDGE_CALLBACK_TOKEN", "t"), 2,
			`imbridge sample: --post "127.0.0.1:8080": expected an http or https URL, such as http://127.0.0.1:8080/callback`, ""},
		{"nothing listening", []string{"--post", "http://127.0.0.1:1/callback", "group-full"}, env("IMBRIDGE_SDKAPPID", "1400000000", "IMBRIDGE_CALLBACK_TOKEN", "t"), 1,
			"imbridge sample: POST http://127.0.0.1:1/callback: ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			status := run(append([]string{"sample"}, tt.args...), tt.env, &out, &errOut)
			if status != tt.wantStatus || out.String() != tt.wantOut || !strings.HasPrefix(errOut.String(), tt.wantErr) {
				t.Errorf("status %d, stdout %q, stderr %q; want %d, %q, stderr starting %q", status, out.String(), errOut.String(), tt.wantStatus, tt.wantOut, tt.wantErr)
			}
			if tt.wantErr == "" && errOut.Len() > 0 {
				t.Errorf("stderr %q, want none", errOut.String())
			}
		})
	}
	var out strings.Builder
	if status := run([]string{"sample", "--list"}, env(), &out, &out); status != 0 || strings.Count(out.String(), "\n") != len(bridge.DefaultRoutes) {
		t.Errorf("--list: status %d, %d lines for %d routes", status, strings.Count(out.String(), "\n"), len(bridge.DefaultRoutes))
	}
}
