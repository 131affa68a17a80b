// The suite's capacity row: imbridge alone on one CPU under the mixed load.

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// capacityWarmup is the unmeasured mixed load at full speed before the search.
const capacityWarmup = 5 * time.Second

// capacityDrain is the longest a search run's backlog may take to be published after
// it for its rate to count as sustained.
const capacityDrain = time.Second

// runCapacity starts imbridge in spool mode pinned to CPU 0, with this process (the
// load generator) and the broker (brokerPID, when above 0) moved to the other CPUs, and
// finds the most mixed-load callbacks per second it answers with a p99.9 of at most
// capacityP999: a bisection of steps short runs of searchFor below 1.5 times mixedMax
// (the mixed row's rate on the whole machine), then the row, measured for base's
// duration and checked. It returns the row and a note naming the rates tried.
func runCapacity(ctx context.Context, bin string, base Load, brokers []string, topic string, brokerPID int,
	mixedMax float64, steps int, searchFor time.Duration, cpu cpuMeter, logTo, progress io.Writer) (Report, string, error) {
	placement := "imbridge on CPU 0, the load generator and the broker sharing it (one CPU only)"
	if n := runtime.NumCPU(); n > 1 {
		rest, all := fmt.Sprintf("1-%d", n-1), fmt.Sprintf("0-%d", n-1)
		if n == 2 {
			rest = "1"
		}
		pids := []int{os.Getpid()}
		if brokerPID > 0 {
			pids = append(pids, brokerPID)
		}
		for _, pid := range pids {
			if err := pinProcess(pid, rest); err != nil {
				return Report{}, "", err
			}
			defer func() { _ = pinProcess(pid, all) }()
		}
		placement = "imbridge on CPU 0, the load generator and the broker on CPU " + rest
		if brokerPID <= 0 {
			placement = "imbridge on CPU 0, the load generator on CPU " + rest + ", the broker unpinned"
		}
	}
	dir, err := os.MkdirTemp("", "imbridge-bench-spool")
	if err != nil {
		return Report{}, "", err
	}
	defer os.RemoveAll(dir)
	p, err := startBridge(bin, "0", bridgeEnv("spool", base, strings.Join(brokers, ","), topic, dir), logTo)
	if err != nil {
		return Report{}, "", err
	}
	defer p.stop()

	mixed := base
	mixed.Mixed, mixed.URL = true, p.callbackURL
	w := mixed
	w.Duration = capacityWarmup
	fmt.Fprintf(progress, "capacity (one core): warming up for %s\n", capacityWarmup)
	w.Run(ctx, newRunID(), io.Discard)

	hi := 1.5 * mixedMax
	if hi < 100 {
		hi = 20000
	}
	var tried []string
	best, _ := searchCapacity(hi, steps, func(rate float64) bool {
		l := mixed
		l.Rate, l.Duration = rate, searchFor
		p.waitDrained(progress)
		r, _ := measure(ctx, fmt.Sprintf("capacity search, %.0f/s", rate), l, nil, topic, cpuMeter{}, progress)
		// A short run may fit while the spool's backlog grows: the rate is kept only if
		// the backlog the run left is published within capacityDrain.
		drained, ok := p.drain(drainTimeout)
		fits := fitsCapacity(r) && ok && drained <= capacityDrain
		verdict := "no"
		if fits {
			verdict = "yes"
		}
		tried = append(tried, fmt.Sprintf("%.0f/s p99.9 %.1f ms, drained in %.1f s: %s", rate, r.P999, drained.Seconds(), verdict))
		return fits
	})
	if best == 0 {
		best = 10
	}
	row := confirmCapacity(best, 3, func(rate float64) Report {
		l := mixed
		l.Rate = rate
		return p.scenario(ctx, fmt.Sprintf("capacity row, %.0f/s", rate), l, brokers, topic, cpu, progress)
	})
	row.Name = fmt.Sprintf("capacity: spool on 1 core, mixed load, 64 conns, %.0f/s", row.Rate)
	note := fmt.Sprintf("capacity row: %s; search runs of %s below %.0f/s: %s", placement, searchFor, hi, strings.Join(tried, ", "))
	return row, note, nil
}
