package bridge

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"unsafe"
)

// Header is one header of a Record: a name and its bytes.
type Header struct {
	Key   string
	Value []byte
}

// Record is an event encoded once, on the request path, as the Kafka message it
// becomes: topic, key, headers and value bytes. The spool stores records as opaque
// bytes and the publisher hands them to Kafka as they are, so that neither knows a
// route's fields. Records are read-only once built: several holders share their bytes.
type Record struct {
	Topic   string
	Key     []byte
	Headers []Header
	Value   []byte
}

// Header names of the CloudEvents 1.0 Kafka protocol binding, binary content mode,
// and of imbridge's own headers.
const (
	HeaderSpecVersion = "ce_specversion"
	HeaderID          = "ce_id"
	HeaderType        = "ce_type"
	HeaderSource      = "ce_source"
	HeaderTime        = "ce_time"
	HeaderContentType = "content-type"
	// HeaderVersion carries the event's version (Event.Version) as decimal Unix
	// milliseconds, so that a consumer can order one relationship's changes across
	// replicas without parsing the value.
	HeaderVersion = "imbridge_version"
	// Headers of a dead-lettered record, besides the others: the topic it was meant
	// for and why it could not be published there; for a value cut to
	// DeadLetterMaxValue bytes, also the original value's size and SHA-256 (hex).
	HeaderDeadLetterTopic       = "imbridge_dlq_topic"
	HeaderDeadLetterReason      = "imbridge_dlq_error"
	HeaderDeadLetterValueBytes  = "imbridge_dlq_value_bytes"
	HeaderDeadLetterValueSHA256 = "imbridge_dlq_value_sha256"
)

// Constant header values, shared by every record.
var (
	specVersion     = []byte("1.0")
	contentTypeJSON = []byte("application/json")
)

// recordHeaders is how many headers an event's record has.
const recordHeaders = 7

// AppendRecord appends e's record to dst: topic, key From_Account, the event JSON as
// value, CloudEvents headers (ce_id equals the event's eventId) and HeaderVersion.
func (e *Event) AppendRecord(dst []Record) []Record {
	dst, _ = e.appendRecord(dst, nil, nil)
	return dst
}

// appendRecord builds e's record with its bytes appended to buf and its headers taken
// from hdrs, each allocated when nil or too small, and returns buf with the record's
// bytes. The record's slices are capped, so that appending to one never writes into
// the next.
func (e *Event) appendRecord(dst []Record, buf []byte, hdrs []Header) ([]Record, []byte) {
	const timeLayout = "2006-01-02T15:04:05.000Z07:00"
	if n := e.recordSizeHint(); cap(buf)-len(buf) < n {
		buf = make([]byte, 0, n)
	}
	if len(hdrs) < recordHeaders {
		hdrs = make([]Header, recordHeaders)
	}
	start := len(buf)
	buf = append(buf, e.key()...)
	key := len(buf)
	buf = append(buf, e.ID...)
	id := len(buf)
	buf = append(buf, e.Type...)
	typ := len(buf)
	buf = append(buf, e.Source...)
	src := len(buf)
	buf = e.Time.UTC().AppendFormat(buf, timeLayout)
	tm := len(buf)
	buf = strconv.AppendInt(buf, e.Version(), 10)
	ver := len(buf)
	contentType := contentTypeJSON
	if e.Raw != nil {
		buf = append(buf, e.Raw...)
		contentType = []byte(e.ContentType)
	} else {
		buf = e.AppendJSON(buf)
	}
	end := len(buf)
	headers := hdrs[:recordHeaders:recordHeaders]
	if len(e.Headers) > 0 {
		headers = append(headers, e.Headers...)
	}
	headers[0] = Header{Key: HeaderSpecVersion, Value: specVersion}
	headers[1] = Header{Key: HeaderID, Value: buf[key:id:id]}
	headers[2] = Header{Key: HeaderType, Value: buf[id:typ:typ]}
	headers[3] = Header{Key: HeaderSource, Value: buf[typ:src:src]}
	headers[4] = Header{Key: HeaderTime, Value: buf[src:tm:tm]}
	headers[5] = Header{Key: HeaderContentType, Value: contentType}
	headers[6] = Header{Key: HeaderVersion, Value: buf[tm:ver:ver]}
	return append(dst, Record{Topic: e.Topic, Key: buf[start:key:key], Headers: headers, Value: buf[ver:end:end]}), buf
}

// recordSizeHint is a close upper estimate of the bytes of e's record, for buffer
// sizes: the fixed parts and field names, and its strings at 1.2 times their length.
func (e *Event) recordSizeHint() int {
	strs := len(e.ID) + len(e.CallbackCommand) + len(e.ReceivedAt) + len(e.ClientIP) + len(e.OptPlatform)
	strs += len(e.Subject.Key) + len(e.Subject.Fields) + len(e.Subject.Trailer) + len(e.Raw)
	return 300 + 2*len(e.ID) + len(e.Type) + len(e.Source) + 2*len(e.key()) + strs + strs/5
}

// RecordBytes is an upper estimate of the memory that events and their records take
// while a callback is delivered: the records' bytes and headers, and the events.
func RecordBytes(events []Event) int64 {
	const perEvent = int64(unsafe.Sizeof(Event{})) + recordHeaders*int64(unsafe.Sizeof(Header{})) + int64(unsafe.Sizeof(Record{}))
	var n int64
	for i := range events {
		n += int64(events[i].recordSizeHint()) + perEvent
	}
	return n
}

