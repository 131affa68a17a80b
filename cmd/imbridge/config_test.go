package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/tracing"
)

func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadConfigDefaults(t *testing.T) {
	got, err := loadConfig(nil, env("IMBRIDGE_SDKAPPID", "1400187352", "IMBRIDGE_KAFKA_BROKERS", "k1:9092, k2:9092",
		"IMBRIDGE_CALLBACK_TOKEN", "new-token-0123456,old-token-0123456"), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Tracing: tracing.Settings{Protocol: "http/protobuf"},
		Listen:  ":8080", CallbackPath: "/callback", AdminListen: "127.0.0.1:9090", SDKAppID: 1400187352,
		CallbackTokens: []bridge.Secret{"new-token-0123456", "old-token-0123456"}, SignMaxSkew: 60 * time.Second, ReplayCacheSize: 100000, BodyLimit: 1 << 20,
		MaxInFlightBytes: 32 << 20, MaxPairs: 10000, MaxRecordBytes: 8 << 20, MaxInFlight: 1024, MaxQueryBytes: 4096, MaxHeaderBytes: 16384,
		KafkaBrokers: []string{"k1:9092", "k2:9092"},
		Routes:       routeNames(),
		Topics:       map[string]string{}, UnroutedTopic: bridge.TopicUnrouted, QuarantineTopic: bridge.TopicQuarantine,
		Delivery: "spool", SyncTimeout: 1500 * time.Millisecond, SpoolDir: "data/spool", SpoolHighWater: 1,
		DLQAfterAttempts: 5, KafkaRetryBackoffMax: 10 * time.Second, KafkaUnreachableAfter: 5 * time.Minute, KafkaUnknownTopic: 30 * time.Second, DrainTimeout: 20 * time.Second, ShutdownDelay: 10 * time.Second,
		ShutdownTimeout: 10 * time.Second, HTTPReadHeaderTimeout: 5 * time.Second, HTTPReadTimeout: 10 * time.Second,
		HTTPWriteTimeout: 10 * time.Second, HTTPIdleTimeout: 120 * time.Second, LogLevel: "info", LogFormat: "json",
	}
	for _, r := range bridge.DefaultRoutes {
		want.Topics[r.Name] = r.Topic
	}
	if d := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Config{})); d != "" {
		t.Fatalf("config (-want +got):\n%s", d)
	}
	// Every route is on by default; the relationship chain's topics, one per relationship.
	relationship := map[string]string{"blocklist-delete": "imbridge.blocklist", "blocklist-add": "imbridge.blocklist",
		"friend-add": "imbridge.friend", "friend-delete": "imbridge.friend"}
	for name, topic := range relationship {
		if got.Topics[name] != topic || !slices.Contains(got.Routes, name) {
			t.Errorf("route %s: on %v, topic %q; want on, %q", name, slices.Contains(got.Routes, name), got.Topics[name], topic)
		}
	}
}

// routeNames lists the routing table's names, in order.
func routeNames() []string {
	var names []string
	for _, r := range bridge.DefaultRoutes {
		names = append(names, r.Name)
	}
	return names
}

