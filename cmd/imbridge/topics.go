package main

import (
	"context"
	"errors"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge/kafka"
)

// warnMissingTopics logs a WARN at start for every switched-on route whose topic does
// not exist (and for a missing DLQ topic): imbridge does not create topics, and without
// this line a wrong topic name would show only later, as the forwarder's retries or
// 503s in sync mode. Kafka not answering is reported elsewhere (the forwarder,
// /readyz), so it is only noted at debug here.
func warnMissingTopics(ctx context.Context, cfg Config, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	missing := map[string]bool{}
	for _, r := range kafka.Check(ctx, kafka.Config{Brokers: cfg.KafkaBrokers, Topics: cfg.topics(), Security: cfg.Kafka}, zap.NewNop()) {
		name, ok := strings.CutPrefix(r.Name, "topic ")
		switch {
		case !ok && r.Err != nil:
			log.Debug("cannot check the topics at start", zap.Error(r.Err))
			return
		case ok && errors.Is(r.Err, kafkago.UnknownTopicOrPartition):
			missing[name] = true
		}
	}
	for _, r := range cfg.routes() {
		if missing[r.Topic] {
			log.Warn("the topic of a switched-on route does not exist: create it, or its events wait in the spool (sync mode: its callbacks are answered 503)",
				zap.String("route", r.Name), zap.String("command", r.Command), zap.String("topic", r.Topic))
		}
	}
	if cfg.QuarantineTopic != "" && missing[cfg.QuarantineTopic] {
		log.Warn("the quarantine topic does not exist: create it (max.message.bytes above IMBRIDGE_BODY_LIMIT), or callbacks that cannot be mapped wait in the spool (sync mode: they are answered 503)",
			zap.String("topic", cfg.QuarantineTopic))
	}
	if cfg.DLQTopic != "" && missing[cfg.DLQTopic] {
		log.Warn("the dead-letter topic does not exist: create it, or events Kafka refuses stay in the spool", zap.String("topic", cfg.DLQTopic))
	}
}
