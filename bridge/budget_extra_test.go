package bridge

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A callback at the list bound whose body is mostly one member no route reads: that
// member ("extra") goes into every event, so the budget refuses the callback; it must
// do so before copying it into each subject (before: 10,000 copies of 600 KB, 6 GB
// allocated and held at once, to refuse a 1 MiB body).
func TestRecordBudgetBeforeExtraIsCopied(t *testing.T) {
	pairs := make([]string, DefaultMaxPairs)
	for i := range pairs {
		pairs[i] = fmt.Sprintf(`{"From_Account":"a%d","To_Account":"b"}`, i)
	}
	list := strings.Join(pairs, ",")
	pad := strings.Repeat("x", 1<<20-len(list)-200)
	body := `{"CallbackCommand":"Sns.CallbackBlackListDelete","Pad":"` + pad + `","PairList":[` + list + `]}`
	cb := Callback{Query: Query{CallbackCommand: CommandBlackListDelete}, AppID: 1, Body: []byte(body), ReceivedAt: time.Unix(1, 0)}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Map(cb, DefaultRoutes[0])
	runtime.ReadMemStats(&after)
	if ErrorKind(err) != KindTooLarge || !strings.Contains(err.Error(), "bytes of records") {
		t.Fatalf("a %d-byte body whose unread member goes into 10,000 events: %v", len(body), err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Fatalf("refusing a %d-byte body allocated %d MiB", len(body), alloc>>20)
	}
}

// Sns.CallbackFriendAdd copies ClientCmd into every pair's event: it is bounded like
// the other members every event copies, before any event is made (before: a 400 KB
// ClientCmd with 10,000 pairs was copied into each subject's trailer, 3.7 GB
// allocated, before the budget refused the callback).
func TestFriendAddClientCmdIsBoundedBeforeItIsCopied(t *testing.T) {
	pairs := make([]string, DefaultMaxPairs)
	for i := range pairs {
		pairs[i] = fmt.Sprintf(`{"From_Account":"a%d","To_Account":"b","Initiator_Account":"i"}`, i)
	}
	list := strings.Join(pairs, ",")
	pad := strings.Repeat("x", 1<<20-len(list)-200)
	body := `{"CallbackCommand":"Sns.CallbackFriendAdd","ClientCmd":"` + pad + `","PairList":[` + list + `]}`
	cb := Callback{Query: Query{CallbackCommand: CommandFriendAdd}, AppID: 1, Body: []byte(body), ReceivedAt: time.Unix(1, 0)}
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandFriendAdd)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Map(cb, route)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatalf("a %d-byte ClientCmd in 10,000 events was accepted", len(pad))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Fatalf("refusing a %d-byte body allocated %d MiB", len(body), alloc>>20)
	}
}
