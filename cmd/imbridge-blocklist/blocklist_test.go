package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/events"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

func build(t *testing.T, pkg, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs bin with args and env and waits until a line of its output contains ready.
func start(t *testing.T, bin string, args, env []string, ready string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), ready) {
				once = true
				close(found)
			}
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	select {
	case <-found:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not start", bin)
	}
	return cmd
}

// A random sequence of blocklist additions and removals for many users, sent as signed
// callbacks to imbridge (spool mode, both blocklist routes on one topic) that is killed
// and restarted in the middle, ends with the consumer's view equal to the sequence's
// final state; a consumer killed (SIGKILL) and restarted on the snapshot it left
// behind reads on from there to the same view.
func TestRandomSequenceWithRestarts(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "blocklist", 6)
	imbridge := build(t, "../imbridge", "imbridge")
	consumer := build(t, ".", "imbridge-blocklist")

	listen := freeAddr(t)
	bridgeEnv := []string{
		"IMBRIDGE_LISTEN=" + listen, "IMBRIDGE_ADMIN_LISTEN=127.0.0.1:0", "IMBRIDGE_SDKAPPID=1400187352",
		"IMBRIDGE_CALLBACK_TOKEN=blocklist-test-token", "IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ","), "IMBRIDGE_ROUTES=blocklist-delete,blocklist-add",
		"IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + topic, "IMBRIDGE_TOPIC_BLOCKLIST_ADD=" + topic,
		"IMBRIDGE_SPOOL_DIR=" + filepath.Join(t.TempDir(), "spool"),
	}
	b := start(t, imbridge, []string{"serve"}, bridgeEnv, "imbridge starting")

	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	want := map[string]map[string]bool{}
	const ops = 600
	client := &http.Client{Timeout: 5 * time.Second}
	for i := 0; i < ops; i++ {
		if i == ops/2 {
			_ = b.Process.Kill() // SIGKILL, mid-sequence
			_ = b.Wait()
			b = start(t, imbridge, []string{"serve"}, bridgeEnv, "imbridge starting")
		}
		user, target := fmt.Sprintf("user%02d", rng.IntN(30)), fmt.Sprintf("t%d", rng.IntN(8))
		command := bridge.CommandBlackListAdd
		if rng.IntN(2) == 0 {
			command = bridge.CommandBlackListDelete
		}
		body := `{"CallbackCommand":"` + command + `","PairList":[{"From_Account":"` + user + `","To_Account":"` + target + `"}]}`
		for attempt := 0; ; attempt++ {
			rt := strconv.FormatInt(time.Now().Unix(), 10)
			url := "http://" + listen + "/callback?SdkAppid=1400187352&CallbackCommand=" + command + "&RequestTime=" + rt + "&Sign=" + bridge.Sign("blocklist-test-token", rt)
			resp, err := client.Post(url, "application/json", strings.NewReader(body))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if attempt > 100 {
				t.Fatalf("op %d not acknowledged: %v", i, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if want[user] == nil {
			want[user] = map[string]bool{}
		}
		if command == bridge.CommandBlackListAdd {
			want[user][target] = true
		} else {
			delete(want[user], target)
		}
	}

	snapshot := filepath.Join(t.TempDir(), "blocklist.snapshot")
	check := func(what string) {
		consumerAddr := freeAddr(t)
		c := start(t, consumer, []string{"--brokers", strings.Join(brokers, ","), "--topics", topic,
			"--snapshot", snapshot, "--snapshot-interval", "200ms", "--listen", consumerAddr}, nil, "serving on")
		deadline := time.Now().Add(60 * time.Second)
		for {
			mismatch := ""
			for u := 0; u < 30 && mismatch == ""; u++ {
				user := fmt.Sprintf("user%02d", u)
				var exp []string
				for target := range want[user] {
					exp = append(exp, target)
				}
				slices.Sort(exp)
				resp, err := http.Get("http://" + consumerAddr + "/users/" + user + "/blocklist")
				if err != nil {
					mismatch = err.Error()
					break
				}
				var got struct{ Blocklist []string }
				_ = json.NewDecoder(resp.Body).Decode(&got)
				resp.Body.Close()
				if !slices.Equal(exp, got.Blocklist) && !(len(exp) == 0 && len(got.Blocklist) == 0) {
					mismatch = fmt.Sprintf("%s: consumer has %v, want %v", user, got.Blocklist, exp)
				}
			}
			if mismatch == "" {
				t.Logf("%s: the consumer's view equals the final state of %d operations", what, ops)
				_ = c.Process.Kill()
				_ = c.Wait()
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s", what, mismatch)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	check("first consumer")
	check("restarted consumer, from the snapshot its SIGKILLed predecessor left")
}

func change(add bool, user, target string, version int64) any {
	p := events.Pair{FromAccount: user, ToAccount: target, Version: version}
	if add {
		return &events.BlocklistAdded{Pair: p}
	}
	return &events.BlocklistRemoved{Pair: p}
}

// Changes with distinct versions end in the state of the greatest version per (user,
// target) in whatever order, and with whatever repeats, they are applied: the order in
// which replicas publish does not matter.
func TestStateIndependentOfOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	for round := 0; round < 200; round++ {
		var seq []any
		want := map[string]map[string]bool{}
		for v := int64(1); v <= 40; v++ { // the true order: version order
			user, target, add := fmt.Sprintf("u%d", rng.IntN(3)), fmt.Sprintf("t%d", rng.IntN(3)), rng.IntN(2) == 0
			seq = append(seq, change(add, user, target, 1669872112000+v))
			if want[user] == nil {
				want[user] = map[string]bool{}
			}
			want[user][target] = add
		}
		// Published in any order, some of it twice (a replica's redelivery).
		published := append([]any(nil), seq...)
		for i := 0; i < 5; i++ {
			published = append(published, seq[rng.IntN(len(seq))])
		}
		rng.Shuffle(len(published), func(i, j int) { published[i], published[j] = published[j], published[i] })
		s := NewState(0)
		for _, ev := range published {
			s.Apply(Partition{}, ev)
		}
		for u := 0; u < 3; u++ {
			user := fmt.Sprintf("u%d", u)
			exp := []string{}
			for target, blocked := range want[user] {
				if blocked {
					exp = append(exp, target)
				}
			}
			slices.Sort(exp)
			if got := s.Blocklist(user); !slices.Equal(got, exp) {
				t.Fatalf("round %d, %s: %v, want %v", round, user, got, exp)
			}
		}
	}
}

func TestStateApply(t *testing.T) {
	tests := []struct {
		name   string
		give   []any
		want   []string
		ignore int64
	}{
		{"an older addition after a removal is ignored (the tombstone keeps its version)",
			[]any{change(false, "u", "t", 20), change(true, "u", "t", 10)}, []string{}, 1},
		{"a newer addition after a removal applies",
			[]any{change(false, "u", "t", 10), change(true, "u", "t", 20)}, []string{"t"}, 0},
		{"a tie: the event read later wins",
			[]any{change(true, "u", "t", 10), change(false, "u", "t", 10)}, []string{}, 0},
		{"a redelivered older addition is ignored",
			[]any{change(true, "u", "t", 10), change(false, "u", "t", 20), change(true, "u", "t", 10)}, []string{}, 1},
		{"targets are independent",
			[]any{change(true, "u", "a", 30), change(true, "u", "b", 10), change(false, "u", "b", 20)}, []string{"a"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewState(24 * time.Hour)
			for _, ev := range tt.give {
				s.Apply(Partition{}, ev)
			}
			if d := cmp.Diff(tt.want, s.Blocklist("u")); d != "" || s.Ignored() != tt.ignore {
				t.Fatalf("blocklist (-want +got):\n%s\nignored %d, want %d", d, s.Ignored(), tt.ignore)
			}
		})
	}
}

// A topic that does not exist is named at start, so that a wrong --topics is not an
// empty blocklist that says nothing.
func TestWarnsAboutMissingTopic(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	consumer := build(t, ".", "imbridge-blocklist")
	missing := "imbridge.no.such.topic." + strconv.FormatInt(time.Now().UnixNano(), 36)
	start(t, consumer, []string{"--brokers", strings.Join(brokers, ","), "--topics", missing, "--listen", freeAddr(t)}, nil,
		"topic "+missing+" does not exist")
}

// op is one blocklist change as imbridge publishes it: the event of user adding or
// removing target, at version (Unix ms, the event's EventTime).
type op struct {
	add          bool
	user, target string
	version      int64
}

// produce writes ops to topic as imbridge's records (key From_Account, CloudEvents
// headers, version header), in order, partitioned by key as imbridge does.
func produce(t *testing.T, brokers []string, topic string, ops []op) {
	t.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: topic, Balancer: &kafkago.Hash{}, RequiredAcks: kafkago.RequireAll,
		BatchTimeout: 5 * time.Millisecond, BatchSize: 1000, MaxAttempts: 20}
	defer w.Close()
	msgs := make([]kafkago.Message, 0, len(ops))
	for i, o := range ops {
		typ, command := events.TypeBlocklistRemoved, bridge.CommandBlackListDelete
		if o.add {
			typ, command = events.TypeBlocklistAdded, bridge.CommandBlackListAdd
		}
		at := time.UnixMilli(o.version).UTC()
		e := bridge.Event{Type: typ, Source: "urn:tencent-im:sdkappid:1400187352", Time: at,
			ID: fmt.Sprintf("%s-%d-%d", topic, o.version, i), SDKAppID: 1400187352, CallbackCommand: command,
			Subject: bridge.PairSubject(o.user, o.target), ReceivedAt: at.Format("2006-01-02T15:04:05.000Z07:00"), EventTime: o.version}
		r := e.AppendRecord(nil)[0]
		m := kafkago.Message{Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			m.Headers = append(m.Headers, kafkago.Header{Key: h.Key, Value: h.Value})
		}
		msgs = append(msgs, m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce %d records to %s: %v", len(msgs), topic, err)
	}
}

// truth is every user's blocklist after ops: per pair, the change of the greatest
// version.
func truth(ops ...[]op) map[string][]string {
	last := map[[2]string]op{}
	for _, list := range ops {
		for _, o := range list {
			k := [2]string{o.user, o.target}
			if held, ok := last[k]; !ok || o.version >= held.version {
				last[k] = o
			}
		}
	}
	out := map[string][]string{}
	for k, o := range last {
		if _, ok := out[k[0]]; !ok {
			out[k[0]] = []string{}
		}
		if o.add {
			out[k[0]] = append(out[k[0]], k[1])
		}
	}
	for _, l := range out {
		slices.Sort(l)
	}
	return out
}

// randomOps returns n changes of users prefix00..prefix(users-1) on targets t0..t7,
// with increasing versions from base.
func randomOps(rng *rand.Rand, prefix string, users, n int, base int64) []op {
	out := make([]op, n)
	for i := range out {
		out[i] = op{add: rng.IntN(2) == 0, user: fmt.Sprintf("%s%02d", prefix, rng.IntN(users)), target: fmt.Sprintf("t%d", rng.IntN(8)),
			version: base + int64(i)}
	}
	return out
}

// proc is a running imbridge-blocklist whose output is kept.
type proc struct {
	t    *testing.T
	addr string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan struct{} // closed when the process exited
	err  error         // its Wait error, once done
}

// startConsumer starts bin with args and --listen, and waits until it serves.
func startConsumer(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, addr: freeAddr(t), done: make(chan struct{})}
	p.cmd = exec.Command(bin, append(args, "--listen", p.addr)...)
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	p.cmd.Stdout, p.cmd.Stderr = (*procWriter)(p), (*procWriter)(p)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("imbridge-blocklist output:\n%s", p.output())
		}
	})
	p.waitFor("serving on", 20*time.Second)
	return p
}

