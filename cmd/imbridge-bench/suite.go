package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

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
	peerDir := fs.String("peer-dir", "cmd/imbridge-bench/watermill-peer", "module of the Watermill peer, built with go build into --peer-bin; empty: no peer row")
	peerBin := fs.String("peer-bin", "bin/watermill-peer", "where to build the Watermill peer")
	allocs := fs.Float64("allocs-per-callback", -1, "allocs/op of BenchmarkCallbackToSpool (bridge/httpapi), judged against its target; below 0: not judged")
	capacitySteps := fs.Int("capacity-steps", 5, "bisection steps of the capacity search (one core, mixed load); 0: no capacity row")
	searchDuration := fs.Duration("search-duration", 5*time.Second, "length of each run of the capacity search")
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
	brokerPID := 0
	if *brokerPIDFile != "" {
		pid, err := pidFromFile(*brokerPIDFile)
		if err != nil {
			fmt.Fprintf(stderr, "imbridge-bench suite: --broker-pid-file: %v\n", err)
			return 2
		}
		cpu, brokerPID = cpu.with(roleBroker, pid), pid
	}
	ctx := context.Background()
	bks := splitBrokers(*brokers)
	base := Load{AppID: "1400187352", Token: "bench-callback-token", Connections: 64, Pairs: 3, Duration: *duration}
	logFile, err := os.CreateTemp("", "imbridge-bench-*.log")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer logFile.Close()

	var rows []Report
	var notes []string
	t := targetRows{allocs: *allocs}
	if *peerDir != "" {
		if err := buildPeer(*peerDir, *peerBin, stderr); err != nil {
			fmt.Fprintf(stderr, "imbridge-bench: %v\n", err)
			return 1
		}
	}
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
		p, err := startBridge(*bin, "", bridgeEnv(mode, base, *brokers, *topic, dir), logFile)
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
		scenario := func(name string, l Load) Report { return p.scenario(ctx, name, l, bks, *topic, cpu, stderr) }
		maxRun := scenario(mode+", 3 pairs, 64 conns, max", base)
		rows = append(rows, maxRun)
		if mode == "spool" {
			t.spoolMax = maxRun
			half := base
			half.Rate = float64(int(maxRun.CallbacksPerS / 2))
			t.halfMax = scenario(fmt.Sprintf("spool, 3 pairs, 64 conns, %.0f/s (half of max)", half.Rate), half)
			rows = append(rows, t.halfMax)
			half.Rate = float64(int(ceil.CallbacksPerS / 2))
			rows = append(rows, scenario(fmt.Sprintf("spool, 3 pairs, 64 conns, %.0f/s (half of the ceiling)", half.Rate), half))
			big := base
			big.Pairs, big.Rate, big.Connections = 1000, 20, 16
			t.big = scenario("spool, 1000 pairs, 16 conns, 20/s", big)
			rows = append(rows, t.big)
			// The largest message Chat sends (12 KB of text) as a one-to-one message
			// callback: one event each, its content carried as sent.
			msg := base
			msg.Pairs, msg.MessageBytes, msg.Rate, msg.Connections = 1, 12<<10, 200, 16
			rows = append(rows, scenario("spool, C2C message of 12 KiB, 16 conns, 200/s", msg))
			mixed := base
			mixed.Mixed = true
			t.mixed = scenario("spool, mixed load, 64 conns, max", mixed)
			rows = append(rows, t.mixed)
		} else {
			fixed := base
			fixed.Rate = 1000
			rows = append(rows, scenario("sync, 3 pairs, 64 conns, 1000/s", fixed))
		}
		p.stop()
		os.RemoveAll(dir)
		if mode == "spool" && *peerDir != "" {
			// The peer after spool mode, whose warm-up warmed the broker too.
			peer, err := runPeer(ctx, *peerBin, base, bks, *topic, cpu, logFile, stderr)
			if err != nil {
				fmt.Fprintf(stderr, "imbridge-bench: %v (log: %s)\n", err, logFile.Name())
				return 1
			}
			t.peer = peer
			rows = append(rows, peer)
		}
	}
	if *capacitySteps > 0 {
		r, note, err := runCapacity(ctx, *bin, base, bks, *topic, brokerPID, t.mixed.CallbacksPerS, *capacitySteps, *searchDuration, cpu, logFile, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "imbridge-bench: %v (log: %s)\n", err, logFile.Name())
			return 1
		}
		t.capacity = &r
		rows = append(rows, r)
		notes = append(notes, note)
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
		fmt.Sprintf(" (%.0f ticks/s) during each load, per 1,000 callbacks answered 200.", cpu.tick) + " " + rowNotes + "\n"
	fmt.Fprintln(stdout, section)
	if *write != "" {
		if err := prependSection(*write, section); err != nil {
			fmt.Fprintf(stderr, "imbridge-bench: %v\n", err)
			return 1
		}
	}
	for _, r := range rows {
		if r.Missing > 0 {
			fmt.Fprintf(stderr, "imbridge-bench: %s lost %d acknowledged events\n", r.Name, r.Missing)
			return 1
		}
	}
	return 0
}

