package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge/kafka"
)

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
