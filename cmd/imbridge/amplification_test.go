package main

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// amplificationRSSBound is the bound on the resident memory of imbridge with its
// default settings while it turns callbacks that list 10,000 subjects into records.
const amplificationRSSBound = 200 << 20

// Eight signed callbacks at once, each at the list bound (10,000 new members with
// 32-byte accounts); every other one with the largest members every event copies,
// written in characters JSON escapes (GroupId, Type and JoinType of 21 '<', 126 bytes
// once encoded), over the record budget: each makes records within the budget or is
// quarantined whole, the process's peak resident memory stays under
// amplificationRSSBound, and every callback is answered 200 and is in Kafka, all its
// events or its body (one that finds no room for its records in time is quarantined).
func TestAmplifyingCallbacksHoldTheBudget(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	group := kafkatest.CreateTopic(t, brokers, "amplify-group", 3)
	quarantine := kafkatest.CreateTopicWithLimit(t, brokers, "amplify-quarantine", 1, bridge.QuarantineMaxMessageBytes)
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_GROUP_MEMBER_JOINED="+group,
		"IMBRIDGE_TOPIC_QUARANTINE="+quarantine, "IMBRIDGE_HTTP_READ_TIMEOUT=90s", "IMBRIDGE_HTTP_WRITE_TIMEOUT=90s")
	pid := p.cmd.Process.Pid
	before := procStatus(pid, "VmRSS")

	const callbacks, members = 8, bridge.DefaultMaxPairs
	body := func(c int) string {
		shared := "Public"
		if c%2 == 0 {
			shared = strings.Repeat("<", 21)
		}
		var b strings.Builder
		b.WriteString(`{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"` + shared + strconv.Itoa(c%10) +
			`","Type":"` + shared + `","JoinType":"` + shared + `","Operator_Account":"` + strings.Repeat("o", 32) + `","NewMemberList":[`)
		for i := range members {
			if i > 0 {
				b.WriteByte(',')
			}
			id := strconv.Itoa(c*members + i)
			b.WriteString(`{"Member_Account":"` + strings.Repeat("m", 32-len(id)) + id + `"}`)
		}
		b.WriteString(`]}`)
		return b.String()
	}
	client := &http.Client{Timeout: 120 * time.Second}
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		escaped  int // callbacks over the record budget answered 200
		wg       sync.WaitGroup
	)
	start := make(chan struct{})
	for c := range callbacks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := body(c)
			<-start
			resp, err := client.Post(p.signedURL(bridge.CommandGroupMemberJoined, e2eToken, time.Now()), "application/json", strings.NewReader(b))
			if err != nil {
				t.Errorf("post: %v", err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			if resp.StatusCode == 200 && c%2 == 0 {
				escaped++
			}
			mu.Unlock()
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	// Spool mode: the answered callbacks reach Kafka after their answers. The escaped
	// ones are quarantined (over the record budget); each other one is delivered, or
	// quarantined when it found no room for its records within a second (on a loaded
	// machine some do): whole callbacks either way.
	var events, kept int64
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		events, kept = kafkatest.Count(t, brokers, group), kafkatest.Count(t, brokers, quarantine)
		if events/members+kept >= callbacks {
			break
		}
	}
	peak := procStatus(pid, "VmHWM")
	t.Logf("%d callbacks of %d members (%d-byte bodies) in %s: answers %v; %d events, %d quarantined; RSS %d MiB before, peak %d MiB (bound %d MiB)",
		callbacks, members, len(body(0)), time.Since(began).Round(time.Millisecond), statuses, events, kept, before>>20, peak>>20, amplificationRSSBound>>20)
	if peak == 0 || peak > amplificationRSSBound {
		t.Fatalf("peak RSS %d MiB, bound %d MiB", peak>>20, amplificationRSSBound>>20)
	}
	// Every callback is kept: none is answered 503 for want of room.
	if statuses[200] != callbacks {
		t.Fatalf("answers %v, want %d times 200", statuses, callbacks)
	}
	if events%members != 0 || events/members+kept != callbacks || kept < int64(escaped) {
		t.Fatalf("Kafka holds %d events (%d callbacks' worth) and %d quarantined bodies (%d over the record budget); want %d callbacks whole",
			events, events/members, kept, escaped, callbacks)
	}

}
