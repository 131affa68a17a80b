package kafkatest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The tests here check the harness make test and the integration tests stand on, so that
// two checkouts' make test pass side by side on one machine: free ports are picked and
// reserved (deploy/kafka/ports.sh), each broker gets a private folder, and kafka.sh and
// cluster.sh refuse a port another process holds instead of using whatever answers there.

// harnessEnv is the environment for running kafka.sh or cluster.sh here, without the
// settings of make test's own broker (which kafka.sh run exports) and with extra.
func harnessEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "KAFKA_LOCAL_") && !strings.HasPrefix(k, "KAFKA_CLUSTER_") && k != EnvBrokers {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func needJava(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"java", "mvn"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable(t, tool+" is needed to run a private Kafka broker")
		}
	}
}

func portsDir() string {
	if d := os.Getenv("IMBRIDGE_PORTS_DIR"); d != "" {
		return d
	}
	return "/tmp/imbridge-ports"
}

// blocks collects picked blocks and reports any two that overlap, or a port of one that
// is not free.
type blocks struct {
	t    *testing.T
	seen map[int]string
}

func (b *blocks) add(base int, who string) {
	b.t.Helper()
	if base%PortBlock != 0 || base < 1024 || base+PortBlock > 65536 {
		b.t.Errorf("%s picked %d: want a multiple of %d in 1024-%d", who, base, PortBlock, 65536-PortBlock)
	}
	for other, w := range b.seen {
		if base < other+PortBlock && other < base+PortBlock {
			b.t.Errorf("%s picked %d-%d, which overlaps %d-%d, picked by %s", who, base, base+PortBlock-1, other, other+PortBlock-1, w)
		}
	}
	b.seen[base] = who
	for p := base; p < base+PortBlock; p++ {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			b.t.Errorf("%s picked %d, but port %d is not free: %v", who, base, p, err)
			continue
		}
		ln.Close()
	}
}

// Picks made while earlier ones are still held, in this process (FreePorts, as the
// integration tests call it) and in another (ports.sh pick, as make test's kafka.sh run
// calls it), never overlap, and every port picked is free.
func TestPicksAreDisjoint(t *testing.T) {
	b := &blocks{t: t, seen: map[int]string{}}
	b.add(FreePorts(t), "FreePorts")
	b.add(FreePorts(t), "FreePorts, again")

	// The other picker's reservations last while their owner lives: a process of its own.
	owner := exec.Command("sleep", "300")
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = owner.Process.Kill(); _ = owner.Wait() })
	for i := range 30 {
		out, err := exec.Command(Script("ports.sh"), "pick", strconv.Itoa(owner.Process.Pid)).Output()
		if err != nil {
			t.Fatalf("ports.sh pick: %v", err)
		}
		base, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("ports.sh pick printed %q", out)
		}
		t.Cleanup(func() { _ = exec.Command(Script("ports.sh"), "release", strconv.Itoa(base)).Run() })
		owner, err := os.ReadFile(filepath.Join(portsDir(), strconv.Itoa(base), "owner"))
		if err != nil || strings.TrimSpace(string(owner)) == "" {
			t.Errorf("no reservation of %d in %s: %v", base, portsDir(), err)
		}
		b.add(base, fmt.Sprintf("another process's pick %d", i+1))
	}
}

