package bridge

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkVersionerNewSubjects assigns versions to callbacks of three pairs never
// seen before, as a busy relationship chain sends them, past the most subjects
// remembered (here 100,000), so that the Versioner keeps forgetting the oldest.
func BenchmarkVersionerNewSubjects(b *testing.B) {
	v := NewVersioner(time.Minute)
	v.maxKeys = 100_000
	start := time.Now()
	subjects := make([]Subject, 1<<20)
	for i := range subjects {
		subjects[i] = PairSubject("account-"+strconv.Itoa(i%5000), "target-"+strconv.Itoa(i))
	}
	events := make([]Event, 3)
	b.ResetTimer()
	for i := range b.N {
		now := start.Add(time.Duration(i) * 100 * time.Microsecond) // 10,000 callbacks a second
		for j := range events {
			events[j] = Event{Subject: subjects[(3*i+j)%len(subjects)], RequestTime: now.Unix()}
		}
		v.Assign(events, true, now)
	}
}
