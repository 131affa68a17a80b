package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/httpapi"
	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/metrics"
	"github.com/imbridge/imbridge/bridge/spool"
)

func serve(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	cfg, err := loadConfig(args, lookup, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "imbridge: %v\n", err)
		return 2
	}
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge: %v\n", err)
		return 2
	}
	defer func() { _ = log.Sync() }()
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	if _, set := lookup("GOMEMLIMIT"); !set {
		// 90% of the container's limit: the rest is for what the Go heap limit does
		// not cover, so that the heap is collected harder before the kernel kills the
		// container. Without one, defaultGoMemoryLimit: with GOGC at 400 below, a burst
		// of large callbacks would otherwise grow the heap to five times what is live.
		limit, from := int64(defaultGoMemoryLimit), "default"
		if cfg.MemoryLimit > 0 {
			limit, from = cfg.MemoryLimit/10*9, "IMBRIDGE_MEMORY_LIMIT"
		}
		debug.SetMemoryLimit(limit)
		log.Info("Go memory limit set", zap.String("from", from), zap.Int64("memory_limit", cfg.MemoryLimit), zap.Int64("go_memory_limit", limit))
	}
	if _, set := lookup("GOGC"); !set {
		// The live heap is small (tens of MiB) and allocation-heavy per callback: a
		// larger GC target trades a little memory for CPU (measured in BENCHMARKS.md).
		debug.SetGCPercent(400)
	}
	if err := serveWith(cfg, log); err != nil {
		log.Error("imbridge stopped", zap.Error(err))
		return 1
	}
	return 0
}

// defaultGoMemoryLimit is the Go heap's soft limit when neither GOMEMLIMIT nor
// IMBRIDGE_MEMORY_LIMIT gives one: the resident memory stays under 200 MiB with the
// default budgets (TestAmplifyingCallbacksHoldTheBudget).
const defaultGoMemoryLimit = 160 << 20

