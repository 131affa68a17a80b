package main

import (
	"encoding/json"
	"testing"
)

// TestMixedLoadComposition: over any run of callbacks the mixed load sends, by count,
// 70% one-to-one messages, 20% group joins and 10% blocklist removals, each callback's
// body of its command, the message body about 1 KiB, the join of 20 members.
func TestMixedLoadComposition(t *testing.T) {
	l := Load{Mixed: true}
	const n = 10_000
	count := map[string]int{}
	for seq := 0; seq < n; seq++ {
		cmd := l.command(seq)
		count[cmd]++
		var b struct {
			CallbackCommand string
			NewMemberList   []struct{ Member_Account string }
			PairList        []struct{ From_Account, To_Account string }
		}
		body := l.body("r1", job{key: 3, seq: seq})
		if err := json.Unmarshal(body, &b); err != nil {
			t.Fatalf("callback %d: %v", seq, err)
		}
		if b.CallbackCommand != cmd {
			t.Fatalf("callback %d: body of %s, URL of %s", seq, b.CallbackCommand, cmd)
		}
		switch cmd {
		case commandMessage:
			if len(body) < 960 || len(body) > 1100 {
				t.Errorf("message callback of %d bytes, want about 1 KiB", len(body))
			}
		case commandGroupJoin:
			if len(b.NewMemberList) != 20 || l.events(seq) != 20 {
				t.Errorf("group join of %d members (%d events), want 20", len(b.NewMemberList), l.events(seq))
			}
		case commandBlocklist:
			if len(b.PairList) != 3 || l.events(seq) != 3 {
				t.Errorf("blocklist removal of %d pairs (%d events), want 3", len(b.PairList), l.events(seq))
			}
		}
		if got := len(l.eventKeys("r1", 3, seq)); got != l.events(seq) {
			t.Errorf("callback %d: %d event keys for %d events", seq, got, l.events(seq))
		}
	}
	want := map[string]int{commandMessage: 7000, commandGroupJoin: 2000, commandBlocklist: 1000}
	for cmd, w := range want {
		if count[cmd] != w {
			t.Errorf("%s: %d of %d callbacks, want %d", cmd, count[cmd], n, w)
		}
	}
	// Any 10 callbacks in a row keep the proportions, so that a short run does too.
	for start := 0; start < 20; start++ {
		c := map[string]int{}
		for seq := start; seq < start+10; seq++ {
			c[l.command(seq)]++
		}
		if c[commandMessage] != 7 || c[commandGroupJoin] != 2 || c[commandBlocklist] != 1 {
			t.Errorf("callbacks %d to %d: %v", start, start+9, c)
		}
	}
}
