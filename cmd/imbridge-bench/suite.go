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
	"regexp"
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
	warmup := fs.Duration("warmup", 10*time.Second, "unmeasured load at full speed before each mode's rows, so that the broker's JIT compiler and imbridge's connections are warm (a fresh broker's CPU per callback halves over its first 20s or so)")
	write := fs.String("write", "", "add the table to this Markdown file (BENCHMARKS.md), newest first")
	kafkaVersion := fs.String("kafka-version", "?", "Kafka version, for the table's heading")
	label := fs.String("label", "", "what this run measures, for the table's heading (such as a change being evaluated)")
	brokerPIDFile := fs.String("broker-pid-file", "", "PID file of the benchmark broker (deploy/kafka/kafka.sh's broker.pid): its CPU per callback goes into the table")
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
	cpu := cpuMeter{tick: clockTick()}.with(roleLoad, os.Getpid())
	if *brokerPIDFile != "" {
		pid, err := pidFromFile(*brokerPIDFile)
		if err != nil {
			fmt.Fprintf(stderr, "imbridge-bench suite: --broker-pid-file: %v\n", err)
			return 2
		}
		cpu = cpu.with(roleBroker, pid)
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
	var t targetRows
	// 1. The ceiling, in its own process so that its CPU is its own.
	c, err := startCeilingProcess(base.AppID, base.Token, logFile)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge-bench: %v (log: %s)\n", err, logFile.Name())
		return 1
	}
	l := base
	l.URL = c.callbackURL
	ceil, _ := measure(ctx, "ceiling, 3 pairs, 64 conns, max", l, nil, "", cpu.with(roleServer, c.cmd.Process.Pid), stderr)
	c.stop()
	rows = append(rows, ceil)
	t.ceiling = ceil

	for _, mode := range []string{"spool", "sync"} {
		dir, _ := os.MkdirTemp("", "imbridge-bench-spool")
		p, err := startBridge(*bin, []string{"IMBRIDGE_DELIVERY=" + mode, "IMBRIDGE_SDKAPPID=1400187352", "IMBRIDGE_ROUTES=blocklist-delete,c2c-message-sent", "IMBRIDGE_TOPIC_C2C_MESSAGE_SENT=" + *topic,
			"IMBRIDGE_CALLBACK_TOKEN=" + base.Token, "IMBRIDGE_KAFKA_BROKERS=" + *brokers,
			"IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + *topic, "IMBRIDGE_SPOOL_DIR=" + filepath.Join(dir, "spool")}, logFile)
		if err != nil {
			fmt.Fprintf(stderr, "imbridge-bench: %v (log: %s)\n", err, logFile.Name())
			return 1
		}
		notes = append(notes, fmt.Sprintf("%s mode: start to ready %s with an empty spool", mode, p.readyIn.Round(time.Millisecond)))
		if *warmup > 0 {
			w := base
			w.URL, w.Duration = p.callbackURL, *warmup
			fmt.Fprintf(stderr, "%s mode: warming up for %s\n", mode, *warmup)
			w.Run(ctx, newRunID(), io.Discard)
		}
		scenario := func(name string, l Load) Report {
			l.URL = p.callbackURL
			stop := p.sample()
			r, err := measure(ctx, name, l, bks, *topic, cpu.with(roleServer, p.cmd.Process.Pid), stderr)
			r.RSSMiB = float64(stop()) / (1 << 20)
			if err != nil {
				fmt.Fprintf(stderr, "imbridge-bench: %v\n", err)
			}
			return r
		}
		maxRun := scenario(mode+", 3 pairs, 64 conns, max", base)
		rows = append(rows, maxRun)
		if mode == "spool" {
			t.spoolMax = maxRun
			half := base
			half.Rate = float64(int(maxRun.CallbacksPerS / 2))
			rows = append(rows, scenario(fmt.Sprintf("spool, 3 pairs, 64 conns, %.0f/s (half of max)", half.Rate), half))
			half.Rate = float64(int(ceil.CallbacksPerS / 2))
			t.halfCeiling = scenario(fmt.Sprintf("spool, 3 pairs, 64 conns, %.0f/s (half of the ceiling)", half.Rate), half)
			rows = append(rows, t.halfCeiling)
			big := base
			big.Pairs, big.Rate, big.Connections = 1000, 20, 16
			t.big = scenario("spool, 1000 pairs, 16 conns, 20/s", big)
			rows = append(rows, t.big)
			// The largest message Chat sends (12 KB of text) as a one-to-one message
			// callback: one event each, its content carried as sent.
			msg := base
			msg.Pairs, msg.MessageBytes, msg.Rate, msg.Connections = 1, 12<<10, 200, 16
			rows = append(rows, scenario("spool, C2C message of 12 KiB, 16 conns, 200/s", msg))
		} else {
			fixed := base
			fixed.Rate = 1000
			rows = append(rows, scenario("sync, 3 pairs, 64 conns, 1000/s", fixed))
		}
		p.stop()
		os.RemoveAll(dir)
	}

	t.all = rows
	table := renderTable(rows, ceil) + "\n" + renderTargets(t)
	heading := fmt.Sprintf("## %s — %d cores, %s, Apache Kafka %s, %s", time.Now().UTC().Format("2006-01-02 15:04 MST"),
		runtime.NumCPU(), memTotal(), *kafkaVersion, runtime.Version())
	if *label != "" {
		heading += "\n\n" + *label
	}
	section := heading + "\n\n" + table + "\n" + strings.Join(notes, "; ") + ". Each load ran " + duration.String() +
		"; imbridge, the broker and the load generator share the machine. CPU is utime+stime from /proc/PID/stat" +
		fmt.Sprintf(" (%.0f ticks/s) during each load, per 1,000 callbacks answered 200.\n", cpu.tick)
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

// cpuCell formats role's CPU seconds per 1,000 callbacks of r.
func cpuCell(r Report, role string) string {
	if v, ok := r.cpuPer1k(role); ok {
		return fmt.Sprintf("%.4f", v)
	}
	return "–"
}

// cpuRatio is the server's CPU per callback in r over the ceiling's, for loads like the
// ceiling's (as fast as possible, same callback size): at a fixed lower rate idle work
// and smaller batches weigh more per callback, so that ratio would mislead.
func cpuRatio(r, ceiling Report) (float64, bool) {
	v, ok1 := r.cpuPer1k(roleServer)
	c, ok2 := ceiling.cpuPer1k(roleServer)
	if !ok1 || !ok2 || c == 0 || r.Pairs != ceiling.Pairs || r.Rate != 0 || ceiling.Rate != 0 {
		return 0, false
	}
	return v / c, true
}

func renderTable(rows []Report, ceiling Report) string {
	var b strings.Builder
	b.WriteString("| scenario | callbacks/s | events/s | answer p50 | answer p99 | answer p99.9 | end-to-end p99 | RSS peak | loss | vs ceiling |" +
		" imbridge CPU s/1k | CPU vs ceiling | broker CPU s/1k | load gen CPU s/1k | others' CPU |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		e2e, loss, rss, broker := "–", "–", "–", "–"
		if r.Checked {
			e2e = fmt.Sprintf("%.1f ms", r.E2EP99)
			loss = strconv.FormatInt(r.Missing, 10)
			broker = cpuCell(r, roleBroker) // an idle broker's CPU says nothing per callback
		}
		if r.RSSMiB > 0 {
			rss = fmt.Sprintf("%.0f MiB", r.RSSMiB)
		}
		ratio, cpuRel := "–", "–"
		if r.Rate == 0 && ceiling.CallbacksPerS > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*r.CallbacksPerS/ceiling.CallbacksPerS)
		}
		if x, ok := cpuRatio(r, ceiling); ok {
			cpuRel = fmt.Sprintf("%.2f×", x)
		}
		others := "–"
		if c, ok := r.othersCores(); ok {
			others = fmt.Sprintf("%.2f cores", c)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.2f ms | %.2f ms | %.2f ms | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Name, r.CallbacksPerS, r.EventsPerS, r.P50, r.P99, r.P999, e2e, rss, loss, ratio,
			cpuCell(r, roleServer), cpuRel, broker, cpuCell(r, roleLoad), others)
	}
	return b.String()
}