// serveWith runs the bridge until SIGINT or SIGTERM, then shuts down in order: fail
// /readyz, keep serving callbacks for the shutdown delay (SIGTERM only), stop
// accepting and finish in-flight callbacks, drain the spool for up to the drain
// timeout, stop the forwarder, close the spool and the producer. A second signal exits
// at once.
func serveWith(cfg Config, log *zap.Logger) error {
	m := metrics.New(version)
	pub, err := kafka.New(kafka.Config{Brokers: cfg.KafkaBrokers, Topics: cfg.topics(), PingTopics: cfg.routedTopics(), Security: cfg.Kafka, Observer: m,
		UnknownTopicTimeout: cfg.KafkaUnknownTopic},
		log.Named("kafka"))
	if err != nil {
		return err
	}
	defer pub.Close()
	var (
		delivery  bridge.Delivery
		sp        *spool.Spool
		forwarder *spool.Forwarder
	)
	switch cfg.Delivery {
	case "sync":
		// Both modes refuse a callback with a record Kafka could never take (413)
		// instead of holding it; the limits are the topics' max.message.bytes.
		delivery = &bridge.SyncDelivery{Publisher: pub, Timeout: cfg.SyncTimeout, Limits: pub}
	default:
		sp, err = spool.Open(cfg.SpoolDir, spool.Options{MaxBytes: cfg.SpoolMaxBytes, Log: log.Named("spool")})
		if err != nil {
			return err
		}
		defer sp.Close()
		forwarder = spool.NewForwarder(sp, pub, spool.ForwarderConfig{
			DeadLetterTopic:  cfg.DLQTopic,
			MaxAttempts:      cfg.DLQAfterAttempts,
			BackoffMax:       cfg.KafkaRetryBackoffMax,
			UnreachableAfter: cfg.KafkaUnreachableAfter,
		}, log.Named("forwarder"))
		delivery = &spool.Delivery{Spool: sp, Forwarder: forwarder, HighWater: cfg.SpoolHighWater, Limits: pub}
		m.RegisterSpool(func() metrics.SpoolStats {
			st := sp.Stats()
			return metrics.SpoolStats{Records: st.Entries, Events: st.Records, Bytes: st.Bytes, Limit: sp.MaxBytes(), Oldest: st.Oldest}
		}, func() int64 { _, dead := forwarder.Counts(); return dead }, time.Now)
		m.RegisterDeliveryHealth(forwarder.Health)
	}
	var live func() error
	if sp != nil {
		live = sp.Live
	}
	verifier := &bridge.Verifier{AppID: cfg.SDKAppID, Tokens: cfg.CallbackTokens, MaxSkew: cfg.SignMaxSkew}

	// Signals are caught before the listeners open: from then on the kernel accepts
	// connections, and a SIGTERM must lead to the ordered shutdown below, not to the
	// default exit under them.
	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigc)

	callbackLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen for callbacks: %w", err)
	}
	adminLn, err := net.Listen("tcp", cfg.AdminListen)
	if err != nil {
		callbackLn.Close()
		return fmt.Errorf("listen for admin: %w", err)
	}
	// stopping turns true when shutdown begins: from then on /readyz fails and every
	// callback answer closes its connection.
	var stopping atomic.Bool
	callbackSrv := &http.Server{
		Handler: closeWhenStopping(&stopping, httpapi.NewCallbackServer(httpapi.Config{Path: cfg.CallbackPath, BodyLimit: cfg.BodyLimit,
			MaxQueryBytes: cfg.MaxQueryBytes, MaxPairs: cfg.MaxPairs, MaxRecordBytes: cfg.MaxRecordBytes, MaxInFlight: cfg.MaxInFlight, MaxInFlightBytes: cfg.MaxInFlightBytes,
			Timeout: cfg.HTTPWriteTimeout, ReplayWindow: cfg.replayWindow(), ReplayCacheSize: cfg.ReplayCacheSize,
			TrustedProxies: cfg.TrustedProxies, QuarantineTopic: cfg.QuarantineTopic},
			httpapi.Deps{Verifier: verifier, Routes: bridge.NewRoutes(cfg.routes()...), Delivery: delivery, Log: log, Observer: m})),
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPWriteTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	var certs *certReloader
	if cfg.TLSCertFile != "" {
		if certs, err = newCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, log.Named("tls")); err != nil {
			callbackLn.Close()
			adminLn.Close()
			return err
		}
		callbackSrv.TLSConfig = certs.serverTLSConfig()
	}
	adminSrv := &http.Server{
		Handler:           httpapi.NewAdminServer(stoppingDelivery{delivery, &stopping}, httpapi.AdminConfig{Metrics: m.Handler(), Live: live, Pprof: cfg.Pprof}, log),
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.adminWriteTimeout(),
		IdleTimeout:       cfg.HTTPIdleTimeout,
		ErrorLog:          zap.NewStdLog(log.Named("admin")),
	}

	log.Info("imbridge starting", zap.String("version", versionString()), zapConfigField(cfg),
		zap.String("callback_addr", callbackLn.Addr().String()), zap.String("admin_addr", adminLn.Addr().String()))

	fwdCtx, stopForwarder := context.WithCancel(context.Background())
	defer stopForwarder()
	go loadLimits(fwdCtx, pub, log)
	leadersDone := make(chan struct{})
	go func() { defer close(leadersDone); pub.WatchLeaders(fwdCtx, 10*time.Second, m) }()
	defer func() { stopForwarder(); <-leadersDone }()
	go warnMissingTopics(fwdCtx, cfg, log)
	fwdDone := make(chan struct{})
	if forwarder != nil {
		go func() {
			defer close(fwdDone)
			if err := forwarder.Run(fwdCtx); err != nil {
				log.Error("forwarder stopped", zap.Error(err))
			}
		}()
	} else {
		close(fwdDone)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if err := pub.Ping(ctx); err != nil {
				log.Warn("kafka is not ready yet; callbacks will be answered 503 until it is", zap.Error(err))
			}
		}()
	}

	errc := make(chan error, 2)
	go func() { errc <- serveHTTP(callbackSrv, callbackLn, "callback") }()
	go func() { errc <- serveHTTP(adminSrv, adminLn, "admin") }()

	if certs != nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for {
				select {
				case <-fwdCtx.Done():
					return
				case <-hup:
					certs.reloadLogged("SIGHUP")
				}
			}
		}()
		go certs.watch(fwdCtx, certPollInterval)
	}

	// abort is the answer to a second signal: stop the forwarder before the deferred
	// Close of the spool runs (the spool is never closed under a running reader).
	// Publishing stops at once; what was not acknowledged stays in the spool for the
	// next start.
	abort := func(sig os.Signal) error {
		stopForwarder()
		<-fwdDone
		return fmt.Errorf("second signal (%s): exiting without finishing in-flight callbacks", sig)
	}
	var runErr error
	select {
	case sig := <-sigc:
		log.Info("shutting down", zap.String("signal", sig.String()))
		stopping.Store(true)
		if sig == syscall.SIGTERM && cfg.ShutdownDelay > 0 {
			// SIGTERM comes from an orchestrator that is taking this replica out of
			// its load balancers at the same time; until they all know, callbacks
			// still arrive here, and a closed listener would lose them (Chat never
			// retries). SIGINT is a person at a terminal: no delay.
			log.Info("shutdown delay: /readyz fails, callbacks are still served", zap.Duration("delay", cfg.ShutdownDelay))
			delay := time.NewTimer(cfg.ShutdownDelay)
			select {
			case <-delay.C:
				log.Info("shutdown delay over: the callback listener closes", zap.Duration("delay", cfg.ShutdownDelay))
			case sig := <-sigc:
				delay.Stop()
				return abort(sig)
			case runErr = <-errc:
				delay.Stop()
			}
		}
	case runErr = <-errc:
		stopping.Store(true)
	}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		err := callbackSrv.Shutdown(ctx) // stops accepting, waits for in-flight callbacks
		cancel()
		if sp != nil {
			drain(sp, cfg.DrainTimeout, log)
		}
		stopForwarder()
		<-fwdDone
		// The admin server gets a context of its own: the drain may have outlasted
		// the first one, and /readyz answers (503) until here.
		actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer acancel()
		if e := adminSrv.Shutdown(actx); err == nil {
			err = e
		}
		done <- err
	}()
	select {
	case err := <-done:
		if runErr == nil {
			runErr = err
		}
	case sig := <-sigc:
		return abort(sig)
	}
	if runErr == nil {
		log.Info("imbridge stopped")
	}
	return runErr
}
