package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// Durability of the spool against the real binary: a second process on one spool,
// restarts, a full disk, events Kafka can never take, and a second signal.

// segmentSizes returns the size of every segment file in dir.
func segmentSizes(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	out := map[string]int64{}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			out[filepath.Base(f)] = fi.Size()
		}
	}
	return out
}

// A second `imbridge serve` on the spool of a running one exits at once, naming the
// directory and the holder's PID; the first one's segments never shrink, and every
// pair it acknowledged is delivered.
func TestSecondInstanceOnOneSpool(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "twoprocs", 3)
	spoolDir := filepath.Join(t.TempDir(), "spool")
	env := []string{"IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + topic,
		"IMBRIDGE_SPOOL_DIR=" + spoolDir, "IMBRIDGE_LOG_LEVEL=info"}
	first := startBridge(t, env...)
	l := newLoad(func() string { return first.callbackURL }, 3)
	ctx, stop := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); l.run(ctx, 3) }()
	waitUntil(t, "some callbacks acknowledged", 20*time.Second, func() bool { return l.ackedCount() > 30 })

	// Watch the first process's segments while the second one tries its luck.
	var shrunk []string
	watchDone := make(chan struct{})
	watchStop := make(chan struct{})
	go func() {
		defer close(watchDone)
		last := segmentSizes(t, spoolDir)
		for {
			select {
			case <-watchStop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			now := segmentSizes(t, spoolDir)
			for name, size := range now {
				if size < last[name] {
					shrunk = append(shrunk, fmt.Sprintf("%s: %d -> %d bytes", name, last[name], size))
				}
			}
			last = now
		}
	}()
	cmd := exec.Command(binary(t), "serve")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "IMBRIDGE_LISTEN=127.0.0.1:0", "IMBRIDGE_ADMIN_LISTEN=127.0.0.1:0",
		"IMBRIDGE_SDKAPPID=" + e2eAppID, "IMBRIDGE_CALLBACK_TOKEN=" + e2eToken}, env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("the second instance did not fail: %v\n%s", err, out)
	}
	wantText := fmt.Sprintf("in use by another process (pid %d): %s", first.cmd.Process.Pid, spoolDir)
	if !strings.Contains(string(out), wantText) || took > 10*time.Second {
		t.Fatalf("the second instance took %s and said:\n%s\nwant it to say %q", took, out, wantText)
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	<-loadDone
	close(watchStop)
	<-watchDone
	if len(shrunk) > 0 {
		t.Fatalf("the first instance's segments shrank: %v", shrunk)
	}
	verifyDelivered(t, brokers, topic, l)
}

// spoolLines returns the log lines of the spool's logger in log.
func spoolLines(log string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(log, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["logger"] == "spool" {
			out = append(out, rec)
		}
	}
	return out
}

// A clean restart, with records still pending (their topic is missing, so the drain
// gives up), reports one INFO line from the spool and nothing louder.
func TestCleanRestartWithoutAlarms(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	spoolDir := filepath.Join(t.TempDir(), "spool")
	env := []string{"IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"IMBRIDGE_TOPIC_BLOCKLIST_DELETE=test.missing." + fmt.Sprint(time.Now().UnixNano()),
		"IMBRIDGE_SPOOL_DIR=" + spoolDir, "IMBRIDGE_DRAIN_TIMEOUT=200ms", "IMBRIDGE_LOG_LEVEL=info"}
	p := startBridge(t, env...)
	for i := 0; i < 30; i++ {
		body := fmt.Sprintf(`{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"u%d","To_Account":"v"}]}`, i)
		if status, answer := post(t, p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), body); status != 200 {
			t.Fatalf("callback %d: %d %s", i, status, answer)
		}
	}
	for round := 0; round < 2; round++ {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		<-p.exited
		p = startBridge(t, env...)
		waitUntil(t, "the spool's report", 10*time.Second, func() bool { return len(spoolLines(p.log.String())) > 0 })
		time.Sleep(300 * time.Millisecond)
		lines := spoolLines(p.log.String())
		if len(lines) != 1 || lines[0]["level"] != "info" || lines[0]["msg"] != "spool opened" || lines[0]["pending_entries"] != float64(30) {
			t.Fatalf("round %d: the spool logged %v, want one INFO line with 30 pending callbacks", round, lines)
		}
	}
}

