package bridge

import (
	"encoding/binary"
	"errors"
	"time"
)

// DecodeLegacyRecords reads a spool record payload of format version 1 or 2, which
// imbridge wrote before records were encoded once on the request path: the events'
// fields one by one. It returns the records those events become, dead-lettered ones
// included, so that a spool written by an older version is published unchanged after
// an upgrade. Version 2 added the Sns.CallbackFriendAdd fields.
func DecodeLegacyRecords(b []byte) ([]Record, error) {
	if len(b) == 0 || (b[0] != 1 && b[0] != 2) {
		return nil, errLegacyPayload
	}
	version := b[0]
	d := legacyDecoder{b: b[1:]}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		return nil, errLegacyPayload
	}
	records := make([]Record, 0, n)
	for range n {
		var e Event
		var from, to, initiator, clientCmd, admin, dlqTopic, dlqReason string
		var force int64
		for _, s := range [...]*string{&e.Topic, &e.Type, &e.Source, &e.ID, &e.CallbackCommand, &from,
			&to, &e.ReceivedAt, &e.ClientIP, &e.OptPlatform, &dlqTopic, &dlqReason} {
			*s = d.string()
		}
		e.SDKAppID = d.uvarint()
		e.RequestTime = d.varint()
		e.EventTime = d.varint()
		e.Time = time.Unix(0, d.varint()).UTC()
		if version >= 2 {
			for _, s := range [...]*string{&initiator, &clientCmd, &admin} {
				*s = d.string()
			}
			force = d.varint()
		}
		if d.err != nil {
			return nil, errLegacyPayload
		}
		var forceFlag any
		if force != 0 {
			forceFlag = force
		}
		e.Subject = pairSubject(from, to, Fields("initiatorAccount", initiator, "clientCmd", clientCmd,
			"adminAccount", admin, "forceFlag", forceFlag))
		if dlqTopic == "" {
			records = e.AppendRecord(records)
			continue
		}
		// A dead letter was stored with the dead-letter topic as Topic and the topic
		// it was meant for aside.
		dlq := e.Topic
		e.Topic = dlqTopic
		records = append(records, e.AppendRecord(nil)[0].DeadLetter(dlq, dlqReason, 0))
	}
	if len(d.b) != 0 {
		return nil, errLegacyPayload
	}
	return records, nil
}

var errLegacyPayload = errors.New("malformed record payload (format version 1 or 2)")

type legacyDecoder struct {
	b   []byte
	err error
}

func (d *legacyDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errLegacyPayload
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *legacyDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errLegacyPayload
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *legacyDecoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errLegacyPayload
		d.b = nil
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
