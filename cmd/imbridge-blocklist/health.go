package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// health is what /readyz answers: not ready while a source (the metadata, a
// partition's reader) fails, before the partitions are known, and until every
// partition was read to its end once. It logs one line when Kafka is lost and one
// when it is back.
type health struct {
	mu      sync.Mutex
	failing map[string]error
	since   time.Time
	known   bool
	behind  map[Partition]bool
	logw    io.Writer
	now     func() time.Time
}

func newHealth(logw io.Writer, now func() time.Time) *health {
	return &health{failing: map[string]error{}, behind: map[Partition]bool{}, logw: logw, now: now}
}

func (h *health) fail(source string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.failing) == 0 {
		h.since = h.now()
		fmt.Fprintf(h.logw, "imbridge-blocklist: lost Kafka (%s: %v): retrying with backoff, /readyz answers 503 until it is back\n", source, err)
	}
	h.failing[source] = err
}

func (h *health) ok(source string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.failing[source]; !ok {
		return
	}
	delete(h.failing, source)
	if len(h.failing) == 0 {
		fmt.Fprintf(h.logw, "imbridge-blocklist: Kafka is back after %s: reading again\n", h.now().Sub(h.since).Round(time.Millisecond))
	}
}

func (h *health) discovered(fresh []Partition) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.known = true
	for _, p := range fresh {
		h.behind[p] = true
	}
}

func (h *health) caughtUp(p Partition) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.behind, p)
}

// ready returns nil when ready, else why not.
func (h *health) ready() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.failing) > 0 {
		sources := make([]string, 0, len(h.failing))
		for s := range h.failing {
			sources = append(sources, s)
		}
		sort.Strings(sources)
		return fmt.Errorf("kafka unreachable for %s (%s: %v)", h.now().Sub(h.since).Round(time.Second), sources[0], h.failing[sources[0]])
	}
	if !h.known {
		return errors.New("the topics' partitions are not known yet")
	}
	if len(h.behind) > 0 {
		return fmt.Errorf("catching up: %d partitions not read to their end yet", len(h.behind))
	}
	return nil
}

// backoff is the wait before attempt n (1, 2, ...): doubling from backoffMin up to
// backoffMax, with jitter so that readers do not retry in step.
func backoff(n int) time.Duration {
	d := backoffMax
	if n < 16 {
		d = min(backoffMin<<(n-1), backoffMax)
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