// mountTmpfs mounts a tmpfs of size bytes for the test (tests run as root).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs (the full-disk test needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// The spool's disk fills while Kafka is down: callbacks get 503 naming the cause and
// /readyz fails, also across a SIGKILL and a restart on the still full disk; /healthz
// stays up. When Kafka returns, the spool drains, 200s and /readyz come back without a
// restart, and every acknowledged pair is delivered in per-key order.
func TestFullDiskWhileKafkaIsDown(t *testing.T) {
	broker := kafkatest.StartBroker(t, 0)
	brokers := []string{broker.Addr}
	topic := kafkatest.CreateTopic(t, brokers, "fulldisk", 3)
	addr := freePort(t)
	env := []string{"IMBRIDGE_LISTEN=" + addr, "IMBRIDGE_KAFKA_BROKERS=" + broker.Addr, "IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + topic,
		"IMBRIDGE_SPOOL_DIR=" + filepath.Join(mountTmpfs(t, 1<<20), "spool"), "IMBRIDGE_SPOOL_MAX_BYTES=67108864",
		"IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX=500ms", "IMBRIDGE_LOG_LEVEL=info"}
	p := startBridge(t, env...)
	l := newLoad(func() string { return "http://" + addr + "/callback" }, 3)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); l.run(ctx, 4) }()
	waitUntil(t, "some callbacks acknowledged", 20*time.Second, func() bool { return l.ackedCount() > 30 })
	broker.Stop()

	full := func() int {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.infos["the spool could not store the events (no space left on device); try again later"]
	}
	waitUntil(t, "503s for the full disk", 90*time.Second, func() bool { return full() > 10 })
	ready, reason := readyz(t, p)
	if ready || !strings.Contains(reason, "no space left on device") {
		t.Fatalf("readyz on a full disk: ready %v, reason %q", ready, reason)
	}
	if body := get(t, p.adminURL+"/healthz"); !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz on a full disk: %s", body)
	}

	// A crash on the full disk, and a restart on it.
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	p = startBridge(t, env...)
	before := full()
	waitUntil(t, "503s for the full disk after the restart", 30*time.Second, func() bool { return full() > before+5 })

	broker.Start()
	atReturn := l.ackedCount()
	waitUntil(t, "200s to come back without a restart", 90*time.Second, func() bool { return l.ackedCount() > atReturn+50 })
	waitUntil(t, "readyz to recover", 30*time.Second, func() bool { ok, _ := readyz(t, p); return ok })
	stop()
	<-loadDone
	verifyDelivered(t, brokers, topic, l)
}

func friendAddBody(from, clientCmd string) string {
	return `{"CallbackCommand":"Sns.CallbackFriendAdd","ClientCmd":"` + clientCmd + `","Admin_Account":"","ForceFlag":0,` +
		`"PairList":[{"From_Account":"` + from + `","To_Account":"f","Initiator_Account":"f"}]}`
}

// paddedFriendAddBody is friendAddBody with a member no route reads, Note, which its
// one event carries under extra: a way to make an event of any size (ClientCmd, copied
// into every pair's event, is bounded).
func paddedFriendAddBody(from, note string) string {
	return `{"CallbackCommand":"Sns.CallbackFriendAdd","ClientCmd":"friend_add","Note":"` + note + `",` +
		`"PairList":[{"From_Account":"` + from + `","To_Account":"f","Initiator_Account":"f"}]}`
}

