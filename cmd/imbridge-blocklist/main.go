// Command imbridge-blocklist is a downstream service built on imbridge's events: it
// keeps every user's current blocklist in memory from the blocklist-added and
// blocklist-removed events and serves it at GET /users/{id}/blocklist. It reads its
// topic(s) in a consumer group and commits no offsets, so each start replays the topic
// from the beginning and rebuilds the state; that is how it survives restarts.
//
// Point both blocklist routes of imbridge at one topic: one user's additions and
// removals then arrive in order from one partition. The state is last-writer-wins per
// (user, target), so redeliveries need no de-duplication: imbridge redelivers an ordered
// suffix of what it published, and replaying it ends in the same state. (De-duplicating
// by eventId would even be wrong here: two identical callbacks in the same second, such
// as add, remove, add of one pair, share their eventIds.)
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
	mu      sync.RWMutex
	lists   map[string]map[string]struct{}
	applied int64
}

// NewState returns an empty State.
func NewState() *State {
	return &State{lists: map[string]map[string]struct{}{}}
}

// Apply applies one decoded event; other event types are ignored.
func (s *State) Apply(ev any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e := ev.(type) {
	case *events.BlocklistAdded:
		if s.lists[e.FromAccount] == nil {
			s.lists[e.FromAccount] = map[string]struct{}{}
		}
		s.lists[e.FromAccount][e.ToAccount] = struct{}{}
	case *events.BlocklistRemoved:
		delete(s.lists[e.FromAccount], e.ToAccount)
		if len(s.lists[e.FromAccount]) == 0 {
			delete(s.lists, e.FromAccount)
		}
	default:
		return
	}
	s.applied++
}

// Blocklist returns user's blocklist, sorted.
func (s *State) Blocklist(user string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.lists[user]))
	for u := range s.lists[user] {
		out = append(out, u)
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

// Handler serves GET /users/{id}/blocklist and GET /stats.
func (s *State) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}/blocklist", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"user": r.PathValue("id"), "blocklist": s.Blocklist(r.PathValue("id"))})
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"applied": s.Applied()})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// consume reads topics in group until ctx ends, applying every event. Offsets are not
// committed: the next start replays from the beginning.
func consume(ctx context.Context, brokers, topics []string, group string, s *State, logw io.Writer) error {
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers: brokers, GroupID: group, GroupTopics: topics, StartOffset: kafkago.FirstOffset,
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

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("imbridge-blocklist", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "127.0.0.1:19092", "bootstrap brokers, comma-separated")
	topics := fs.String("topics", "imbridge.blocklist", "topics with the blocklist events, comma-separated")
	group := fs.String("group", "imbridge-blocklist", "consumer group")
	listen := fs.String("listen", ":8081", "address of GET /users/{id}/blocklist")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge-blocklist: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := NewState()
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(stdout, "imbridge-blocklist: serving on %s, reading %s\n", ln.Addr(), *topics)
	err = consume(ctx, strings.Split(*brokers, ","), strings.Split(*topics, ","), *group, s, stderr)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge-blocklist: %v\n", err)
		return 1
	}
	return 0
}
