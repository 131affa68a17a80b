package main

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge/kafka"
)

// loadLimits reads the topics' max.message.bytes, retrying until it succeeds or ctx
// ends: until then the publisher assumes Kafka's default for every topic.
func loadLimits(ctx context.Context, pub *kafka.Publisher, log *zap.Logger) {
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		got, err := pub.LoadLimits(rctx)
		cancel()
		if err == nil {
			log.Info("kafka topic limits read", zap.Any("max_message_bytes", got))
			return
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("cannot read the topics' max.message.bytes yet; assuming Kafka's default", zap.Error(err), zap.Duration("retry_in", wait))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
