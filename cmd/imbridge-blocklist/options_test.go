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

// The consumer listens on loopback by default and takes Kafka TLS and SASL options like
// imbridge's, with the password from a file or the environment and PLAIN refused
// without TLS unless allowed by name.
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
		{name: "defaults", want: options{brokers: []string{"127.0.0.1:19092"}, topics: []string{"imbridge.blocklist"},
			group: "imbridge-blocklist", listen: "127.0.0.1:8081"}},
		{name: "TLS and SCRAM, password from a file", args: []string{"--brokers", "k1:9093,k2:9093", "--kafka-tls-ca-file", "ca.pem",
			"--kafka-tls-server-name", "kafka.internal", "--kafka-sasl-mechanism", "scram-sha-512", "--kafka-sasl-username", "u",
			"--kafka-sasl-password-file", pw},
			want: options{brokers: []string{"k1:9093", "k2:9093"}, topics: []string{"imbridge.blocklist"}, group: "imbridge-blocklist",
				listen: "127.0.0.1:8081", kafka: kafka.Security{CAFile: "ca.pem", ServerName: "kafka.internal",
					SASLMechanism: kafka.SASLScramSHA512, Username: "u", Password: "from-file"}}},
		{name: "PLAIN over TLS, password from the environment", args: []string{"--kafka-tls", "--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-username", "u"},
			env: map[string]string{"IMBRIDGE_KAFKA_SASL_PASSWORD": "from-env"},
			want: options{brokers: []string{"127.0.0.1:19092"}, topics: []string{"imbridge.blocklist"}, group: "imbridge-blocklist",
				listen: "127.0.0.1:8081", kafka: kafka.Security{TLS: true, SASLMechanism: kafka.SASLPlain, Username: "u", Password: "from-env"}}},
		{name: "PLAIN without TLS", args: []string{"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-username", "u"},
			env:     map[string]string{"IMBRIDGE_KAFKA_SASL_PASSWORD": "p"},
			wantErr: "--kafka-sasl-mechanism=PLAIN without TLS would send the password in clear text: add --kafka-tls, use SCRAM-SHA-512, or --kafka-sasl-plain-without-tls for brokers on a network nobody else can read"},
		{name: "PLAIN without TLS, allowed", args: []string{"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-username", "u", "--kafka-sasl-plain-without-tls"},
			env: map[string]string{"IMBRIDGE_KAFKA_SASL_PASSWORD": "p"},
			want: options{brokers: []string{"127.0.0.1:19092"}, topics: []string{"imbridge.blocklist"}, group: "imbridge-blocklist",
				listen: "127.0.0.1:8081", kafka: kafka.Security{SASLMechanism: kafka.SASLPlain, Username: "u", Password: "p", PlainWithoutTLS: true}}},
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