// Records encodes events as records, in order: the records' bytes share one buffer and
// their headers one array.
func Records(events []Event) []Record {
	out := make([]Record, 0, len(events))
	hdrs := make([]Header, recordHeaders*len(events))
	size := 0
	for i := range events {
		size += events[i].recordSizeHint()
	}
	buf := make([]byte, 0, size)
	for i := range events {
		out, buf = events[i].appendRecord(out, buf, hdrs[i*recordHeaders:])
	}
	return out
}

// Size is the record's size as a Kafka message the way kafka-go counts it when it fills
// batches (lengths, timestamp, key, value and headers), exactly.
func (r *Record) Size() int {
	n := 4 + 1 + 1 + 4 + 4 + 8 + len(r.Key) + len(r.Value) + varintLen(len(r.Headers))
	for _, h := range r.Headers {
		n += varintLen(len(h.Key)) + len(h.Key) + varintLen(len(h.Value)) + len(h.Value)
	}
	return n
}

// RecordBatchOverhead is what Kafka's record batch header adds to its records; the
// broker compares a topic's max.message.bytes with the whole batch.
const RecordBatchOverhead = 61

func varintLen(n int) int {
	u := uint64((int64(n) << 1) ^ (int64(n) >> 63))
	l := 1
	for u >= 0x80 {
		u >>= 7
		l++
	}
	return l
}

// HeaderValue returns the value of the first header named key, or nil.
func (r *Record) HeaderValue(key string) []byte {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// DeadLetterMaxValue bounds a dead-lettered record's value while the dead-letter
// topic's max.message.bytes is not known, so that an event too large for its topic
// still fits it: a longer value is cut to this many bytes (no longer valid JSON) and
// its size and hash go into headers. The reason header
// is cut to DeadLetterMaxReason bytes.
const (
	DeadLetterMaxValue  = 64 << 10
	DeadLetterMaxReason = 1024
)

// deadLetterCutHeaders bounds what the size and hash headers of a cut value add to a
// record, length prefixes and the value's own length prefix included.
const deadLetterCutHeaders = 160

// DeadLetter returns the record as it goes to the dead-letter topic: the same key and
// headers, plus HeaderDeadLetterTopic (the topic it was meant for) and
// HeaderDeadLetterReason; a value too long for limit (the dead-letter topic's
// max.message.bytes), or over DeadLetterMaxValue while that limit is unknown (0), is
// cut, with its original size and SHA-256 in headers. r is not changed.
func (r Record) DeadLetter(topic, reason string, limit int) Record {
	why := reason
	if len(why) > DeadLetterMaxReason {
		why = why[:DeadLetterMaxReason]
	}
	headers := make([]Header, len(r.Headers), len(r.Headers)+4)
	copy(headers, r.Headers)
	headers = append(headers,
		Header{Key: HeaderDeadLetterTopic, Value: []byte(r.Topic)},
		Header{Key: HeaderDeadLetterReason, Value: []byte(why)})
	value := r.Value
	keep := DeadLetterMaxValue
	if limit > 0 {
		// As much as the dead-letter topic takes: what the record takes besides its
		// value, with the two headers a cut adds, stays below the limit. An
		// acknowledged callback kept whole (a quarantined body) is cut only where the
		// dead-letter topic could never hold it.
		rest := Record{Key: r.Key, Headers: headers}
		keep = max(0, limit-RecordBatchOverhead-rest.Size()-deadLetterCutHeaders)
	}
	if len(value) > keep {
		sum := sha256.Sum256(value)
		headers = append(headers,
			Header{Key: HeaderDeadLetterValueBytes, Value: strconv.AppendInt(nil, int64(len(value)), 10)},
			Header{Key: HeaderDeadLetterValueSHA256, Value: []byte(hex.EncodeToString(sum[:]))})
		value = value[:keep:keep]
	}
	return Record{Topic: topic, Key: r.Key, Headers: headers, Value: value}
}

// TopicLimits tells the largest message each topic accepts. The Kafka publisher
// implements it from the topics' max.message.bytes.
type TopicLimits interface {
	// MaxMessageBytes returns topic's max.message.bytes, or 0 while it is not known.
	MaxMessageBytes(topic string) int
}

// EncodeRecords encodes a callback's events as records and checks each against its
// topic's limit (when limits is not nil and knows it): a record Kafka could never take
// makes the whole callback KindTooLarge (413, or quarantined), so that nothing is acknowledged that would block
// the records behind it or could only be dead-lettered.
func EncodeRecords(events []Event, limits TopicLimits) ([]Record, error) {
	records := Records(events)
	if limits == nil {
		return records, nil
	}
	for i := range records {
		r := &records[i]
		if size, limit := r.Size()+RecordBatchOverhead, limits.MaxMessageBytes(r.Topic); limit > 0 && size > limit {
			what := "the event with key " + truncate(events[i].Subject.Key, 64)
			return nil, &Error{Kind: KindTooLarge, Message: fmt.Sprintf(
				"%s would be a %d-byte Kafka message, over the %d bytes that topic %s accepts (max.message.bytes)",
				what, size, limit, r.Topic)}
		}
	}
	return records, nil
}
