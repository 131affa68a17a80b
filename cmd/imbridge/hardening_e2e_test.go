package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// procStatus returns a field of /proc/PID/status in bytes (VmRSS: now, VmHWM: peak).
func procStatus(pid int, field string) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpuHogs starts n processes that spin until the test ends: a loaded machine, such as
// a CI runner testing several packages at once, on which a sender may not be scheduled
// for a while.
func cpuHogs(t *testing.T, n int) {
	t.Helper()
	for range n {
		hog := exec.Command("sh", "-c", "while :; do :; done")
		if err := hog.Start(); err != nil {
			t.Fatalf("CPU hog: %v", err)
		}
		t.Cleanup(func() {
			_ = hog.Process.Kill()
			_ = hog.Wait()
		})
	}
}

// floodRSSBound is the documented bound (README, Security) on the resident memory of
// imbridge with its default settings under a flood of 1 MiB bodies; the Kubernetes
// base limits the container to 256 MiB.
const floodRSSBound = 128 << 20

// 256 senders post signed 1 MiB bodies at once, four times over, on a machine kept
// busy by a CPU hog per core: the process's peak resident memory stays under floodRSSBound (the
// bodies held at once are bounded in bytes, not only in number), bodies beyond the
// bound are refused with 503, which every sender reads (a refused body is drained, not
// reset, however slowly the sender is scheduled), and every pair of every callback
// answered 200 is in Kafka.
func TestFloodOfLargeSignedBodies(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	cpuHogs(t, runtime.NumCPU())
	topic := kafkatest.CreateTopic(t, brokers, "flood-large", 3)
	// The flood, on a machine also running the other tests and the hogs, takes some
	// requests past the default 10 s read and write timeouts, after which the server
	// closes the connection unanswered, as documented: this test is about the memory
	// bound and the answers to refused bodies, not about those timeouts.
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic,
		"IMBRIDGE_LOG_LEVEL=info", "IMBRIDGE_HTTP_READ_TIMEOUT=90s", "IMBRIDGE_HTTP_WRITE_TIMEOUT=90s")
	pid := p.cmd.Process.Pid
	before := procStatus(pid, "VmRSS")

	const senders, rounds = 256, 4
	body := func(sender, round int) string {
		head := `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[`
		for i := range 3 {
			if i > 0 {
				head += ","
			}
			head += `{"From_Account":"f` + strconv.Itoa(sender) + `","To_Account":"t` + strconv.Itoa(round) + `-` + strconv.Itoa(i) + `"}`
		}
		// Padded with whitespace, which no event carries (an unknown member would go
		// with every event as "extra", and make each a megabyte).
		head += `]`
		return head + strings.Repeat(" ", 1<<20-len(head)-1) + `}`
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}, Timeout: 120 * time.Second}
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		acked    = map[string]bool{} // From/To pairs answered 200
		wg       sync.WaitGroup
	)
	start := make(chan struct{})
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for r := range rounds {
				b := body(s, r)
				if len(b) != 1<<20 {
					t.Errorf("body of %d bytes", len(b))
					return
				}
				resp, err := client.Post(p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), "application/json", strings.NewReader(b))
				for try := 0; try < 3 && err != nil && strings.Contains(err.Error(), "server closed idle connection"); try++ {
					// A kept-alive connection the server closed (after a refusal) was
					// taken from the pool: the request was not sent. Send it again,
					// as a client does.
					resp, err = client.Post(p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), "application/json", strings.NewReader(b))
				}
				if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
					// Refused before its body was read (no room in the budget): the
					// server answers 503 and closes the connection, which can reach
					// the client as a reset while it is still sending the megabyte.
					mu.Lock()
					statuses[0]++
					mu.Unlock()
					continue
				}
				if err != nil {
					t.Errorf("post: %v", err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				if resp.StatusCode == 200 {
					for i := range 3 {
						acked["f"+strconv.Itoa(s)+"/t"+strconv.Itoa(r)+"-"+strconv.Itoa(i)] = true
					}
				}
				mu.Unlock()
			}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	peak := procStatus(pid, "VmHWM")
	t.Logf("%d x %d signed 1 MiB bodies in %s: answers %v (0: reset while sending a body refused unread); RSS %d MiB before, peak %d MiB (bound %d MiB)",
		senders, rounds, time.Since(began).Round(time.Millisecond), statuses, before>>20, peak>>20, floodRSSBound>>20)
	if peak == 0 || peak > floodRSSBound {
		t.Fatalf("peak RSS %d MiB, bound %d MiB", peak>>20, floodRSSBound>>20)
	}
	for code := range statuses {
		if code != 200 && code != 503 && code != 0 {
			t.Errorf("answered %d", code)
		}
	}
	if statuses[200] == 0 {
		t.Fatal("no callback was accepted")
	}
	// The server outlived the flood: a small callback after it is accepted.
	small := `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"after","To_Account":"flood"}]}`
	resp, err := client.Post(p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), "application/json", strings.NewReader(small))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a callback after the flood: %v %v", resp, err)
	}
	resp.Body.Close()
	acked["after/flood"] = true
	msgs := readTopic(t, brokers, topic, len(acked))
	got := map[string]bool{}
	for _, m := range msgs {
		var e struct{ FromAccount, ToAccount string }
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatal(err)
		}
		got[e.FromAccount+"/"+e.ToAccount] = true
	}
	for pair := range acked {
		if !got[pair] {
			t.Errorf("pair %s was answered 200 and is not in Kafka", pair)
		}
	}
}

