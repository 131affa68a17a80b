// What a replay says while it runs and when it ends.

package main

import (
	"fmt"
	"strconv"
	"time"
)

// records says n records.
func records(n int64) string {
	if n == 1 {
		return "1 record"
	}
	return strconv.FormatInt(n, 10) + " records"
}

// report prints a progress line every interval until done is closed.
func (r *replayer) report(done <-chan struct{}) {
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	last, lastRead := r.now(), int64(0)
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		now, read := r.now(), r.n.read.Load()
		rate := float64(read-lastRead) / now.Sub(last).Seconds()
		fmt.Fprintf(r.progress, "imbridge %s: %d of %d records read; %s; %.0f records/s\n", r.name, read, r.total, r.countsSoFar(), rate)
		last, lastRead = now, read
	}
}

// countsSoFar says what the run did so far, for the progress lines and the summary.
func (r *replayer) countsSoFar() string {
	if r.counts != nil {
		return r.counts()
	}
	return fmt.Sprintf("%d replayed, %d events %s, %d still unmappable, %d no route",
		r.n.replayed.Load(), r.n.events.Load(), r.published(), r.n.unmappable.Load(), r.n.noRoute.Load())
}

// published is how the lines say what happened to the events.
func (r *replayer) published() string {
	if r.dryRun {
		return "to publish"
	}
	return "published"
}

// summary is the line replay ends with on stdout.
func (r *replayer) summary() string {
	took := ""
	if !r.began.IsZero() {
		took = ", took " + r.now().Sub(r.began).Round(time.Millisecond).String()
	}
	s := fmt.Sprintf("imbridge %s: %d read from %s, %s", r.name, r.n.read.Load(), r.topic, r.countsSoFar())
	if n := r.n.newIDs.Load(); n > 0 {
		s += fmt.Sprintf(" (%d with new eventIds)", n)
	}
	if r.dryRun {
		return s + "; dry run: nothing published, nothing committed" + took
	}
	return s + "; group " + r.group + took
}