// targetRows are the suite's rows that issue 12's targets are judged on.
type targetRows struct {
	ceiling, spoolMax, halfCeiling, big Report
	all                                 []Report
}

// Targets of the table, as issue 12 states them.
const (
	targetThroughput = 0.5   // spool mode's callbacks/s over the ceiling's, at least
	targetCPU        = 2.0   // imbridge's CPU per callback over the ceiling's, at most
	targetHalfP99    = 10.0  // ms, p99 answer at half the ceiling's rate, at most
	targetBigP99     = 29.0  // ms, p99 answer of 1,000-pair callbacks at 20/s, at most
	targetRSSBytes   = 150e6 // peak RSS in any imbridge row, at most
	targetRSSMiB     = targetRSSBytes / (1 << 20)
)

// renderTargets judges the run against the targets, one table row each.
func renderTargets(t targetRows) string {
	var b strings.Builder
	b.WriteString("| target | this run | met |\n|---|---|---|\n")
	row := func(target, measured string, met bool) {
		yes := "no"
		if met {
			yes = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", target, measured, yes)
	}
	if c := t.ceiling.CallbacksPerS; c > 0 {
		x := t.spoolMax.CallbacksPerS / c
		row(fmt.Sprintf("spool, 3 pairs, 64 conns: at least %.1f of the ceiling's callbacks/s", targetThroughput),
			fmt.Sprintf("%.2f (%.0f vs %.0f callbacks/s)", x, t.spoolMax.CallbacksPerS, c), x >= targetThroughput)
	}
	if x, ok := cpuRatio(t.spoolMax, t.ceiling); ok {
		v, _ := t.spoolMax.cpuPer1k(roleServer)
		c, _ := t.ceiling.cpuPer1k(roleServer)
		row(fmt.Sprintf("imbridge's CPU per callback at most %.0f× the ceiling's (spool, max)", targetCPU),
			fmt.Sprintf("%.2f× (%.4f vs %.4f s per 1,000)", x, v, c), x <= targetCPU)
	}
	row(fmt.Sprintf("spool: p99 answer at half the ceiling's rate at most %.0f ms", targetHalfP99),
		fmt.Sprintf("%.2f ms at %.0f callbacks/s (%.0f answered/s)", t.halfCeiling.P99, t.halfCeiling.Rate, t.halfCeiling.CallbacksPerS),
		t.halfCeiling.P99 <= targetHalfP99 && t.halfCeiling.CallbacksPerS >= 0.95*t.halfCeiling.Rate)
	row(fmt.Sprintf("spool, 1,000 pairs at 20 callbacks/s: p99 answer at most %.0f ms", targetBigP99),
		fmt.Sprintf("%.2f ms", t.big.P99), t.big.P99 <= targetBigP99)
	var peak float64
	var lost int64
	unproven := false // the checker could not read the topic (Missing -1)
	for _, r := range t.all {
		peak = max(peak, r.RSSMiB)
		if r.Checked {
			lost += max(r.Missing, 0)
			unproven = unproven || r.Missing < 0
		}
	}
	row(fmt.Sprintf("peak RSS of imbridge at most %.0f MB (%.0f MiB)", targetRSSBytes/1e6, targetRSSMiB),
		fmt.Sprintf("%.0f MiB", peak), peak <= targetRSSMiB)
	if unproven {
		row("loss 0 in every row", "the checker could not read the topic", false)
	} else {
		row("loss 0 in every row", strconv.FormatInt(lost, 10), lost == 0)
	}
	return b.String()
}

const benchHeader = `# Benchmarks

Measured with ` + "`make bench`" + ` (imbridge-bench suite): the same signed loads against a bare
net/http server that verifies, decodes and answers without delivering (the ceiling), and
against imbridge in spool and in sync mode with a local Apache Kafka broker. Latency is
from the intended send time (open-loop for fixed rates). Loss counts pairs answered 200
that were not found in the topic afterwards. CPU columns are seconds of user and system
time per 1,000 callbacks during the load: imbridge's (the ceiling's in its own row), the
broker's and the load generator's; "others' CPU" is the cores that other processes on
the machine kept busy meanwhile. Newest runs first; older rows stay for comparison.

`

// prependSection adds section to path above the newest run (the first "## 2..."
// heading), below whatever precedes it; a new file gets the header first.
func prependSection(path, section string) error {
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return os.WriteFile(path, []byte(benchHeader+section), 0o644)
	}
	if err != nil {
		return err
	}
	s := string(old)
	at := len(s)
	if m := runHeading.FindStringIndex(s); m != nil {
		at = m[0]
	} else if !strings.HasSuffix(s, "\n\n") {
		section = "\n" + section
	}
	return os.WriteFile(path, []byte(s[:at]+section+"\n"+s[at:]), 0o644)
}

// runHeading finds a run's heading, which starts with its date.
var runHeading = regexp.MustCompile(`(?m)^## \d{4}-\d{2}-\d{2} `)