// The admin listener serves no command line, caps profiles, and closes idle and slow
// connections (before: no read, write or idle timeout at all).
func TestAdminListenerHardened(t *testing.T) {
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1", "IMBRIDGE_PPROF=true",
		"IMBRIDGE_HTTP_IDLE_TIMEOUT=1s", "IMBRIDGE_HTTP_READ_TIMEOUT=2s")
	for path, want := range map[string]int{
		"/debug/pprof/cmdline":               404,
		"/debug/pprof/profile?seconds=3600":  400,
		"/debug/pprof/trace?seconds=60":      400,
		"/debug/pprof/goroutine?debug=1":     200,
		"/debug/pprof/allocs?seconds=100000": 400,
	} {
		resp, err := http.Get(p.adminURL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	addr := strings.TrimPrefix(p.adminURL, "http://")

	// Idle: one request on a kept-alive connection, then silence.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	if status, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(status, "HTTP/1.1 200 ") {
		t.Fatalf("healthz on a raw connection: %q %v", status, err)
	}
	idle := time.Now()
	for {
		if _, err := r.ReadByte(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("an idle kept-alive admin connection was not closed within 10s")
			}
			break
		}
	}
	t.Logf("idle admin connection closed %s after its answer (idle timeout 1s)", time.Since(idle).Round(10*time.Millisecond))

	// Slow: a request whose body never finishes is cut off by the read timeout.
	slow := time.Now()
	got := rawExchange(t, addr, "POST /healthz HTTP/1.1\r\nHost: admin\r\nContent-Length: 100\r\n\r\n{", false)
	if took := time.Since(slow); took > 8*time.Second {
		t.Fatalf("a request slower than the read timeout was held %s: %q", took, got)
	}
}

