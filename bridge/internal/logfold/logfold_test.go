package logfold

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// Lines of one cause are written once per interval with the count of those they stand
// for; each cause has its own interval; Reset writes the next one at once.
func TestFolder(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	now := time.Unix(0, 0)
	f := New(zap.New(core), time.Minute, func() time.Time { return now })
	refused, reset := "dial tcp 127.0.0.1:9092: connect: connection refused", "read tcp: connection reset by peer"
	step := func(d time.Duration, why string) { now = now.Add(d); f.Log(zap.WarnLevel, "kafka client", why) }
	step(0, refused) // written: the first
	for range 41 {   // 41 more within the minute: counted
		step(time.Second, refused)
	}
	step(0, reset)                // another cause: written
	step(20*time.Second, refused) // 61 s after the first line: written, standing for 42
	step(time.Second, refused)    // counted
	f.Reset()
	step(time.Second, refused) // after Reset: written, standing for 2
	type line struct {
		Err      string
		Repeated int64
	}
	var got []line
	for _, e := range logs.All() {
		m := e.ContextMap()
		got = append(got, line{m["err"].(string), m["repeated"].(int64)})
	}
	want := []line{{refused, 1}, {reset, 1}, {refused, 42}, {refused, 1}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("lines (-want +got):\n%s", d)
	}
}
