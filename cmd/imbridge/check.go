package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
)

// quarantineRoom is the max.message.bytes the quarantine topic needs to keep a body of
// bodyLimit bytes: the body, its key and headers (at most a few hundred bytes, with a
// reason of at most bridge.MaxReasonBytes), and Kafka's batch overhead, rounded up.
func quarantineRoom(bodyLimit int64) int64 { return bodyLimit + 4096 }

// checkSettings are the settings imbridge check reads: the brokers, their security,
// the routes and topics, and the body limit that the quarantine topic must hold.
func checkSettings() []setting {
	var out []setting
	for _, s := range settings {
		switch {
		case s.env == "IMBRIDGE_KAFKA_BROKERS", strings.HasPrefix(s.env, "IMBRIDGE_KAFKA_TLS"), strings.HasPrefix(s.env, "IMBRIDGE_KAFKA_SASL"),
			s.env == "IMBRIDGE_ROUTES", strings.HasPrefix(s.env, "IMBRIDGE_TOPIC_"), s.env == "IMBRIDGE_DLQ_TOPIC", s.env == "IMBRIDGE_BODY_LIMIT":
			out = append(out, s)
		}
	}
	return out
}

// check checks Kafka as serve would use it, from checkSettings alone: every problem of
// those settings, then (when the brokers are known) the brokers and every topic. One
// line per check, "ok", "WARN" (passed, needs attention: an under-replicated topic) or
// "FAIL", and exit status 1 when any failed.
func check(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	cfg, errs, err := parseSettings("check", checkSettings(), args, lookup, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "imbridge check: %v\n\nUsage: imbridge check [flags] (imbridge check --help)\n", err)
		return 2
	}
	for _, p := range cfg.kafkaProblems() {
		if p.Error() == errNoBrokers && slices.ContainsFunc(errs, func(e error) bool { return strings.HasPrefix(e.Error(), "IMBRIDGE_KAFKA_BROKERS=") }) {
			continue // said already: the value could not be read
		}
		errs = append(errs, p)
	}
	for _, e := range errs {
		fmt.Fprintf(stdout, "FAIL configuration: %v\n", e)
	}
	if len(errs) == 0 {
		fmt.Fprintln(stdout, "ok   configuration: brokers, security and topics")
	}
	if len(cfg.KafkaBrokers) == 0 {
		return 1
	}
	if slices.ContainsFunc(errs, func(e error) bool {
		return strings.HasPrefix(e.Error(), "IMBRIDGE_KAFKA_TLS") || strings.HasPrefix(e.Error(), "IMBRIDGE_KAFKA_SASL")
	}) {
		fmt.Fprintln(stdout, "FAIL kafka: not tried with the security settings above; mend them first")
		return 1
	}
	failed := len(errs) > 0
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results := kafka.Check(ctx, kafka.Config{Brokers: cfg.KafkaBrokers, Topics: cfg.topics(), Security: cfg.Kafka}, zap.NewNop())
	for _, r := range results {
		if r.Err != nil {
			failed = true
			fmt.Fprintf(stdout, "FAIL %s: %v%s\n", r.Name, r.Err, missingTopicHint(&cfg, r))
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

// missingTopicHint says, for a topic the brokers do not have, which settings name it
// and what to do: create it, or point those settings (or IMBRIDGE_ROUTES) elsewhere.
func missingTopicHint(cfg *Config, r kafka.CheckResult) string {
	topic, ok := strings.CutPrefix(r.Name, "topic ")
	if !ok || !r.Missing {
		return ""
	}
	var envs []string
	routes := ""
	for _, route := range cfg.routes() {
		if route.Topic != topic {
			continue
		}
		if route.Command == "" {
			envs = append(envs, "IMBRIDGE_TOPIC_UNROUTED")
		} else {
			envs = append(envs, "IMBRIDGE_TOPIC_"+strings.ToUpper(strings.ReplaceAll(route.Name, "-", "_")))
			routes = " (or switch those routes off with IMBRIDGE_ROUTES)"
		}
	}
	if topic == cfg.QuarantineTopic {
		envs = append(envs, "IMBRIDGE_TOPIC_QUARANTINE")
	}
	if topic == cfg.DLQTopic {
		envs = append(envs, "IMBRIDGE_DLQ_TOPIC")
	}
	named := strings.Join(envs, ", ")
	if len(envs) > 3 {
		named = fmt.Sprintf("%s and %d more", strings.Join(envs[:3], ", "), len(envs)-3)
	}
	return fmt.Sprintf("; create it (README, Topics), or set %s to a topic that exists%s", named, routes)
}
