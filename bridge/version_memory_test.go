package bridge

import (
	"runtime"
	"strconv"
	"testing"
	"time"
)

// A Versioner remembers a subject in a few dozen bytes, not its name: a million
// subjects (DefaultMaxKeys), such as the pairs of a busy relationship chain, stay far
// below the default Go memory limit (IMBRIDGE_MEMORY_LIMIT, 100 MiB), where they used
// to fill it (83 bytes each, with the names they kept alive) and the garbage
// collector then took a fifth of imbridge's CPU.
func TestVersionerMemoryPerSubject(t *testing.T) {
	const subjects = 200_000
	v := NewVersioner(time.Minute)
	now := time.Now()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range subjects {
		ev := []Event{{Subject: PairSubject("account-"+strconv.Itoa(i%5000), "target-"+strconv.Itoa(i)), RequestTime: now.Unix()}}
		v.Assign(ev, true, now)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / subjects
	t.Logf("%.1f bytes per subject remembered", per)
	if per > 48 {
		t.Fatalf("%.1f bytes per subject remembered, want at most 48", per)
	}
	runtime.KeepAlive(v)
}
