package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metricValue returns the value of the sample line that starts with series, or "".
func metricValue(body, series string) string {
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, series+" ") {
			return strings.TrimPrefix(line, series+" ")
		}
	}
	return ""
}

func TestMetricsEndpoint(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "metrics", 1)
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic,
		"IMBRIDGE_ROUTES=blocklist-delete,blocklist-add,friend-add,friend-delete")
	now := time.Now()
	post(t, p.signedURL(bridge.CommandBlackListDelete, e2eToken, now), seedBody)
	post(t, p.signedURL("Some.Client.Chosen.Command", e2eToken, now), `{"CallbackCommand":"Some.Client.Chosen.Command"}`)
	// A documented command whose route is off is counted by its command.
	post(t, p.signedURL("State.StateChange", e2eToken, now), `{"CallbackCommand":"State.StateChange","Info":{"Action":"Login","To_Account":"u"}}`)
	post(t, p.signedURL(bridge.CommandBlackListDelete, "wrong", now), seedBody)
	post(t, strings.Replace(p.signedURL(bridge.CommandBlackListDelete, e2eToken, now), e2eAppID, "1", 1), seedBody)
	kafkatest.WaitCount(t, brokers, topic, 3, 20*time.Second)

	var body string
	waitUntil(t, "the published events to be counted", 10*time.Second, func() bool {
		body = get(t, p.adminURL+"/metrics")
		return metricValue(body, `imbridge_events_published_total{topic="`+topic+`"}`) == "3"
	})
	want := map[string]string{
		`imbridge_callbacks_total{command="Sns.CallbackBlackListDelete",outcome="ok"}`:           "1",
		`imbridge_callbacks_total{command="other",outcome="unrouted"}`:                           "1",
		`imbridge_callbacks_total{command="State.StateChange",outcome="unrouted"}`:               "1",
		`imbridge_callbacks_total{command="Sns.CallbackBlackListDelete",outcome="unauthorized"}`: "1",
		`imbridge_callbacks_total{command="Sns.CallbackBlackListDelete",outcome="forbidden"}`:    "1",
		`imbridge_signature_failures_total{reason="mismatch"}`:                                   "1",
		`imbridge_callback_duration_seconds_count{outcome="ok"}`:                                 "1",
		`imbridge_request_time_skew_seconds_count`:                                               "3", // not the wrong signature's
		`imbridge_spool_records`:              "0",
		`imbridge_spool_events`:               "0",
		`imbridge_events_dead_lettered_total`: "0",
		`imbridge_spool_syncs_total`:          "1", // the one callback spooled
		`imbridge_spool_fsync_seconds_count`:  "1",
	}
	for series, v := range want {
		if got := metricValue(body, series); got != v {
			t.Errorf("%s = %q, want %s", series, got, v)
		}
	}
	if !regexp.MustCompile(`(?m)^imbridge_build_info\{goversion="go[^"]+",version="dev"\} 1$`).MatchString(body) {
		t.Error("imbridge_build_info missing")
	}
	for _, name := range []string{"imbridge_kafka_publish_duration_seconds_count", "imbridge_kafka_publish_events_count", "imbridge_spool_oldest_age_seconds", "imbridge_spool_bytes"} {
		if !strings.Contains(body, "\n"+name+" ") {
			t.Errorf("%s missing", name)
		}
	}
	if strings.Contains(body, "Some.Client.Chosen.Command") {
		t.Error("a label took its value from the request")
	}
}

// The callback listener serves HTTPS with the configured certificate and picks up a
// new one on SIGHUP.
func TestCallbackTLSAndReload(t *testing.T) {
	first, second := kafkatest.GenerateCerts(t), kafkatest.GenerateCerts(t)
	dir := t.TempDir()
	certFile, keyFile := dir+"/tls.crt", dir+"/tls.key"
	install := func(c kafkatest.Certs) {
		b, err := os.ReadFile(c.Server) // key and certificate in one PEM file
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{certFile, keyFile} {
			if err := os.WriteFile(f+".tmp", b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(f+".tmp", f); err != nil {
				t.Fatal(err)
			}
		}
	}
	install(first)
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1", "IMBRIDGE_DELIVERY=spool",
		"IMBRIDGE_TLS_CERT_FILE="+certFile, "IMBRIDGE_TLS_KEY_FILE="+keyFile)
	url := strings.Replace(p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), "http://", "https://", 1)

	clientFor := func(c kafkatest.Certs) *http.Client {
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	call := func(c *http.Client) error {
		resp, err := c.Post(url, "application/json", strings.NewReader(seedBody))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != okAnswer {
			t.Fatalf("answer over TLS: %d %s", resp.StatusCode, b)
		}
		return nil
	}
	if err := call(clientFor(first)); err != nil {
		t.Fatalf("HTTPS with the first certificate: %v", err)
	}
	if err := call(clientFor(second)); err == nil {
		t.Fatal("a client trusting only the second CA accepted the first certificate")
	}
	install(second)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the second certificate to be served", 10*time.Second, func() bool { return call(clientFor(second)) == nil })
	if !strings.Contains(p.log.String(), `"msg":"TLS certificate reloaded","trigger":"SIGHUP"`) {
		t.Fatalf("no reload in the log")
	}
	// Without a signal: the changed files are noticed by themselves.
	install(first)
	waitUntil(t, "the first certificate to be served again", 15*time.Second, func() bool { return call(clientFor(first)) == nil })
	if !strings.Contains(p.log.String(), `"msg":"TLS certificate reloaded","trigger":"file change"`) {
		t.Fatalf("no reload on file change in the log")
	}
}

