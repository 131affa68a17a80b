package kafka_test

import (
	"context"
	"crypto/tls"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// The publisher reaches a real broker through SASL (PLAIN, SCRAM-SHA-256/512) and
// through mutual TLS with certificates made here; wrong credentials are refused.
func TestSecurityAgainstRealBroker(t *testing.T) {
	certs := kafkatest.GenerateCerts(t)
	broker := kafkatest.StartBroker(t, 0, kafkatest.BrokerOptions{SASL: true, TLSDir: certs.Dir})
	port := broker.Port
	plain := []string{broker.Addr}
	saslAddr := "127.0.0.1:" + strconv.Itoa(port+2)
	tlsAddr := "127.0.0.1:" + strconv.Itoa(port+3)
	topic := kafkatest.CreateTopic(t, plain, "security", 1)

	tests := []struct {
		name    string
		addr    string
		sec     kafka.Security
		wantErr string // empty: must publish
	}{
		{"SASL PLAIN without TLS, allowed explicitly", saslAddr, kafka.Security{SASLMechanism: kafka.SASLPlain, Username: kafkatest.SASLUser, Password: kafkatest.SASLPassword, PlainWithoutTLS: true}, ""},
		{"SASL SCRAM-SHA-256", saslAddr, kafka.Security{SASLMechanism: kafka.SASLScramSHA256, Username: kafkatest.SASLUser, Password: kafkatest.SASLPassword}, ""},
		{"SASL SCRAM-SHA-512", saslAddr, kafka.Security{SASLMechanism: kafka.SASLScramSHA512, Username: kafkatest.SASLUser, Password: kafkatest.SASLPassword}, ""},
		{"SASL wrong password", saslAddr, kafka.Security{SASLMechanism: kafka.SASLScramSHA512, Username: kafkatest.SASLUser, Password: "wrong"}, "SASL Authentication Failed"},
		{"mutual TLS", tlsAddr, kafka.Security{CAFile: certs.CA, CertFile: certs.ClientCert, KeyFile: certs.ClientKey}, ""},
		{"TLS without a client certificate", tlsAddr, kafka.Security{CAFile: certs.CA}, "remote error: tls: "},
		{"TLS with the wrong server name", tlsAddr, kafka.Security{CAFile: certs.CA, CertFile: certs.ClientCert, KeyFile: certs.ClientKey, ServerName: "kafka.example"}, "x509: certificate is valid for localhost, not kafka.example"},
	}
	sent := 0
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := kafka.New(kafka.Config{Brokers: []string{tt.addr}, Topics: []string{topic}, Security: tt.sec, MaxAttempts: 2}, zap.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = pub.Publish(ctx, bridge.Records([]bridge.Event{testEvent(topic, "sec", tt.name, i)}))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Publish: %v", err)
				}
				sent++
				if got := kafkatest.Count(t, plain, topic); got != int64(sent) {
					t.Fatalf("topic holds %d messages, want %d", got, sent)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Publish = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSecurityConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		sec  kafka.Security
		want string
	}{
		{"SASL without password", kafka.Security{SASLMechanism: kafka.SASLPlain, Username: "u", TLS: true}, "kafka SASL PLAIN: a username and a password are required"},
		{"SASL PLAIN without TLS", kafka.Security{SASLMechanism: kafka.SASLPlain, Username: "u", Password: "p"}, kafka.ErrPlainWithoutTLS.Error()},
		{"unknown mechanism", kafka.Security{SASLMechanism: "GSSAPI", Username: "u", Password: "p"}, `kafka SASL mechanism "GSSAPI": expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`},
		{"cert without key", kafka.Security{CertFile: "c.pem"}, "kafka TLS: a client certificate needs both the certificate and the key file"},
		{"missing CA", kafka.Security{CAFile: "/nonexistent/ca.pem"}, "kafka TLS CA: open /nonexistent/ca.pem: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := kafka.New(kafka.Config{Brokers: []string{"127.0.0.1:9092"}, Security: tt.sec}, zap.NewNop())
			if err == nil || err.Error() != tt.want {
				t.Fatalf("New = %v, want %q", err, tt.want)
			}
		})
	}
}

// Dialer, for clients other than the Publisher, carries the same TLS and SASL, and the
// same refusal of PLAIN without TLS.
func TestSecurityDialer(t *testing.T) {
	d, err := kafka.Security{SASLMechanism: kafka.SASLScramSHA512, Username: "u", Password: "p", ServerName: "kafka.example"}.Dialer(time.Second)
	if err != nil || d.TLS == nil || d.TLS.ServerName != "kafka.example" || d.SASLMechanism == nil || d.SASLMechanism.Name() != "SCRAM-SHA-512" || d.Timeout != time.Second {
		t.Fatalf("Dialer = %+v, %v", d, err)
	}
	if d, err := (kafka.Security{}).Dialer(time.Second); err != nil || d.TLS != nil || d.SASLMechanism != nil {
		t.Fatalf("plaintext Dialer = %+v, %v", d, err)
	}
	if _, err := (kafka.Security{SASLMechanism: kafka.SASLPlain, Username: "u", Password: "p"}).Dialer(time.Second); err != kafka.ErrPlainWithoutTLS {
		t.Fatalf("PLAIN without TLS: %v", err)
	}
	if d, err := (kafka.Security{SASLMechanism: kafka.SASLPlain, Username: "u", Password: "p", PlainWithoutTLS: true}).Dialer(time.Second); err != nil || d.SASLMechanism.Name() != "PLAIN" {
		t.Fatalf("PLAIN without TLS, allowed: %+v, %v", d, err)
	}
}

// The Kafka client offers AEAD cipher suites only: a broker whose TLS 1.2 offers CBC
// suites alone is refused at the handshake; one that offers an AEAD suite completes it.
func TestKafkaClientRefusesCBC(t *testing.T) {
	certs := kafkatest.GenerateCerts(t)
	pem, err := os.ReadFile(certs.Server)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(pem, pem)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		suites []uint16
		wantOK bool
	}{
		{"CBC only", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
			tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA}, false},
		{"AEAD offered", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert},
				MaxVersion: tls.VersionTLS12, CipherSuites: tc.suites})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			handshake := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					handshake <- err
					return
				}
				defer c.Close()
				handshake <- c.(*tls.Conn).Handshake()
			}()
			d, err := kafka.Security{CAFile: certs.CA, ServerName: "localhost"}.Dialer(2 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if c, err := d.DialContext(ctx, "tcp", ln.Addr().String()); err == nil {
				c.Close()
			}
			err = <-handshake
			if tc.wantOK != (err == nil) {
				t.Fatalf("server's handshake: %v", err)
			}
			if !tc.wantOK && !strings.Contains(err.Error(), "no cipher suite supported by both client and server") {
				t.Fatalf("handshake refused for another reason: %v", err)
			}
		})
	}
}
