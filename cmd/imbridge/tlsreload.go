package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge/kafka"
)

// certReloader serves the callback listener's certificate and replaces it when the
// files change (checked every interval) or when reload is called (on SIGHUP). A
// failed reload keeps the current certificate and is logged.
type certReloader struct {
	certFile, keyFile string
	log               *zap.Logger

	mu    sync.RWMutex
	cert  *tls.Certificate
	stamp string // modification times and sizes of both files when last loaded
}

func newCertReloader(certFile, keyFile string, log *zap.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) fileStamp() string {
	var s string
	for _, f := range []string{r.certFile, r.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			s += fmt.Sprintf("%d:%d;", fi.ModTime().UnixNano(), fi.Size())
		}
	}
	return s
}

// reload loads the key pair now.
func (r *certReloader) reload() error {
	stamp := r.fileStamp()
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate: %w", err)
	}
	r.mu.Lock()
	r.cert, r.stamp = &cert, stamp
	r.mu.Unlock()
	return nil
}

// reloadLogged reloads and logs the outcome.
func (r *certReloader) reloadLogged(why string) {
	if err := r.reload(); err != nil {
		r.log.Error("TLS certificate not reloaded; keeping the current one", zap.String("trigger", why), zap.Error(err))
		return
	}
	r.log.Info("TLS certificate reloaded", zap.String("trigger", why), zap.String("cert_file", r.certFile))
}

// watch reloads whenever the files' modification times or sizes change, until ctx ends.
func (r *certReloader) watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.mu.RLock()
			old := r.stamp
			r.mu.RUnlock()
			if s := r.fileStamp(); s != old {
				r.reloadLogged("file change")
			}
		}
	}
}

func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cert, nil
}

// serverTLSConfig is the callback listener's TLS: 1.2 or newer, and in 1.2 only the
// AEAD suites with forward secrecy (1.3's suites are all AEAD and not configurable).
// Go's defaults would still negotiate CBC suites such as ECDHE-ECDSA-AES128-SHA. The
// same policy as imbridge's Kafka client (kafka.AEADSuites).
func (r *certReloader) serverTLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: kafka.AEADSuites, GetCertificate: r.getCertificate}
}
