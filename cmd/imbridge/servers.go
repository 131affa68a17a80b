package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/httpapi"
)

// openServers opens the callback and admin listeners and builds their servers, the
// callback one with TLS when a certificate is set. On error no listener stays open.
func (s *service) openServers() error {
	cfg, log, m := s.cfg, s.log, s.metrics
	var live func() error
	if s.sp != nil {
		live = s.sp.Live
	}
	verifier := &bridge.Verifier{AppID: cfg.SDKAppID, Tokens: cfg.CallbackTokens, MaxSkew: cfg.SignMaxSkew}

	callbackLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen for callbacks: %w", err)
	}
	adminLn, err := net.Listen("tcp", cfg.AdminListen)
	if err != nil {
		callbackLn.Close()
		return fmt.Errorf("listen for admin: %w", err)
	}
	callbackSrv := &http.Server{
		Handler: closeWhenStopping(&s.stopping, httpapi.NewCallbackServer(httpapi.Config{Path: cfg.CallbackPath, BodyLimit: cfg.BodyLimit,
			MaxQueryBytes: cfg.MaxQueryBytes, MaxPairs: cfg.MaxPairs, MaxRecordBytes: cfg.MaxRecordBytes, MaxInFlight: cfg.MaxInFlight, MaxInFlightBytes: cfg.MaxInFlightBytes,
			Timeout: cfg.HTTPWriteTimeout, ReplayWindow: cfg.replayWindow(), ReplayCacheSize: cfg.ReplayCacheSize,
			TrustedProxies: cfg.TrustedProxies, QuarantineTopic: cfg.QuarantineTopic},
			s.callbackDeps(verifier))),
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPWriteTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	if cfg.TLSCertFile != "" {
		if s.certs, err = newCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, log.Named("tls")); err != nil {
			callbackLn.Close()
			adminLn.Close()
			return err
		}
		callbackSrv.TLSConfig = s.certs.serverTLSConfig()
	}
	readiness := stoppingDelivery{s.delivery, &s.stopping}
	m.RegisterReadiness(readiness.Ready)
	s.adminSrv = &http.Server{
		Handler:           httpapi.NewAdminServer(readiness, httpapi.AdminConfig{Metrics: m.Handler(), Live: live, Pprof: cfg.Pprof}, log),
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.adminWriteTimeout(),
		IdleTimeout:       cfg.HTTPIdleTimeout,
		ErrorLog:          zap.NewStdLog(log.Named("admin")),
	}
	s.callbackSrv, s.callbackLn, s.adminLn = callbackSrv, callbackLn, adminLn
	return nil
}

// callbackDeps are the callback endpoint's dependencies, with the tracer when tracing
// is on (and no Tracer at all when it is off: a nil *tracing.Tracer is not one).
func (s *service) callbackDeps(verifier *bridge.Verifier) httpapi.Deps {
	d := httpapi.Deps{Verifier: verifier, Routes: bridge.NewRoutes(s.cfg.routes()...), Delivery: s.delivery, Log: s.log, Observer: s.metrics}
	if s.tracer != nil {
		d.Tracer = s.tracer
	}
	return d
}

// stopTracing exports the spans not yet sent, for at most tracingFlushTimeout.
func (s *service) stopTracing() {
	ctx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
	defer cancel()
	if err := s.tracer.Shutdown(ctx); err != nil {
		s.log.Warn("traces not exported at exit", zap.Error(err))
	}
}

// tracingFlushTimeout bounds the export of the last spans at exit.
const tracingFlushTimeout = 5 * time.Second

// startServers serves both listeners, each in a goroutine that sends its error (nil
// once shut down) on errc; with TLS it reloads the certificate on SIGHUP and when its
// files change, until ctx ends. stopReloads stops taking SIGHUP.
func (s *service) startServers(ctx context.Context) (errc <-chan error, stopReloads func()) {
	errs := make(chan error, 2)
	go func() { errs <- serveHTTP(s.callbackSrv, s.callbackLn, "callback") }()
	go func() { errs <- serveHTTP(s.adminSrv, s.adminLn, "admin") }()
	scheme := "http"
	if s.certs != nil {
		scheme = "https"
	}
	s.log.Info("listening on", zap.String("listener", "callback"), zap.String("addr", s.callbackLn.Addr().String()),
		zap.String("url", scheme+"://"+s.callbackLn.Addr().String()+s.cfg.CallbackPath))
	s.log.Info("listening on", zap.String("listener", "admin"), zap.String("addr", s.adminLn.Addr().String()),
		zap.String("url", "http://"+s.adminLn.Addr().String()), zap.String("paths", "/healthz /readyz /metrics"))

	if s.certs == nil {
		return errs, func() {}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				s.certs.reloadLogged("SIGHUP")
			}
		}
	}()
	go s.certs.watch(ctx, certPollInterval)
	return errs, func() { signal.Stop(hup) }
}

// certPollInterval is how often the callback listener's certificate files are checked
// for changes.
const certPollInterval = 2 * time.Second

func serveHTTP(srv *http.Server, ln net.Listener, name string) error {
	var err error
	if srv.TLSConfig != nil {
		err = srv.ServeTLS(ln, "", "")
	} else {
		err = srv.Serve(ln)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s server: %w", name, err)
	}
	return nil
}
