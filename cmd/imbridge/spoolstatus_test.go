package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// spoolStatusOf runs `imbridge spool status --json DIR` and decodes its output.
func spoolStatusOf(t *testing.T, dir string) spoolStatusJSON {
	t.Helper()
	r := runSpool(t, nil, "status", "--json", dir)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("spool status: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	var st spoolStatusJSON
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("spool status --json: %v:\n%s", err, r.stdout)
	}
	return st
}

// segmentFiles counts dir's segment files and their bytes.
func segmentFiles(t *testing.T, dir string) (int, int64) {
	t.Helper()
	n, size := 0, int64(0)
	for _, seg := range spoolFiles(t, dir, "*.seg") {
		n++
		size += int64(len(seg))
	}
	return n, size
}

// imbridge spool status against a real replica: its spool forwarded a first batch of
// callbacks, then holds a backlog behind an event whose topic does not exist while
// callbacks keep arriving. Status runs beside it under that load, and after it is
// killed; its numbers are those of the callbacks sent, acknowledged and forwarded.
func TestSpoolStatus(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "status", 3)
	missing := fmt.Sprintf("status-missing-%d", time.Now().UnixNano())
	dir := filepath.Join(t.TempDir(), "spool")
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic,
		"IMBRIDGE_TOPIC_FRIEND_ADD="+missing, "IMBRIDGE_SPOOL_DIR="+dir, "IMBRIDGE_LOG_LEVEL=info")
	pid := p.cmd.Process.Pid

	// Forwarded: the cursor moves past them.
	const pairs = 3
	first := len(sendBlocklistDeletes(t, p, 2, 10, pairs)) / pairs
	kafkatest.WaitCount(t, brokers, topic, int64(first*pairs), 30*time.Second)
	var st spoolStatusJSON
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if st = spoolStatusOf(t, dir); st.Acknowledged == uint64(first) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cursor did not reach the %d forwarded callbacks: %+v", first, st)
		}
	}

	// An event for a topic that does not exist: it is retried, the callbacks behind
	// it wait in the spool.
	beforeStuck := time.Now().Truncate(time.Millisecond)
	if status, answer := post(t, p.signedURL(bridge.CommandFriendAdd, e2eToken, time.Now()), friendAddBody("u1", "friend_add")); status != 200 {
		t.Fatalf("friend add: answer %d %s", status, answer)
	}
	afterStuck := time.Now()

	// Load: senders post callbacks until told to stop; posted counts those sent,
	// acked those answered 200.
	var (
		posted, acked atomic.Int64
		stop          = make(chan struct{})
		wg            sync.WaitGroup
		failure       atomic.Value
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for s := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				list := make([]string, pairs)
				for j := range list {
					list[j] = fmt.Sprintf(`{"From_Account":"load%d","To_Account":"to-%d-%d"}`, s, i, j)
				}
				body := `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[` + strings.Join(list, ",") + `]}`
				posted.Add(1)
				resp, err := client.Post(p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), "application/json", strings.NewReader(body))
				if err != nil {
					failure.CompareAndSwap(nil, err.Error())
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failure.CompareAndSwap(nil, fmt.Sprintf("answer %d", resp.StatusCode))
					return
				}
				acked.Add(1)
			}
		}()
	}
	var during []string
	for range 6 {
		time.Sleep(150 * time.Millisecond)
		lo := acked.Load()
		st := spoolStatusOf(t, dir)
		hi := posted.Load()
		behind := st.PendingEntries - 1 // the stuck event's callback first
		during = append(during, fmt.Sprintf("%d<=%d<=%d", lo, behind, hi))
		if behind < lo || behind > hi || st.PendingRecords != 1+pairs*behind || !st.Locked || st.LockPID != pid ||
			st.Acknowledged != uint64(first) || st.LastEntry != uint64(first)+uint64(st.PendingEntries) ||
			st.OldestPending == nil || st.OldestPending.Before(beforeStuck) || st.OldestPending.After(afterStuck) {
			close(stop)
			wg.Wait()
			t.Fatalf("spool status under load: %+v\nwant behind the stuck event between %d callbacks answered and %d sent, %d records each, "+
				"locked by pid %d, acknowledged through %d, the oldest appended between %s and %s",
				st, lo, hi, pairs, pid, first, beforeStuck.Format(time.RFC3339Nano), afterStuck.Format(time.RFC3339Nano))
		}
	}
	close(stop)
	wg.Wait()
	if f := failure.Load(); f != nil {
		t.Fatalf("a callback under load: %v", f)
	}
	n := acked.Load()
	if n < 20 {
		t.Fatalf("only %d callbacks under load: the test wants a backlog", n)
	}
	t.Logf("under load: %d forwarded, then the stuck event and %d callbacks; answered <= behind it <= sent at each status: %s",
		first, n, strings.Join(during, ", "))

	// The load is over: the numbers are exact.
	age := time.Since(beforeStuck).Seconds()
	got := spoolStatusOf(t, dir)
	segs, segBytes := segmentFiles(t, dir)
	want := spoolStatusJSON{Dir: dir, Locked: true, LockKnown: true, LockPID: pid,
		PendingEntries: 1 + n, PendingRecords: 1 + pairs*n, PendingBytes: got.PendingBytes,
		OldestPending: got.OldestPending, OldestPendingAge: got.OldestPendingAge,
		Segments: segs, SegmentBytes: segBytes, Acknowledged: uint64(first), LastEntry: uint64(first) + 1 + uint64(n)}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("spool status of the live spool after the load (-want +got):\n%s", d)
	}
	if got.PendingBytes <= 0 || got.PendingBytes > segBytes || got.OldestPendingAge < age-1 || got.OldestPendingAge > age+5 {
		t.Fatalf("spool status: %d bytes pending of %d in segments, the oldest %.1fs old, want about %.1fs", got.PendingBytes, segBytes, got.OldestPendingAge, age)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.exited

	// Stopped: the same backlog, the lock free, the last holder named.
	stopped := spoolStatusOf(t, dir)
	want.Locked, want.OldestPendingAge = false, stopped.OldestPendingAge
	if d := cmp.Diff(want, stopped); d != "" {
		t.Fatalf("spool status of the stopped spool (-want +got):\n%s", d)
	}
	r := runSpool(t, nil, "status", dir)
	for _, line := range []string{
		"spool     " + dir + "\n",
		fmt.Sprintf("lock      free: no process runs on this spool (the last holder was pid %d)\n", pid),
		fmt.Sprintf("pending   %d records (", 1+pairs*n),
		fmt.Sprintf(" in %d callbacks, the oldest from ", 1+n),
		fmt.Sprintf("segments  %d file", segs),
		fmt.Sprintf("cursor    acknowledged through entry %d; the newest entry is %d\n", first, first+1+int(n)),
	} {
		if r.code != 0 || !strings.Contains(r.stdout, line) {
			t.Fatalf("spool status: exit %d, output lacks %q:\n%s%s", r.code, line, r.stdout, r.stderr)
		}
	}
	t.Logf("stopped:\n%s", r.stdout)
}

