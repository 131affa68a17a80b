package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// runDLQ runs `imbridge dlq ARGS...` with only env (and PATH) in its environment.
func runDLQ(t *testing.T, env []string, args ...string) drainRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), append([]string{"dlq"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := drainRun{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("imbridge dlq %v: %v", args, err)
	}
	return r
}

// headerOf is the value of m's first header called name, "" if none.
func headerOf(m kafkago.Message, name string) string {
	for _, h := range m.Headers {
		if h.Key == name {
			return string(h.Value)
		}
	}
	return ""
}

// redriven is a message as the test compares it: key, value and headers.
type redriven struct {
	Key, Value string
	Headers    []string // name=value, in order
}

func asRedriven(m kafkago.Message, drop func(name string) bool) redriven {
	r := redriven{Key: string(m.Key), Value: string(m.Value)}
	for _, h := range m.Headers {
		if !drop(h.Key) {
			r.Headers = append(r.Headers, h.Key+"="+string(h.Value))
		}
	}
	return r
}

// Events refused for size by their topic (its max.message.bytes lowered after start)
// are dead-lettered by a real replica, one of them cut to fit the dead-letter topic,
// and one for a topic that does not exist. A dry run lists them; after the topic's
// limit is raised, one redrive publishes the two whole ones once each, byte for byte
// as they were meant (read back with a consumer), and refuses the cut one and the one
// for the missing topic; a second run publishes nothing.
func TestDLQRedrive(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "redrive", 3)
	dlq := kafkatest.CreateTopicWithLimit(t, brokers, "redrive-dlq", 2, 200_000)
	missing := fmt.Sprintf("redrive-missing-%d", time.Now().UnixNano()) // a topic nobody created
	env := []string{"IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ","), "IMBRIDGE_TOPIC_FRIEND_ADD=" + topic,
		"IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + missing, "IMBRIDGE_DLQ_TOPIC=" + dlq}
	p := startBridge(t, append(env, "IMBRIDGE_DLQ_AFTER_ATTEMPTS=2", "IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX=200ms",
		"IMBRIDGE_KAFKA_UNKNOWN_TOPIC_TIMEOUT=1s", "IMBRIDGE_LOG_LEVEL=info")...)
	waitUntil(t, "the topics' limits to be read", 20*time.Second, func() bool {
		return strings.Contains(p.log.String(), "kafka topic limits read")
	})
	kafkatest.SetTopicLimit(t, brokers, topic, 100_000)
	// 20,000 '<' are 120,000 bytes in the event: over the topic's limit, within the
	// dead-letter topic's. 60,000 are over both: the dead letter's value is cut.
	clientCmd := map[string]string{"u1": strings.Repeat("<", 20_000), "u2": strings.Repeat("<", 20_001), "u3": strings.Repeat("<", 60_000), "u4": "friend_add"}
	for _, from := range []string{"u1", "u2", "u3", "u4"} {
		if status, answer := post(t, p.signedURL(bridge.CommandFriendAdd, e2eToken, time.Now()), paddedFriendAddBody(from, strings.ReplaceAll(clientCmd[from], "<", `\u003c`))); status != 200 {
			t.Fatalf("%s: answer %d %s", from, status, answer)
		}
	}
	// And an event for a topic that does not exist: dead-lettered, and refused by
	// redrive while the topic is missing.
	body := `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"u5","To_Account":"v"}]}`
	if status, answer := post(t, p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), body); status != 200 {
		t.Fatalf("u5: answer %d %s", status, answer)
	}
	dead := readTopic(t, brokers, dlq, 4)
	if on := readTopic(t, brokers, topic, 1); len(on) != 1 || string(on[0].Key) != "u4" || len(dead) != 4 {
		t.Fatalf("%d on the topic, %d dead letters: want u4 on the topic and four dead letters", len(on), len(dead))
	}
	sort.Slice(dead, func(i, j int) bool { return string(dead[i].Key) < string(dead[j].Key) })
	id := func(m kafkago.Message) string { return headerOf(m, bridge.HeaderID) }
	hasHeader := func(m kafkago.Message, name string) bool {
		for _, h := range m.Headers {
			if h.Key == name {
				return true
			}
		}
		return false
	}
	if hasHeader(dead[0], bridge.HeaderDeadLetterValueBytes) || hasHeader(dead[1], bridge.HeaderDeadLetterValueBytes) ||
		!hasHeader(dead[2], bridge.HeaderDeadLetterValueBytes) {
		t.Fatal("want u1's and u2's dead letters whole and u3's cut")
	}
	if string(dead[3].Key) != "u5" || headerOf(dead[3], bridge.HeaderDeadLetterTopic) != missing {
		t.Fatalf("the last dead letter is %s's for %s, want u5's for %s", dead[3].Key, headerOf(dead[3], bridge.HeaderDeadLetterTopic), missing)
	}
	p.cmd.Process.Kill()
	<-p.exited

	// Before the fix: a dry run says why each would be refused.
	r := runDLQ(t, env, "redrive", "--dry-run", "--offset=earliest")
	for _, want := range []string{
		id(dead[0]) + " refused: still too large: a 12",
		fmt.Sprintf("-byte message, over the 100000 bytes topic %s accepts (max.message.bytes)", topic),
		id(dead[2]) + " refused: its value was cut to fit the dead-letter topic: ",
		fmt.Sprintf("%s refused: the max.message.bytes of topic %s cannot be read: does the topic exist?\n", id(dead[3]), missing),
		fmt.Sprintf("imbridge dlq redrive: 4 read from %s, 0 to redrive, 4 refused; dry run: nothing published, nothing committed", dlq),
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Fatalf("dry run before the fix: exit %d, stdout lacks %q:\n%s\nstderr: %s", r.code, want, r.stdout, r.stderr)
		}
	}

	kafkatest.SetTopicLimit(t, brokers, topic, 1_000_000)
	r = runDLQ(t, env, "redrive", "--dry-run")
	for _, want := range []string{
		fmt.Sprintf("%s -> %s (", id(dead[0]), topic),
		fmt.Sprintf("%s -> %s (", id(dead[1]), topic),
		fmt.Sprintf(" bytes; dead-lettered for: %s", headerOf(dead[0], bridge.HeaderDeadLetterReason)),
		fmt.Sprintf("%s refused: its value was cut to fit the dead-letter topic: %d of its %s bytes kept (sha256 %s)",
			id(dead[2]), len(dead[2].Value), headerOf(dead[2], bridge.HeaderDeadLetterValueBytes), headerOf(dead[2], bridge.HeaderDeadLetterValueSHA256)),
		fmt.Sprintf("imbridge dlq redrive: 4 read from %s, 2 to redrive, 2 refused; dry run", dlq),
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Fatalf("dry run after the fix: exit %d, stdout lacks %q:\n%s\nstderr: %s", r.code, want, r.stdout, r.stderr)
		}
	}
	if n := kafkatest.Count(t, brokers, topic); n != 1 {
		t.Fatalf("the dry runs published: %d on the topic", n)
	}

	r = runDLQ(t, env, "redrive", "--progress=100ms")
	if want := fmt.Sprintf("imbridge dlq redrive: 4 read from %s, 2 redriven, 2 refused; group imbridge-dlq-redrive, took ", dlq); r.code != 0 ||
		!strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, id(dead[2])+" refused: its value was cut") {
		t.Fatalf("redrive: exit %d\nstdout: %s\nstderr: %s\nwant %q and the cut one refused", r.code, r.stdout, r.stderr, want)
	}
	t.Logf("redrive: %s", strings.TrimSpace(r.stdout))
	on := readTopic(t, brokers, topic, 3)
	var got, want []redriven
	for _, m := range on {
		if string(m.Key) != "u4" {
			got = append(got, asRedriven(m, func(string) bool { return false }))
		}
	}
	for _, m := range dead[:2] {
		want = append(want, asRedriven(m, func(name string) bool { return strings.HasPrefix(name, "imbridge_dlq_") }))
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Key < got[j].Key })
	if d := cmp.Diff(want, got); d != "" || len(on) != 3 {
		t.Fatalf("the topic holds %d messages; the redriven ones against the dead letters without their headers (-want +got):\n%s", len(on), d)
	}
	// And they are the events sent: their eventId is their ce_id, their Note (under
	// extra) the one of the callback.
	for i, g := range got {
		var v struct {
			EventID, FromAccount string
			Extra                struct{ Note string }
		}
		if err := json.Unmarshal([]byte(g.Value), &v); err != nil || v.EventID != id(dead[i]) || v.Extra.Note != clientCmd[g.Key] ||
			v.FromAccount != g.Key || !strings.Contains(strings.Join(g.Headers, "\n"), "ce_id="+v.EventID) {
			t.Fatalf("redriven %s: eventId %q (ce_id %q), clientCmd of %d bytes, %v", g.Key, v.EventID, id(dead[i]), len(v.Extra.Note), err)
		}
	}

	r = runDLQ(t, env, "redrive")
	if want := fmt.Sprintf("imbridge dlq redrive: 0 read from %s, 0 redriven, 0 refused; group imbridge-dlq-redrive", dlq); r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Fatalf("second redrive: exit %d\nstdout: %s\nstderr: %s\nwant %q", r.code, r.stdout, r.stderr, want)
	}
	time.Sleep(500 * time.Millisecond)
	if n := kafkatest.Count(t, brokers, topic); n != 3 {
		t.Fatalf("after a second redrive the topic holds %d messages, want 3", n)
	}
}

