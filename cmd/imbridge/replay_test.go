package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// imbridge replay against the real binary and the real broker: callbacks quarantined
// by a setting and callbacks of a switched-off route, replayed once the cause is fixed.

// replayRun is one finished `imbridge replay`.
type replayRun struct {
	code           int
	stdout, stderr string
}

// runReplay runs `imbridge replay ARGS...` with only env (and PATH) in its environment.
func runReplay(t *testing.T, env []string, args ...string) replayRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), append([]string{"replay"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := replayRun{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("imbridge replay %v: %v", args, err)
	}
	return r
}

// sentCallback is a callback the test sent, as serve received it.
type sentCallback struct {
	command, body string
	at            time.Time
}

// callback is the callback serve built from s (ReceivedAt apart).
func (s sentCallback) callback() bridge.Callback {
	appID, _ := strconv.ParseUint(e2eAppID, 10, 64)
	return bridge.Callback{AppID: appID, Body: []byte(s.body), Query: bridge.Query{SDKAppID: e2eAppID, CallbackCommand: s.command,
		ClientIP: "127.0.0.1", OptPlatform: "RESTAPI", RequestTime: strconv.FormatInt(s.at.Unix(), 10)}}
}

// wantRecords are the records serve would have published for the callbacks had it
// mapped them on receipt with route (topic set), versions included. The receiving time takes no part in
// the eventIds, but is in the values: it is the kept record's, found by the eventId it
// has for the callback (received).
func wantRecords(t *testing.T, sent []sentCallback, route bridge.Route, received map[string]time.Time, keptIndex int) []bridge.Record {
	t.Helper()
	var out []bridge.Record
	for _, s := range sent {
		cb := s.callback()
		at, ok := received[bridge.EventID(bridge.CallbackSeed(cb), keptIndex)]
		if !ok {
			t.Fatalf("no kept record of the %s callback sent at %s", s.command, s.at)
		}
		cb.ReceivedAt = at
		events, err := bridge.Map(cb, route)
		if err != nil {
			t.Fatalf("Map(%s): %v", s.command, err)
		}
		// The version serve gives on receipt: the version rule with the receiving clock.
		bridge.NewVersioner(time.Minute).Assign(events, true, at)
		out = append(out, bridge.Records(events)...)
	}
	return out
}

// receivedTimes reads the receiving time of every callback kept on a topic, by the
// record's ce_id: a quarantined record's header, an unrouted event's receivedAt.
func receivedTimes(t *testing.T, msgs []kafkago.Message) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	for _, m := range msgs {
		r := bridge.Record{Headers: headersOf(m)}
		at := string(r.HeaderValue(bridge.HeaderReceivedAt))
		if at == "" {
			var v struct {
				ReceivedAt string `json:"receivedAt"`
			}
			if err := json.Unmarshal(m.Value, &v); err != nil {
				t.Fatalf("offset %d: %v", m.Offset, err)
			}
			at = v.ReceivedAt
		}
		tm, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			t.Fatalf("offset %d: receivedAt %q: %v", m.Offset, at, err)
		}
		out[string(r.HeaderValue(bridge.HeaderID))] = tm.UTC()
	}
	return out
}

func headersOf(m kafkago.Message) []bridge.Header {
	hs := make([]bridge.Header, len(m.Headers))
	for i, h := range m.Headers {
		hs[i] = bridge.Header{Key: h.Key, Value: h.Value}
	}
	return hs
}

// asRecords are messages as records, ordered by eventId (replay publishes in record
// order; the test compares sets).
func asRecords(topic string, msgs []kafkago.Message) []bridge.Record {
	out := make([]bridge.Record, len(msgs))
	for i, m := range msgs {
		out[i] = bridge.Record{Topic: topic, Key: m.Key, Headers: headersOf(m), Value: m.Value}
	}
	sortRecordsByID(out)
	return out
}

func sortRecordsByID(rs []bridge.Record) {
	slices.SortStableFunc(rs, func(a, b bridge.Record) int {
		return strings.Compare(string(a.HeaderValue(bridge.HeaderID)), string(b.HeaderValue(bridge.HeaderID)))
	})
}

