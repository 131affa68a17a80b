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
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// imbridge spool drain against the real binary: a lost replica's spool drained into
// the real broker, a running replica's spool refused, and the command line.

// unreachableBroker is a broker address nothing listens on.
const unreachableBroker = "127.0.0.1:1"

// drainRun is one finished `imbridge spool drain`.
type drainRun struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// runSpool runs `imbridge spool ARGS...` with only env (and PATH) in its environment.
func runSpool(t *testing.T, env []string, args ...string) drainRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), append([]string{"spool"}, args...)...)
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
		t.Fatalf("imbridge spool %v: %v", args, err)
	}
	return r
}

// sendBlocklistDeletes sends callbacks × senders signed callbacks of pairs pairs each,
// every sender its own From_Account with its callbacks one after the other, and
// returns the pairs ("from/to") of the callbacks answered 200 OK, in the order each
// sender sent them. Any other answer fails t.
func sendBlocklistDeletes(t *testing.T, p *bridgeProc, senders, callbacks, pairs int) []string {
	t.Helper()
	var (
		mu     sync.Mutex
		acked  []string
		failed []string
		wg     sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := fmt.Sprintf("drain%d", s)
			for i := 0; i < callbacks; i++ {
				list := make([]string, pairs)
				keys := make([]string, pairs)
				for j := range list {
					to := fmt.Sprintf("%s-%04d-%d", from, i, j)
					list[j] = `{"From_Account":"` + from + `","To_Account":"` + to + `"}`
					keys[j] = from + "/" + to
				}
				body := `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[` + strings.Join(list, ",") + `]}`
				resp, err := client.Post(p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), "application/json", strings.NewReader(body))
				if err != nil {
					mu.Lock()
					failed = append(failed, err.Error())
					mu.Unlock()
					return
				}
				answer, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				if resp.StatusCode != http.StatusOK || string(answer) != okAnswer {
					failed = append(failed, fmt.Sprintf("%d %s", resp.StatusCode, answer))
				} else {
					acked = append(acked, keys...)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("%d callbacks not answered 200 OK, the first: %s", len(failed), failed[0])
	}
	return acked
}

// spoolFiles returns the content of every file in dir whose name matches one of
// patterns.
func spoolFiles(t *testing.T, dir string, patterns ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, pat := range patterns {
		names, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			out[filepath.Base(name)] = string(b)
		}
	}
	return out
}