func TestLoadConfigFlagsWinOverEnv(t *testing.T) {
	got, err := loadConfig([]string{"--listen", "127.0.0.1:1234", "--allow-unsigned=true"},
		env("IMBRIDGE_SDKAPPID", "1", "IMBRIDGE_KAFKA_BROKERS", "k:1", "IMBRIDGE_LISTEN", ":1"), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Listen != "127.0.0.1:1234" || !got.AllowUnsigned {
		t.Fatalf("Listen = %q, AllowUnsigned = %v", got.Listen, got.AllowUnsigned)
	}
}

func TestLoadConfigTrustedProxies(t *testing.T) {
	got, err := loadConfig(nil, env("IMBRIDGE_SDKAPPID", "1", "IMBRIDGE_KAFKA_BROKERS", "k:1", "IMBRIDGE_ALLOW_UNSIGNED", "true",
		"IMBRIDGE_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7,fd00::1/64"), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("fd00::/64")}
	if d := cmp.Diff(want, got.TrustedProxies, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Fatalf("trusted proxies (-want +got):\n%s", d)
	}
}

func TestLoadConfigTokenFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte("first-token-0123456\nsecond-token-0123456\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := loadConfig(nil, env("IMBRIDGE_SDKAPPID", "1", "IMBRIDGE_KAFKA_BROKERS", "k:1", "IMBRIDGE_CALLBACK_TOKEN_FILE", f), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]bridge.Secret{"first-token-0123456", "second-token-0123456"}, got.CallbackTokens); d != "" {
		t.Fatalf("tokens (-want +got):\n%s", d)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	base := []string{"IMBRIDGE_SDKAPPID", "1400187352", "IMBRIDGE_KAFKA_BROKERS", "k:9092", "IMBRIDGE_CALLBACK_TOKEN", "s3cr3t-callback-token"}
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"no app id", nil, []string{"IMBRIDGE_KAFKA_BROKERS", "k:1", "IMBRIDGE_CALLBACK_TOKEN", "t"},
			"IMBRIDGE_SDKAPPID is required: set it to the SDKAppID shown in Chat's console"},
		{"app id not a number", nil, append(base, "IMBRIDGE_SDKAPPID", "abc"),
			`IMBRIDGE_SDKAPPID="abc": expected a positive decimal number such as 1400187352`},
		{"no brokers", nil, []string{"IMBRIDGE_SDKAPPID", "1", "IMBRIDGE_CALLBACK_TOKEN", "t"},
			"IMBRIDGE_KAFKA_BROKERS is required: set it to the bootstrap brokers as host:port pairs separated by commas"},
		{"broker without port", nil, append(base, "IMBRIDGE_KAFKA_BROKERS", "kafka"),
			`IMBRIDGE_KAFKA_BROKERS="kafka": expected host:port pairs separated by commas`},
		{"no token", nil, []string{"IMBRIDGE_SDKAPPID", "1", "IMBRIDGE_KAFKA_BROKERS", "k:1"},
			"no callback token: set IMBRIDGE_CALLBACK_TOKEN (or IMBRIDGE_CALLBACK_TOKEN_FILE) to the token of callback authentication in Chat's console, " +
				"or set IMBRIDGE_ALLOW_UNSIGNED=true to accept unsigned callbacks, which anyone who knows the SDKAppID can forge"},
		{"token too long", nil, append(base, "IMBRIDGE_CALLBACK_TOKEN", strings.Repeat("t", 129)),
			"IMBRIDGE_CALLBACK_TOKEN=<secret>: expected tokens of 1 to 128 characters, separated by commas"},
		{"token and file", nil, append(base, "IMBRIDGE_CALLBACK_TOKEN_FILE", "/nonexistent"),
			`IMBRIDGE_CALLBACK_TOKEN_FILE="/nonexistent": expected only one of IMBRIDGE_CALLBACK_TOKEN and IMBRIDGE_CALLBACK_TOKEN_FILE`},
		{"bad bool", nil, append(base, "IMBRIDGE_ALLOW_UNSIGNED", "yes"),
			`IMBRIDGE_ALLOW_UNSIGNED="yes": expected true or false`},
		{"bad skew", nil, append(base, "IMBRIDGE_SIGN_MAX_SKEW", "60"),
			`IMBRIDGE_SIGN_MAX_SKEW="60": expected a positive duration such as 1.5s or 2m`},
		{"bad topic", nil, append(base, "IMBRIDGE_TOPIC_BLOCKLIST_DELETE", "has space"),
			`IMBRIDGE_TOPIC_BLOCKLIST_DELETE="has space": expected a Kafka topic name: 1 to 249 of a-z A-Z 0-9 . _ -`},
		{"bad level", nil, append(base, "IMBRIDGE_LOG_LEVEL", "loud"),
			`IMBRIDGE_LOG_LEVEL="loud": expected one of debug, info, warn, error`},
		{"bad format", []string{"--log-format", "xml"}, base,
			`--log-format="xml": expected json or console`},
		{"sync timeout too long", nil, append(base, "IMBRIDGE_SYNC_TIMEOUT", "2s"),
			"IMBRIDGE_SYNC_TIMEOUT=2s: expected less than 2s, the time Chat waits for an answer"},
		{"path without slash", nil, append(base, "IMBRIDGE_CALLBACK_PATH", "cb"),
			`IMBRIDGE_CALLBACK_PATH="cb": expected a path starting with /`},
		{"body limit too small", nil, append(base, "IMBRIDGE_BODY_LIMIT", "10"),
			`IMBRIDGE_BODY_LIMIT="10": expected a number of bytes, at least 1024`},
		{"stray argument", []string{"extra"}, base, `serve takes no arguments, got "extra"`},
		{"TLS cert without key", nil, append(base, "IMBRIDGE_TLS_CERT_FILE", "c.pem"),
			"IMBRIDGE_TLS_CERT_FILE and IMBRIDGE_TLS_KEY_FILE go together: set both to serve HTTPS, or neither"},
		{"SASL without password", nil, append(base, "IMBRIDGE_KAFKA_SASL_MECHANISM", "scram-sha-512", "IMBRIDGE_KAFKA_SASL_USERNAME", "u"),
			"IMBRIDGE_KAFKA_SASL_MECHANISM=SCRAM-SHA-512 needs IMBRIDGE_KAFKA_SASL_USERNAME and IMBRIDGE_KAFKA_SASL_PASSWORD (or _FILE)"},
		{"SASL unknown", nil, append(base, "IMBRIDGE_KAFKA_SASL_MECHANISM", "GSSAPI"),
			`IMBRIDGE_KAFKA_SASL_MECHANISM="GSSAPI": expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`},
		{"SASL password twice", nil, append(base, "IMBRIDGE_KAFKA_SASL_PASSWORD", "p", "IMBRIDGE_KAFKA_SASL_PASSWORD_FILE", "/etc/hostname"),
			`IMBRIDGE_KAFKA_SASL_PASSWORD_FILE="/etc/hostname": expected only one of IMBRIDGE_KAFKA_SASL_PASSWORD and IMBRIDGE_KAFKA_SASL_PASSWORD_FILE`},
		{"password file missing", nil, append(base, "IMBRIDGE_KAFKA_SASL_PASSWORD_FILE", "/nonexistent/pw"),
			`IMBRIDGE_KAFKA_SASL_PASSWORD_FILE="/nonexistent/pw": expected a readable file (no such file or directory)`},
		{"trusted proxy not an address", nil, append(base, "IMBRIDGE_TRUSTED_PROXIES", "10.0.0.0/8,lb.internal"),
			`IMBRIDGE_TRUSTED_PROXIES="10.0.0.0/8,lb.internal": expected IP addresses or CIDR prefixes such as 10.0.0.0/8, separated by commas`},
		{"unknown route", nil, append(base, "IMBRIDGE_ROUTES", "blocklist-delete,no-such-route"),
			`IMBRIDGE_ROUTES="blocklist-delete,no-such-route": expected route names from ` + strings.Join(routeNames(), ", ")},
		{"dlq is another route's topic", nil, append(base, "IMBRIDGE_DLQ_TOPIC", "imbridge.friend"),
			`IMBRIDGE_DLQ_TOPIC="imbridge.friend": expected a topic other than the events' own`},
		{"unrouted is a route's topic", nil, append(base, "IMBRIDGE_TOPIC_UNROUTED", "imbridge.group"),
			`IMBRIDGE_TOPIC_UNROUTED="imbridge.group": expected a topic of its own, not a route's: its consumers would read callbacks as events`},
		{"quarantine is the DLQ topic", nil, append(base, "IMBRIDGE_DLQ_TOPIC", "imbridge.dlq", "IMBRIDGE_TOPIC_QUARANTINE", "imbridge.dlq"),
			`IMBRIDGE_TOPIC_QUARANTINE="imbridge.dlq": expected a topic of its own, not a route's, the unrouted or the DLQ topic: its records are raw bodies, not events`},
		{"quarantine is the unrouted topic", nil, append(base, "IMBRIDGE_TOPIC_QUARANTINE", "imbridge.unrouted"),
			`IMBRIDGE_TOPIC_QUARANTINE="imbridge.unrouted": expected a topic of its own, not a route's, the unrouted or the DLQ topic: its records are raw bodies, not events`},
		{"quarantine not a topic name", nil, append(base, "IMBRIDGE_TOPIC_QUARANTINE", "no way"),
			`IMBRIDGE_TOPIC_QUARANTINE="no way": expected a Kafka topic name: 1 to 249 of a-z A-Z 0-9 . _ -, or off`},
		{"bad delivery", nil, append(base, "IMBRIDGE_DELIVERY", "async"), `IMBRIDGE_DELIVERY="async": expected spool or sync`},
		{"spool too small", nil, append(base, "IMBRIDGE_SPOOL_MAX_BYTES", "1k"), `IMBRIDGE_SPOOL_MAX_BYTES="1k": expected 0 or a number of bytes, at least 4096`},
		{"high water over 1", nil, append(base, "IMBRIDGE_SPOOL_HIGH_WATER", "80"), `IMBRIDGE_SPOOL_HIGH_WATER="80": expected a fraction above 0 and at most 1, such as 0.8`},
		{"dlq is the topic", nil, append(base, "IMBRIDGE_DLQ_TOPIC", "imbridge.blocklist"), `IMBRIDGE_DLQ_TOPIC="imbridge.blocklist": expected a topic other than the events' own`},
		{"dlq attempts zero", nil, append(base, "IMBRIDGE_DLQ_AFTER_ATTEMPTS", "0"), `IMBRIDGE_DLQ_AFTER_ATTEMPTS="0": expected a whole number, at least 1`},
		{"short token", nil, append(base, "IMBRIDGE_CALLBACK_TOKEN", "s3cr3t-callback-token,fifteen-chars-x"),
			"IMBRIDGE_CALLBACK_TOKEN holds a token of fewer than 16 characters, which one captured callback URL lets anyone find offline (Sign is a plain SHA-256 of the token and RequestTime): set a longer one in Chat's console and here, or IMBRIDGE_DEV_MODE=true to try imbridge out on your own machine"},
		{"placeholder token", nil, append(base, "IMBRIDGE_CALLBACK_TOKEN", "dev-token"),
			"IMBRIDGE_CALLBACK_TOKEN holds a placeholder from imbridge's examples, which anyone can read: set the token from Chat's console, or IMBRIDGE_DEV_MODE=true to try imbridge out on your own machine"},
		{"placeholder of the Kubernetes example, among others", nil, append(base, "IMBRIDGE_CALLBACK_TOKEN", "real-one, replace-with-the-token-from-chats-console"),
			"IMBRIDGE_CALLBACK_TOKEN holds a placeholder from imbridge's examples, which anyone can read: set the token from Chat's console, or IMBRIDGE_DEV_MODE=true to try imbridge out on your own machine"},
		{"SASL PLAIN without TLS", nil, append(base, "IMBRIDGE_KAFKA_SASL_MECHANISM", "plain", "IMBRIDGE_KAFKA_SASL_USERNAME", "u", "IMBRIDGE_KAFKA_SASL_PASSWORD", "p"),
			"IMBRIDGE_KAFKA_SASL_MECHANISM=PLAIN without TLS would send the Kafka password in clear text: turn on IMBRIDGE_KAFKA_TLS, use SCRAM-SHA-512, or set IMBRIDGE_KAFKA_SASL_PLAIN_WITHOUT_TLS=true for brokers on a network nobody else can read"},
		{"bytes in flight below one body", nil, append(base, "IMBRIDGE_BODY_LIMIT", "4194304", "IMBRIDGE_MAX_IN_FLIGHT_BYTES", "2097152"),
			"IMBRIDGE_MAX_IN_FLIGHT_BYTES=2097152: expected at least IMBRIDGE_BODY_LIMIT (4194304), or no body of that size is ever accepted"},
		{"bytes in flight too few", nil, append(base, "IMBRIDGE_MAX_IN_FLIGHT_BYTES", "1000"),
			`IMBRIDGE_MAX_IN_FLIGHT_BYTES="1000": expected a number of bytes, at least 1048576`},
		{"a trace exporter other than otlp", nil, append(base, "OTEL_TRACES_EXPORTER", "zipkin"),
			`OTEL_TRACES_EXPORTER="zipkin": imbridge exports traces with otlp, or none`},
		{"an OTLP protocol imbridge does not speak", nil, append(base, "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
			`OTEL_EXPORTER_OTLP_PROTOCOL="http/json": expected http/protobuf or grpc`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(tt.args, env(tt.env...), &bytes.Buffer{})
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v\nwant    %s", err, tt.want)
			}
		})
	}
}

