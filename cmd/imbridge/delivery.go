package main

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/metrics"
	"github.com/imbridge/imbridge/bridge/spool"
)

// openDelivery opens the Kafka publisher and the delivery cfg.Delivery names: sync, the
// publisher itself; spool, the spool and its forwarder, whose state it registers on the
// metrics. On error nothing stays open.
func (s *service) openDelivery() error {
	cfg, log, m := s.cfg, s.log, s.metrics
	pub, err := kafka.New(kafka.Config{Brokers: cfg.KafkaBrokers, Topics: cfg.topics(), PingTopics: cfg.routedTopics(), Security: cfg.Kafka, Observer: m,
		UnknownTopicTimeout: cfg.KafkaUnknownTopic},
		log.Named("kafka"))
	if err != nil {
		return err
	}
	s.pub = pub
	switch cfg.Delivery {
	case "sync":
		// Both modes refuse a callback with a record Kafka could never take (413)
		// instead of holding it; the limits are the topics' max.message.bytes.
		s.delivery = &bridge.SyncDelivery{Publisher: pub, Timeout: cfg.SyncTimeout, Limits: pub}
	default:
		sp, err := spool.Open(cfg.SpoolDir, spool.Options{MaxBytes: cfg.SpoolMaxBytes, Log: log.Named("spool"), ObserveSync: s.metrics.SpoolSyncObserver()})
		if err != nil {
			pub.Close()
			return err
		}
		forwarder := spool.NewForwarder(sp, pub, spool.ForwarderConfig{
			DeadLetterTopic:  cfg.DLQTopic,
			MaxAttempts:      cfg.DLQAfterAttempts,
			BackoffMax:       cfg.KafkaRetryBackoffMax,
			UnreachableAfter: cfg.KafkaUnreachableAfter,
		}, log.Named("forwarder"))
		s.sp, s.forwarder = sp, forwarder
		s.delivery = &spool.Delivery{Spool: sp, Forwarder: forwarder, HighWater: cfg.SpoolHighWater, Limits: pub}
		m.RegisterSpool(func() metrics.SpoolStats {
			st := sp.Stats()
			return metrics.SpoolStats{Records: st.Entries, Events: st.Records, Bytes: st.Bytes, Limit: sp.MaxBytes(), Oldest: st.Oldest, Syncs: st.Syncs}
		}, func() int64 { _, dead := forwarder.Counts(); return dead }, time.Now)
		m.RegisterDeliveryHealth(forwarder.Health)
	}
	return nil
}

// closeDelivery closes the spool (spool mode), then the publisher: the last of the
// shutdown, once the forwarder has stopped.
func (s *service) closeDelivery() {
	if s.sp != nil {
		s.sp.Close()
	}
	s.pub.Close()
}

// startDelivery starts the delivery's background work, which runs until ctx ends:
// reading the topics' limits, watching the partitions' leaders, warning of missing
// topics, and the forwarder (spool mode; s.fwdDone is closed once it has stopped) or a
// first ping of Kafka (sync mode). leadersDone is closed once the leader watch ends.
func (s *service) startDelivery(ctx context.Context) (leadersDone <-chan struct{}) {
	cfg, log, pub := s.cfg, s.log, s.pub
	go loadLimits(ctx, pub, log)
	leaders := make(chan struct{})
	go func() { defer close(leaders); pub.WatchLeaders(ctx, 10*time.Second, s.metrics) }()
	go warnMissingTopics(ctx, cfg, log)
	fwdDone := make(chan struct{})
	s.fwdDone = fwdDone
	if s.forwarder != nil {
		go func() {
			defer close(fwdDone)
			if err := s.forwarder.Run(ctx); err != nil {
				log.Error("forwarder stopped", zap.Error(err))
			}
		}()
	} else {
		close(fwdDone)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if err := pub.Ping(ctx); err != nil {
				log.Warn("kafka is not ready yet; callbacks will be answered 503 until it is", zap.Error(err))
			}
		}()
	}
	return leaders
}

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