func runCheck(t *testing.T, env ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary(t), "check")
	// No SDKAppID, token or spool: check needs none of serve's other settings.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"),
		"IMBRIDGE_ROUTES=blocklist-delete", "IMBRIDGE_TOPIC_UNROUTED=off", "IMBRIDGE_TOPIC_QUARANTINE=off"}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String()
}

func TestCheckCommand(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "check", 2)
	dlq := kafkatest.CreateTopic(t, brokers, "checkdlq", 1)
	code, out := runCheck(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic, "IMBRIDGE_DLQ_TOPIC="+dlq)
	want := regexp.MustCompile(`^ok   configuration: brokers, security and topics
ok   kafka [0-9.:,]+: connected; 1 broker\(s\), controller \d+
ok   topic ` + regexp.QuoteMeta(topic) + `: exists, 2 partition\(s\), all with a leader and at least min.insync.replicas=1 in-sync replicas: writable; max.message.bytes=1048588 \(larger events are refused with 413\)
ok   topic ` + regexp.QuoteMeta(dlq) + `: exists, 1 partition\(s\), all with a leader and at least min.insync.replicas=1 in-sync replicas: writable; max.message.bytes=1048588 \(larger events are refused with 413\)
$`)
	if code != 0 || !want.MatchString(out) {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}

	// A quarantine topic with Kafka's default max.message.bytes cannot keep a body of
	// the default limit: a warning that says what to set; with 2 MiB it passes.
	small := kafkatest.CreateTopic(t, brokers, "quarantine-small", 1)
	roomy := kafkatest.CreateTopicWithLimit(t, brokers, "quarantine", 1, bridge.QuarantineMaxMessageBytes)
	code, out = runCheck(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic, "IMBRIDGE_TOPIC_QUARANTINE="+small)
	if code != 0 || !strings.Contains(out, "WARN topic "+small+": exists, 1 partition(s)") ||
		!strings.Contains(out, "max.message.bytes=1048588 does not hold a quarantined callback of IMBRIDGE_BODY_LIMIT=1048576 bytes and its headers (at least 1052672): such a callback would be refused with 413; set max.message.bytes=2097152") {
		t.Fatalf("small quarantine topic: exit %d, output:\n%s", code, out)
	}
	code, out = runCheck(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic, "IMBRIDGE_TOPIC_QUARANTINE="+roomy)
	if code != 0 || !strings.Contains(out, "ok   topic "+roomy+": exists") || strings.Contains(out, "WARN") {
		t.Fatalf("quarantine topic of 2 MiB: exit %d, output:\n%s", code, out)
	}

	code, out = runCheck(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE=no.such.topic.here")
	if code != 1 || !strings.Contains(out, "FAIL topic no.such.topic.here: [3] Unknown Topic Or Partition") ||
		!strings.Contains(out, "; create it (README, Topics), or set IMBRIDGE_TOPIC_BLOCKLIST_DELETE to a topic that exists (or switch those routes off with IMBRIDGE_ROUTES)\n") {
		t.Fatalf("missing topic: exit %d, output:\n%s", code, out)
	}
	code, out = runCheck(t, "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1")
	if code != 1 || !strings.Contains(out, "FAIL kafka 127.0.0.1:1: ") || !strings.Contains(out, "connection refused") {
		t.Fatalf("broker down: exit %d, output:\n%s", code, out)
	}

	// serve's other settings are not read, even when wrong.
	code, out = runCheck(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic,
		"IMBRIDGE_LOG_LEVEL=loud", "IMBRIDGE_SDKAPPID=x", "IMBRIDGE_SYNC_TIMEOUT=5s", "IMBRIDGE_CALLBACK_TOKEN=dev-token")
	if code != 0 || !strings.HasPrefix(out, "ok   configuration: brokers, security and topics\n") {
		t.Fatalf("serve's other settings: exit %d, output:\n%s", code, out)
	}
	// Every problem in one report: each setting that cannot be read or does not fit,
	// then Kafka, tried with the brokers given.
	code, out = runCheck(t, "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1", "IMBRIDGE_BODY_LIMIT=big", "IMBRIDGE_DLQ_TOPIC=imbridge.blocklist",
		"IMBRIDGE_TOPIC_UNROUTED=imbridge.blocklist", "IMBRIDGE_KAFKA_TLS_CERT_FILE=/nonexistent/cert.pem")
	wantLines := []string{
		`FAIL configuration: IMBRIDGE_BODY_LIMIT="big": expected a number of bytes, at least 1024`,
		`FAIL configuration: IMBRIDGE_KAFKA_TLS_CERT_FILE and IMBRIDGE_KAFKA_TLS_KEY_FILE go together`,
		`FAIL configuration: IMBRIDGE_DLQ_TOPIC="imbridge.blocklist": expected a topic other than the events' own`,
		`FAIL configuration: IMBRIDGE_TOPIC_UNROUTED="imbridge.blocklist": expected a topic of its own, not a route's: its consumers would read callbacks as events`,
		`FAIL kafka: not tried with the security settings above; mend them first`,
	}
	if code != 1 || out != strings.Join(wantLines, "\n")+"\n" {
		t.Fatalf("several problems: exit %d, output:\n%s\nwant:\n%s", code, out, strings.Join(wantLines, "\n"))
	}
	code, out = runCheck(t, "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1", "IMBRIDGE_BODY_LIMIT=big")
	if code != 1 || !strings.HasPrefix(out, "FAIL configuration: IMBRIDGE_BODY_LIMIT=\"big\": expected a number of bytes, at least 1024\nFAIL kafka 127.0.0.1:1: ") {
		t.Fatalf("a bad setting and a broker down: exit %d, output:\n%s", code, out)
	}
	code, out = runCheck(t)
	if code != 1 || out != "FAIL configuration: "+errNoBrokers+"\n" {
		t.Fatalf("no brokers: exit %d, output:\n%s", code, out)
	}
}
