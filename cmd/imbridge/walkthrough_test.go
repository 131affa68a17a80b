package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// walkthroughBlock is a shell block of the README marked to be run by
// TestREADMEWalkthrough: <!-- walkthrough[: background ADDR | : until the output matches] -->
// on the line before its ```sh fence.
type walkthroughBlock struct {
	script     string
	background string // the address a long-running block serves once it is ready
	retry      bool   // read-only: run again until its output matches
	want       string // its whole-line comments: the block's output
}

var walkthroughMarker = regexp.MustCompile("(?m)^<!-- walkthrough(?:: (background (\\S+)|until the output matches))? -->\n```sh\n((?s:.*?))```\n")

func walkthroughBlocks(readme string) []walkthroughBlock {
	var out []walkthroughBlock
	for _, m := range walkthroughMarker.FindAllStringSubmatch(readme, -1) {
		b := walkthroughBlock{script: m[3], background: m[2], retry: strings.HasPrefix(m[1], "until")}
		var want []string
		for _, line := range strings.Split(m[3], "\n") {
			if rest, ok := strings.CutPrefix(line, "# "); ok {
				want = append(want, rest)
			}
		}
		b.want = strings.Join(want, "\n")
		out = append(out, b)
	}
	return out
}

// The README's walk-through under make dev runs as written: make dev, the signed
// callbacks with their answers, kcat, the example consumer and its answer, and Ctrl-C
// stopping make dev without an error. It runs on addresses of its own (a broker of its
// own through DEV_KAFKA_PORT, imbridge's and the consumer's ports), so that it neither
// uses nor disturbs a developer's make dev; those addresses are the only change made to
// the README's text.
func TestREADMEWalkthrough(t *testing.T) {
	for _, tool := range []string{"make", "bash", "curl", "kcat", "java", "mvn", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed to run the README's walk-through", tool)
			}
			t.Skipf("%s is needed to run the README's walk-through", tool)
		}
	}
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := walkthroughBlocks(string(raw))
	var scripts []string
	for _, b := range blocks {
		scripts = append(scripts, b.script)
	}
	all := strings.Join(scripts, "")
	for _, want := range []string{"make dev\n", "Sns.CallbackBlackListAdd", "Sns.CallbackBlackListDelete", "kcat ", "./cmd/imbridge-blocklist", `# {"blocklist":["id2"],"user":"id"}`} {
		if !strings.Contains(all, want) {
			t.Fatalf("the README's walk-through blocks lack %q", want)
		}
	}

	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	kafkaPort := kafkatest.FreePorts(t) // its controller on the next port
	imbridge, admin, consumer := freePort(t), freePort(t), freePort(t)
	tmp := t.TempDir()
	env := []string{
		"DEV_KAFKA_PORT=" + strconv.Itoa(kafkaPort),
		"KAFKA_LOCAL_DIR=" + filepath.Join(tmp, "kafka"),
		"IMBRIDGE_LISTEN=" + imbridge, "IMBRIDGE_ADMIN_LISTEN=" + admin,
		"IMBRIDGE_SPOOL_DIR=" + filepath.Join(tmp, "spool"),
	}
	for _, kv := range os.Environ() {
		// make test exports its own broker's settings; make dev must not see them.
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "IMBRIDGE_") && !strings.HasPrefix(k, "KAFKA_LOCAL_") && k != "DEV_KAFKA_PORT" {
			env = append(env, kv)
		}
	}
	private := strings.NewReplacer(
		"127.0.0.1:19092", "127.0.0.1:"+strconv.Itoa(kafkaPort),
		"127.0.0.1:8080", imbridge,
		"127.0.0.1:8081", consumer,
		"./cmd/imbridge-blocklist ", "./cmd/imbridge-blocklist --listen "+consumer+" ",
	)
	t.Cleanup(func() {
		cmd := exec.Command("make", "--no-print-directory", "kafka-down")
		cmd.Dir, cmd.Env = root, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("make kafka-down: %v\n%s", err, out)
		}
	})

	for i, b := range blocks {
		script := private.Replace(b.script)
		if b.background != "" {
			startBackground(t, root, env, script, private.Replace(b.background), i == 0)
			continue
		}
		deadline := time.Now().Add(time.Minute)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", script)
			cmd.Dir, cmd.Env = root, env
			var stderr syncBuffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			cancel()
			got := strings.TrimSpace(string(out))
			if err == nil && (b.want == "" || got == b.want) {
				break
			}
			if !b.retry || time.Now().After(deadline) {
				t.Fatalf("README block %d:\n%s\nexit %v, output:\n%s\nwant:\n%s\nstderr:\n%s", i, script, err, got, b.want, stderr.String())
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// startBackground runs a long-running README block as a terminal would, in a process
// group of its own, waits until it serves addr, and stops it at the end with SIGINT to
// the group (Ctrl-C). With checkExit, the block must then end with status 0 and make
// must not report an error.
func startBackground(t *testing.T, dir string, env []string, script, addr string, checkExit bool) {
	t.Helper()
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		var err error
		select {
		case err = <-exited:
		case <-time.After(60 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			err = <-exited
			t.Errorf("%s did not stop within 60s of Ctrl-C", strings.TrimSpace(script))
		}
		// make itself dies of the SIGINT, as on any Ctrl-C; what it must not do is report
		// its recipe failed (make: *** ... Error 1, or Interrupt for a recipe killed).
		var exit *exec.ExitError
		killedByINT := errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGINT
		if checkExit && ((err != nil && !killedByINT) || strings.Contains(out.String(), "make: ***")) {
			t.Errorf("Ctrl-C on %s: %v\n%s", strings.TrimSpace(script), err, out.String())
		}
	})
	// make dev resolves Kafka, starts it and builds imbridge first: minutes on a cold cache.
	for deadline := time.Now().Add(5 * time.Minute); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("%s exited before serving %s: %v\n%s", strings.TrimSpace(script), addr, err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not serve %s within 5 minutes:\n%s", strings.TrimSpace(script), addr, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
