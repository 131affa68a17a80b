package bridge

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A record is the event's Kafka message: key, the seven headers in order, the JSON.
func TestAppendRecord(t *testing.T) {
	cb := readCallback(t, "testdata/map/seed.input.json")
	events, err := Map(cb, DefaultRoutes[0])
	if err != nil {
		t.Fatal(err)
	}
	records := Records(events)
	if len(records) != len(events) {
		t.Fatalf("%d records for %d events", len(records), len(events))
	}
	for i, r := range records {
		e := &events[i]
		var keys []string
		for _, h := range r.Headers {
			keys = append(keys, h.Key)
		}
		want := []string{HeaderSpecVersion, HeaderID, HeaderType, HeaderSource, HeaderTime, HeaderContentType, HeaderVersion}
		if d := cmp.Diff(want, keys); d != "" {
			t.Fatalf("header names (-want +got):\n%s", d)
		}
		if r.Topic != e.Topic || string(r.Key) != e.Subject.Key || string(r.Value) != string(e.AppendJSON(nil)) ||
			string(r.HeaderValue(HeaderID)) != e.ID || string(r.HeaderValue(HeaderType)) != e.Type {
			t.Fatalf("record %d = %+v", i, r)
		}
		// Appending to one piece never writes into the next one: they share a buffer.
		_ = append(r.Key, 'X')
		_ = append(r.HeaderValue(HeaderID), 'X')
		if string(r.HeaderValue(HeaderID)) != e.ID || string(r.HeaderValue(HeaderType)) != e.Type {
			t.Fatalf("record %d: an append spilt into the next header", i)
		}
	}
}

type fixedLimits int

func (l fixedLimits) MaxMessageBytes(string) int { return int(l) }

// EncodeRecords refuses a callback with a record over its topic's limit, exactly at
// the limit: Size plus the record batch overhead.
func TestEncodeRecordsLimit(t *testing.T) {
	cb := readCallback(t, "testdata/map/seed.input.json")
	events, err := Map(cb, DefaultRoutes[0])
	if err != nil {
		t.Fatal(err)
	}
	events[1].Subject.Fields = Fields("fromAccount", "id", "toAccount", strings.Repeat("x", 5000))
	largest := 0
	for _, r := range Records(events) {
		largest = max(largest, r.Size()+RecordBatchOverhead)
	}
	if _, err := EncodeRecords(events, fixedLimits(largest)); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	_, err = EncodeRecords(events, fixedLimits(largest-1))
	if ErrorKind(err) != KindTooLarge || !strings.Contains(err.Error(), "the event with key id would be") {
		t.Fatalf("one byte over the limit: %v", err)
	}
}

// A dead letter keeps the record's key and headers, adds where it was meant to go and
// why, and cuts a long value with its size and hash.
func TestDeadLetter(t *testing.T) {
	r := Record{Topic: "orig", Key: []byte("k"), Headers: []Header{{Key: HeaderID, Value: []byte("id")}}, Value: []byte(`{"a":1}`)}
	d := r.DeadLetter("dlq", "[3] Unknown Topic Or Partition", 0)
	want := Record{Topic: "dlq", Key: []byte("k"), Value: []byte(`{"a":1}`), Headers: []Header{
		{Key: HeaderID, Value: []byte("id")},
		{Key: HeaderDeadLetterTopic, Value: []byte("orig")},
		{Key: HeaderDeadLetterReason, Value: []byte("[3] Unknown Topic Or Partition")},
	}}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("dead letter (-want +got):\n%s", diff)
	}
	if len(r.Headers) != 1 || r.Topic != "orig" {
		t.Fatalf("DeadLetter changed the record: %+v", r)
	}
	long := Record{Topic: "orig", Value: []byte(strings.Repeat("v", DeadLetterMaxValue+10))}
	d = long.DeadLetter("dlq", strings.Repeat("r", 5000), 0)
	if len(d.Value) != DeadLetterMaxValue || string(d.HeaderValue(HeaderDeadLetterValueBytes)) != "65546" ||
		len(d.HeaderValue(HeaderDeadLetterValueSHA256)) != 64 || len(d.HeaderValue(HeaderDeadLetterReason)) != DeadLetterMaxReason {
		t.Fatalf("long dead letter: %d value bytes, headers %v", len(d.Value), d.Headers)
	}
	// A dead-letter topic that takes less than that: the value is cut to fit it.
	for _, limit := range []int{1000, 10_000, 50_000} {
		d = long.DeadLetter("dlq", "too large", limit)
		if size := d.Size() + RecordBatchOverhead; size > limit || size < limit-300 || d.HeaderValue(HeaderDeadLetterValueSHA256) == nil {
			t.Fatalf("dead letter for a %d-byte topic takes %d bytes", limit, size)
		}
	}
}