// A replica acknowledges callbacks while Kafka is out of its reach, and is SIGKILLed
// for good. A drain with Kafka unreachable gives up after --timeout and leaves the
// spool as it was; a drain with Kafka delivers every acknowledged pair exactly once,
// in each sender's order, and exits 0; a second drain forwards nothing.
func TestSpoolDrainLostReplica(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "drain", 3)
	dlq := kafkatest.CreateTopic(t, brokers, "drain-dlq", 1)
	missing := fmt.Sprintf("drain-missing-%d", time.Now().UnixNano()) // a topic nobody created
	spoolDir := filepath.Join(t.TempDir(), "spool")
	// The replica's settings; its callback settings are not read by drain (the token
	// file is not even there).
	replicaEnv := []string{"IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + topic, "IMBRIDGE_TOPIC_FRIEND_ADD=" + missing,
		"IMBRIDGE_DLQ_TOPIC=" + dlq, "IMBRIDGE_DLQ_AFTER_ATTEMPTS=2", "IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX=100ms", "IMBRIDGE_KAFKA_UNKNOWN_TOPIC_TIMEOUT=1s",
		"IMBRIDGE_SPOOL_DIR=" + spoolDir}
	p := startBridge(t, append(replicaEnv, "IMBRIDGE_KAFKA_BROKERS="+unreachableBroker, "IMBRIDGE_LOG_LEVEL=info")...)
	// Two friend additions whose topic is missing: dead-lettered by the drain.
	for _, from := range []string{"u1", "u2"} {
		if status, answer := post(t, p.signedURL(bridge.CommandFriendAdd, e2eToken, time.Now()), friendAddBody(from, "friend_add")); status != 200 {
			t.Fatalf("friend add: answer %d %s", status, answer)
		}
	}
	const senders, callbacks, pairs = 4, 150, 3
	acked := sendBlocklistDeletes(t, p, senders, callbacks, pairs)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	if n := kafkatest.Count(t, brokers, topic); n != 0 {
		t.Fatalf("the replica published %d records to a broker it could not reach", n)
	}

	replicaEnv = append(replicaEnv, "IMBRIDGE_CALLBACK_TOKEN_FILE=/nonexistent/token", "IMBRIDGE_SDKAPPID="+e2eAppID)
	spooled := len(acked) + 2
	records := fmt.Sprintf("%s holds %d records (", spoolDir, spooled)

	before := spoolFiles(t, spoolDir, "*.seg", "ack")
	r := runSpool(t, append(replicaEnv, "IMBRIDGE_KAFKA_BROKERS="+unreachableBroker), "drain", "--timeout=2s", "--progress=500ms", spoolDir)
	wantOut := fmt.Sprintf("imbridge spool drain: 0 records forwarded, 0 dead-lettered, %d left in %s, took ", spooled, spoolDir)
	const wantErr = "imbridge spool drain: nothing forwarded for 2s ("
	wantKept := fmt.Sprintf("); %d records (", spooled)
	if r.code != 1 || !strings.HasPrefix(r.stdout, wantOut) || !strings.Contains(r.stderr, records) ||
		!strings.Contains(r.stderr, "left; waiting for kafka ("+unreachableBroker+"): ") ||
		!strings.HasPrefix(lastLine(r.stderr), wantErr) || !strings.Contains(lastLine(r.stderr), "connection refused") ||
		!strings.Contains(lastLine(r.stderr), wantKept) ||
		!strings.HasSuffix(lastLine(r.stderr), "stay in "+spoolDir+": drain it again once Kafka takes them") {
		t.Fatalf("drain without Kafka: exit %d after %s\nstdout: %s\nstderr: %s\nwant exit 1, stdout %q..., the spool's records named and kept",
			r.code, r.took, r.stdout, r.stderr, wantOut)
	}
	if r.took > 15*time.Second {
		t.Fatalf("drain without Kafka took %s with --timeout=2s", r.took)
	}
	if d := cmp.Diff(before, spoolFiles(t, spoolDir, "*.seg", "ack")); d != "" {
		t.Fatalf("a drain that forwarded nothing changed the spool (-before +after):\n%s", d)
	}
	t.Logf("without Kafka: exit %d after %s: %s", r.code, r.took.Round(time.Millisecond), lastLine(r.stderr))

	r = runSpool(t, append(replicaEnv, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ",")), "drain", "--progress=100ms", spoolDir)
	wantOut = fmt.Sprintf("imbridge spool drain: %d records forwarded, 2 dead-lettered, 0 left in %s, took ", len(acked), spoolDir)
	if r.code != 0 || !strings.HasPrefix(r.stdout, wantOut) || !strings.Contains(r.stderr, records) {
		t.Fatalf("drain: exit %d after %s\nstdout: %s\nstderr: %s\nwant exit 0 and %q...", r.code, r.took, r.stdout, r.stderr, wantOut)
	}
	t.Logf("with Kafka: %d callbacks acknowledged (%d records) drained in %s: %s", senders*callbacks+2, spooled,
		r.took.Round(time.Millisecond), strings.TrimSpace(r.stdout))
	var progress []string
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.Contains(line, "records/s") {
			progress = append(progress, line)
		}
	}
	if len(progress) > 0 {
		t.Logf("%d progress lines, the first: %s", len(progress), progress[0])
	}

	dead := readTopic(t, brokers, dlq, 2)
	var deadKeys []string
	for _, m := range dead {
		for _, h := range m.Headers {
			if h.Key == "imbridge_dlq_topic" && string(h.Value) == missing {
				deadKeys = append(deadKeys, string(m.Key))
			}
		}
	}
	if d := cmp.Diff([]string{"u1", "u2"}, deadKeys); d != "" || len(dead) != 2 {
		t.Fatalf("dead-letter topic holds %d records; keys of those for %s (-want +got):\n%s", len(dead), missing, d)
	}

	msgs := readTopic(t, brokers, topic, len(acked))
	got := map[string]int{}
	last := map[string]string{}
	for _, m := range msgs {
		var v struct{ FromAccount, ToAccount string }
		if err := json.Unmarshal(m.Value, &v); err != nil {
			t.Fatal(err)
		}
		if v.ToAccount <= last[v.FromAccount] {
			t.Fatalf("%s: %s after %s", v.FromAccount, v.ToAccount, last[v.FromAccount])
		}
		last[v.FromAccount] = v.ToAccount
		got[v.FromAccount+"/"+v.ToAccount]++
	}
	want := map[string]int{}
	for _, k := range acked {
		want[k] = 1
	}
	if d := cmp.Diff(want, got); d != "" || len(msgs) != len(acked) {
		t.Fatalf("%d records for %d acknowledged pairs; per pair (-want +got):\n%s", len(msgs), len(acked), d)
	}

	r = runSpool(t, append(replicaEnv, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ",")), "drain", spoolDir)
	wantOut = fmt.Sprintf("imbridge spool drain: 0 records forwarded, 0 dead-lettered, 0 left in %s, took ", spoolDir)
	if r.code != 0 || !strings.HasPrefix(r.stdout, wantOut) || !strings.Contains(r.stderr, spoolDir+" holds 0 records (") {
		t.Fatalf("second drain: exit %d\nstdout: %s\nstderr: %s\nwant exit 0 and %q...", r.code, r.stdout, r.stderr, wantOut)
	}
	if n := kafkatest.Count(t, brokers, topic); n != int64(len(acked)) {
		t.Fatalf("after the second drain the topic holds %d records, want %d", n, len(acked))
	}
}