// kafka.sh up and cluster.sh up refuse to start on a port another process listens on,
// and name that process (here, this test binary); before, the broker's JVM died of a
// BindException while up reported success and went on with whatever held the port.
func TestUpRefusesATakenPort(t *testing.T) {
	self := fmt.Sprintf("pid %d (%s", os.Getpid(), os.Args[0])
	for _, tt := range []struct {
		name   string
		script string
		offset int // which port of the block the test holds
		env    []string
	}{
		{"kafka.sh: the broker port", "kafka.sh", 0, nil},
		{"kafka.sh: the controller port", "kafka.sh", 1, nil},
		{"kafka.sh: the SASL port", "kafka.sh", 2, []string{"KAFKA_LOCAL_SASL=1"}},
		{"cluster.sh: node 2 port", "cluster.sh", 1, nil},
		{"cluster.sh: node 3 controller port", "cluster.sh", 12, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.script == "cluster.sh" {
				needJava(t) // cluster.sh resolves the jars first
			}
			base := FreePorts(t)
			held := base + tt.offset
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(held))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			dir := filepath.Join(t.TempDir(), "state")
			cmd := exec.Command(Script(tt.script), "up")
			cmd.Env = harnessEnv(append(tt.env,
				"KAFKA_LOCAL_PORT="+strconv.Itoa(base), "KAFKA_LOCAL_DIR="+dir, "KAFKA_LOCAL_TOPICS=",
				"KAFKA_CLUSTER_PORT="+strconv.Itoa(base), "KAFKA_CLUSTER_DIR="+dir, "KAFKA_CLUSTER_TOPICS=")...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("%s up with port %d taken: %v, want exit status 1\n%s", tt.script, held, err, out)
			}
			msg := string(out)
			for _, want := range []string{fmt.Sprintf("port %d ", held), self, "cannot start"} {
				if !strings.Contains(msg, want) {
					t.Errorf("%s up with port %d taken says:\n%s\nwant it to contain %q", tt.script, held, msg, want)
				}
			}
			// Nothing was started.
			if pids, _ := filepath.Glob(filepath.Join(dir, "*.pid")); len(pids) > 0 {
				t.Errorf("%s up started a broker although port %d is taken: %v", tt.script, held, pids)
			}
			if pids, _ := filepath.Glob(filepath.Join(dir, "node*", "*.pid")); len(pids) > 0 {
				t.Errorf("%s up started nodes although port %d is taken: %v", tt.script, held, pids)
			}
		})
	}
}

