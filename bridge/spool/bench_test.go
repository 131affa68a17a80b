package spool

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/imbridge/imbridge/bridge"
)

// BenchmarkAppendParallel measures Append under concurrency: each op is one callback
// of 3 events, fsync'd before Append returns; group commit shares the fsyncs.
// Run: go test ./bridge/spool -run X -bench AppendParallel -cpu 2 -benchtime 3s
func BenchmarkAppendParallel(b *testing.B) {
	for _, conc := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("goroutines=%d", conc*runtime.GOMAXPROCS(0)), func(b *testing.B) {
			s, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			evs := bridge.Records(events(3, "bench"))
			b.SetParallelism(conc)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.Append(context.Background(), evs); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/float64(s.Stats().Syncs), "appends/fsync")
		})
	}
}
