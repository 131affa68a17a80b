package bridge

import (
	"strconv"
	"testing"
	"time"
)

// versionOf gives subject one change with EventTime et, received at now, and returns
// its version: et when the Versioner has forgotten the subject's later clock version,
// that version when it remembers it (rule 3).
func versionOf(v *Versioner, subject string, et int64, now time.Time) int64 {
	ev := []Event{{Subject: Subject{Key: subject}, EventTime: et}}
	v.Assign(ev, false, now)
	return ev[0].VersionMs
}

// The Versioner remembers a subject for at least DefaultRememberFor after its last
// version and forgets it within twice that, by generations: no scan of what it
// remembers.
func TestVersionerRemembersForItsWindow(t *testing.T) {
	v := NewVersioner(time.Minute)
	t0 := time.UnixMilli(1_700_000_000_000)
	for _, s := range []string{"a", "d"} {
		if got := versionOf(v, s, 0, t0); got != t0.UnixMilli() { // a clock version
			t.Fatalf("%s: version %d, want the clock's %d", s, got, t0.UnixMilli())
		}
	}
	older := t0.UnixMilli() - 5000 // an EventTime before the clock version
	at := t0.Add(DefaultRememberFor + 5*time.Minute)
	if got := versionOf(v, "a", older, at); got != t0.UnixMilli() {
		t.Fatalf("%s after its last version: %d, want the remembered %d", DefaultRememberFor+5*time.Minute, got, t0.UnixMilli())
	}
	at = t0.Add(2*DefaultRememberFor + 5*time.Minute)
	if got := versionOf(v, "d", older, at); got != older {
		t.Fatalf("%s after its last version: %d, want it forgotten (%d)", 2*DefaultRememberFor+5*time.Minute, got, older)
	}
}

// Beyond maxKeys/2 new subjects in a generation, the Versioner starts another: it never
// holds more than maxKeys subjects, and still remembers the last maxKeys/2.
func TestVersionerHoldsAtMostMaxKeys(t *testing.T) {
	v := NewVersioner(time.Minute)
	v.maxKeys = 10
	now := time.UnixMilli(1_700_000_000_000)
	for i := range 100 {
		versionOf(v, "s"+strconv.Itoa(i), 0, now.Add(time.Duration(i)*time.Millisecond))
		if n := len(v.cur) + len(v.old); n > v.maxKeys {
			t.Fatalf("after %d subjects: %d remembered, want at most %d", i+1, n, v.maxKeys)
		}
	}
	// The subject given a version 4 subjects ago is remembered.
	last := now.Add(95 * time.Millisecond).UnixMilli()
	if got := versionOf(v, "s95", last-1000, now.Add(time.Second)); got != last {
		t.Fatalf("a recent subject: %d, want the remembered %d", got, last)
	}
}
