package spool

import (
	"encoding/binary"
	"errors"
	"sync"

	"github.com/klauspost/compress/s2"

	"github.com/imbridge/imbridge/bridge"
)

// payloadVersion is the first byte of every record payload; a reader refuses versions
// it does not know instead of misreading them. Version 3 stores the callback's Kafka
// records as opaque bytes; versions 1 and 2 (the events' fields, written by older
// versions) are still read, through bridge.DecodeLegacyRecords.
const payloadVersion = 3

// payloadS2 marks a compressed payload: the version byte, the record count (so that
// recovery counts records without decompressing), then an S2 block of the version 3
// payload. S2's block format is fixed (Snappy's, extended); any later decoder reads it.
const payloadS2 = 4

// encodeEntry returns what an entry stores for records: the version 3 payload
// compressed (payloadS2), or, when compression does not make it smaller, the version 3
// payload itself. plain is the version 3 payload's length, the room the records take in
// memory. The payload's buffer comes from a pool: release returns it once the payload
// is written (a large callback's payload is megabytes, made again for every entry
// otherwise).
func encodeEntry(records []bridge.Record) (payload []byte, plain int, release func()) {
	rawBuf := getBuffer(payloadSize(records))
	raw := encodeRecords((*rawBuf)[:0], records)
	bound := s2.MaxEncodedLen(len(raw))
	if bound < 0 {
		return raw, len(raw), func() { putBuffer(rawBuf, raw) }
	}
	outBuf := getBuffer(1 + binary.MaxVarintLen64 + bound)
	buf := (*outBuf)[:1+binary.MaxVarintLen64+bound]
	buf[0] = payloadS2
	n := 1 + binary.PutUvarint(buf[1:], uint64(len(records)))
	n += len(s2.Encode(buf[n:], raw)) // Encode writes into buf[n:], which has room
	if n >= len(raw) {
		putBuffer(outBuf, buf)
		return raw, len(raw), func() { putBuffer(rawBuf, raw) }
	}
	putBuffer(rawBuf, raw)
	return buf[:n], len(raw), func() { putBuffer(outBuf, buf) }
}

// buffers holds payload buffers for reuse (*[]byte).
var buffers sync.Pool

// getBuffer returns a buffer with room for n bytes.
func getBuffer(n int) *[]byte {
	if b, ok := buffers.Get().(*[]byte); ok && cap(*b) >= n {
		return b
	}
	b := make([]byte, 0, n)
	return &b
}

// putBuffer returns b, grown to used, to the pool.
func putBuffer(b *[]byte, used []byte) {
	*b = used[:0]
	buffers.Put(b)
}

// encodeRecords appends the payload of records to dst: the version byte, the record
// count, then per record its topic, key, headers (count, then name and value each) and
// value, each uvarint-length-prefixed.
func encodeRecords(dst []byte, records []bridge.Record) []byte {
	dst = append(dst, payloadVersion)
	dst = binary.AppendUvarint(dst, uint64(len(records)))
	for i := range records {
		r := &records[i]
		dst = appendBytes(dst, r.Topic)
		dst = appendBytes(dst, r.Key)
		dst = binary.AppendUvarint(dst, uint64(len(r.Headers)))
		for _, h := range r.Headers {
			dst = appendBytes(dst, h.Key)
			dst = appendBytes(dst, h.Value)
		}
		dst = appendBytes(dst, r.Value)
	}
	return dst
}

// payloadSize is the length of encodeRecords' output for records.
func payloadSize(records []bridge.Record) int {
	n := 1 + binary.MaxVarintLen64
	for i := range records {
		r := &records[i]
		n += 4*binary.MaxVarintLen32 + len(r.Topic) + len(r.Key) + len(r.Value)
		for _, h := range r.Headers {
			n += 2*binary.MaxVarintLen32 + len(h.Key) + len(h.Value)
		}
	}
	return n
}

func appendBytes[T string | []byte](dst []byte, b T) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

var errPayload = errors.New("malformed record payload")

// decodeRecords is the inverse of encodeEntry and encodeRecords, and reads the payloads
// of format versions 1 and 2 too. The records' bytes may be slices of b: b must not
// change after.
func decodeRecords(b []byte) ([]bridge.Record, error) {
	if len(b) == 0 {
		return nil, errPayload
	}
	if b[0] == payloadS2 {
		return decodeS2(b)
	}
	if b[0] == 1 || b[0] == 2 {
		return bridge.DecodeLegacyRecords(b)
	}
	if b[0] != payloadVersion {
		return nil, errPayload
	}
	d := decoder{b: b[1:]}
	n := d.uvarint()
	// Counts are bounded by what the bytes can hold (a record takes at least 4 bytes,
	// a header 2), so that corrupt counts cannot make huge allocations.
	if d.err != nil || n > uint64(len(d.b)/4) {
		return nil, errPayload
	}
	records := make([]bridge.Record, n)
	for i := range records {
		r := &records[i]
		r.Topic = string(d.bytes())
		r.Key = d.bytes()
		nh := d.uvarint()
		if nh > uint64(len(d.b)/2) {
			return nil, errPayload
		}
		r.Headers = make([]bridge.Header, nh)
		for j := range r.Headers {
			r.Headers[j] = bridge.Header{Key: string(d.bytes()), Value: d.bytes()}
		}
		r.Value = d.bytes()
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errPayload
	}
	return records, nil
}

// decodeS2 decompresses a payloadS2 payload and decodes the version 3 payload in it,
// which must hold the record count stated outside. The decompressed size is bounded
// like a stored payload's (maxPayload) before anything is allocated for it.
func decodeS2(b []byte) ([]bridge.Record, error) {
	d := decoder{b: b[1:]}
	n := d.uvarint()
	if d.err != nil {
		return nil, errPayload
	}
	size, err := s2.DecodedLen(d.b)
	if err != nil || size < 2 || size > maxPayload {
		return nil, errPayload
	}
	raw, err := s2.Decode(make([]byte, size), d.b)
	if err != nil || raw[0] != payloadVersion {
		return nil, errPayload
	}
	records, err := decodeRecords(raw)
	if err != nil || uint64(len(records)) != n {
		return nil, errPayload
	}
	return records, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errPayload
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns the next length-prefixed bytes, capped so that appending to them
// never writes into what follows.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errPayload
		d.b = nil
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// recordCount reads the number of records from an encoded payload, or 0. Every
// format, the compressed one too, puts the count right after the version byte.
func recordCount(payload []byte) int64 {
	if len(payload) < 2 || payload[0] < 1 || payload[0] > payloadS2 {
		return 0
	}
	n, k := binary.Uvarint(payload[1:])
	if k <= 0 {
		return 0
	}
	return int64(n)
}
