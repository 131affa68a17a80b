package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// bridgeProcess is an imbridge serve started by the suite.
type bridgeProcess struct {
	cmd         *exec.Cmd
	callbackURL string
	readyIn     time.Duration // from exec to /readyz answering 200
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func startBridge(bin string, env []string, logTo io.Writer) (*bridgeProcess, error) {
	cb, err := freeAddr()
	if err != nil {
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(append(os.Environ(), "IMBRIDGE_LISTEN="+cb, "IMBRIDGE_ADMIN_LISTEN="+admin, "IMBRIDGE_LOG_LEVEL=warn"), env...)
	cmd.Stdout, cmd.Stderr = logTo, logTo
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &bridgeProcess{cmd: cmd, callbackURL: "http://" + cb + "/callback"}
	for {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				p.readyIn = time.Since(start)
				break
			}
		}
		if time.Since(start) > 30*time.Second {
			_ = cmd.Process.Kill()
			return nil, errors.New("imbridge was not ready within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return p, nil
}

// sample records the process's peak RSS until the returned function is called.
func (p *bridgeProcess) sample() func() int64 {
	stop, done := make(chan struct{}), make(chan struct{})
	var peak int64
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, rssOf(p.cmd.Process.Pid))
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { close(stop); <-done; return peak }
}

func (p *bridgeProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
}

func rssOf(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	return "?"
}

func suiteCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("imbridge-bench suite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("imbridge", "bin/imbridge", "the imbridge binary to start")
	brokers := fs.String("brokers", "", "bootstrap brokers of the benchmark broker (required)")
	topic := fs.String("topic", "imbridge.bench", "topic to publish to; it must exist")
	duration := fs.Duration("duration", 10*time.Second, "length of each load")
	write := fs.String("write", "", "add the table to this Markdown file (BENCHMARKS.md), newest first")
	kafkaVersion := fs.String("kafka-version", "?", "Kafka version, for the table's heading")
	label := fs.String("label", "", "what this run measures, for the table's heading (such as a change being evaluated)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *brokers == "" {
		fmt.Fprintln(stderr, "imbridge-bench suite: --brokers is required")
		return 2
	}
	ctx := context.Background()
	bks := splitBrokers(*brokers)
	base := Load{AppID: "1400187352", Token: "bench-token", Connections: 64, Pairs: 3, Duration: *duration}
	logFile, err := os.CreateTemp("", "imbridge-bench-*.log")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer logFile.Close()

	var rows []Report
	var notes []string
	// 1. The ceiling.
	url, stopCeiling, err := startCeiling(1400187352, base.Token)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	l := base
	l.URL = url
	ceil, _ := measure(ctx, "ceiling, 3 pairs, 64 conns, max", l, nil, "", stderr)
	stopCeiling()
	rows = append(rows, ceil)

	for _, mode := range []string{"spool", "sync"} {
		dir, _ := os.MkdirTemp("", "imbridge-bench-spool")
		p, err := startBridge(*bin, []string{"IMBRIDGE_DELIVERY=" + mode, "IMBRIDGE_SDKAPPID=1400187352", "IMBRIDGE_ROUTES=blocklist-delete",
			"IMBRIDGE_CALLBACK_TOKEN=" + base.Token, "IMBRIDGE_KAFKA_BROKERS=" + *brokers,
			"IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + *topic, "IMBRIDGE_SPOOL_DIR=" + filepath.Join(dir, "spool")}, logFile)
		if err != nil {
			fmt.Fprintf(stderr, "imbridge-bench: %v (log: %s)\n", err, logFile.Name())
			return 1
		}
		notes = append(notes, fmt.Sprintf("%s mode: start to ready %s with an empty spool", mode, p.readyIn.Round(time.Millisecond)))
		scenario := func(name string, l Load) Report {
			l.URL = p.callbackURL
			stop := p.sample()
			r, err := measure(ctx, name, l, bks, *topic, stderr)
			r.RSSMiB = float64(stop()) / (1 << 20)
			if err != nil {
				fmt.Fprintf(stderr, "imbridge-bench: %v\n", err)
			}
			return r
		}
		maxRun := scenario(mode+", 3 pairs, 64 conns, max", base)
		rows = append(rows, maxRun)
		if mode == "spool" {
			half := base
			half.Rate = float64(int(maxRun.CallbacksPerS / 2))
			rows = append(rows, scenario(fmt.Sprintf("spool, 3 pairs, 64 conns, %.0f/s (half of max)", half.Rate), half))
			big := base
			big.Pairs, big.Rate, big.Connections = 1000, 20, 16
			rows = append(rows, scenario("spool, 1000 pairs, 16 conns, 20/s", big))
		} else {
			fixed := base
			fixed.Rate = 1000
			rows = append(rows, scenario("sync, 3 pairs, 64 conns, 1000/s", fixed))
		}
		p.stop()
		os.RemoveAll(dir)
	}

	table := renderTable(rows, ceil.CallbacksPerS)
	heading := fmt.Sprintf("## %s — %d cores, %s, Apache Kafka %s, %s", time.Now().UTC().Format("2006-01-02 15:04 MST"),
		runtime.NumCPU(), memTotal(), *kafkaVersion, runtime.Version())
	if *label != "" {
		heading += "\n\n" + *label
	}
	section := heading + "\n\n" + table + "\n" + strings.Join(notes, "; ") + ". Each load ran " + duration.String() +
		"; imbridge, the broker and the load generator share the machine.\n"
	fmt.Fprintln(stdout, section)
	if *write != "" {
		if err := prependSection(*write, section); err != nil {
			fmt.Fprintf(stderr, "imbridge-bench: %v\n", err)
			return 1
		}
	}
	for _, r := range rows {
		if r.Missing > 0 {
			fmt.Fprintf(stderr, "imbridge-bench: %s lost %d acknowledged pairs\n", r.Name, r.Missing)
			return 1
		}
	}
	return 0
}

func renderTable(rows []Report, ceiling float64) string {
	var b strings.Builder
	b.WriteString("| scenario | callbacks/s | events/s | answer p50 | answer p99 | answer p99.9 | end-to-end p99 | RSS peak | loss | vs ceiling |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		e2e, loss, rss := "–", "–", "–"
		if r.Checked {
			e2e = fmt.Sprintf("%.1f ms", r.E2EP99)
			loss = strconv.FormatInt(r.Missing, 10)
		}
		if r.RSSMiB > 0 {
			rss = fmt.Sprintf("%.0f MiB", r.RSSMiB)
		}
		ratio := "–"
		if r.Rate == 0 && ceiling > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*r.CallbacksPerS/ceiling)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.2f ms | %.2f ms | %.2f ms | %s | %s | %s | %s |\n",
			r.Name, r.CallbacksPerS, r.EventsPerS, r.P50, r.P99, r.P999, e2e, rss, loss, ratio)
	}
	return b.String()
}

const benchHeader = `# Benchmarks

Measured with ` + "`make bench`" + ` (imbridge-bench suite): the same signed loads against a bare
net/http server that verifies, decodes and answers without delivering (the ceiling), and
against imbridge in spool and in sync mode with a local Apache Kafka broker. Latency is
from the intended send time (open-loop for fixed rates). Loss counts pairs answered 200
that were not found in the topic afterwards. Newest runs first; older rows stay for
comparison.

`

// prependSection adds section to path under the header, above older runs.
func prependSection(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	rest := strings.TrimPrefix(string(old), benchHeader)
	return os.WriteFile(path, []byte(benchHeader+section+"\n"+rest), 0o644)
}
