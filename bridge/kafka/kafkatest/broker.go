package kafkatest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Broker is a private Kafka broker that a fault test may stop and start, run by
// deploy/kafka/kafka.sh on its own port and state directory.
type Broker struct {
	t      testing.TB
	script string
	env    []string
	// Addr is the bootstrap address, 127.0.0.1:PORT.
	Addr string
	// Port is PORT: the controller listens on Port+1, SASL on Port+2, TLS on Port+3.
	Port int
}

// BrokerOptions add listeners to a private broker.
type BrokerOptions struct {
	// SASL adds a SASL_PLAINTEXT listener on port+2 accepting PLAIN, SCRAM-SHA-256 and
	// SCRAM-SHA-512 for SASLUser / SASLPassword.
	SASL bool
	// TLSDir, if set, holds server.pem (PKCS#8 key and certificate chain) and optionally
	// ca.pem: an SSL listener on port+3, requiring client certificates signed by ca.pem.
	TLSDir string
}

// Credentials of the private broker's SASL listener.
const (
	SASLUser     = "imbridge"
	SASLPassword = "imbridge-secret"
)

// StartBroker starts a private broker on port (0: on ports FreePorts picks) with no
// topics, in a directory of t's, and removes it when t ends. It needs java and mvn, as
// make test does; without them t is skipped (failed when CI=true).
func StartBroker(t testing.TB, port int, opts ...BrokerOptions) *Broker {
	t.Helper()
	for _, tool := range []string{"java", "mvn"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable(t, tool+" is needed to run a private Kafka broker")
		}
	}
	if port == 0 {
		port = FreePorts(t)
	}
	b := &Broker{
		t:      t,
		script: Script("kafka.sh"),
		env: append(os.Environ(),
			"KAFKA_LOCAL_PORT="+strconv.Itoa(port),
			"KAFKA_LOCAL_DIR="+filepath.Join(t.TempDir(), "kafka"),
			"KAFKA_LOCAL_TOPICS=",
			"KAFKA_LOCAL_HEAP=512m",
			"KAFKA_LOCAL_SASL_USER="+SASLUser,
			"KAFKA_LOCAL_SASL_PASSWORD="+SASLPassword),
		Addr: "127.0.0.1:" + strconv.Itoa(port),
		Port: port,
	}
	for _, o := range opts {
		if o.SASL {
			b.env = append(b.env, "KAFKA_LOCAL_SASL=1")
		}
		if o.TLSDir != "" {
			b.env = append(b.env, "KAFKA_LOCAL_TLS_DIR="+o.TLSDir)
		}
	}
	t.Cleanup(func() { _ = b.run("down") })
	b.Start()
	return b
}

func (b *Broker) run(verb string) error {
	cmd := exec.Command(b.script, verb)
	cmd.Env = b.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.t.Logf("kafka.sh %s: %v\n%s", verb, err, out)
	}
	return err
}

// Start starts the broker (again, keeping its data) and waits until it answers.
func (b *Broker) Start() {
	b.t.Helper()
	if err := b.run("up"); err != nil {
		b.t.Fatalf("start broker at %s: %v", b.Addr, err)
	}
}

// Stop stops the broker process (SIGTERM, then SIGKILL after 30s), keeping its data.
func (b *Broker) Stop() {
	b.t.Helper()
	if err := b.run("stop"); err != nil {
		b.t.Fatalf("stop broker at %s: %v", b.Addr, err)
	}
}
