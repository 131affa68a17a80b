package main

import (
	"bufio"
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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
// final state; a restarted consumer rebuilds the same view by replaying the topic.
func TestRandomSequenceWithRestarts(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "blocklist", 6)
	imbridge := build(t, "../imbridge", "imbridge")
	consumer := build(t, ".", "imbridge-blocklist")

	listen := freeAddr(t)
	bridgeEnv := []string{
		"IMBRIDGE_LISTEN=" + listen, "IMBRIDGE_ADMIN_LISTEN=127.0.0.1:0", "IMBRIDGE_SDKAPPID=1400187352",
		"IMBRIDGE_CALLBACK_TOKEN=t", "IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ","), "IMBRIDGE_ROUTES=blocklist-delete,blocklist-add",
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
			url := "http://" + listen + "/callback?SdkAppid=1400187352&CallbackCommand=" + command + "&RequestTime=" + rt + "&Sign=" + bridge.Sign("t", rt)
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

	check := func(what string) {
		consumerAddr := freeAddr(t)
		c := start(t, consumer, []string{"--brokers", strings.Join(brokers, ","), "--topics", topic,
			"--group", "test-" + strconv.FormatInt(time.Now().UnixNano(), 36), "--listen", consumerAddr}, nil, "serving on")
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
	check("restarted consumer, replaying the topic")
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
		s := NewState()
		for _, ev := range published {
			s.Apply(ev)
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
			s := NewState()
			for _, ev := range tt.give {
				s.Apply(ev)
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