// lastLine is the last line of s.
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// Drain refuses the spool of a running replica, naming the directory and the
// holder's PID, and changes nothing in it; the replica goes on acknowledging.
func TestSpoolDrainRefusesRunningReplica(t *testing.T) {
	spoolDir := filepath.Join(t.TempDir(), "spool")
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+unreachableBroker, "IMBRIDGE_SPOOL_DIR="+spoolDir)
	acked := sendBlocklistDeletes(t, p, 2, 10, 3)

	before := spoolFiles(t, spoolDir, "*")
	r := runSpool(t, []string{"IMBRIDGE_KAFKA_BROKERS=" + unreachableBroker}, "drain", spoolDir)
	want := fmt.Sprintf("imbridge spool drain: %s is locked by a running process (pid %d): a running replica forwards its own spool",
		spoolDir, p.cmd.Process.Pid)
	if r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, want) {
		t.Fatalf("drain of a running replica's spool: exit %d\nstdout: %s\nstderr: %s\nwant exit 1 and %q", r.code, r.stdout, r.stderr, want)
	}
	if d := cmp.Diff(before, spoolFiles(t, spoolDir, "*")); d != "" {
		t.Fatalf("the refused drain changed the spool (-before +after):\n%s", d)
	}
	if again := sendBlocklistDeletes(t, p, 1, 1, 3); len(again) != 3 {
		t.Fatalf("the replica acknowledged %d pairs after the refused drain, want 3", len(again))
	}
	t.Logf("%d pairs in the running replica's spool; drain refused in %s: %s", len(acked), r.took.Round(time.Millisecond), strings.TrimSpace(r.stderr))
}