// A wrong command line answers 2 with what is wrong and the usage.
func TestDLQRedriveUsage(t *testing.T) {
	brokers := "IMBRIDGE_KAFKA_BROKERS=" + unreachableBroker
	const usage = "Usage: imbridge dlq redrive [--from-topic TOPIC]"
	for _, tt := range []struct {
		name       string
		env        []string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "help", args: []string{"--help"}, wantStdout: "Usage: imbridge dlq redrive [flags]\n"},
		{name: "redrive help", args: []string{"redrive", "--help"}, wantStdout: "Usage: imbridge dlq redrive [flags]\n"},
		{name: "no subcommand", wantCode: 2, wantStderr: "imbridge dlq: missing subcommand\n\n" + usage},
		{name: "unknown subcommand", args: []string{"purge"}, wantCode: 2, wantStderr: "imbridge dlq: unknown subcommand \"purge\"\n\n" + usage},
		{name: "no dead-letter topic", env: []string{brokers}, args: []string{"redrive"}, wantCode: 2,
			wantStderr: "imbridge dlq redrive: IMBRIDGE_DLQ_TOPIC is not set: name the dead-letter topic with --from-topic\n\n" + usage},
		{name: "a route's topic", env: []string{brokers}, args: []string{"redrive", "--from-topic", bridge.DefaultRoutes[0].Topic}, wantCode: 2,
			wantStderr: "imbridge dlq redrive: --from-topic=" + bridge.DefaultRoutes[0].Topic + ": that is a route's topic"},
		{name: "bad topic", env: []string{brokers}, args: []string{"redrive", "--from-topic", "a b"}, wantCode: 2,
			wantStderr: "imbridge dlq redrive: --from-topic=\"a b\": expected a Kafka topic name"},
		{name: "offset and since", env: []string{brokers}, args: []string{"redrive", "--offset=3", "--since=1h"}, wantCode: 2,
			wantStderr: "imbridge dlq redrive: --since and --offset: give one of them\n\n" + usage},
		{name: "bad offset", env: []string{brokers}, args: []string{"redrive", "--offset=last"}, wantCode: 2,
			wantStderr: "imbridge dlq redrive: --offset=\"last\": expected committed, earliest or an offset"},
		{name: "argument", env: []string{brokers}, args: []string{"redrive", "x"}, wantCode: 2,
			wantStderr: "imbridge dlq redrive: unexpected argument \"x\": redrive takes flags only\n\n" + usage},
		{name: "no brokers", env: []string{"IMBRIDGE_DLQ_TOPIC=d"}, args: []string{"redrive"}, wantCode: 2,
			wantStderr: "imbridge dlq redrive: IMBRIDGE_KAFKA_BROKERS is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			lookup := func(k string) (string, bool) {
				for _, kv := range tt.env {
					if name, v, _ := strings.Cut(kv, "="); name == k {
						return v, true
					}
				}
				return "", false
			}
			code := run(append([]string{"dlq"}, tt.args...), lookup, &stdout, &stderr)
			if code != tt.wantCode || !strings.HasPrefix(stdout.String(), tt.wantStdout) || !strings.HasPrefix(stderr.String(), tt.wantStderr) ||
				(tt.wantStdout == "") != (stdout.Len() == 0) || (tt.wantStderr == "") != (stderr.Len() == 0) {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout %q..., stderr %q...",
					code, stdout.String(), stderr.String(), tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}