// committedOffsets are the group's committed offsets of topic's partitions (-1: none).
func committedOffsets(t *testing.T, brokers []string, group, topic string, partitions int) []int64 {
	t.Helper()
	ps := make([]int, partitions)
	for i := range ps {
		ps[i] = i
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		resp, err := kafkatest.Client(brokers).OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ps}})
		if err == nil {
			err = resp.Error
		}
		if err == nil {
			out := make([]int64, partitions)
			for _, p := range resp.Topics[topic] {
				out[p.Partition] = p.CommittedOffset
			}
			return out
		}
		if ctx.Err() != nil {
			t.Fatalf("committed offsets of %s: %v", group, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// summaryRE reads replay's summary line.
var summaryRE = regexp.MustCompile(`(?m)^imbridge replay: (\d+) read from (\S+), (\d+) replayed, (\d+) events (?:published|to publish), (\d+) still unmappable, (\d+) no route`)

// summaryOf returns read, replayed, events, still unmappable and no route of a run,
// and fails t unless it ended 0 with one summary line.
func summaryOf(t *testing.T, r replayRun) [5]int {
	t.Helper()
	return summaryWithCode(t, r, 0)
}

// summaryWithCode is summaryOf for a run that ends with code.
func summaryWithCode(t *testing.T, r replayRun, code int) [5]int {
	t.Helper()
	m := summaryRE.FindStringSubmatch(r.stdout)
	if r.code != code || m == nil {
		t.Fatalf("replay: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	var out [5]int
	for i, s := range []string{m[1], m[3], m[4], m[5], m[6]} {
		out[i], _ = strconv.Atoi(s)
	}
	return out
}

// Callbacks quarantined because of IMBRIDGE_MAX_PAIRS=2, and callbacks of the
// friend-add route sent while it was off, replayed by a later configuration (the
// default limit, the route on): every event arrives on its route's topic, each record
// byte for byte the one serve would have published on receipt (eventIds included); a
// record that still cannot be mapped and a command still without a route are reported
// and skipped; a dry run publishes and commits nothing; a replay that Kafka fails stops
// at the record it failed, exit 1, and the next run resumes there; a second run with
// the group publishes nothing; a run of another group publishes the same eventIds
// again; a run cut short by --count resumes where it stopped.
func TestReplay(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	quarantine := kafkatest.CreateTopicWithLimit(t, brokers, "quarantine", 2, bridge.QuarantineMaxMessageBytes)
	unrouted := kafkatest.CreateTopic(t, brokers, "unrouted", 1)
	blocklist := kafkatest.CreateTopic(t, brokers, "r-blocklist", 3)
	friend := kafkatest.CreateTopic(t, brokers, "r-friend", 3)
	common := []string{"IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"IMBRIDGE_TOPIC_BLOCKLIST_ADD=" + blocklist, "IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + blocklist, "IMBRIDGE_TOPIC_FRIEND_ADD=" + friend,
		"IMBRIDGE_TOPIC_QUARANTINE=" + quarantine, "IMBRIDGE_TOPIC_UNROUTED=" + unrouted}
	p := startBridge(t, append([]string{"IMBRIDGE_DELIVERY=sync", "IMBRIDGE_MAX_PAIRS=2", "IMBRIDGE_ROUTES=blocklist-add,blocklist-delete"}, common...)...)

	pairs := func(command, from string, n int) string {
		var list []string
		for i := 1; i <= n; i++ {
			list = append(list, fmt.Sprintf(`{"From_Account":"%s","To_Account":"%s-to-%d"}`, from, from, i))
		}
		return `{"CallbackCommand":"` + command + `","PairList":[` + strings.Join(list, ",") + `]}`
	}
	add, del, friendAdd := bridge.CommandBlackListAdd, bridge.CommandBlackListDelete, bridge.CommandFriendAdd
	base := time.Now().Add(-10 * time.Second).Truncate(time.Second)
	// quarantined: more pairs than IMBRIDGE_MAX_PAIRS=2
	tooMany := []sentCallback{
		{add, pairs(add, "alice", 3), base},
		{del, pairs(del, "bob", 3), base.Add(time.Second)},
		{add, pairs(add, "carol", 4), base.Add(2 * time.Second)},
	}
	notJSON := sentCallback{add, "PairList=a,b", base.Add(3 * time.Second)} // quarantined, for good
	// unrouted: friend-add is off
	routedOff := []sentCallback{
		{friendAdd, friendAddBody("dave", "friend_add"), base},
		{friendAdd, friendAddBody("erin", "friend_add<&>"), base.Add(time.Second)}, // kept as \u003c\u0026\u003e
	}
	noRoute := sentCallback{"OfficialAccount.CallbackAfterSendMsg", `{"CallbackCommand":"OfficialAccount.CallbackAfterSendMsg","RequestApi":"/v4/x"}`, base}
	direct := sentCallback{add, pairs(add, "frank", 1), base} // mapped on receipt
	for _, s := range slices.Concat(tooMany, []sentCallback{notJSON}, routedOff, []sentCallback{noRoute, direct}) {
		// Not post: a body that is not JSON is answered OK (kept in quarantine), which
		// post takes for a contract broken.
		resp, err := http.Post(p.signedURL(s.command, e2eToken, s.at), "application/json", strings.NewReader(s.body))
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(answer) != okAnswer {
			t.Fatalf("%s %.40s: answered %d %s", s.command, s.body, resp.StatusCode, answer)
		}
	}
	kept := readTopic(t, brokers, quarantine, 4)
	keptUnrouted := readTopic(t, brokers, unrouted, 3)
	if n := kafkatest.Count(t, brokers, blocklist); n != 1 || kafkatest.Count(t, brokers, friend) != 0 {
		t.Fatalf("before the replay: %d blocklist events, want the 1 mapped on receipt; %d friend events, want 0", n, kafkatest.Count(t, brokers, friend))
	}
	received := receivedTimes(t, slices.Concat(kept, keptUnrouted))
	route := func(name, topic string) bridge.Route {
		for _, r := range bridge.DefaultRoutes {
			if r.Name == name {
				r.Topic = topic
				return r
			}
		}
		t.Fatalf("no route %s", name)
		return bridge.Route{}
	}
	wantBlocklist := wantRecords(t, tooMany[:1], route("blocklist-add", blocklist), received, -1)
	wantBlocklist = append(wantBlocklist, wantRecords(t, tooMany[1:2], route("blocklist-delete", blocklist), received, -1)...)
	wantBlocklist = append(wantBlocklist, wantRecords(t, tooMany[2:], route("blocklist-add", blocklist), received, -1)...)
	sortRecordsByID(wantBlocklist)
	wantFriend := wantRecords(t, routedOff, route("friend-add", friend), received, 0)
	sortRecordsByID(wantFriend)
	if len(wantBlocklist) != 10 || len(wantFriend) != 2 {
		t.Fatalf("want %d blocklist and %d friend events, expected 10 and 2", len(wantBlocklist), len(wantFriend))
	}

	// The cause fixed: the default IMBRIDGE_MAX_PAIRS, friend-add switched on.
	fixed := append([]string{"IMBRIDGE_ROUTES=blocklist-add,blocklist-delete,friend-add",
		// serve's environment as it is: replay reads none of these
		"IMBRIDGE_SDKAPPID=x", "IMBRIDGE_CALLBACK_TOKEN_FILE=/nonexistent/token", "IMBRIDGE_SPOOL_DIR=/nonexistent"}, common...)

	// A dry run says what each record would give, and publishes and commits nothing.
	dry := runReplay(t, fixed, "--dry-run")
	t.Logf("dry run:\n%s%s", dry.stderr, dry.stdout)
	if got, want := summaryOf(t, dry), [5]int{4, 3, 10, 1, 0}; got != want {
		t.Fatalf("dry run: read, replayed, events, still unmappable, no route = %v, want %v\n%s", got, want, dry.stdout)
	}
	lines := strings.Split(strings.TrimSpace(dry.stdout), "\n")
	for _, want := range []string{`^\d/\d+ Sns.CallbackBlackListAdd events 3 \(` + blocklist + `\)$`,
		`^\d/\d+ Sns.CallbackBlackListDelete events 3 \(` + blocklist + `\)$`,
		`^\d/\d+ Sns.CallbackBlackListAdd events 4 \(` + blocklist + `\)$`,
		`^\d/\d+ Sns.CallbackBlackListAdd still unmappable: .*JSON`,
		`dry run: nothing published, nothing committed`} {
		if !slices.ContainsFunc(lines, regexp.MustCompile(want).MatchString) {
			t.Errorf("the dry run's output has no line like %s:\n%s", want, dry.stdout)
		}
	}
	if len(lines) != 5 {
		t.Errorf("the dry run printed %d lines, want one per record and the summary:\n%s", len(lines), dry.stdout)
	}
	if n := kafkatest.Count(t, brokers, blocklist); n != 1 {
		t.Fatalf("the dry run published: %d blocklist events", n)
	}
	if c := committedOffsets(t, brokers, defaultReplayGroup, quarantine, 2); !slices.Equal(c, []int64{-1, -1}) {
		t.Fatalf("the dry run committed offsets %v", c)
	}

	// Kafka refuses the events of blocklist-add (its topic missing): replay stops at
	// the first such record, exit 1, with the records before it committed.
	failing := runReplay(t, append(slices.Clone(fixed), "IMBRIDGE_TOPIC_BLOCKLIST_ADD=test.missing."+strconv.FormatInt(time.Now().UnixNano(), 36),
		"IMBRIDGE_KAFKA_UNKNOWN_TOPIC_TIMEOUT=1s"), "--timeout", "5s")
	t.Logf("replay, blocklist-add's topic missing:\n%s%s", failing.stderr, failing.stdout)
	failed := summaryWithCode(t, failing, 1)
	if !regexp.MustCompile(`imbridge replay: kafka did not acknowledge the \d+ events of ` + quarantine + ` partition \d offsets \d+ to \d+: .*Unknown Topic`).MatchString(failing.stderr) {
		t.Fatalf("the failing replay does not say what failed:\n%s", failing.stderr)
	}
	c := committedOffsets(t, brokers, defaultReplayGroup, quarantine, 2)
	done := int(max(c[0], 0) + max(c[1], 0))
	if failed[1]+failed[3]+failed[4] != done || failed[1] == 0 || done == 4 {
		t.Fatalf("committed offsets %v after a replay that replayed %d records, skipped %d and failed: want the records done committed, and some",
			c, failed[1], failed[3]+failed[4])
	}

	// The replay resumes: every event on its topic, once, as serve would have
	// published it.
	first := runReplay(t, fixed)
	t.Logf("replay:\n%s%s", first.stderr, first.stdout)
	resumed := summaryOf(t, first)
	if got, want := [5]int{done + resumed[0], failed[1] + resumed[1], failed[2] + resumed[2], failed[3] + resumed[3], failed[4] + resumed[4]},
		[5]int{4, 3, 10, 1, 0}; got != want {
		t.Fatalf("the failed replay and the resumed one: done+read, replayed, events, still unmappable, no route = %v, want %v (each record done once)\n%s",
			got, want, first.stdout)
	}
	if !regexp.MustCompile(`(?m)^\d/\d+ Sns.CallbackBlackListAdd still unmappable: .*JSON`).MatchString(first.stdout) ||
		strings.Count(first.stdout, "\n") != 2 {
		t.Errorf("the replay's output is not the skipped record's line and the summary:\n%s", first.stdout)
	}
	got := asRecords(blocklist, readTopic(t, brokers, blocklist, 11))
	got = slices.DeleteFunc(got, func(r bridge.Record) bool { return bytes.Contains(r.Value, []byte(`"frank"`)) })
	if d := cmp.Diff(wantBlocklist, got); d != "" {
		t.Fatalf("replayed blocklist records differ from those serve would have published (-want +got):\n%s", d)
	}
	if c := committedOffsets(t, brokers, defaultReplayGroup, quarantine, 2); c[0]+c[1] != 4 {
		t.Fatalf("committed offsets %v, want the 4 records", c)
	}

	// The unrouted topic: the friend events, with the eventIds of the callbacks on
	// receipt (the body with <, & and > too); the command still without a route skipped.
	fromUnrouted := runReplay(t, fixed, "--from-topic", "unrouted")
	t.Logf("replay --from-topic unrouted:\n%s%s", fromUnrouted.stderr, fromUnrouted.stdout)
	if got, want := summaryOf(t, fromUnrouted), [5]int{3, 2, 2, 0, 1}; got != want {
		t.Fatalf("unrouted: read, replayed, events, still unmappable, no route = %v, want %v\n%s", got, want, fromUnrouted.stdout)
	}
	if !regexp.MustCompile(`(?m)^0/\d+ OfficialAccount.CallbackAfterSendMsg no route$`).MatchString(fromUnrouted.stdout) || strings.Contains(fromUnrouted.stdout, "new eventIds") {
		t.Errorf("the unrouted replay's output:\n%s", fromUnrouted.stdout)
	}
	if d := cmp.Diff(wantFriend, asRecords(friend, readTopic(t, brokers, friend, 2))); d != "" {
		t.Fatalf("replayed friend records differ from those serve would have published (-want +got):\n%s", d)
	}
	if n := kafkatest.Count(t, brokers, unrouted); n != 3 {
		t.Fatalf("the unrouted topic holds %d records after the replay, want the 3 it held", n)
	}

	// Again with the group: nothing left to read, nothing published.
	for _, args := range [][]string{nil, {"--from-topic", "unrouted"}} {
		if got := summaryOf(t, runReplay(t, fixed, args...)); got != [5]int{} {
			t.Fatalf("second replay %v: read, replayed, events, still unmappable, no route = %v, want none", args, got)
		}
	}
	if n, m := kafkatest.Count(t, brokers, blocklist), kafkatest.Count(t, brokers, friend); n != 11 || m != 2 {
		t.Fatalf("after the second replay: %d blocklist and %d friend events, want 11 and 2", n, m)
	}

	// Another group, cut short by --count, then resumed: the same eventIds again, which
	// consumers drop; each record once.
	cut := runReplay(t, fixed, "--group", "again", "--count", "2")
	if got := summaryOf(t, cut); got[0] != 2 {
		t.Fatalf("--count 2 read %d records", got[0])
	}
	rest := runReplay(t, fixed, "--group", "again", "--offset", "committed", "--progress", "10ms")
	t.Logf("replay --group again --count 2, then again:\n%s%s%s%s", cut.stderr, cut.stdout, rest.stderr, rest.stdout)
	if got := summaryOf(t, rest); got[0] != 2 {
		t.Fatalf("the resumed replay read %d records, want the 2 left\n%s", got[0], rest.stderr)
	}
	if !strings.Contains(rest.stderr, "records read;") {
		t.Errorf("no progress line on stderr:\n%s", rest.stderr)
	}
	again := asRecords(blocklist, readTopic(t, brokers, blocklist, 21))
	ids := map[string]int{}
	for _, r := range again {
		ids[string(r.HeaderValue(bridge.HeaderID))]++
	}
	for _, w := range wantBlocklist {
		if n := ids[string(w.HeaderValue(bridge.HeaderID))]; n != 2 {
			t.Errorf("eventId %s published %d times after two groups' replays, want 2", w.HeaderValue(bridge.HeaderID), n)
		}
	}
}

// Help answers 0 on stdout and says when to use replay; a wrong command line or
// setting answers 2 with what is wrong; Kafka out of reach answers 1.
func TestReplayUsage(t *testing.T) {
	brokers := "IMBRIDGE_KAFKA_BROKERS=" + unreachableBroker
	const usage = "Usage: imbridge replay [--from-topic quarantine|unrouted|TOPIC]"
	tests := []struct {
		name       string
		env        []string
		args       []string
		wantCode   int
		wantStderr string // its start
	}{
		{name: "argument", env: []string{brokers}, args: []string{"imbridge.quarantine"}, wantCode: 2,
			wantStderr: "imbridge replay: unexpected argument \"imbridge.quarantine\": replay takes flags only\n\n" + usage},
		{name: "unknown flag", env: []string{brokers}, args: []string{"--force"}, wantCode: 2,
			wantStderr: "imbridge replay: flag provided but not defined: -force\n\n" + usage},
		{name: "offset and since", env: []string{brokers}, args: []string{"--offset", "earliest", "--since", "1h"}, wantCode: 2,
			wantStderr: "imbridge replay: --since and --offset: give one of them\n\n" + usage},
		{name: "bad offset", env: []string{brokers}, args: []string{"--offset", "latest"}, wantCode: 2,
			wantStderr: "imbridge replay: --offset=\"latest\": expected committed, earliest or an offset (a number, 0 or more)\n\n" + usage},
		{name: "bad since", env: []string{brokers}, args: []string{"--since", "yesterday"}, wantCode: 2,
			wantStderr: "imbridge replay: --since=\"yesterday\": expected an RFC 3339 time such as 2024-05-01T12:00:00Z, or a duration before now such as 36h\n\n" + usage},
		{name: "negative count", env: []string{brokers}, args: []string{"--count", "-1"}, wantCode: 2,
			wantStderr: "imbridge replay: --count=-1: expected a number of records, or 0 for all\n\n" + usage},
		{name: "quarantine off", env: []string{brokers, "IMBRIDGE_TOPIC_QUARANTINE=off"}, wantCode: 2,
			wantStderr: "imbridge replay: --from-topic=quarantine: IMBRIDGE_TOPIC_QUARANTINE is off; name the topic to read, such as --from-topic imbridge.quarantine\n\n" + usage},
		{name: "a route's topic", env: []string{brokers}, args: []string{"--from-topic", "imbridge.friend"}, wantCode: 2,
			wantStderr: "imbridge replay: --from-topic=imbridge.friend: that is a route's topic, whose records are events: replay reads the quarantine or the unrouted topic\n\n" + usage},
		{name: "bad topic", env: []string{brokers}, args: []string{"--from-topic", "a/b"}, wantCode: 2,
			wantStderr: "imbridge replay: --from-topic=\"a/b\": expected quarantine, unrouted or a Kafka topic name: 1 to 249 of a-z A-Z 0-9 . _ -\n\n" + usage},
		{name: "no brokers", wantCode: 2,
			wantStderr: "imbridge replay: IMBRIDGE_KAFKA_BROKERS is required: set it to the bootstrap brokers as host:port pairs separated by commas\n"},
		{name: "bad Kafka setting", env: []string{brokers, "IMBRIDGE_KAFKA_SASL_MECHANISM=GSSAPI"}, wantCode: 2,
			wantStderr: "imbridge replay: IMBRIDGE_KAFKA_SASL_MECHANISM=\"GSSAPI\": expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512\n"},
		// serve's environment as it is: its callback settings are not read.
		{name: "Kafka unreachable", env: []string{brokers, "IMBRIDGE_CALLBACK_TOKEN_FILE=/nonexistent/token", "IMBRIDGE_SDKAPPID=x"},
			args: []string{"--timeout", "2s"}, wantCode: 1,
			wantStderr: "imbridge replay: kafka (" + unreachableBroker + "): metadata of imbridge.quarantine: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runReplay(t, tt.env, tt.args...)
			if r.code != tt.wantCode || !strings.HasPrefix(r.stderr, tt.wantStderr) {
				t.Fatalf("imbridge replay %q: exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stderr %q...",
					tt.args, r.code, r.stdout, r.stderr, tt.wantCode, tt.wantStderr)
			}
		})
	}

	help := runReplay(t, nil, "--help")
	if help.code != 0 || !strings.HasPrefix(help.stdout, "Usage: imbridge replay [flags]\n") {
		t.Fatalf("replay --help: exit %d\n%s%s", help.code, help.stdout, help.stderr)
	}
	for _, want := range []string{"decoder fixed", "IMBRIDGE_MAX_PAIRS raised", "route switched on", "--dry-run", "--from-topic",
		"--offset committed|earliest|N", "--since TIME", "--count N", "--group NAME", "same eventIds", "compact",
		"IMBRIDGE_KAFKA_BROKERS", "IMBRIDGE_KAFKA_SASL_PASSWORD_FILE", "IMBRIDGE_MAX_PAIRS", "IMBRIDGE_TOPIC_*"} {
		if !strings.Contains(help.stdout, want) {
			t.Errorf("replay --help does not say %q:\n%s", want, help.stdout)
		}
	}
	for _, notWant := range []string{"IMBRIDGE_SDKAPPID", "IMBRIDGE_CALLBACK_TOKEN", "IMBRIDGE_LISTEN", "IMBRIDGE_SPOOL_DIR", "IMBRIDGE_KAFKA_UNREACHABLE_AFTER"} {
		if strings.Contains(help.stdout, notWant+"\n") || strings.Contains(help.stdout, notWant+" ") {
			t.Errorf("replay --help lists %s, which replay does not read", notWant)
		}
	}
}