type procWriter proc

func (w *procWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor waits until the output holds s.
func (p *proc) waitFor(s string, timeout time.Duration) {
	p.t.Helper()
	p.waitUntil("output "+strconv.Quote(s), timeout, func() bool { return strings.Contains(p.output(), s) })
}

// waitUntil polls cond until it holds, failing t after timeout or if the process
// exits.
func (p *proc) waitUntil(what string, timeout time.Duration, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-p.done:
			p.t.Fatalf("imbridge-blocklist exited (%v) waiting for %s:\n%s", p.err, what, p.output())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no %s after %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// consumerStats is GET /stats.
type consumerStats struct {
	Stats
	Snapshot struct {
		Written, Bytes, TookMs int64
	}
}

func (p *proc) get(path string, v any) int {
	p.t.Helper()
	resp, err := http.Get("http://" + p.addr + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode
}

func (p *proc) stats() consumerStats {
	p.t.Helper()
	var s consumerStats
	p.get("/stats", &s)
	return s
}

// ready returns /readyz's status code and reason.
func (p *proc) ready() (int, string) {
	p.t.Helper()
	var r struct{ Status, Reason string }
	code := p.get("/readyz", &r)
	return code, r.Reason
}

// waitRead waits until the consumer handled n blocklist records in all.
func (p *proc) waitRead(n int64, timeout time.Duration) {
	p.t.Helper()
	p.waitUntil(fmt.Sprintf("%d records handled", n), timeout, func() bool { s := p.stats(); return s.Applied+s.Ignored >= n })
}

// view returns the blocklists of users.
func (p *proc) view(users map[string][]string) map[string][]string {
	p.t.Helper()
	out := map[string][]string{}
	for u := range users {
		var got struct{ Blocklist []string }
		p.get("/users/"+u+"/blocklist", &got)
		out[u] = got.Blocklist
	}
	return out
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop() int {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatal("imbridge-blocklist did not stop within 30s of SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode()
}