// Settings that weaken security: IMBRIDGE_ALLOW_UNSIGNED starts with a WARN every time;
// a placeholder token stops the start unless dev mode is on, which warns too.
func TestInsecureSettingsAtStart(t *testing.T) {
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1", "IMBRIDGE_CALLBACK_TOKEN=", "IMBRIDGE_ALLOW_UNSIGNED=true")
	waitUntil(t, "the warning about unsigned callbacks", 5*time.Second, func() bool {
		return strings.Contains(p.log.String(), `"level":"warn"`) &&
			strings.Contains(p.log.String(), "IMBRIDGE_ALLOW_UNSIGNED=true and no token: callbacks are not authenticated")
	})

	for _, token := range []string{"dev-token", "replace-with-the-token-from-chats-console"} {
		cmd := exec.Command(binary(t), "serve")
		cmd.Env = []string{"IMBRIDGE_SDKAPPID=" + e2eAppID, "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1", "IMBRIDGE_CALLBACK_TOKEN=" + token,
			"IMBRIDGE_LISTEN=127.0.0.1:0", "IMBRIDGE_ADMIN_LISTEN=127.0.0.1:0", "IMBRIDGE_SPOOL_DIR=" + filepath.Join(t.TempDir(), "spool")}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "IMBRIDGE_CALLBACK_TOKEN holds a placeholder from imbridge's examples") {
			t.Fatalf("token %s: %v\n%s", token, err, out)
		}
	}
	dev := startBridge(t, "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1", "IMBRIDGE_CALLBACK_TOKEN=dev-token", "IMBRIDGE_DEV_MODE=true")
	waitUntil(t, "the warning about dev mode", 5*time.Second, func() bool {
		return strings.Contains(dev.log.String(), "IMBRIDGE_DEV_MODE=true: the placeholder tokens of the examples are accepted")
	})
}

// The callback listener negotiates TLS 1.2 only with AEAD suites: a client that offers
// nothing but CBC suites is refused (Go's defaults accepted it).
func TestCallbackTLSRefusesCBC(t *testing.T) {
	certs := kafkatest.GenerateCerts(t)
	dir := t.TempDir()
	pem, err := os.ReadFile(certs.Server)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tls.crt", "tls.key"} {
		if err := os.WriteFile(filepath.Join(dir, f), pem, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1",
		"IMBRIDGE_TLS_CERT_FILE="+filepath.Join(dir, "tls.crt"), "IMBRIDGE_TLS_KEY_FILE="+filepath.Join(dir, "tls.key"))
	caPEM, err := os.ReadFile(certs.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	addr := strings.TrimSuffix(strings.TrimPrefix(p.callbackURL, "http://"), "/callback")
	handshake := func(suites []uint16) error {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost", MaxVersion: tls.VersionTLS12, CipherSuites: suites})
		if err == nil {
			conn.Close()
		}
		return err
	}
	cbc := []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	}
	if err := handshake(cbc); err == nil {
		t.Fatal("a TLS 1.2 client offering only CBC suites was accepted")
	}
	if err := handshake(nil); err != nil {
		t.Fatalf("a TLS 1.2 client with Go's default (AEAD) suites: %v", err)
	}
	for _, s := range kafka.AEADSuites {
		if name := tls.CipherSuiteName(s); !strings.Contains(name, "_GCM_") && !strings.Contains(name, "CHACHA20_POLY1305") {
			t.Errorf("%s is not an AEAD suite", name)
		}
	}
}

// IMBRIDGE_MEMORY_LIMIT (Kubernetes passes limits.memory) sets the Go heap's soft
// limit to 90% of it, unless GOMEMLIMIT is set, which wins; without either, the soft
// limit is 100 MiB.
func TestMemoryLimit(t *testing.T) {
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1", "IMBRIDGE_MEMORY_LIMIT=268435456")
	waitUntil(t, "the memory limit line", 5*time.Second, func() bool {
		return strings.Contains(p.log.String(), `"msg":"Go memory limit set","from":"IMBRIDGE_MEMORY_LIMIT","memory_limit":268435456,"go_memory_limit":241591905`)
	})
	d := startBridge(t, "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1")
	waitUntil(t, "the default memory limit line", 5*time.Second, func() bool {
		return strings.Contains(d.log.String(), `"msg":"Go memory limit set","from":"default","memory_limit":0,"go_memory_limit":104857600`)
	})
	q := startBridge(t, "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1", "IMBRIDGE_MEMORY_LIMIT=268435456", "GOMEMLIMIT=200MiB")
	time.Sleep(200 * time.Millisecond)
	if strings.Contains(q.log.String(), "Go memory limit set") {
		t.Fatal("IMBRIDGE_MEMORY_LIMIT overrode GOMEMLIMIT")
	}
}