// Help answers 0 on stdout; a wrong command line answers 2 with what is wrong and the
// usage; a DIR that is not a spool answers 1 and is left as it was.
func TestSpoolDrainUsage(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o750); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	brokers := "IMBRIDGE_KAFKA_BROKERS=" + unreachableBroker
	const usage = "Usage: imbridge spool drain [--timeout DURATION] [--progress DURATION] DIR\n"
	tests := []struct {
		name     string
		env      []string
		args     []string
		wantCode int
		// wantStdout and wantStderr are the start of each stream ("" for none).
		wantStdout, wantStderr string
	}{
		{name: "spool help", args: []string{"--help"}, wantStdout: "Usage: imbridge spool drain [flags] DIR\n"},
		{name: "drain help", args: []string{"drain", "--help"}, wantStdout: "Usage: imbridge spool drain [flags] DIR\n"},
		{name: "no subcommand", wantCode: 2, wantStderr: "imbridge spool: missing subcommand\n\n" + usage},
		{name: "unknown subcommand", env: []string{brokers}, args: []string{"purge", empty}, wantCode: 2,
			wantStderr: "imbridge spool: unknown subcommand \"purge\"\n\n" + usage},
		{name: "missing DIR", env: []string{brokers}, args: []string{"drain"}, wantCode: 2,
			wantStderr: "imbridge spool drain: missing DIR: name the spool directory to drain\n\n" + usage},
		{name: "two DIRs", env: []string{brokers}, args: []string{"drain", empty, empty}, wantCode: 2,
			wantStderr: fmt.Sprintf("imbridge spool drain: unexpected argument %q after DIR (flags go before DIR)\n\n%s", empty, usage)},
		{name: "flag after DIR", env: []string{brokers}, args: []string{"drain", empty, "--timeout=0"}, wantCode: 2,
			wantStderr: "imbridge spool drain: unexpected argument \"--timeout=0\" after DIR (flags go before DIR)\n\n" + usage},
		{name: "unknown flag", env: []string{brokers}, args: []string{"drain", "--force", empty}, wantCode: 2,
			wantStderr: "imbridge spool drain: flag provided but not defined: -force\n\n" + usage},
		{name: "negative timeout", env: []string{brokers}, args: []string{"drain", "--timeout=-1s", empty}, wantCode: 2,
			wantStderr: "imbridge spool drain: --timeout=-1s: expected a duration such as 10m, or 0 to wait for ever\n\n" + usage},
		{name: "no brokers", args: []string{"drain", empty}, wantCode: 2,
			wantStderr: "imbridge spool drain: IMBRIDGE_KAFKA_BROKERS is required: set it to the bootstrap brokers as host:port pairs separated by commas\n"},
		{name: "bad Kafka setting", env: []string{brokers, "IMBRIDGE_KAFKA_SASL_MECHANISM=GSSAPI"}, args: []string{"drain", empty}, wantCode: 2,
			wantStderr: "imbridge spool drain: IMBRIDGE_KAFKA_SASL_MECHANISM=\"GSSAPI\": expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512\n"},
		{name: "DIR missing", env: []string{brokers}, args: []string{"drain", missing}, wantCode: 1,
			wantStderr: "imbridge spool drain: spool directory: open " + missing + ": no such file or directory\n"},
		// The replica's environment as it is: serve's other settings are not read.
		{name: "DIR not a spool", env: []string{brokers, "IMBRIDGE_CALLBACK_TOKEN_FILE=/nonexistent/token", "IMBRIDGE_SDKAPPID=x"},
			args: []string{"drain", empty}, wantCode: 1,
			wantStderr: "imbridge spool drain: " + empty + " holds no spool (no lock file, no *.seg segment): name the directory the replica had as IMBRIDGE_SPOOL_DIR\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runSpool(t, tt.env, tt.args...)
			if r.code != tt.wantCode || !strings.HasPrefix(r.stdout, tt.wantStdout) || !strings.HasPrefix(r.stderr, tt.wantStderr) ||
				(tt.wantStdout == "") != (r.stdout == "") || (tt.wantStderr == "") != (r.stderr == "") {
				t.Fatalf("imbridge spool %q: exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout %q..., stderr %q...",
					tt.args, r.code, r.stdout, r.stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
	if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
		t.Errorf("the directory that holds no spool now holds %d files (%v)", len(entries), err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the missing DIR was created: %v", err)
	}

	// The help says when to use drain and when never to, and lists what it reads,
	// not serve's callback settings.
	help := runSpool(t, nil, "drain", "--help").stdout
	for _, want := range []string{"will not come back", "Never drain the spool of a running replica", "--timeout DURATION",
		"--progress DURATION", "IMBRIDGE_KAFKA_BROKERS", "IMBRIDGE_KAFKA_SASL_PASSWORD_FILE", "IMBRIDGE_DLQ_TOPIC", "IMBRIDGE_TOPIC_*"} {
		if !strings.Contains(help, want) {
			t.Errorf("spool drain --help does not say %q:\n%s", want, help)
		}
	}
	for _, notWant := range []string{"IMBRIDGE_SDKAPPID", "IMBRIDGE_CALLBACK_TOKEN", "IMBRIDGE_LISTEN", "IMBRIDGE_SPOOL_MAX_BYTES", "IMBRIDGE_KAFKA_UNREACHABLE_AFTER"} {
		if strings.Contains(help, notWant+"\n") || strings.Contains(help, notWant+" ") {
			t.Errorf("spool drain --help lists %s, which drain does not read", notWant)
		}
	}
}