// bridgeEnv is imbridge's environment for mode: the three commands of the loads routed
// to topic.
func bridgeEnv(mode string, base Load, brokers, topic, dir string) []string {
	return []string{"IMBRIDGE_DELIVERY=" + mode, "IMBRIDGE_SDKAPPID=" + base.AppID,
		"IMBRIDGE_ROUTES=blocklist-delete,c2c-message-sent,group-member-joined",
		"IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + topic, "IMBRIDGE_TOPIC_C2C_MESSAGE_SENT=" + topic,
		"IMBRIDGE_TOPIC_GROUP_MEMBER_JOINED=" + topic,
		"IMBRIDGE_CALLBACK_TOKEN=" + base.Token, "IMBRIDGE_KAFKA_BROKERS=" + brokers,
		"IMBRIDGE_SPOOL_DIR=" + filepath.Join(dir, "spool")}
}

// scenario measures load l against p, its topic checked, with p's CPU and peak RSS.
// A spool left by the previous load is drained first.
func (p *bridgeProcess) scenario(ctx context.Context, name string, l Load, brokers []string, topic string, cpu cpuMeter, progress io.Writer) Report {
	p.waitDrained(progress)
	l.URL = p.callbackURL
	stop := p.sample()
	r, err := measure(ctx, name, l, brokers, topic, cpu.with(roleServer, p.cmd.Process.Pid), progress)
	r.RSSMiB = float64(stop()) / (1 << 20)
	if err != nil {
		fmt.Fprintf(progress, "imbridge-bench: %v\n", err)
	}
	return r
}

// drainTimeout is how long a load waits at most for the previous load's backlog.
const drainTimeout = 60 * time.Second

// waitDrained drains p's spool before a load and says so when it waited.
func (p *bridgeProcess) waitDrained(progress io.Writer) {
	waited, ok := p.drain(drainTimeout)
	switch {
	case !ok:
		fmt.Fprintf(progress, "  the spool was not empty after %s; measuring all the same\n", waited.Round(time.Millisecond))
	case waited > 200*time.Millisecond:
		fmt.Fprintf(progress, "  waited %s for the spool to drain\n", waited.Round(time.Millisecond))
	}
}

// rowNotes explains the rows the table's columns do not.
const rowNotes = "The mixed load is, by count, 70% one-to-one message callbacks (C2C.CallbackAfterSendMsg) of about 1 KiB " +
	"(one event each), 20% group joins (Group.CallbackAfterNewMemberJoin) of 20 new members (one event per member) and " +
	"10% blocklist removals (Sns.CallbackBlackListDelete) of 3 pairs (one event per pair): 5 events per callback on average. " +
	"The Watermill peer (cmd/imbridge-bench/watermill-peer: watermill-http's subscriber, a router handler, " +
	"watermill-kafka's publisher on Sarama's sync producer with acks from all in-sync replicas) checks the signature, " +
	"publishes one message per pair keyed by From_Account, and answers after the publish returned. " +
	"The capacity row runs imbridge (spool mode) pinned to CPU 0 with taskset, the load generator and the broker on the " +
	"other CPUs; its rate is the highest of a bisection of short fixed-rate runs (listed above) that kept up with a p99.9 answer " +
	"of at most 25 ms and left a backlog published within 1 s, measured again for the row (a tenth lower, up to twice, while it does not fit). Before each load against imbridge in spool mode the suite waits until the " +
	"spool is empty (imbridge_spool_records 0), so that no load shares the CPU with the previous one's backlog."
