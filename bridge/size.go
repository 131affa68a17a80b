package bridge

import (
	"context"
	"fmt"
)

// SizeBound is an upper bound of the bytes e takes as a Kafka message, computed
// without encoding it: every string of the event at its worst JSON escaping (6 bytes
// for a byte written as \u00XX), the key and headers, numbers, field names and the
// message overhead.
func (e *Event) SizeBound() int {
	strs := len(e.Topic) + len(e.Type) + len(e.Source) + len(e.ID) + len(e.CallbackCommand) + len(e.FromAccount) +
		len(e.ToAccount) + len(e.ReceivedAt) + len(e.ClientIP) + len(e.OptPlatform) + len(e.InitiatorAccount) +
		len(e.ClientCmd) + len(e.AdminAccount) + len(e.DeadLetterTopic) + len(e.DeadLetterReason)
	return 6*strs + 2*len(e.FromAccount) + 2*(len(e.ID)+len(e.Type)+len(e.Source)) + 1024
}

// MessageSizer tells the size an event takes as a message and the largest message its
// topic accepts. The Kafka publisher implements it from the topics' max.message.bytes.
type MessageSizer interface {
	// MessageSize returns the event's message size in bytes and its topic's limit.
	// size may be any value at or below limit when the event certainly fits.
	MessageSize(e *Event) (size, limit int)
}

// SizeGuard is a Delivery that refuses, before anything is stored or published, a
// callback with an event that Kafka could never accept: it is answered KindTooLarge
// (413) and nothing is acknowledged, instead of an event that blocks the ones behind
// it or can only be dead-lettered.
type SizeGuard struct {
	Delivery
	Sizer MessageSizer
}

// Accept implements Delivery.
func (g *SizeGuard) Accept(ctx context.Context, events []Event) error {
	for i := range events {
		e := &events[i]
		if size, limit := g.Sizer.MessageSize(e); size > limit {
			return &Error{Kind: KindTooLarge, Message: fmt.Sprintf(
				"the event for %s/%s would be a %d-byte Kafka message, over the %d bytes that topic %s accepts (max.message.bytes)",
				e.FromAccount, e.ToAccount, size, limit, e.Topic)}
		}
	}
	return g.Delivery.Accept(ctx, events)
}
