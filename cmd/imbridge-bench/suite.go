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
	base := Load{AppID: "1400187352", Token: "bench-callback-token", Connections: 64, Pairs: 3, Duration: *duration}
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
