package spool

import (
	"encoding/binary"
	"hash/crc32"
)

// Record layout: a 28-byte header, then the payload.
//
//	magic   uint32  0x494d4231 ("IMB1"), to find the next record after corruption
//	crc     uint32  CRC-32C over length, seq, time and payload
//	length  uint32  payload length
//	seq     uint64  record sequence number, strictly increasing across segments
//	time    int64   append time, Unix milliseconds
const (
	magic      = 0x494d4231
	headerSize = 28
	// maxPayload bounds a record's claimed length, so a corrupt length field is
	// recognised as corruption instead of a huge read.
	maxPayload = 256 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

type header struct {
	length uint32
	seq    uint64
	time   int64
}

// putHeader fills hdr for a record of payload with seq and time.
func putHeader(hdr *[headerSize]byte, payload []byte, seq uint64, time int64) {
	binary.BigEndian.PutUint32(hdr[0:], magic)
	binary.BigEndian.PutUint32(hdr[8:], uint32(len(payload)))
	binary.BigEndian.PutUint64(hdr[12:], seq)
	binary.BigEndian.PutUint64(hdr[20:], uint64(time))
	crc := crc32.Update(0, crcTable, hdr[8:])
	binary.BigEndian.PutUint32(hdr[4:], crc32.Update(crc, crcTable, payload))
}

// parseAt returns the header of a valid record at off in b, whose seq is above
// after, and whether there is one.
func parseAt(b []byte, off int64, after uint64) (header, bool) {
	if off+headerSize > int64(len(b)) {
		return header{}, false
	}
	hb := b[off : off+headerSize]
	if binary.BigEndian.Uint32(hb[0:]) != magic {
		return header{}, false
	}
	h := header{
		length: binary.BigEndian.Uint32(hb[8:]),
		seq:    binary.BigEndian.Uint64(hb[12:]),
		time:   int64(binary.BigEndian.Uint64(hb[20:])),
	}
	if h.length > maxPayload || off+headerSize+int64(h.length) > int64(len(b)) || h.seq <= after {
		return header{}, false
	}
	crc := crc32.Update(0, crcTable, hb[8:])
	crc = crc32.Update(crc, crcTable, b[off+headerSize:off+headerSize+int64(h.length)])
	if crc != binary.BigEndian.Uint32(hb[4:]) {
		return header{}, false
	}
	return h, true
}

// scanRecords calls rec for every valid record in b, in order, and skipped for every
// run of bytes that holds no valid record (resynchronising on the next valid header).
// Sequence numbers must increase: a record at or below after is not valid.
func scanRecords(b []byte, after uint64, rec func(off int64, h header), skipped func(from, to int64)) {
	off := int64(0)
	for off < int64(len(b)) {
		if h, ok := parseAt(b, off, after); ok {
			rec(off, h)
			after = h.seq
			off += headerSize + int64(h.length)
			continue
		}
		next := nextValid(b, off+1, after)
		skipped(off, next)
		off = next
	}
}

// nextValid returns the offset of the next valid record at or after from, or len(b).
func nextValid(b []byte, from int64, after uint64) int64 {
	for off := from; off+headerSize <= int64(len(b)); off++ {
		if b[off] == byte(magic>>24) {
			if _, ok := parseAt(b, off, after); ok {
				return off
			}
		}
	}
	return int64(len(b))
}
