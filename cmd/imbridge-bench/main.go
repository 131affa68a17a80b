// Command imbridge-bench loads an imbridge endpoint with correctly signed
// Sns.CallbackBlackListDelete callbacks and proves that nothing acknowledged was lost:
// after the load it reads the topic and finds every pair that got a 200.
//
//	imbridge-bench run    one load against a URL, optionally checked against Kafka
//	imbridge-bench suite  the benchmark table: ceiling, Watermill peer, spool and sync mode,
//	                      mixed load, capacity on one core
//
// The suite runs the ceiling as a child process (imbridge-bench ceiling --listen ADDR,
// not listed in the usage), so that its CPU time is measured apart from the load's.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `Usage: imbridge-bench COMMAND [flags]

Commands:
  run     send signed callbacks to a URL (or to the built-in ceiling server), report
          answer latency and throughput, and with --brokers prove that every pair that
          got a 200 is in the topic (imbridge-bench run --help)
  suite   run the benchmark table against a broker: the ceiling, the Watermill peer,
          imbridge in spool and in sync mode, the mixed load, imbridge's capacity on one
          core; print it and add it to BENCHMARKS.md (imbridge-bench suite --help)
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runCmd(args[1:], stdout, stderr)
	case "suite":
		return suiteCmd(args[1:], stdout, stderr)
	case "ceiling":
		return ceilingCmd(args[1:], stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "imbridge-bench: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// Report is one run's outcome, as printed and as --json writes it.
type Report struct {
	Name           string         `json:"name"`
	Connections    int            `json:"connections"`
	Pairs          int            `json:"pairs"`
	Rate           float64        `json:"rate"`            // requested callbacks/s; 0 = as fast as possible
	Mixed          bool           `json:"mixed,omitempty"` // the mixed load (Pairs not used)
	Seconds        float64        `json:"seconds"`
	Callbacks      int64          `json:"callbacks"`
	OK             int64          `json:"ok"`
	CallbacksPerS  float64        `json:"callbacksPerSecond"`
	EventsPerS     float64        `json:"eventsPerSecond"`
	P50, P90, P99  float64        `json:"-"`
	P999, Max      float64        `json:"-"`
	Latency        map[string]any `json:"answerLatencyMs"`
	ByStatus       map[int]int64  `json:"byStatus"`
	TransportErrs  int64          `json:"transportErrors"`
	Checked        bool           `json:"checked"`
	Acked          int64          `json:"ackedPairs"`
	Missing        int64          `json:"missingPairs"`
	Duplicates     int64          `json:"duplicates"`
	E2EP50, E2EP99 float64        `json:"-"`
	EndToEnd       map[string]any `json:"endToEndMs,omitempty"`
	RSSMiB         float64        `json:"rssMiB,omitempty"`
	// CPUSeconds is the user and system CPU time of each measured process during the
	// load, by role: server (imbridge or the ceiling), broker, load (the generator),
	// and machine (all CPUs' busy time, these processes' and everyone else's).
	CPUSeconds map[string]float64 `json:"cpuSeconds,omitempty"`
}

// othersCores returns the cores that processes other than the measured ones kept busy
// on average during the load (other work on a shared machine), and false if the
// machine's time was not measured.
func (r Report) othersCores() (float64, bool) {
	m, ok := r.CPUSeconds[roleMachine]
	if !ok || r.Seconds <= 0 {
		return 0, false
	}
	for role, s := range r.CPUSeconds {
		if role != roleMachine {
			m -= s
		}
	}
	return max(m, 0) / r.Seconds, true
}

// cpuPer1k returns role's CPU seconds per 1,000 callbacks answered 200, and false if
// role was not measured or nothing was answered.
func (r Report) cpuPer1k(role string) (float64, bool) {
	s, ok := r.CPUSeconds[role]
	if !ok || r.OK == 0 {
		return 0, false
	}
	return 1000 * s / float64(r.OK), true
}

func ms(us int64) float64 { return float64(us) / 1000 }

func makeReport(name string, l Load, res *Result, v *Verdict) Report {
	secs := res.Elapsed.Seconds()
	r := Report{Name: name, Connections: l.Connections, Pairs: l.Pairs, Rate: l.Rate, Seconds: secs,
		Callbacks: res.Sent, OK: res.OK, CallbacksPerS: float64(res.OK) / secs, EventsPerS: float64(res.Events) / secs, Mixed: l.Mixed,
		P50: ms(res.Latency.ValueAtQuantile(50)), P90: ms(res.Latency.ValueAtQuantile(90)), P99: ms(res.Latency.ValueAtQuantile(99)),
		P999: ms(res.Latency.ValueAtQuantile(99.9)), Max: ms(res.Latency.Max()), ByStatus: res.ByStatus, TransportErrs: res.Errors}
	r.Latency = map[string]any{"p50": r.P50, "p90": r.P90, "p99": r.P99, "p99.9": r.P999, "max": r.Max}
	if v != nil {
		r.Checked, r.Acked, r.Missing, r.Duplicates = true, v.Acked, v.Missing, v.Duplicates
		r.E2EP50, r.E2EP99 = ms(v.EndToEnd.ValueAtQuantile(50)), ms(v.EndToEnd.ValueAtQuantile(99))
		r.EndToEnd = map[string]any{"p50": r.E2EP50, "p90": ms(v.EndToEnd.ValueAtQuantile(90)), "p99": r.E2EP99, "max": ms(v.EndToEnd.Max())}
	}
	return r
}

func (r Report) print(w io.Writer) {
	mode := "as fast as possible"
	if r.Rate > 0 {
		mode = fmt.Sprintf("%.0f callbacks/s", r.Rate)
	}
	fmt.Fprintf(w, "%s: %d connections, %d pairs per callback, %s, %.1fs\n", r.Name, r.Connections, r.Pairs, mode, r.Seconds)
	fmt.Fprintf(w, "  callbacks  %d sent, %d ok: %.0f callbacks/s, %.0f events/s\n", r.Callbacks, r.OK, r.CallbacksPerS, r.EventsPerS)
	fmt.Fprintf(w, "  answer     p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms\n", r.P50, r.P90, r.P99, r.P999, r.Max)
	var codes []int
	for c := range r.ByStatus {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d: %d", c, r.ByStatus[c]))
	}
	fmt.Fprintf(w, "  statuses   %s; transport errors %d\n", strings.Join(parts, ", "), r.TransportErrs)
	if r.Checked {
		fmt.Fprintf(w, "  kafka      %d acknowledged pairs, %d missing, %d duplicates; end to end p50 %.2f ms p99 %.2f ms\n",
			r.Acked, r.Missing, r.Duplicates, r.E2EP50, r.E2EP99)
	}
	if r.RSSMiB > 0 {
		fmt.Fprintf(w, "  rss        %.0f MiB peak\n", r.RSSMiB)
	}
	if len(r.CPUSeconds) > 0 {
		var parts []string
		for _, role := range []string{roleServer, roleBroker, roleLoad} {
			if v, ok := r.cpuPer1k(role); ok {
				parts = append(parts, fmt.Sprintf("%s %.4f", role, v))
			}
		}
		if c, ok := r.othersCores(); ok {
			parts = append(parts, fmt.Sprintf("other processes %.2f cores", c))
		}
		fmt.Fprintf(w, "  cpu        s per 1,000 callbacks: %s\n", strings.Join(parts, ", "))
	}
}

// defaultToken is the first of IMBRIDGE_CALLBACK_TOKEN, else bench-callback-token; the
// environment keeps the token out of the process list.
func defaultToken() string {
	if v, ok := os.LookupEnv("IMBRIDGE_CALLBACK_TOKEN"); ok && v != "" {
		t, _, _ := strings.Cut(v, ",")
		return t
	}
	return "bench-callback-token"
}

// loadFlags registers the load settings on fs.
func loadFlags(fs *flag.FlagSet, l *Load) {
	fs.StringVar(&l.AppID, "sdkappid", "1400187352", "SdkAppid to send")
	fs.StringVar(&l.Token, "token", defaultToken(), "callback token to sign with (default: the first of IMBRIDGE_CALLBACK_TOKEN, else bench-callback-token)")
	fs.IntVar(&l.Connections, "connections", 64, "concurrent keep-alive connections")
	fs.Float64Var(&l.Rate, "rate", 0, "callbacks per second (open loop, latency from the intended send time); 0: as fast as possible")
	fs.IntVar(&l.Pairs, "pairs", 3, "pairs per callback")
	fs.BoolVar(&l.Mixed, "mixed", false, "send the mixed load: by count 70% one-to-one messages of about 1 KiB, 20% group joins of 20 members, 10% blocklist removals of 3 pairs; imbridge must route c2c-message-sent, group-member-joined and blocklist-delete to --topic")
	fs.IntVar(&l.MessageBytes, "message-bytes", 0, "send one-to-one message callbacks (C2C.CallbackAfterSendMsg) with a text of this many bytes instead of blocklist removals; imbridge must route c2c-message-sent to --topic")
	fs.DurationVar(&l.Duration, "duration", 10*time.Second, "how long to send")
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("imbridge-bench run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var l Load
	loadFlags(fs, &l)
	url := fs.String("url", "", "callback URL, such as http://127.0.0.1:8080/callback (required unless --ceiling)")
	ceiling := fs.Bool("ceiling", false, "start the bare HTTP ceiling server in this process and load it instead")
	brokers := fs.String("brokers", "", "bootstrap brokers: read the topic and prove every acknowledged pair arrived")
	topic := fs.String("topic", "imbridge.blocklist", "topic imbridge publishes to")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	serverPID := fs.Int("server-pid", 0, "PID of the server under load (on this machine): report its CPU seconds per 1,000 callbacks")
	brokerPIDFile := fs.String("broker-pid-file", "", "PID file of a local broker, such as deploy/kafka/kafka.sh's broker.pid: report its CPU seconds per 1,000 callbacks")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := validateLoad(l); err != nil {
		fmt.Fprintf(stderr, "imbridge-bench run: %v\n", err)
		return 2
	}
	cpu := cpuMeter{tick: clockTick()}.with(roleLoad, os.Getpid()).with(roleServer, *serverPID)
	if *brokerPIDFile != "" {
		pid, err := pidFromFile(*brokerPIDFile)
		if err != nil {
			fmt.Fprintf(stderr, "imbridge-bench run: --broker-pid-file: %v\n", err)
			return 2
		}
		cpu = cpu.with(roleBroker, pid)
	}
	name := *url
	if *ceiling {
		appID, _ := strconv.ParseUint(l.AppID, 10, 64)
		u, stop, err := startCeiling(appID, l.Token)
		if err != nil {
			fmt.Fprintf(stderr, "imbridge-bench: %v\n", err)
			return 1
		}
		defer stop()
		*url, name = u, "ceiling"
	}
	if *url == "" {
		fmt.Fprintln(stderr, "imbridge-bench run: --url or --ceiling is required")
		return 2
	}
	l.URL = *url
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	rep, err := measure(ctx, name, l, splitBrokers(*brokers), *topic, cpu, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge-bench: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		rep.print(stdout)
	}
	if rep.Missing > 0 {
		return 1
	}
	return 0
}

func splitBrokers(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func validateLoad(l Load) error {
	switch {
	case l.Connections < 1:
		return errors.New("--connections must be at least 1")
	case l.Pairs < 1:
		return errors.New("--pairs must be at least 1")
	case l.Rate < 0:
		return errors.New("--rate must not be negative")
	case l.Duration <= 0:
		return errors.New("--duration must be positive")
	}
	return nil
}

// measure runs one load, and with brokers checks the topic after it. cpu measures its
// processes during the load only.
func measure(ctx context.Context, name string, l Load, brokers []string, topic string, cpu cpuMeter, progress io.Writer) (Report, error) {
	run := newRunID()
	var checker *Checker
	if len(brokers) > 0 {
		var err error
		if checker, err = StartChecker(brokers, topic, run); err != nil {
			return Report{}, err
		}
	}
	what := fmt.Sprintf("%d pairs", l.Pairs)
	if l.Mixed {
		what = "mixed load"
	}
	fmt.Fprintf(progress, "%s: %d connections, %s, rate %.0f (0: max), %s\n", name, l.Connections, what, l.Rate, l.Duration)
	before := cpu.snapshot()
	res := l.Run(ctx, run, progress)
	cpuSecs := cpu.since(before)
	var v *Verdict
	if checker != nil {
		verdict := checker.Finish(res, l, run, 60*time.Second)
		v = &verdict
	}
	r := makeReport(name, l, res, v)
	r.CPUSeconds = cpuSecs
	return r, nil
}
