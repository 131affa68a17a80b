// The imbridge serve process the suite starts, and the memory it and the machine have.

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// bridgeProcess is a server the suite started: imbridge serve, or the Watermill peer.
type bridgeProcess struct {
	cmd         *exec.Cmd
	callbackURL string
	metricsURL  string        // imbridge's /metrics; empty for the peer
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

// startBridge starts imbridge serve with env added to this process's environment and
// waits until /readyz answers 200. A non-empty cpus pins it to those CPUs (taskset -c
// cpus, which execs imbridge in its own process, so the PID is imbridge's).
func startBridge(bin, cpus string, env []string, logTo io.Writer) (*bridgeProcess, error) {
	cb, err := freeAddr()
	if err != nil {
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	if cpus != "" {
		cmd = exec.Command("taskset", "-c", cpus, bin, "serve")
	}
	cmd.Env = append(append(os.Environ(), "IMBRIDGE_LISTEN="+cb, "IMBRIDGE_ADMIN_LISTEN="+admin, "IMBRIDGE_LOG_LEVEL=warn"), env...)
	cmd.Stdout, cmd.Stderr = logTo, logTo
	p, err := startAndWait(cmd, "http://"+cb+"/callback", "http://"+admin+"/readyz", "imbridge")
	if err != nil {
		return nil, err
	}
	p.metricsURL = "http://" + admin + "/metrics"
	return p, nil
}

// drain waits until imbridge's spool holds no record (imbridge_spool_records 0), for
// timeout at most, so that a load does not share the CPU with the previous load's
// backlog. It returns how long it waited, and false if the spool was not empty by then
// or the metric could not be read. The peer and imbridge in sync mode keep no spool: it
// returns at once.
func (p *bridgeProcess) drain(timeout time.Duration) (time.Duration, bool) {
	if p.metricsURL == "" {
		return 0, true
	}
	start := time.Now()
	for {
		n, err := p.spoolRecords()
		if errors.Is(err, errNoSpool) || err == nil && n == 0 { // sync mode has no spool
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// spoolRecords reads imbridge_spool_records from imbridge's /metrics.
func (p *bridgeProcess) spoolRecords() (float64, error) {
	resp, err := http.Get(p.metricsURL)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "imbridge_spool_records "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errNoSpool
}

// errNoSpool is the answer of a /metrics without imbridge_spool_records.
var errNoSpool = errors.New("imbridge_spool_records not in /metrics")

// startAndWait starts cmd and waits until readyURL answers 200, for 30s at most.
func startAndWait(cmd *exec.Cmd, callbackURL, readyURL, name string) (*bridgeProcess, error) {
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &bridgeProcess{cmd: cmd, callbackURL: callbackURL}
	for {
		resp, err := http.Get(readyURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				p.readyIn = time.Since(start)
				break
			}
		}
		if time.Since(start) > 30*time.Second {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, fmt.Errorf("%s was not ready within 30s", name)
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