// A wrong command line answers 2, a directory that holds no spool 1; without DIR,
// IMBRIDGE_SPOOL_DIR is read.
func TestSpoolStatusUsage(t *testing.T) {
	empty := t.TempDir()
	const usage = "Usage: imbridge spool status [--json] [DIR]\n"
	for _, tt := range []struct {
		name       string
		args       []string
		lookup     func(string) (string, bool)
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "help", args: []string{"status", "--help"}, wantStdout: usage},
		{name: "two DIRs", args: []string{"status", empty, empty}, wantCode: 2,
			wantStderr: fmt.Sprintf("imbridge spool status: unexpected argument %q after DIR (flags go before DIR)\n\n%s", empty, usage)},
		{name: "unknown flag", args: []string{"status", "--yaml", empty}, wantCode: 2,
			wantStderr: "imbridge spool status: flag provided but not defined: -yaml\n\n" + usage},
		{name: "empty setting", args: []string{"status"}, lookup: env("IMBRIDGE_SPOOL_DIR", ""), wantCode: 2,
			wantStderr: "imbridge spool status: IMBRIDGE_SPOOL_DIR is empty: name the spool directory\n\n" + usage},
		{name: "not a spool", args: []string{"status", empty}, wantCode: 1,
			wantStderr: "imbridge spool status: " + empty + " holds no spool (no lock file, no *.seg segment)"},
		{name: "the setting, not a spool", args: []string{"status", "--json"}, lookup: env("IMBRIDGE_SPOOL_DIR", empty), wantCode: 1,
			wantStderr: "imbridge spool status: " + empty + " holds no spool"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lookup := tt.lookup
			if lookup == nil {
				lookup = env()
			}
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"spool"}, tt.args...), lookup, &stdout, &stderr)
			if code != tt.wantCode || !strings.HasPrefix(stdout.String(), tt.wantStdout) || !strings.HasPrefix(stderr.String(), tt.wantStderr) ||
				(tt.wantStdout == "") != (stdout.Len() == 0) || (tt.wantStderr == "") != (stderr.Len() == 0) {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout %q..., stderr %q...",
					code, stdout.String(), stderr.String(), tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
	if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
		t.Errorf("spool status wrote into a directory that holds no spool: %d files (%v)", len(entries), err)
	}
}