// Neither the help, nor a configuration error, nor the start-up line shows a token.
func TestSecretsNeverPrinted(t *testing.T) {
	const token = "s3cr3t-token-value-0"
	var stdout, stderr bytes.Buffer
	code := run([]string{"serve", "--callback-token", token, "--sdkappid", "x"}, env(), &stdout, &stderr)
	if code != 2 || strings.Contains(stdout.String()+stderr.String(), token) {
		t.Fatalf("exit %d, output %q", code, stdout.String()+stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"serve", "--help"}, env("IMBRIDGE_CALLBACK_TOKEN", token), &stdout, &stderr); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	help := stdout.String()
	if strings.Contains(help, token) {
		t.Fatal("--help shows the token")
	}
	for _, s := range settings {
		if !strings.Contains(help, "--"+s.flag+" ") || !strings.Contains(help, s.env) {
			t.Fatalf("--help does not list %s / --%s", s.env, s.flag)
		}
	}

	const password = "sasl-password-value"
	stderr.Reset()
	if code := run([]string{"serve", "--kafka-sasl-mechanism", "KERBEROS"}, env("IMBRIDGE_KAFKA_SASL_PASSWORD", password), &stdout, &stderr); code != 2 ||
		strings.Contains(stderr.String(), password) || !strings.Contains(stderr.String(), "--kafka-sasl-mechanism") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"serve", "--kafka-sasl-password", password + ",x"}, env("IMBRIDGE_KAFKA_SASL_PASSWORD_FILE", "/nonexistent"), &stdout, &stderr); code != 2 ||
		strings.Contains(stderr.String(), password) {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	cfg, err := loadConfig(nil, env("IMBRIDGE_SDKAPPID", "1", "IMBRIDGE_KAFKA_BROKERS", "k:1", "IMBRIDGE_CALLBACK_TOKEN", token,
		"IMBRIDGE_KAFKA_TLS", "true", "IMBRIDGE_KAFKA_SASL_MECHANISM", "PLAIN", "IMBRIDGE_KAFKA_SASL_USERNAME", "u", "IMBRIDGE_KAFKA_SASL_PASSWORD", password), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	log, err := newLogger("info", "json", &logBuf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("imbridge starting", zapConfigField(cfg))
	if !strings.Contains(logBuf.String(), `"callback_token":"<secret>"`) || !strings.Contains(logBuf.String(), `"kafka_sasl_password":"<secret>"`) ||
		!strings.Contains(logBuf.String(), `"kafka_sasl_username":"u"`) || !strings.Contains(logBuf.String(), `"sign_max_skew":"1m"`) ||
		strings.Contains(logBuf.String(), token) || strings.Contains(logBuf.String(), password) {
		t.Fatalf("start-up line: %s", logBuf.String())
	}
	// The line names every setting of the table, and only those.
	var line struct{ Config map[string]string }
	if err := json.Unmarshal(logBuf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if len(line.Config) != len(settings) {
		t.Fatalf("the start-up line has %d settings, the table %d", len(line.Config), len(settings))
	}
}

func TestSignCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"sign", "--token", "xxxxyyyy", "--time", "1669872112", "https://example.com/callback?SdkAppid=1&CallbackCommand=Sns.CallbackBlackListDelete"}, env(), &stdout, &stderr)
	want := "https://example.com/callback?CallbackCommand=Sns.CallbackBlackListDelete&RequestTime=1669872112&SdkAppid=1&Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061\n"
	if code != 0 || stdout.String() != want {
		t.Fatalf("exit %d, output %q, stderr %q", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	before := time.Now().Unix()
	if code := run([]string{"sign", "--token", "t", "--time", "now", "http://h/callback"}, env(), &stdout, &stderr); code != 0 {
		t.Fatalf("--time now: exit %d", code)
	}
	u, _ := url.Parse(strings.TrimSpace(stdout.String()))
	rt, _ := strconv.ParseInt(u.Query().Get("RequestTime"), 10, 64)
	if rt < before || rt > time.Now().Unix() || u.Query().Get("Sign") != bridge.Sign("t", u.Query().Get("RequestTime")) {
		t.Fatalf("--time now gave %s", u)
	}
	if code := run([]string{"sign", "--token", "t", "--time", "yesterday", "http://h/callback"}, env(), &stdout, &stderr); code != 2 {
		t.Fatalf("--time yesterday: exit %d", code)
	}
}