// An event Kafka can never take is refused at the door when its topic's limit is known
// (413, nothing published), and otherwise (the limit lowered after start) dead-lettered
// in a form that fits, without holding back another user's event; without a
// dead-letter topic it stays, and /readyz says so while the replica stays ready.
func TestOversizedEvent(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	big := strings.Repeat(`\u003c`, 60_000) // 360,000 bytes in the event JSON, carried as sent
	common := []string{"IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ","), "IMBRIDGE_DLQ_AFTER_ATTEMPTS=2",
		"IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX=200ms", "IMBRIDGE_LOG_LEVEL=info"}
	start := func(t *testing.T, env ...string) *bridgeProc {
		p := startBridge(t, append(common, env...)...)
		waitUntil(t, "the topics' limits to be read", 20*time.Second, func() bool {
			return strings.Contains(p.log.String(), "kafka topic limits read")
		})
		return p
	}
	t.Run("refused at the door", func(t *testing.T) {
		topic := kafkatest.CreateTopic(t, brokers, "big-door", 1)
		kafkatest.SetTopicLimit(t, brokers, topic, 100_000)
		for _, mode := range []string{"spool", "sync"} {
			p := start(t, "IMBRIDGE_DELIVERY="+mode, "IMBRIDGE_TOPIC_FRIEND_ADD="+topic)
			status, answer := post(t, p.signedURL(bridge.CommandFriendAdd, e2eToken, time.Now()), paddedFriendAddBody("u1", big))
			var a struct{ ErrorInfo string }
			_ = json.Unmarshal([]byte(answer), &a)
			if status != 413 || !strings.Contains(a.ErrorInfo, "over the 100000 bytes that topic "+topic+" accepts (max.message.bytes)") {
				t.Fatalf("%s: oversized event answered %d %s", mode, status, answer)
			}
		}
		if n := kafkatest.Count(t, brokers, topic); n != 0 {
			t.Fatalf("%d messages published for a refused callback", n)
		}
	})
	t.Run("dead-lettered when the limit was lowered after start", func(t *testing.T) {
		topic := kafkatest.CreateTopic(t, brokers, "big-late", 1)
		dlq := kafkatest.CreateTopic(t, brokers, "big-dlq", 1)
		p := start(t, "IMBRIDGE_TOPIC_FRIEND_ADD="+topic, "IMBRIDGE_DLQ_TOPIC="+dlq)
		kafkatest.SetTopicLimit(t, brokers, topic, 100_000)
		for _, body := range []string{paddedFriendAddBody("u1", big), friendAddBody("u2", "friend_add")} {
			if status, answer := post(t, p.signedURL(bridge.CommandFriendAdd, e2eToken, time.Now()), body); status != 200 {
				t.Fatalf("answer %d %s", status, answer)
			}
		}
		msgs := readTopic(t, brokers, topic, 1)
		if len(msgs) != 1 || string(msgs[0].Key) != "u2" {
			t.Fatalf("topic holds %d messages, want u2's only", len(msgs))
		}
		dead := readTopic(t, brokers, dlq, 1)
		h := map[string]string{}
		for _, kv := range dead[0].Headers {
			h[kv.Key] = string(kv.Value)
		}
		// The dead-letter topic takes the whole event (its limit is read): kept whole,
		// valid JSON, no cut.
		if len(dead) != 1 || string(dead[0].Key) != "u1" || len(dead[0].Value) < 360_000 || !json.Valid(dead[0].Value) ||
			h["imbridge_dlq_topic"] != topic || h["imbridge_dlq_value_sha256"] != "" || h["imbridge_dlq_error"] == "" {
			t.Fatalf("dead letter: key %s, %d value bytes, headers %v", dead[0].Key, len(dead[0].Value), h)
		}
		waitUntil(t, "readyz to be green", 10*time.Second, func() bool { ok, _ := readyz(t, p); return ok })
	})
	t.Run("stuck without a dead-letter topic", func(t *testing.T) {
		topic := kafkatest.CreateTopic(t, brokers, "big-stuck", 1)
		p := start(t, "IMBRIDGE_TOPIC_FRIEND_ADD="+topic)
		kafkatest.SetTopicLimit(t, brokers, topic, 100_000)
		if status, answer := post(t, p.signedURL(bridge.CommandFriendAdd, e2eToken, time.Now()), paddedFriendAddBody("u1", big)); status != 200 {
			t.Fatalf("answer %d %s", status, answer)
		}
		var reason string
		waitUntil(t, "readyz to report the stuck event", 30*time.Second, func() bool {
			reason = deliveryTrouble(t, p)
			return strings.Contains(reason, "failed 2 times")
		})
		if !strings.Contains(reason, "for topic "+topic) || !strings.Contains(reason, "set IMBRIDGE_DLQ_TOPIC") {
			t.Fatalf("readyz reason: %q", reason)
		}
	})
}

