// Command imbridge-blocklist is a downstream service built on imbridge's events: it
// keeps every user's current blocklist in memory from the blocklist-added and
// blocklist-removed events and serves it at GET /users/{id}/blocklist. It reads its
// topic(s) in a consumer group and commits no offsets, so each start replays the topic
// from the beginning and rebuilds the state; that is how it survives restarts.
//
// Point both blocklist routes of imbridge at one topic: one user's additions and
// removals then arrive from one partition. Several imbridge replicas publish to that
// partition in an order nobody controls, so the state keeps, per (user, target), the
// version of the change it applied (a removal too) and applies an event only when
// events.Newer says it is newer: the state is that of the greatest version however the
// replicas interleave, and a replay of the topic gives the same state. Redeliveries
// need no de-duplication: a redelivered event repeats its version. (De-duplicating by
// eventId would even be wrong here: two identical callbacks with one RequestTime, such
// as add, remove, add of one pair within a second, share their eventIds.)
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
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge/events"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// State is every user's blocklist. It is safe for concurrent use.
type State struct {
	mu sync.RWMutex
	// lists holds, per user and target, the last change applied: a removal stays as a
	// tombstone with its version, so that an older addition arriving later is ignored.
	lists            map[string]map[string]entry
	applied, ignored int64
}

// entry is the last change applied to one (user, target).
type entry struct {
	version int64
	blocked bool
}

// NewState returns an empty State.
func NewState() *State {
	return &State{lists: map[string]map[string]entry{}}
}

// Apply applies one decoded event if events.Newer says it is newer than the change
// held for its (user, target), and reports whether it did; other event types are
// ignored.
func (s *State) Apply(ev any) bool {
	var p *events.Pair
	var blocked bool
	switch e := ev.(type) {
	case *events.BlocklistAdded:
		p, blocked = &e.Pair, true
	case *events.BlocklistRemoved:
		p = &e.Pair
	default:
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.lists[p.FromAccount]
	if list == nil {
		list = map[string]entry{}
		s.lists[p.FromAccount] = list
	}
	if held, ok := list[p.ToAccount]; ok && !events.Newer(p.Version, held.version) {
		s.ignored++
		return false
	}
	list[p.ToAccount] = entry{version: p.Version, blocked: blocked}
	s.applied++
	return true
}

// Blocklist returns user's blocklist, sorted.
func (s *State) Blocklist(user string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []string{}
	for u, e := range s.lists[user] {
		if e.blocked {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

// Applied returns how many blocklist events were applied.
func (s *State) Applied() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.applied
}

// Ignored returns how many blocklist events were ignored as older than the change held.
func (s *State) Ignored() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ignored
}

// Handler serves GET /users/{id}/blocklist and GET /stats.
func (s *State) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}/blocklist", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"user": r.PathValue("id"), "blocklist": s.Blocklist(r.PathValue("id"))})
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"applied": s.Applied(), "ignored": s.Ignored()})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// consume reads topics in group until ctx ends, applying every event. Offsets are not
// committed: the next start replays from the beginning.
func consume(ctx context.Context, brokers, topics []string, group string, dialer *kafkago.Dialer, s *State, logw io.Writer) error {
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers: brokers, GroupID: group, GroupTopics: topics, StartOffset: kafkago.FirstOffset, Dialer: dialer,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond,
	})
	defer r.Close()
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read %v: %w", topics, err)
		}
		hs := make([]events.Header, len(m.Headers))
		for i, h := range m.Headers {
			hs[i] = events.Header{Key: h.Key, Value: h.Value}
		}
		ev, err := events.Decode(m.Key, m.Value, hs)
		if err != nil {
			if !errors.Is(err, events.ErrUnknownType) {
				fmt.Fprintf(logw, "imbridge-blocklist: skipping %s/%d@%d: %v\n", m.Topic, m.Partition, m.Offset, err)
			}
			continue
		}
		s.Apply(ev)
	}
}

// warnMissingTopics says which topics do not exist: their blocklists stay empty until
// they are created (the consumer group reads them from then on).
func warnMissingTopics(ctx context.Context, dialer *kafkago.Dialer, brokers, topics []string, logw io.Writer) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, topic := range topics {
		_, err := dialer.LookupPartitions(ctx, "tcp", brokers[0], topic)
		if errors.Is(err, kafkago.UnknownTopicOrPartition) {
			fmt.Fprintf(logw, "imbridge-blocklist: topic %s does not exist: create it (imbridge's blocklist topic is imbridge.blocklist by default), or its blocklists stay empty\n", topic)
		} else if err != nil {
			fmt.Fprintf(logw, "imbridge-blocklist: cannot check topic %s: %v\n", topic, err)
		}
	}
}

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
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge-blocklist: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := NewState()
	srv := newServer(s.Handler())
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(stdout, "imbridge-blocklist: serving on %s, reading %s\n", ln.Addr(), strings.Join(o.topics, ","))
	warnMissingTopics(ctx, dialer, o.brokers, o.topics, stderr)
	err = consume(ctx, o.brokers, o.topics, o.group, dialer, s, stderr)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge-blocklist: %v\n", err)
		return 1
	}
	return 0
}
