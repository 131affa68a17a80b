package bridge

import (
	"testing"
	"time"
)

// A change without EventTime acknowledged after two of its subject's changes with
// EventTimes, the later arrived one made earlier, gets a version above both: rule 3
// keeps the highest version given, not the last one, so that a consumer holding the
// first does not drop the change acknowledged last.
func TestVersionerClockVersionAboveEveryEarlierOne(t *testing.T) {
	v := NewVersioner(time.Minute)
	now := time.UnixMilli(1_669_872_112_000)
	assign := func(et int64) int64 {
		ev := []Event{{Subject: Subject{Key: "a|b"}, RequestTime: now.Unix(), EventTime: et}}
		v.Assign(ev, true, now)
		return ev[0].VersionMs
	}
	first := assign(now.UnixMilli() + 900)
	if late := assign(now.UnixMilli() + 100); late != now.UnixMilli()+100 {
		t.Fatalf("a change Chat made earlier, arrived later: version %d, want its EventTime", late)
	}
	if got := assign(0); got < first {
		t.Fatalf("a change acknowledged last: version %d, below the %d given before", got, first)
	}
}

// A RequestTime taken as signed further from the replica's clock than the signature
// window is not the base: a caller that did not verify it (a replay of a callback kept
// unsigned) cannot put a version in the far future, nor past what one word holds with
// the clock flag (a version from 2^62 on would wrap and lower the next one).
func TestVersionerBoundsRequestTime(t *testing.T) {
	now := time.UnixMilli(1_669_872_112_000)
	for _, rt := range []int64{9_000_000_000_000_000, 1 << 62, now.Unix() + 3600, now.Unix() - 3600} {
		v := NewVersioner(time.Minute)
		ev := []Event{
			{Subject: Subject{Key: "a|b"}, RequestTime: rt},
			{Subject: Subject{Key: "a|b"}, RequestTime: rt, EventTime: now.UnixMilli() - 1000},
		}
		v.Assign(ev, true, now)
		if ev[0].VersionMs != now.UnixMilli() {
			t.Errorf("RequestTime %d: version %d, want the clock's %d", rt, ev[0].VersionMs, now.UnixMilli())
		}
		if ev[1].VersionMs < ev[0].VersionMs {
			t.Errorf("RequestTime %d: the batch's second entry got %d, below the first's %d", rt, ev[1].VersionMs, ev[0].VersionMs)
		}
	}
}
