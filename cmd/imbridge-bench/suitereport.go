// The suite's table, its targets, and the section it adds to BENCHMARKS.md.

package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

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
	if !ok1 || !ok2 || c == 0 || r.Mixed || r.Pairs != ceiling.Pairs || r.Rate != 0 || ceiling.Rate != 0 {
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
		if r.Rate == 0 && !r.Mixed && ceiling.CallbacksPerS > 0 {
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

// targetRows are the suite's rows that the targets are judged on.
type targetRows struct {
	ceiling, spoolMax, halfMax, big, mixed, peer Report
	capacity                                     *Report // nil: no capacity row
	all                                          []Report
	allocs                                       float64 // allocs/op of BenchmarkCallbackToSpool; below 0: not measured
}

// Targets of the table, as the issues state them.
const (
	targetThroughput = 0.5   // spool mode's callbacks/s over the ceiling's, at least
	targetCPU        = 2.0   // imbridge's CPU per callback over the ceiling's, at most
	targetCPUPer1k   = 0.050 // imbridge's CPU-seconds per 1,000 callbacks (spool, 3 pairs, max), at most
	targetPeer       = 2.5   // spool mode's callbacks/s over the Watermill peer's, at least
	targetHalfP99    = 10.0  // ms, p99 answer at half of spool mode's own maximum, at most
	targetBigP99     = 29.0  // ms, p99 answer of 1,000-pair callbacks at 20/s, at most
	targetRSSBytes   = 150e6 // peak RSS in any imbridge row, at most
	targetRSSMiB     = targetRSSBytes / (1 << 20)
	targetAllocs     = 30 // allocations per callback (BenchmarkCallbackToSpool), at most
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
	if v, ok := t.spoolMax.cpuPer1k(roleServer); ok {
		row(fmt.Sprintf("imbridge's CPU per callback at most %.3f CPU-s per 1,000 (spool, 3 pairs, max)", targetCPUPer1k),
			fmt.Sprintf("%.4f", v), v <= targetCPUPer1k)
	}
	if x, ok := cpuRatio(t.spoolMax, t.ceiling); ok {
		v, _ := t.spoolMax.cpuPer1k(roleServer)
		c, _ := t.ceiling.cpuPer1k(roleServer)
		row(fmt.Sprintf("imbridge's CPU per callback at most %.0f× the ceiling's (spool, max)", targetCPU),
			fmt.Sprintf("%.2f× (%.4f vs %.4f s per 1,000)", x, v, c), x <= targetCPU)
	}
	if p := t.peer.CallbacksPerS; p > 0 {
		x := t.spoolMax.CallbacksPerS / p
		row(fmt.Sprintf("spool, 3 pairs, 64 conns: at least %.1f× the Watermill peer's callbacks/s", targetPeer),
			fmt.Sprintf("%.2f× (%.0f vs %.0f callbacks/s)", x, t.spoolMax.CallbacksPerS, p), x >= targetPeer)
	}
	row(fmt.Sprintf("spool: p99 answer at half of its own maximum at most %.0f ms", targetHalfP99),
		fmt.Sprintf("%.2f ms at %.0f callbacks/s (%.0f answered/s)", t.halfMax.P99, t.halfMax.Rate, t.halfMax.CallbacksPerS),
		t.halfMax.Rate > 0 && t.halfMax.P99 <= targetHalfP99 && t.halfMax.CallbacksPerS >= 0.95*t.halfMax.Rate)
	row(fmt.Sprintf("spool, 1,000 pairs at 20 callbacks/s: p99 answer at most %.0f ms", targetBigP99),
		fmt.Sprintf("%.2f ms", t.big.P99), t.big.P99 <= targetBigP99)
	if m := t.mixed; m.OK > 0 {
		v, _ := m.cpuPer1k(roleServer)
		row("spool, mixed load, max: its numbers, loss 0",
			fmt.Sprintf("%.0f callbacks/s (%.0f events/s), %.4f CPU-s per 1,000, p99 %.2f ms, p99.9 %.2f ms, loss %d",
				m.CallbacksPerS, m.EventsPerS, v, m.P99, m.P999, m.Missing), m.Checked && m.Missing == 0)
	}
	if c := t.capacity; c != nil {
		v, _ := c.cpuPer1k(roleServer)
		row(fmt.Sprintf("capacity, imbridge on 1 core, mixed load: the most callbacks/s with p99.9 at most %.0f ms", capacityP999),
			fmt.Sprintf("%.0f callbacks/s (%.0f answered/s), p99 %.2f ms, p99.9 %.2f ms, %.4f CPU-s per 1,000, loss %d",
				c.Rate, c.CallbacksPerS, c.P99, c.P999, v, c.Missing), fitsCapacity(*c) && c.Checked && c.Missing == 0)
	}
	if t.allocs >= 0 {
		row(fmt.Sprintf("allocations per callback at most %d (BenchmarkCallbackToSpool)", targetAllocs),
			fmt.Sprintf("%.0f", t.allocs), t.allocs <= targetAllocs)
	}
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
from the intended send time (open-loop for fixed rates). Loss counts events of callbacks
answered 200 that were not found in the topic afterwards. CPU columns are seconds of user and system
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
