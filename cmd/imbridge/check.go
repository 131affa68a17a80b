package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
)

// quarantineRoom is the max.message.bytes the quarantine topic needs to keep a body of
// bodyLimit bytes: the body, its key and headers (at most a few hundred bytes, with a
// reason of at most bridge.MaxReasonBytes), and Kafka's batch overhead, rounded up.
func quarantineRoom(bodyLimit int64) int64 { return bodyLimit + 4096 }

// check validates the configuration and checks Kafka as serve would use it: one line
// per check, "ok", "WARN" (passed, needs attention: an under-replicated topic) or
// "FAIL", and exit status 1 when any failed.
func check(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	cfg, err := loadConfigFor("check", args, lookup, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stdout, "FAIL configuration: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "ok   configuration is valid")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results := kafka.Check(ctx, kafka.Config{Brokers: cfg.KafkaBrokers, Topics: cfg.topics(), Security: cfg.Kafka}, zap.NewNop())
	failed := false
	for _, r := range results {
		if r.Err != nil {
			failed = true
			fmt.Fprintf(stdout, "FAIL %s: %v\n", r.Name, r.Err)
			continue
		}
		if r.Name == "topic "+cfg.QuarantineTopic && r.MaxMessageBytes > 0 && int64(r.MaxMessageBytes) < quarantineRoom(cfg.BodyLimit) {
			r.Warning = fmt.Sprintf("max.message.bytes=%d does not hold a quarantined callback of IMBRIDGE_BODY_LIMIT=%d bytes and its headers "+
				"(at least %d): such a callback would be refused with 413; set max.message.bytes=%d", r.MaxMessageBytes, cfg.BodyLimit,
				quarantineRoom(cfg.BodyLimit), max(quarantineRoom(cfg.BodyLimit), bridge.QuarantineMaxMessageBytes))
		}
		if r.Warning != "" {
			fmt.Fprintf(stdout, "WARN %s: %s; %s\n", r.Name, r.Detail, r.Warning)
			continue
		}
		fmt.Fprintf(stdout, "ok   %s: %s\n", r.Name, r.Detail)
	}
	if failed {
		return 1
	}
	return 0
}
