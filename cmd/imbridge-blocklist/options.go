package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
)

// options are the command line of imbridge-blocklist.
type options struct {
	brokers, topics []string
	group, listen   string
	// kafka is the TLS and SASL towards the brokers, with imbridge's own rules (TLS
	// verification always on, PLAIN refused without TLS unless allowed by name).
	kafka kafka.Security
}

// parseOptions reads the flags. The SASL password comes from a file
// (--kafka-sasl-password-file) or from IMBRIDGE_KAFKA_SASL_PASSWORD, never from the
// command line, where every user of the machine can read it.
func parseOptions(args []string, lookup func(string) (string, bool), stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("imbridge-blocklist", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "127.0.0.1:19092", "bootstrap brokers, comma-separated")
	topics := fs.String("topics", "imbridge.blocklist", "topics with the blocklist events, comma-separated")
	fs.StringVar(&o.group, "group", "imbridge-blocklist", "consumer group")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8081", "address of GET /users/{id}/blocklist (no authentication: loopback unless something guards it)")
	fs.BoolVar(&o.kafka.TLS, "kafka-tls", false, "connect to the brokers with TLS (implied by any --kafka-tls-* file or name)")
	fs.StringVar(&o.kafka.CAFile, "kafka-tls-ca-file", "", "PEM bundle of the CAs that sign the brokers' certificates (default: the system's)")
	fs.StringVar(&o.kafka.CertFile, "kafka-tls-cert-file", "", "PEM client certificate, for brokers that require one")
	fs.StringVar(&o.kafka.KeyFile, "kafka-tls-key-file", "", "PEM key of the client certificate")
	fs.StringVar(&o.kafka.ServerName, "kafka-tls-server-name", "", "name expected in the brokers' certificates (default: each broker's host)")
	mechanism := fs.String("kafka-sasl-mechanism", "", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; unset: no SASL. PLAIN needs TLS (or --kafka-sasl-plain-without-tls)")
	fs.StringVar(&o.kafka.Username, "kafka-sasl-username", "", "SASL username")
	passwordFile := fs.String("kafka-sasl-password-file", "", "file holding the SASL password (or IMBRIDGE_KAFKA_SASL_PASSWORD in the environment)")
	fs.BoolVar(&o.kafka.PlainWithoutTLS, "kafka-sasl-plain-without-tls", false, "allow SASL PLAIN without TLS, which sends the password in clear text")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	o.brokers, o.topics = strings.Split(*brokers, ","), strings.Split(*topics, ",")
	switch m := strings.ToUpper(*mechanism); m {
	case kafka.SASLNone, kafka.SASLPlain, kafka.SASLScramSHA256, kafka.SASLScramSHA512:
		o.kafka.SASLMechanism = m
	default:
		return options{}, fmt.Errorf("--kafka-sasl-mechanism=%q: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", *mechanism)
	}
	if *passwordFile != "" {
		b, err := os.ReadFile(*passwordFile)
		if err != nil {
			return options{}, fmt.Errorf("--kafka-sasl-password-file: %w", err)
		}
		o.kafka.Password = bridge.Secret(strings.TrimSpace(string(b)))
	} else if v, ok := lookup("IMBRIDGE_KAFKA_SASL_PASSWORD"); ok {
		o.kafka.Password = bridge.Secret(v)
	}
	if errors.Is(o.kafka.Validate(), kafka.ErrPlainWithoutTLS) {
		return options{}, errors.New("--kafka-sasl-mechanism=PLAIN without TLS would send the password in clear text: " +
			"add --kafka-tls, use SCRAM-SHA-512, or --kafka-sasl-plain-without-tls for brokers on a network nobody else can read")
	}
	return o, nil
}

// newServer is the HTTP server of the blocklist API, with every timeout set: a client
// can hold a connection neither idle nor half-sent for long.
func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}
