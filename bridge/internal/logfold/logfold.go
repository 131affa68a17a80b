// Package logfold folds log lines that repeat one cause (a Kafka client retrying an
// unreachable broker) into one line per cause per interval, with the count of the
// lines it stands for. bridge's adapters use it; it depends on zap alone.
package logfold

import (
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Folder logs the first line of each cause at once, then at most one per Interval,
// with "repeated": how many lines of that cause came since the previous one (the
// previous included). It is safe for concurrent use.
type Folder struct {
	log      *zap.Logger
	interval time.Duration
	now      func() time.Time

	mu     sync.Mutex
	causes map[string]*cause
}

type cause struct {
	last  time.Time // when its last line was written
	count int64     // lines since then, not written
}

// maxCauses bounds the causes a Folder remembers; past it, it forgets them all (their
// next lines are written at once), so that a client with ever new error texts cannot
// grow it.
const maxCauses = 256

// New returns a Folder writing to log at most one line per cause per interval. now
// (nil: time.Now) is the clock.
func New(log *zap.Logger, interval time.Duration, now func() time.Time) *Folder {
	if now == nil {
		now = time.Now
	}
	return &Folder{log: log, interval: interval, now: now, causes: map[string]*cause{}}
}

// Log writes msg at level with the cause under "err" and fields, unless a line of the
// same cause was written less than the interval ago: then it is only counted, and the
// next line written for the cause says how many it stands for ("repeated").
func (f *Folder) Log(level zapcore.Level, msg, why string, fields ...zap.Field) {
	now := f.now()
	f.mu.Lock()
	c, ok := f.causes[why]
	if !ok {
		if len(f.causes) >= maxCauses {
			clear(f.causes)
		}
		c = &cause{}
		f.causes[why] = c
	}
	c.count++
	if ok && now.Sub(c.last) < f.interval {
		f.mu.Unlock()
		return
	}
	n := c.count
	c.last, c.count = now, 0
	f.mu.Unlock()
	if ce := f.log.Check(level, msg); ce != nil {
		ce.Write(append(fields, zap.String("err", why), zap.Int64("repeated", n), zap.Duration("interval", f.interval))...)
	}
}

// Reset forgets every cause, so that the next line of each is written at once: after
// a recovery, a new outage is reported when it starts.
func (f *Folder) Reset() {
	f.mu.Lock()
	clear(f.causes)
	f.mu.Unlock()
}