// A second SIGTERM during a long drain (its events are for a missing topic and the
// drain timeout is 60s) ends the process at once: exit code 1, "second signal" in the
// log, within 5s. The test checks that the drain is running when the second signal
// comes (the callback listener closed, /readyz still answering "shutting down"); the
// binary is built with -race and its log must hold no DATA RACE; a restart on the spool
// delivers every acknowledged pair (to the dead-letter topic).
//
// What it cannot see: whether the second signal stops the forwarder before the
// deferred Close of the spool (serveWith's abort waits for it). It passes with that
// wait removed, since the spool is built to be closed under a running forwarder (Close
// wakes and waits for a reader in Next, and every file operation goes through the
// directory opened at Open, which fails once closed): neither the race detector nor
// the spool's content tells the two orders apart from outside the process.
// bridge/spool's TestCloseUnderRunningForwarder holds the spool to that.
func TestSecondSignalDuringDrain(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	dlq := kafkatest.CreateTopic(t, brokers, "twosig-dlq", 1)
	spoolDir := filepath.Join(t.TempDir(), "spool")
	missing := "test.missing." + fmt.Sprint(time.Now().UnixNano())
	env := []string{"IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + missing,
		"IMBRIDGE_DLQ_TOPIC=" + dlq, "IMBRIDGE_SPOOL_DIR=" + spoolDir, "IMBRIDGE_DRAIN_TIMEOUT=60s", "IMBRIDGE_SHUTDOWN_DELAY=0",
		"IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX=100ms", "IMBRIDGE_KAFKA_UNKNOWN_TOPIC_TIMEOUT=1s", "IMBRIDGE_LOG_LEVEL=info"}
	cmd := exec.Command(raceBinary(t), "serve")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "IMBRIDGE_LISTEN=127.0.0.1:0", "IMBRIDGE_ADMIN_LISTEN=127.0.0.1:0",
		"IMBRIDGE_SDKAPPID=" + e2eAppID, "IMBRIDGE_CALLBACK_TOKEN=" + e2eToken, "IMBRIDGE_DLQ_AFTER_ATTEMPTS=1000"}, env...)
	p := startCmd(t, cmd)
	var sent []string
	for i := 0; i < 20; i++ {
		body := fmt.Sprintf(`{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"u%d","To_Account":"v"}]}`, i)
		if status, answer := post(t, p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), body); status != 200 {
			t.Fatalf("callback %d: %d %s", i, status, answer)
		}
		sent = append(sent, fmt.Sprintf("u%d", i))
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the drain to begin", 10*time.Second, func() bool { return strings.Contains(p.log.String(), "shutting down") })
	time.Sleep(300 * time.Millisecond)
	callbackAddr := strings.TrimPrefix(strings.TrimSuffix(p.callbackURL, "/callback"), "http://")
	if c, err := net.DialTimeout("tcp", callbackAddr, time.Second); err == nil {
		c.Close()
		t.Fatalf("the callback listener %s still accepts connections: the drain has not begun", callbackAddr)
	}
	if ready, reason := readyz(t, p); ready || reason != "shutting down" {
		t.Fatalf("/readyz during the drain: ready %v, reason %q; want not ready, shutting down", ready, reason)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the second signal did not end the process")
	}
	took := time.Since(start)
	if code := cmd.ProcessState.ExitCode(); code != 1 || strings.Contains(p.log.String(), "DATA RACE") ||
		!strings.Contains(p.log.String(), "second signal") || took > 5*time.Second {
		t.Fatalf("exit code %d after %s; log:\n%s", code, took, p.log.String())
	}

	// The events were for a missing topic: a restart dead-letters them at once.
	startBridge(t, append(env, "IMBRIDGE_DLQ_AFTER_ATTEMPTS=1")...)
	msgs := readTopic(t, brokers, dlq, len(sent))
	got := map[string]bool{}
	for _, m := range msgs {
		got[string(m.Key)] = true
	}
	for _, u := range sent {
		if !got[u] {
			t.Fatalf("%s's acknowledged event is missing after the restart (got %v)", u, got)
		}
	}
}

var (
	raceOnce sync.Once
	racePath string
	raceErr  error
)

// raceBinary builds cmd/imbridge with the race detector once per test run.
func raceBinary(t *testing.T) string {
	t.Helper()
	raceOnce.Do(func() {
		dir, err := os.MkdirTemp("", "imbridge-race")
		if err != nil {
			raceErr = err
			return
		}
		racePath = filepath.Join(dir, "imbridge")
		if out, err := exec.Command("go", "build", "-race", "-o", racePath, ".").CombinedOutput(); err != nil {
			raceErr = fmt.Errorf("go build -race: %v: %s", err, out)
		}
	})
	if raceErr != nil {
		t.Fatal(raceErr)
	}
	return racePath
}
