package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/imbridge/imbridge/bridge"
)

// SASL mechanisms Security.SASLMechanism accepts.
const (
	SASLNone        = ""
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// Security configures encryption and authentication towards the brokers. The zero
// value is plaintext without authentication.
type Security struct {
	// TLS turns on TLS. It is implied by any of the TLS files below.
	TLS bool
	// CAFile is a PEM bundle of CAs that sign the brokers' certificates; empty means
	// the system's roots.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and key, for brokers that
	// authenticate clients by certificate (mutual TLS). Both or neither.
	CertFile, KeyFile string
	// ServerName is the name expected in the brokers' certificates; empty means the
	// host of each broker address.
	ServerName string
	// SASLMechanism is SASLNone, SASLPlain, SASLScramSHA256 or SASLScramSHA512.
	SASLMechanism string
	// Username and Password are the SASL credentials.
	Username string
	Password bridge.Secret
	// PlainWithoutTLS allows SASLPlain without TLS, which sends the password in clear
	// text. Default false: such a configuration is refused (ErrPlainWithoutTLS).
	PlainWithoutTLS bool
}

// ErrPlainWithoutTLS is returned for SASL PLAIN without TLS unless PlainWithoutTLS is
// set: PLAIN sends the password as it is, and without TLS anyone on the path reads it.
var ErrPlainWithoutTLS = errors.New("kafka SASL PLAIN without TLS would send the password in clear text: turn on TLS, use SCRAM, or allow it explicitly")

// UsesTLS reports whether connections to the brokers use TLS: TLS is set, or implied
// by a TLS file or server name.
func (s Security) UsesTLS() bool {
	return s.TLS || s.CAFile != "" || s.CertFile != "" || s.KeyFile != "" || s.ServerName != ""
}

// Validate checks what needs no file: SASL PLAIN over plaintext is refused unless
// PlainWithoutTLS.
func (s Security) Validate() error {
	if s.SASLMechanism == SASLPlain && !s.UsesTLS() && !s.PlainWithoutTLS {
		return ErrPlainWithoutTLS
	}
	return nil
}

// Dialer returns a kafka-go Dialer with the TLS and SASL of s, for readers and other
// clients that are not the Publisher (which uses the same settings).
func (s Security) Dialer(timeout time.Duration) (*kafkago.Dialer, error) {
	tlsCfg, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	mech, err := s.mechanism()
	if err != nil {
		return nil, err
	}
	return &kafkago.Dialer{Timeout: timeout, DualStack: true, TLS: tlsCfg, SASLMechanism: mech}, nil
}

// AEADSuites are the TLS 1.2 cipher suites imbridge offers and accepts: ECDHE with an
// AEAD cipher only (no CBC, whose padding and timing attacks TLS 1.3 left behind).
// TLS 1.3's suites are all AEAD and not configurable.
var AEADSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// tlsConfig returns the TLS configuration, or nil for plaintext: TLS 1.2 or newer,
// AEADSuites only.
func (s Security) tlsConfig() (*tls.Config, error) {
	if !s.UsesTLS() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: AEADSuites, ServerName: s.ServerName}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka TLS CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka TLS CA: %s holds no PEM certificate", s.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return nil, errors.New("kafka TLS: a client certificate needs both the certificate and the key file")
	}
	if s.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka TLS client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// mechanism returns the SASL mechanism, or nil without SASL.
func (s Security) mechanism() (sasl.Mechanism, error) {
	if s.SASLMechanism == SASLNone {
		return nil, nil
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Username == "" || s.Password == "" {
		return nil, fmt.Errorf("kafka SASL %s: a username and a password are required", s.SASLMechanism)
	}
	switch s.SASLMechanism {
	case SASLPlain:
		return plain.Mechanism{Username: s.Username, Password: s.Password.Reveal()}, nil
	case SASLScramSHA256, SASLScramSHA512:
		algo := scram.SHA256
		if s.SASLMechanism == SASLScramSHA512 {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, s.Username, s.Password.Reveal())
		if err != nil {
			return nil, fmt.Errorf("kafka SASL %s: %w", s.SASLMechanism, err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("kafka SASL mechanism %q: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.SASLMechanism)
}
