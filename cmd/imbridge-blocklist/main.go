// Command imbridge-blocklist is a downstream service built on imbridge's events: it
// keeps every user's current blocklist in memory from the blocklist-added and
// blocklist-removed events and serves it at GET /users/{id}/blocklist, with /stats,
// /healthz and /readyz.
//
// Point both blocklist routes of imbridge at one topic: one user's additions and
// removals then arrive from one partition. Several imbridge replicas publish to that
// partition in an order nobody controls, so the state keeps, per (user, target), the
// version of the change it applied (a removal too, as a tombstone) and applies an
// event only when events.Newer says it is newer: the state is that of the greatest
// version however the replicas interleave, and a replay of the topic gives the same
// state. Redeliveries need no de-duplication: a redelivered event repeats its version.
// (De-duplicating by eventId would even be wrong here: two identical callbacks with
// one RequestTime, such as add, remove, add of one pair within a second, share their
// eventIds.)
//
// Tombstones are dropped once they are older than --tombstone-horizon (24h by
// default), measured on versions, against the newest version read from the same
// partition, never on the wall clock: a replay of old records drops the same
// tombstones at the same records, and a partition read ahead of another during a
// catch-up cannot age the other's tombstones. The horizon is the longest cross-replica
// delay tolerated: an addition that reaches Kafka more than the horizon after a later
// removal of its pair (from a replica's spool drained days later, say) finds no
// tombstone and is applied, and the pair stays blocked although it was unblocked.
//
// With --snapshot FILE, the state and the offset of every partition it covers are
// written to FILE (atomically: a temporary file, fsync, rename, directory fsync) every
// --snapshot-interval or --snapshot-events records and at a clean stop; a start loads
// it and reads on from its offsets, so a restart needs only the records written since
// the snapshot, not a topic that retention has already cut. The file is the simpler
// of the two ways to get there: a compacted state topic would need a second topic
// created and sized by operators, a producer with its own failures, and a way to tie
// the state records to the input offsets they cover, which is what the single rename
// of a file gives for free; and a start would replay the whole state topic anyway.
// The cost is a disk that outlives the process (a persistent volume); a consumer that
// loses it rebuilds from the topics. A missing file means a first start, read from the
// first offset; a file that cannot be read, or that holds other topics, is refused
// with an error naming it: move it aside to start over. Once Kafka answers, a
// snapshot offset before a partition's first record is logged (the records between
// were deleted unread and are missing from the state), and one past its end stops
// the consumer with an error (the topic was deleted and created again: the state
// belongs to records that are gone).
//
// The consumer reads every partition itself (no consumer group: every instance keeps
// every user), one reader per partition, and lists the partitions again every 30s for
// partitions and topics created since. When Kafka does not answer, the readers retry
// with backoff (up to 5s) for as long as it takes: one line is logged when Kafka is
// lost and one when it is back, /readyz answers 503 meanwhile, and GET
// /users/{id}/blocklist keeps answering from the state held.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, os.LookupEnv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "imbridge-blocklist: %v\n", err)
		return 2
	}
	dialer, err := o.kafka.Dialer(10 * time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge-blocklist: %v\n", err)
		return 2
	}
	if o.group != "" {
		fmt.Fprintf(stderr, "imbridge-blocklist: --group %s is ignored: every partition is read by this consumer, which keeps every user's state\n", o.group)
	}
	s := NewState(o.tombstoneHorizon)
	var snap *snapshotFile
	if o.snapshot == "" {
		fmt.Fprintf(stderr, "imbridge-blocklist: no --snapshot: the state is rebuilt from the topics' first offset at every start, without what their retention deleted\n")
	} else {
		snap = &snapshotFile{path: o.snapshot, topics: o.topics, now: time.Now}
		start := time.Now()
		loaded, err := snap.load(o.tombstoneHorizon)
		if err != nil {
			fmt.Fprintf(stderr, "imbridge-blocklist: %v\n", err)
			return 1
		}
		if loaded == nil {
			fmt.Fprintf(stderr, "imbridge-blocklist: no snapshot %s yet: reading the topics from their first offset\n", o.snapshot)
		} else {
			s = loaded
			st := s.Stats()
			fmt.Fprintf(stderr, "imbridge-blocklist: loaded snapshot %s in %s: %d users, %d blocked, %d tombstones; reading on from its offsets\n",
				o.snapshot, time.Since(start).Round(time.Microsecond), st.Users, st.Blocked, st.Tombstones)
		}
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge-blocklist: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal the default action is back: a second one exits at once.
	context.AfterFunc(ctx, stop)
	c := &consumer{
		brokers: o.brokers, topics: o.topics, dialer: dialer, state: s, health: newHealth(stderr, time.Now),
		snapshot: snap, every: o.snapshotInterval, events: o.snapshotEvents, logw: stderr,
		batches: make(chan batch, 16), fatal: make(chan error),
	}
	srv := newServer(handler(s, c.health, &c.snapshotStats, snap != nil))
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(stdout, "imbridge-blocklist: serving on %s, reading %s\n", ln.Addr(), strings.Join(o.topics, ","))
	err = c.run(ctx)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge-blocklist: %v\n", err)
		return 1
	}
	return 0
}

// handler serves GET /users/{id}/blocklist, /stats, /healthz (the process answers)
// and /readyz (200 once every partition was read to its end and applied, and while Kafka answers,
// else 503 with the reason).
func handler(s *State, h *health, snap *snapshotStats, snapshots bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}/blocklist", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"user": r.PathValue("id"), "blocklist": s.Blocklist(r.PathValue("id"))})
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		v := struct {
			Stats
			Snapshot map[string]any `json:"snapshot,omitempty"`
		}{Stats: s.Stats()}
		if snapshots {
			v.Snapshot = snap.get()
		}
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := h.ready(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
