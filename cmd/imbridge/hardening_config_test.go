package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Settings that weaken security on purpose are accepted only when asked for by name,
// and each is warned about at every start; so is a secret passed as a flag.
func TestConfigWarnings(t *testing.T) {
	base := []string{"IMBRIDGE_SDKAPPID", "1400187352", "IMBRIDGE_KAFKA_BROKERS", "k:9092"}
	tests := []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"a real token", nil, append(base, "IMBRIDGE_CALLBACK_TOKEN", "s3cr3t-callback-token"), nil},
		{"unsigned", nil, append(base, "IMBRIDGE_ALLOW_UNSIGNED", "true"),
			[]string{"IMBRIDGE_ALLOW_UNSIGNED=true and no token: callbacks are not authenticated, anyone who knows the SDKAppID can forge them"}},
		{"dev mode with the placeholder", nil, append(base, "IMBRIDGE_CALLBACK_TOKEN", "dev-token", "IMBRIDGE_DEV_MODE", "true"),
			[]string{"IMBRIDGE_DEV_MODE=true: the placeholder tokens of the examples are accepted; never use it outside one's own machine",
				"IMBRIDGE_CALLBACK_TOKEN holds a token of fewer than 16 characters: accepted in dev mode only"}},
		{"SASL PLAIN without TLS, allowed", nil, append(base, "IMBRIDGE_CALLBACK_TOKEN", "s3cr3t-callback-token", "IMBRIDGE_KAFKA_SASL_MECHANISM", "PLAIN",
			"IMBRIDGE_KAFKA_SASL_USERNAME", "u", "IMBRIDGE_KAFKA_SASL_PASSWORD", "p", "IMBRIDGE_KAFKA_SASL_PLAIN_WITHOUT_TLS", "true"),
			[]string{"IMBRIDGE_KAFKA_SASL_PLAIN_WITHOUT_TLS=true: the Kafka password crosses the network in clear text"}},
		{"SASL PLAIN over TLS", nil, append(base, "IMBRIDGE_CALLBACK_TOKEN", "s3cr3t-callback-token", "IMBRIDGE_KAFKA_SASL_MECHANISM", "PLAIN",
			"IMBRIDGE_KAFKA_SASL_USERNAME", "u", "IMBRIDGE_KAFKA_SASL_PASSWORD", "p", "IMBRIDGE_KAFKA_TLS", "true"), nil},
		{"token as a flag", []string{"--callback-token", "s3cr3t-callback-token"}, base,
			[]string{"--callback-token puts a secret in the process's arguments, which every user of the machine can read: use the variable or its _FILE variant"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(tt.args, env(tt.env...), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, cfg.Warnings()); d != "" {
				t.Fatalf("warnings (-want +got):\n%s", d)
			}
		})
	}
}

// The replay filter remembers a callback for twice the skew, and the admin listener's
// write timeout leaves room for the longest profile when pprof is on.
func TestConfigDerived(t *testing.T) {
	c := Config{SignMaxSkew: 45 * time.Second, HTTPWriteTimeout: 10 * time.Second}
	if c.replayWindow() != 0 || c.adminWriteTimeout() != 10*time.Second {
		t.Fatalf("filter off, pprof off: window %s, admin write timeout %s", c.replayWindow(), c.adminWriteTimeout())
	}
	c.ReplayFilter, c.Pprof = true, true
	if c.replayWindow() != 90*time.Second || c.adminWriteTimeout() != 35*time.Second {
		t.Fatalf("filter on, pprof on: window %s, admin write timeout %s", c.replayWindow(), c.adminWriteTimeout())
	}
}
