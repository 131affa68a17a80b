package spool

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/imbridge/imbridge/bridge"
)

// payloadVersion is the first byte of every record payload; a reader refuses versions
// it does not know instead of misreading them. Version 2 added the friend-add fields;
// version 1 records (written before) are still read.
const payloadVersion = 2

// encodeEvents appends the binary form of events to dst: a version byte, the event
// count, then per event its fields as uvarint-length-prefixed strings and varints.
func encodeEvents(dst []byte, events []bridge.Event) []byte {
	dst = append(dst, payloadVersion)
	dst = binary.AppendUvarint(dst, uint64(len(events)))
	for i := range events {
		e := &events[i]
		for _, s := range [...]string{e.Topic, e.Type, e.Source, e.ID, e.CallbackCommand, e.FromAccount,
			e.ToAccount, e.ReceivedAt, e.ClientIP, e.OptPlatform, e.DeadLetterTopic, e.DeadLetterReason} {
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		}
		dst = binary.AppendUvarint(dst, e.SDKAppID)
		dst = binary.AppendVarint(dst, e.RequestTime)
		dst = binary.AppendVarint(dst, e.EventTime)
		dst = binary.AppendVarint(dst, e.Time.UnixNano())
		for _, s := range [...]string{e.InitiatorAccount, e.ClientCmd, e.AdminAccount} {
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		}
		dst = binary.AppendVarint(dst, e.ForceFlag)
	}
	return dst
}

var errPayload = errors.New("malformed record payload")

// decodeEvents is the inverse of encodeEvents.
func decodeEvents(b []byte) ([]bridge.Event, error) {
	if len(b) == 0 || (b[0] != 1 && b[0] != payloadVersion) {
		return nil, errPayload
	}
	version := b[0]
	d := decoder{b: b[1:]}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		return nil, errPayload
	}
	events := make([]bridge.Event, n)
	for i := range events {
		e := &events[i]
		for _, s := range [...]*string{&e.Topic, &e.Type, &e.Source, &e.ID, &e.CallbackCommand, &e.FromAccount,
			&e.ToAccount, &e.ReceivedAt, &e.ClientIP, &e.OptPlatform, &e.DeadLetterTopic, &e.DeadLetterReason} {
			*s = d.string()
		}
		e.SDKAppID = d.uvarint()
		e.RequestTime = d.varint()
		e.EventTime = d.varint()
		e.Time = time.Unix(0, d.varint()).UTC()
		if version >= 2 {
			for _, s := range [...]*string{&e.InitiatorAccount, &e.ClientCmd, &e.AdminAccount} {
				*s = d.string()
			}
			e.ForceFlag = d.varint()
		}
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errPayload
	}
	return events, nil
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

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errPayload
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errPayload
		d.b = nil
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// eventCount reads the number of events from an encoded payload, or 0.
func eventCount(payload []byte) int64 {
	if len(payload) < 2 || (payload[0] != 1 && payload[0] != payloadVersion) {
		return 0
	}
	n, k := binary.Uvarint(payload[1:])
	if k <= 0 {
		return 0
	}
	return int64(n)
}
