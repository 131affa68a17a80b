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

	"github.com/imbridge/imbridge/bridge"
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
