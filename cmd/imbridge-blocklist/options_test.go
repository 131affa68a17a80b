package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
)

func lookupOf(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

// defaults returns the default options with edit applied.
func defaults(edit func(*options)) options {
	o := options{brokers: []string{"127.0.0.1:19092"}, topics: []string{"imbridge.blocklist"}, listen: "127.0.0.1:8081",
		tombstoneHorizon: 24 * time.Hour, snapshotInterval: 30 * time.Second, snapshotEvents: 100000}
	edit(&o)
	return o
}

// The consumer listens on loopback by default and takes Kafka TLS and SASL options like
// imbridge's, with the password from a file or the environment and PLAIN refused
// without TLS unless allowed by name. The horizon and the snapshot come from flags or
// the environment, flags first, and a wrong value is named with where it came from.
func TestParseOptions(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    options
		wantErr string
	}{
		{name: "defaults", want: defaults(func(*options) {})},
		{name: "horizon and snapshot from the environment", env: map[string]string{"IMBRIDGE_BLOCKLIST_TOMBSTONE_HORIZON": "72h",
			"IMBRIDGE_BLOCKLIST_SNAPSHOT": "/var/lib/blocklist/state", "IMBRIDGE_BLOCKLIST_SNAPSHOT_INTERVAL": "10s",
			"IMBRIDGE_BLOCKLIST_SNAPSHOT_EVENTS": "500"},
			want: defaults(func(o *options) {
				o.tombstoneHorizon, o.snapshot, o.snapshotInterval, o.snapshotEvents = 72*time.Hour, "/var/lib/blocklist/state", 10*time.Second, 500
			})},
		{name: "flags over the environment", args: []string{"--tombstone-horizon", "0", "--snapshot", "s", "--group", "old"},
			env:  map[string]string{"IMBRIDGE_BLOCKLIST_TOMBSTONE_HORIZON": "72h", "IMBRIDGE_BLOCKLIST_SNAPSHOT": "/var/lib/blocklist/state"},
			want: defaults(func(o *options) { o.tombstoneHorizon, o.snapshot, o.group = 0, "s", "old" })},
		{name: "negative horizon", env: map[string]string{"IMBRIDGE_BLOCKLIST_TOMBSTONE_HORIZON": "-1h"},
			wantErr: `IMBRIDGE_BLOCKLIST_TOMBSTONE_HORIZON="-1h": expected a duration such as 24h or 90m, or 0 to keep every removal`},
		{name: "horizon without a unit", args: []string{"--tombstone-horizon", "24"},
			wantErr: `--tombstone-horizon="24": expected a duration such as 24h or 90m, or 0 to keep every removal`},
		{name: "no snapshot interval", args: []string{"--snapshot-interval", "0s"},
			wantErr: `--snapshot-interval="0s": expected a positive duration such as 30s or 5m`},
		{name: "snapshot events not a number", env: map[string]string{"IMBRIDGE_BLOCKLIST_SNAPSHOT_EVENTS": "10k"},
			wantErr: `IMBRIDGE_BLOCKLIST_SNAPSHOT_EVENTS="10k": expected a positive number of records`},
		{name: "an argument", args: []string{"state"}, wantErr: `no arguments expected, got "state"`},
		{name: "TLS and SCRAM, password from a file", args: []string{"--brokers", "k1:9093,k2:9093", "--kafka-tls-ca-file", "ca.pem",
			"--kafka-tls-server-name", "kafka.internal", "--kafka-sasl-mechanism", "scram-sha-512", "--kafka-sasl-username", "u",
			"--kafka-sasl-password-file", pw},
			want: defaults(func(o *options) {
				o.brokers = []string{"k1:9093", "k2:9093"}
				o.kafka = kafka.Security{CAFile: "ca.pem", ServerName: "kafka.internal", SASLMechanism: kafka.SASLScramSHA512, Username: "u", Password: "from-file"}
			})},
		{name: "PLAIN over TLS, password from the environment", args: []string{"--kafka-tls", "--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-username", "u"},
			env: map[string]string{"IMBRIDGE_KAFKA_SASL_PASSWORD": "from-env"},
			want: defaults(func(o *options) {
				o.kafka = kafka.Security{TLS: true, SASLMechanism: kafka.SASLPlain, Username: "u", Password: "from-env"}
			})},
		{name: "PLAIN without TLS", args: []string{"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-username", "u"},
			env:     map[string]string{"IMBRIDGE_KAFKA_SASL_PASSWORD": "p"},
			wantErr: "--kafka-sasl-mechanism=PLAIN without TLS would send the password in clear text: add --kafka-tls, use SCRAM-SHA-512, or --kafka-sasl-plain-without-tls for brokers on a network nobody else can read"},
		{name: "PLAIN without TLS, allowed", args: []string{"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-username", "u", "--kafka-sasl-plain-without-tls"},
			env: map[string]string{"IMBRIDGE_KAFKA_SASL_PASSWORD": "p"},
			want: defaults(func(o *options) {
				o.kafka = kafka.Security{SASLMechanism: kafka.SASLPlain, Username: "u", Password: "p", PlainWithoutTLS: true}
			})},
		{name: "unknown mechanism", args: []string{"--kafka-sasl-mechanism", "GSSAPI"},
			wantErr: `--kafka-sasl-mechanism="GSSAPI": expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`},
		{name: "no password flag", args: []string{"--kafka-sasl-password", "p"},
			wantErr: "flag provided but not defined: -kafka-sasl-password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOptions(tt.args, lookupOf(tt.env), io.Discard)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got, cmp.AllowUnexported(options{}), cmp.Comparer(func(a, b bridge.Secret) bool { return a == b })); d != "" {
				t.Fatalf("options (-want +got):\n%s", d)
			}
		})
	}
}

// The blocklist API's server has every timeout (before: only the read-header one, so
// an idle or a slowly written connection was held forever).
func TestServerTimeouts(t *testing.T) {
	s := newServer(nil)
	for name, d := range map[string]time.Duration{"ReadHeaderTimeout": s.ReadHeaderTimeout, "ReadTimeout": s.ReadTimeout,
		"WriteTimeout": s.WriteTimeout, "IdleTimeout": s.IdleTimeout} {
		if d <= 0 || d > time.Minute {
			t.Errorf("%s = %s", name, d)
		}
	}
}
