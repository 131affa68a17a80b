package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Roles of the processes whose CPU time a run measures.
const (
	roleServer = "server" // the process answering the callbacks: imbridge or the ceiling
	roleBroker = "broker" // the Kafka broker
	roleLoad   = "load"   // this process, the load generator
	// roleMachine is every CPU's busy time (/proc/stat), measured along with the
	// processes: what remains after theirs is other processes' share of the machine.
	roleMachine = "machine"
)

// cpuProc is one process whose CPU time is measured during a load.
type cpuProc struct {
	role string
	pid  int
}

// cpuMeter reads processes' user and system CPU time from /proc/PID/stat. Only the
// load's window is measured, not start-up or the checker's reading afterwards.
type cpuMeter struct {
	tick  float64 // clock ticks per second, the unit of /proc/PID/stat (getconf CLK_TCK)
	procs []cpuProc
}

// clockTick returns the clock ticks per second of /proc/PID/stat's utime and stime as
// getconf CLK_TCK reports them, and 100, Linux's value on every common architecture,
// if getconf is missing.
func clockTick() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || n <= 0 {
		return 100
	}
	return n
}

// with returns a copy of m that also measures pid under role; a pid of 0 is left out.
func (m cpuMeter) with(role string, pid int) cpuMeter {
	if pid <= 0 {
		return m
	}
	m.procs = append(append([]cpuProc(nil), m.procs...), cpuProc{role, pid})
	return m
}

// snapshot returns each process's CPU ticks so far, and the machine's; what cannot be
// read is left out.
func (m cpuMeter) snapshot() map[string]int64 {
	s := make(map[string]int64, len(m.procs)+1)
	if t, err := machineTicks(); err == nil {
		s[roleMachine] = t
	}
	for _, p := range m.procs {
		if t, err := cpuTicks(p.pid); err == nil {
			s[p.role] = t
		}
	}
	return s
}

// since returns each process's CPU seconds between before and now, for the processes
// read both times.
func (m cpuMeter) since(before map[string]int64) map[string]float64 {
	if len(m.procs) == 0 {
		return nil
	}
	after := m.snapshot()
	secs := make(map[string]float64, len(after))
	for role, t := range after {
		if b, ok := before[role]; ok {
			secs[role] = float64(t-b) / m.tick
		}
	}
	return secs
}

// cpuTicks returns utime+stime of pid, in clock ticks, from /proc/PID/stat.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces and
	// parentheses; the fields after the last ")" start with field 3, the state.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command name", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q", pid, f[11], f[12])
	}
	return utime + stime, nil
}

// machineTicks returns the busy time of all CPUs, in clock ticks, from the first line
// of /proc/stat: user, nice, system, irq, softirq and steal (not idle or iowait).
func machineTicks() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system (idle iowait) irq softirq steal
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		busy += n
	}
	return busy, nil
}

// pidFromFile reads a PID file such as the one deploy/kafka/kafka.sh keeps
// (broker.pid) and checks that the process exists.
func pidFromFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: no PID in %q", path, strings.TrimSpace(string(b)))
	}
	if _, err := cpuTicks(pid); err != nil {
		return 0, fmt.Errorf("%s: process %d: %w", path, pid, err)
	}
	return pid, nil
}