// Two make tests side by side: make test's broker harness (kafka.sh run, with the port
// and folder make test passes by default) runs twice at once. The two brokers get
// disjoint ports and folders, both answer at once, each is its own run's broker, a
// third broker asked for one of their ports is refused naming the broker that holds it,
// also in a folder whose pid file names a live process that is no broker (which down
// then leaves alone), and each run leaves nothing behind: its broker stopped, its folder
// deleted, its reservation released.
func TestTwoTestBrokersSideBySide(t *testing.T) {
	needJava(t)
	work := t.TempDir()
	// Each run reports its broker and folder, waits until the other has, checks that its
	// broker answers and is its own (kafka.sh status), lets run 0 try to start a third
	// broker on run 1's port (in a fresh folder and in a stale one), and waits until both
	// are done, so that both brokers run all along.
	const script = `set -eu
echo "$IMBRIDGE_TEST_KAFKA_BROKERS $KAFKA_LOCAL_PORT $KAFKA_LOCAL_DIR" >"$WORK/report$ME.tmp"
mv "$WORK/report$ME.tmp" "$WORK/report$ME"
wait_for() { for _ in $(seq 1 900); do [ -f "$1" ] && return 0; sleep 0.2; done; echo "no $1 after 3 minutes" >&2; exit 1; }
wait_for "$WORK/report$OTHER"
"$KAFKA_SH" status >"$WORK/status$ME"
if [ "$ME" = 0 ]; then
  read -r _ port _ <"$WORK/report1"
  if KAFKA_LOCAL_PORT=$port KAFKA_LOCAL_DIR="$WORK/third" "$KAFKA_SH" up 2>"$WORK/third.log"; then
    echo "a third broker started on run 1's port $port" >&2; "$KAFKA_SH" down; exit 1
  fi
  # A state folder whose pid file names a live process that is no broker (a pid reused):
  # up does not take run 1's broker for its own, and down leaves that process alone.
  mkdir -p "$WORK/stale"
  sleep 300 >/dev/null 2>&1 &
  trap 'kill $! 2>/dev/null || true' EXIT
  echo $! >"$WORK/stale/broker.pid"
  if KAFKA_LOCAL_PORT=$port KAFKA_LOCAL_DIR="$WORK/stale" "$KAFKA_SH" up 2>"$WORK/stale.log"; then
    echo "up took run 1's broker for the one of $WORK/stale" >&2; exit 1
  fi
  KAFKA_LOCAL_PORT=$port KAFKA_LOCAL_DIR="$WORK/stale" "$KAFKA_SH" down
  kill -0 $! || { echo "kafka.sh down killed the process its pid file named, which was no broker" >&2; exit 1; }
  kill $!
fi
touch "$WORK/done$ME"
wait_for "$WORK/done$OTHER"
`
	var wg sync.WaitGroup
	outs, errs := make([][]byte, 2), make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(Script("kafka.sh"), "run", "bash", "-c", script)
			// What make test passes by default: pick the port, make the folder.
			cmd.Env = harnessEnv("KAFKA_LOCAL_PORT=auto", "KAFKA_LOCAL_DIR=", "KAFKA_LOCAL_TOPICS=", "KAFKA_LOCAL_HEAP=512m",
				"KAFKA_SH="+Script("kafka.sh"), "WORK="+work, "ME="+strconv.Itoa(i), "OTHER="+strconv.Itoa(1-i))
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("run %d: kafka.sh run: %v\n%s", i, errs[i], outs[i])
		}
	}

	type report struct {
		brokers, dir string
		port         int
	}
	var r [2]report
	for i := range 2 {
		b, err := os.ReadFile(filepath.Join(work, "report"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b))
		if len(f) != 3 {
			t.Fatalf("run %d reported %q, want brokers, port and folder", i, b)
		}
		r[i].brokers, r[i].dir = f[0], f[2]
		if r[i].port, err = strconv.Atoi(f[1]); err != nil || r[i].brokers != "127.0.0.1:"+f[1] {
			t.Fatalf("run %d reported %q: %s=%s for port %s", i, b, EnvBrokers, f[0], f[1])
		}
		status, _ := os.ReadFile(filepath.Join(work, "status"+strconv.Itoa(i)))
		if strings.TrimSpace(string(status)) != r[i].brokers {
			t.Errorf("run %d: kafka.sh status printed %q, want %s", i, status, r[i].brokers)
		}
	}
	t.Logf("run 0: %s in %s; run 1: %s in %s", r[0].brokers, r[0].dir, r[1].brokers, r[1].dir)
	if d := r[0].port - r[1].port; d > -PortBlock && d < PortBlock {
		t.Errorf("the runs' ports %d and %d are not in disjoint blocks of %d", r[0].port, r[1].port, PortBlock)
	}
	if r[0].dir == r[1].dir || strings.HasPrefix(r[0].dir+"/", r[1].dir+"/") || strings.HasPrefix(r[1].dir+"/", r[0].dir+"/") {
		t.Errorf("the runs share a folder: %s and %s", r[0].dir, r[1].dir)
	}

	third, _ := os.ReadFile(filepath.Join(work, "third.log"))
	for _, want := range []string{fmt.Sprintf("ports %d, %d are taken by pid ", r[1].port, r[1].port+1), "kafka.Kafka " + r[1].dir + "/server.properties"} {
		if !strings.Contains(string(third), want) {
			t.Errorf("kafka.sh up on run 1's port says:\n%s\nwant it to contain %q", third, want)
		}
	}

	stale, _ := os.ReadFile(filepath.Join(work, "stale.log"))
	t.Logf("kafka.sh up on run 1's port:\n%s\nkafka.sh up on run 1's port, a stale pid file:\n%s", third, stale)
	for _, want := range []string{fmt.Sprintf("ports %d, %d are taken by pid ", r[1].port, r[1].port+1), "kafka.Kafka " + r[1].dir + "/server.properties"} {
		if !strings.Contains(string(stale), want) {
			t.Errorf("kafka.sh up in a stale folder on run 1's port says:\n%s\nwant it to contain %q", stale, want)
		}
	}

	for i := range 2 {
		if _, err := os.Stat(r[i].dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("run %d left its folder %s: %v", i, r[i].dir, err)
		}
		if _, err := os.Stat(filepath.Join(portsDir(), strconv.Itoa(r[i].port))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("run %d left its reservation of %d: %v", i, r[i].port, err)
		}
		for _, p := range []int{r[i].port, r[i].port + 1} {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				t.Errorf("run %d's port %d is still taken after the run: %v", i, p, err)
				continue
			}
			ln.Close()
		}
	}
}
